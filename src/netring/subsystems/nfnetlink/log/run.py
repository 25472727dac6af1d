"""A run of alike log messages read as columns: the capture path's bulk form.

A flood of equal packets arrives as datagrams of equal log messages: one length,
the same attributes at the same places, timestamps and sequence numbers that
differ::

    datagram | msg 0 | msg 1 | ... | msg k-1 | DONE |     each msg `length` bytes
    column     ^ts     ^ts           ^ts                   one field of every message

:func:`match_run` checks such a datagram with one comparison per header word
(every message's copy of the word, read as a strided memoryview, against the
first message's, repeated): the netlink header, the ``nfgenmsg``, every attribute
header the message's layout has and the prefix's bytes.  Then the fields that
differ are read as columns (``array('I')``, host order), and the payloads are
left where they are, ``step`` bytes apart.  No Python code runs per message;
what :meth:`LogReader.records <.reader.LogReader.records>` would yield for each
message follows from the columns (a unit test holds the two to the same results).

Pure module.
"""

from __future__ import annotations

import sys
from array import array

from ....codec.types import TYPE_CHECKING
from ....strided import uniform_fields
from .constants import NFULNL_MSG_TYPE_PACKET

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import TypeAlias

#: what :meth:`LogReader.records <.reader.LogReader.records>` yields for a message:
#: ``(offset, nlmsg_len, group, payload_start, payload_end, ts_ns, prefix, gap)``
Record: TypeAlias = tuple[int, int, int, int, int, int, str | None, int]

__all__ = ["Run", "match_run", "RUN_MIN"]

#: the fewest messages worth a run (below it, the per-message walk is as cheap)
RUN_MIN = 8

_SWAP = sys.byteorder == "little"  # the columns are big-endian on the wire
_NS_PER_US = 1000
_US_PER_S = 1_000_000
_IP_VERSION = bytes(b >> 4 for b in range(256))  # bytes.translate: the version nibble
_IPV6_HDRLEN = 40  # the IPv6 payload length leaves out the fixed header


class Run:
    """``count`` log messages of one group, ``step`` bytes apart from offset 0.

    Attributes:
        data: the datagram.
        count: messages in the run.
        step: bytes from one message to the next (its length, a multiple of 4).
        end: where the run ends (``count * step``); the datagram's rest follows.
        group: their log group.
        payload: offset of the first message's payload bytes (-1: none).
        size: bytes of each payload.
        sec, usec: ``NFULA_TIMESTAMP`` columns (host-order ``array('I')``; ``None``
            without timestamps).
        seq: the ``NFULA_SEQ`` column (``None`` without it): consecutive numbers.
        prefix: the prefix all share (``None`` without one).
        gap: messages lost before the first (sequence numbers), as in ``records``.
    """

    __slots__ = ("data", "count", "step", "end", "group", "payload", "size", "sec", "usec",
                 "seq", "prefix", "gap")

    def __init__(self, data: memoryview | bytes, count: int, step: int, group: int,
                 payload: int, size: int, sec: array[int] | None, usec: array[int] | None,
                 seq: array[int] | None) -> None:
        self.data = data
        self.count = count
        self.step = step
        self.end = count * step
        self.group = group
        self.payload = payload
        self.size = size
        self.sec = sec
        self.usec = usec
        self.seq = seq
        self.prefix: str | None = None
        self.gap = 0

    def nsec(self) -> array[int] | None:
        """The timestamps' nanoseconds column (``usec * 1000``)."""
        if self.usec is None:
            return None
        return array("I", map(_NS_PER_US.__mul__, self.usec))

    def ip_wirelen(self) -> tuple[int, array[int]] | None:
        """``(version, wire lengths)`` when every payload starts an IP header of one
        version (4 or 6) whose length field is at least the payload's size: the
        packet's length on the wire as ``tcpdump -i nflog`` records it (IPv4 total
        length; IPv6 payload length + 40).  ``None`` otherwise (short payloads, other
        protocols, mixed versions, a length below the bytes logged)."""
        p, k, step = self.payload, self.count, self.step
        if p < 0 or self.size < 6:
            return None
        vers = bytes(self.data[p:p + (k - 1) * step + 1:step]).translate(_IP_VERSION)
        v = vers[0]
        if v not in (4, 6) or vers != vers[:1] * k:
            return None
        field = p + 2 if v == 4 else p + 4  # both 2-aligned: payloads start 4-aligned
        halves = memoryview(self.data)[:self.end].cast("H")
        lens = array("H", halves[field >> 1::step >> 1].tobytes())
        if _SWAP:
            lens.byteswap()
        wire = array("I", lens) if v == 4 else array("I", map(_IPV6_HDRLEN.__add__, lens))
        if min(wire) < self.size:
            return None
        return v, wire

    def records(self) -> Iterator[Record]:
        """What :meth:`LogReader.records <.reader.LogReader.records>` yields for each
        message of the run (a Python loop: the slow way to consume a run)."""
        sec, nsec, step, p = self.sec, self.nsec(), self.step, self.payload
        size, group, prefix = self.size, self.group, self.prefix
        gap = self.gap
        for i in range(self.count):
            off = i * step
            ts = -1 if sec is None or nsec is None else sec[i] * 1_000_000_000 + nsec[i]
            p0 = -1 if p < 0 else p + off
            yield off, step, group, p0, (-1 if p < 0 else p0 + size), ts, prefix, gap
            gap = 0

    def __repr__(self) -> str:
        return (f"<Run of {self.count} log messages, group {self.group}, {self.step} bytes "
                f"each, payload {self.size} bytes>")


def _column(words: memoryview, index: int, step: int) -> array[int]:
    """The big-endian u32 at word ``index`` of every message, host order."""
    col = array("I", words[index::step].tobytes())
    if _SWAP:
        col.byteswap()
    return col


def match_run(data: memoryview | bytes, length: int, heads: Sequence[int], p0: int, p1: int,
              ts: int, seq: int, limit: int | None = None, pre: int = -1) -> Run | None:
    """The leading messages of ``data`` as a :class:`Run`, or ``None``.

    A run is at least :data:`RUN_MIN` (and at most ``limit``) ``NFULNL_MSG_PACKET``
    messages of ``length`` bytes from offset 0, each with the attribute headers at
    the places ``heads`` (bytes from the message's start) equal to the first
    message's, the same netlink header words and ``nfgenmsg``, the same prefix bytes
    (attribute at ``pre``), timestamp seconds and microseconds that fit 32 bits and
    a second (``ts``: the timestamp's place), and consecutive sequence numbers
    (``seq``).  ``p0``/``p1``: the payload's place and end (-1: none).  The places are
    those of the layout :meth:`LogReader.records <.reader.LogReader.records>` learnt
    for this length; the header comparison proves every message has it.
    """
    if length & 3 or length < 20:
        return None
    k = len(data) // length
    if limit is not None and k > limit:
        k = limit
    if k < RUN_MIN:
        return None
    words = memoryview(data)[:k * length].cast("I")
    step = length >> 2
    fields = [(0, 8), (16, 4), *((h, 4) for h in heads)]  # nlmsg_len, type+flags, nfgenmsg
    if pre >= 0:
        alen = int.from_bytes(bytes(data[pre:pre + 2]), sys.byteorder)
        fields.append((pre + 4, ((pre + alen + 3) & ~3) - pre - 4))
    if not uniform_fields(data, length, k, fields):
        return None
    head = bytes(data[:8])
    if int.from_bytes(head[:4], sys.byteorder) != length or \
            int.from_bytes(head[4:6], sys.byteorder) != NFULNL_MSG_TYPE_PACKET:
        return None
    sec = usec = None
    if ts >= 0:
        w = ts >> 2
        zeros = bytes(4 * k)  # the upper halves of the two big-endian u64 fields
        if words[w::step].tobytes() != zeros or words[w + 2::step].tobytes() != zeros:
            return None
        sec = _column(words, w + 1, step)
        usec = _column(words, w + 3, step)
        if max(usec) >= _US_PER_S:
            return None
    seqs = None
    if seq >= 0:
        seqs = _column(words, seq >> 2, step)
        first = seqs[0]
        if first + k > 0xFFFFFFFF or seqs != array("I", range(first, first + k)):
            return None
    group = (data[18] << 8) | data[19]
    return Run(data, k, length, group, p0, p1 - p0 if p0 >= 0 else 0, sec, usec, seqs)
