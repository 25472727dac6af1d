"""Datagrams in, log messages out: :class:`LogReader`, and the statistics in one place.

The kernel batches logged packets: one datagram carries up to ``qthresh``
``NFULNL_MSG_PACKET`` messages (as many as fit ``nlbufsiz``), and an
``NLMSG_DONE`` closes a datagram of more than one::

    datagram  | PACKET (group g) | PACKET (group g) | ... | PACKET | DONE (nfgenmsg: res_id g) |
    view      | LogMessage       | LogMessage       | ... | LogMessage   (DONE skipped)

:meth:`LogReader.feed` walks a datagram with one header read per message and
makes a :class:`~.message.LogMessage` over the same buffer for each packet
(nothing copied; the views live as long as the buffer holds the datagram).

Loss accounting.  A group with ``NFULNL_CFG_F_SEQ`` numbers its messages 0, 1,
2, ... from the moment it is bound.  The kernel delivers a datagram whole or not
at all: when the receive buffer is full, ``netlink_unicast`` drops the whole
batch, bumps the socket's drop counter (``sk_drops``) by one and raises ENOBUFS
once until the queue drains.  So, per group, the sequence gaps counted here are
exactly the messages of the dropped datagrams (with ``qthresh`` 1: exactly the
kernel's drop count), and a gap shows when the next message of the group
arrives.  A batch lost for another reason (the kernel could not allocate it)
shows here and nowhere else.  ``NFULA_SEQ_GLOBAL`` is shared by every group of
the namespace, including other processes' groups, so its gaps are not losses.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from ....codec.constants import NLMSG
from ....codec.structs import be32, nlattr, nlmsghdr
from ....codec.types import TYPE_CHECKING
from ....errors import DecodeError
from .constants import NFULA, NFULNL_MSG_TYPE_PACKET
from .message import LogMessage
from .run import Record, Run, match_run
from .structs import nfulnl_msg_packet_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable, Generator
    from typing import Any, TypeAlias

    _Layout: TypeAlias = tuple[Callable[..., tuple[Any, ...]], tuple[int, ...], int, int, int,
                               Callable[..., tuple[Any, ...]], int, tuple[int, ...], int, int]

__all__ = ["LogReader", "LogStats", "GroupStats", "datagram_bound", "Record"]

_unpack_hdr = nlmsghdr.unpack_from
_unpack_hdr6 = struct.Struct("=IH").unpack_from  # nlmsg_len, nlmsg_type
_unpack_nla = nlattr.unpack_from
_unpack_ts = nfulnl_msg_packet_timestamp.unpack_from
_unpack_be32 = be32.unpack_from
_PACKET = NFULNL_MSG_TYPE_PACKET
_PAYLOAD = int(NFULA.PAYLOAD)
_TIMESTAMP = int(NFULA.TIMESTAMP)
_PREFIX = int(NFULA.PREFIX)
_SEQ = int(NFULA.SEQ)
_DONE = int(NLMSG.DONE)
_U32 = 0xFFFFFFFF
_HALF = 0x80000000


class GroupStats:
    """Counters of one log group.

    Attributes:
        messages: log messages received.
        bytes: bytes of those messages (netlink headers and attributes included).
        gaps: messages the group's sequence numbers show lost.
        backwards: sequence numbers that went backwards (none on one socket).
        next_seq: the sequence number expected next (``None``: not known yet).
    """

    __slots__ = ("messages", "bytes", "gaps", "backwards", "next_seq")

    def __init__(self, next_seq: int | None = None) -> None:
        self.messages = 0
        self.bytes = 0
        self.gaps = 0
        self.backwards = 0
        self.next_seq = next_seq

    def to_dict(self) -> dict[str, int]:
        """``{"messages", "bytes", "gaps"}``."""
        return {"messages": self.messages, "bytes": self.bytes, "gaps": self.gaps}


class LogStats:
    """Every counter of a log reader and its socket, in one place.

    Attributes:
        messages: log messages received (all groups).
        bytes: bytes of those messages.
        datagrams: datagrams received.
        seq_gaps: messages lost by the sequence numbers (all groups); also :attr:`lost`.
        overruns: ENOBUFS reports (the kernel dropped at least one datagram since
            the previous one; reported once per congestion).
        drops: the socket's kernel drop counter (``SO_MEMINFO`` ``sk_drops``: one per
            datagram the kernel could not queue), ``None`` when unknown.
        truncated: datagrams larger than the receive slot (their tail lost).
        other: messages that were neither log packets nor ``NLMSG_DONE`` (a late ACK).
        rcvbuf: the socket's effective receive buffer (0: unknown).
        nlbufsiz: the batch buffer asked of the kernel (0: the kernel's default).
        grown: times the buffers were grown after an overrun.
        groups: per-group :class:`GroupStats`.
    """

    __slots__ = ("messages", "bytes", "datagrams", "seq_gaps", "overruns", "drops",
                 "truncated", "other", "rcvbuf", "nlbufsiz", "grown", "groups")

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.datagrams = 0
        self.seq_gaps = 0
        self.overruns = 0
        self.drops: int | None = None
        self.truncated = 0
        self.other = 0
        self.rcvbuf = 0
        self.nlbufsiz = 0
        self.grown = 0
        self.groups: dict[int, GroupStats] = {}

    @property
    def lost(self) -> int:
        """Messages known lost: the sequence gaps."""
        return self.seq_gaps

    def to_dict(self) -> dict[str, object]:
        """JSON form (``"groups"`` keyed by group number as text)."""
        return {"messages": self.messages, "bytes": self.bytes, "datagrams": self.datagrams,
                "seq_gaps": self.seq_gaps, "overruns": self.overruns, "drops": self.drops,
                "truncated": self.truncated, "other": self.other, "rcvbuf": self.rcvbuf,
                "nlbufsiz": self.nlbufsiz, "grown": self.grown,
                "groups": {str(g): s.to_dict() for g, s in sorted(self.groups.items())}}

    def __repr__(self) -> str:
        return (f"<LogStats messages={self.messages} datagrams={self.datagrams} "
                f"seq_gaps={self.seq_gaps} overruns={self.overruns} drops={self.drops}>")


class LogReader:
    """Walks datagrams into :class:`~.message.LogMessage` views and keeps the counts.

    Sans-I/O: the edge hands it every datagram it receives.

    Args:
        stats: the counters to update (a fresh :class:`LogStats` by default).
        track_seq: check ``NFULA_SEQ`` of every message (reading it builds the
            message's attribute index, which most consumers build anyway).
    """

    __slots__ = ("stats", "track_seq", "_prefixes", "_layouts")

    def __init__(self, stats: LogStats | None = None, *, track_seq: bool = True) -> None:
        self.stats = stats if stats is not None else LogStats()
        self.track_seq = track_seq
        self._prefixes: dict[bytes, str] = {}
        self._layouts: dict[int, _Layout] = {}

    def expect(self, group: int, seq: int | None = 0) -> None:
        """The next sequence number of ``group`` (0 right after binding it with
        ``NFULNL_CFG_F_SEQ``; ``None``: learn it from the next message)."""
        g = self.stats.groups.get(group)
        if g is None:
            self.stats.groups[group] = GroupStats(seq)
        else:
            g.next_seq = seq

    def records(self, data: memoryview | bytes, offset: int = 0) -> Generator[Record, None, None]:
        """What a capture file needs of each log message, without making views.

        Yields one tuple per ``NFULNL_MSG_PACKET`` of the datagram:
        ``(offset, nlmsg_len, group, payload_start, payload_end, ts_ns, prefix, gap)``
        with offsets into ``data`` (``payload_start == payload_end == -1``
        without a payload), ``ts_ns`` -1 without a kernel timestamp, ``prefix``
        ``None`` without one.  Counts and sequence gaps are kept exactly as by
        :meth:`feed`.

        The same walk as :meth:`feed` plus :meth:`LogMessage._index
        <.message.LogMessage._index>`, written as one loop for the capture path
        (no view, no index, four attributes picked on the way: an intentional
        specialisation; a unit test holds the two to the same results).
        An irregular message raises the :class:`~netring.errors.DecodeError` its
        view would (the messages before it were yielded).

        ``offset``: where the walk starts; a datagram is counted when it starts at
        0 (past a :meth:`take_run`, which counted it, give the run's ``end``).
        """
        st = self.stats
        if not offset:
            st.datagrams += 1
        groups = st.groups
        track = self.track_seq
        prefixes = self._prefixes
        layouts = self._layouts
        unpack_hdr = _unpack_hdr6
        end = len(data)
        off = offset
        # a datagram is one group's batch: its counters are looked up once, and the
        # per-message counts are added up here and stored when the walk stops
        last_group = -1
        g = GroupStats()
        n_msgs = n_bytes = 0
        try:
            while off < end:
                if end - off < 20:
                    raise _irregular(data, off, end)
                length, type_ = unpack_hdr(data, off)
                if length < 16 or length > end - off:
                    raise _irregular(data, off, end)
                if type_ != _PACKET:
                    if type_ != _DONE:
                        st.other += 1
                    off += (length + 3) & ~3
                    continue
                if length < 20:
                    raise _irregular(data, off, end)
                lay = layouts.get(length)
                if lay is not None and lay[0](data, off + 20) == lay[1]:
                    # every attribute header where the last message of this length
                    # had it: the same walk, so the same attributes at the same places
                    p0 = lay[2]
                    if p0 >= 0:
                        p1 = lay[3] + off
                        p0 += off
                    else:
                        p1 = -1
                    kind = lay[4]
                    if kind == 3:  # both, timestamp first (the kernel's order)
                        sec, usec, seq = lay[5](data, off)
                        ts = sec * 1_000_000_000 + usec * 1000
                    elif kind == 1:
                        sec, usec = lay[5](data, off)
                        ts = sec * 1_000_000_000 + usec * 1000
                        seq = -1
                    elif kind == 2:
                        seq = lay[5](data, off)[0]
                        ts = -1
                    elif kind == 4:
                        seq, sec, usec = lay[5](data, off)
                        ts = sec * 1_000_000_000 + usec * 1000
                    else:
                        ts = seq = -1
                    pre = lay[6]
                    if pre >= 0:
                        pre += off
                else:
                    p0, p1, ts, pre, seq = self._walk(data, off, length, end)
                prefix = None
                if pre >= 0:
                    raw = bytes(data[pre + 4:pre + _unpack_nla(data, pre)[0]])
                    prefix = prefixes.get(raw)
                    if prefix is None:
                        if not raw or raw[-1] != 0:
                            raise _irregular(data, off, end)
                        prefix = raw[:-1].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
                        if len(prefixes) < 1024:
                            prefixes[raw] = prefix
                group = (data[off + 18] << 8) | data[off + 19]
                if group != last_group:
                    g.messages += n_msgs
                    g.bytes += n_bytes
                    st.messages += n_msgs
                    st.bytes += n_bytes
                    n_msgs = n_bytes = 0
                    last_group = group
                    g = groups.get(group) or groups.setdefault(group, GroupStats())
                n_msgs += 1
                n_bytes += length
                gap = 0
                if seq >= 0 and track:
                    want = g.next_seq
                    if want is not None and seq != want:
                        d = (seq - want) & _U32
                        if d < _HALF:
                            gap = d
                            g.gaps += d
                            st.seq_gaps += d
                        else:
                            g.backwards += 1
                    g.next_seq = (seq + 1) & _U32
                yield off, length, group, p0, p1, ts, prefix, gap
                off += (length + 3) & ~3
        finally:
            g.messages += n_msgs
            g.bytes += n_bytes
            st.messages += n_msgs
            st.bytes += n_bytes

    def _walk(self, data: memoryview | bytes, off: int, length: int,
              end: int) -> tuple[int, int, int, int, int]:
        """The slow path of :meth:`records`: walk the message's attributes, remember
        its layout; ``(payload_start, payload_end, ts_ns, prefix_pos, seq)``."""
        track = self.track_seq
        unpack_nla = _unpack_nla
        mend = off + length
        pos = off + 20
        p0 = p1 = ts = pre = seq = -1
        tsr = seqr = -1
        heads: list[tuple[int, int, int]] = []
        while mend - pos >= 4:
            alen, t = unpack_nla(data, pos)
            if alen < 4 or alen > mend - pos:
                break
            heads.append((pos - off, alen, t))
            t &= 0x3FFF
            if t == _PAYLOAD:
                if p0 < 0:
                    p0, p1 = pos + 4, pos + alen
            elif t == _TIMESTAMP:
                if alen != 20:
                    break
                if ts < 0:
                    tsr = pos + 4 - off
                    sec, usec = _unpack_ts(data, pos + 4)
                    ts = sec * 1_000_000_000 + usec * 1000
            elif t == _PREFIX:
                if pre < 0:
                    pre = pos
            elif t == _SEQ:
                if alen != 8:
                    if track:
                        break
                elif seqr < 0:
                    seqr = pos + 4 - off
                    seq = _unpack_be32(data, pos + 4)[0]
            pos += (alen + 3) & ~3
        if pos < mend:
            raise _irregular(data, off, end)
        layouts = self._layouts
        if len(layouts) < _LAYOUTS:
            layouts[length] = _layout(heads, length, p0 - off if p0 >= 0 else -1,
                                      p1 - off if p0 >= 0 else -1, tsr,
                                      pre - off if pre >= 0 else -1, seqr)
        return p0, p1, ts, pre, seq

    def take_run(self, data: memoryview | bytes, limit: int | None = None) -> Run | None:
        """The messages at the start of ``data`` as one :class:`~.run.Run` of columns,
        when they are alike (:func:`~.run.match_run`: at least ``RUN_MIN`` messages of
        one length and one layout already seen, at most ``limit``), counted exactly as
        :meth:`records` counts them: messages, bytes, the sequence gap before the first
        (the others must follow on).  ``None``, with nothing counted, otherwise: walk
        the datagram with :meth:`records` (from the run's ``end`` after a run).

        The bulk form of :meth:`records` for a flood of equal messages: a handful of
        strided copies per datagram, no Python code per message.
        """
        if len(data) < 20:
            return None
        length = _unpack_hdr6(data, 0)[0]
        lay = self._layouts.get(length)
        if lay is None:
            return None
        run = match_run(data, length, lay[7], lay[2], lay[3], lay[8], lay[9], limit, lay[6])
        if run is None:
            return None
        st = self.stats
        pre = lay[6]
        if pre >= 0:
            raw = bytes(data[pre + 4:pre + _unpack_nla(data, pre)[0]])
            prefix = self._prefixes.get(raw)
            if prefix is None:
                if not raw or raw[-1] != 0:
                    return None  # records() raises the precise error
                prefix = raw[:-1].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            run.prefix = prefix
        k = run.count
        g = st.groups.get(run.group) or st.groups.setdefault(run.group, GroupStats())
        seqs = run.seq
        if seqs is not None and self.track_seq:
            run.gap = _sequence(st, g, seqs[0], k)
        st.datagrams += 1
        g.messages += k
        g.bytes += k * length
        st.messages += k
        st.bytes += k * length
        return run

    def feed(self, data: memoryview | bytes) -> Iterator[LogMessage]:
        """The log messages of one datagram, as views over ``data`` (no copy).

        Raises:
            DecodeError: the datagram's netlink framing is broken (a header cut
                short, a length running past the end); the attributes of a message
                are checked when they are read.
        """
        st = self.stats
        st.datagrams += 1
        groups = st.groups
        track = self.track_seq
        new = LogMessage.__new__
        end = len(data)
        off = 0
        while off < end:
            if end - off < 16:
                raise DecodeError(f"truncated nlmsghdr: {end - off} bytes left", off)
            length, type_, _flags, _seq, _portid = _unpack_hdr(data, off)
            if length < 16 or length > end - off:
                raise DecodeError(f"nlmsg_len {length} outside 16..{end - off}", off)
            if type_ == _PACKET:
                if length < 20:
                    raise DecodeError(f"log message of {length} bytes has no nfgenmsg", off)
                msg = new(LogMessage)
                msg._buf = data
                msg._off = off
                msg.gap = 0
                group = (data[off + 18] << 8) | data[off + 19]
                g = groups.get(group)
                if g is None:
                    g = groups[group] = GroupStats()
                g.messages += 1
                g.bytes += length
                st.messages += 1
                st.bytes += length
                if track:
                    s = msg.seq_local
                    if s is not None:
                        msg.gap = _sequence(st, g, s, 1)
                yield msg
            elif type_ != _DONE:
                st.other += 1
            off += (length + 3) & ~3


def _sequence(st: LogStats, g: GroupStats, seq: int, count: int) -> int:
    """``count`` messages of group ``g`` numbered from ``seq`` arrived: returns the gap
    before them (messages lost, counted in ``g`` and ``st``; a number behind the
    expected one is counted as going backwards, not as loss) and expects the next.
    (:meth:`LogReader.records` does the same inline, on its per-message path.)"""
    want = g.next_seq
    gap = 0
    if want is not None and seq != want:
        d = (seq - want) & _U32
        if d < _HALF:
            gap = d
            g.gaps += d
            st.seq_gaps += d
        else:
            g.backwards += 1
    g.next_seq = (seq + count) & _U32
    return gap


#: message layouts remembered (one per message length seen)
_LAYOUTS = 256


def _layout(heads: list[tuple[int, int, int]], length: int, p0: int, p1: int, ts: int,
            pre: int, seq: int) -> _Layout:
    """A message layout: a struct that reads every attribute header of a message of
    this length in one call and the headers it must find; the payload's place; a
    big-endian struct reading the timestamp and the sequence number in one call
    (``kind``: 1 timestamp, 2 sequence number, 3 both, 4 both with the sequence
    number first, 0 neither); the prefix's
    place; the places of the attribute headers, the timestamp and the sequence
    number (for :mod:`.run`).  Places count from the message's start."""
    fmt = ["="]
    at = 20
    for rel, _alen, _t in heads:
        if rel > at:
            fmt.append(f"{rel - at}x")
        fmt.append("HH")
        at = rel + 4
    if length > at:
        fmt.append(f"{length - at}x")
    expect = tuple(x for _rel, alen, t in heads for x in (alen, t))
    if ts >= 0 and seq > ts:
        kind, vfmt = 3, f"!{ts}xQQ{seq - ts - 16}xI"
    elif ts >= 0 and seq >= 0:
        kind, vfmt = 4, f"!{seq}xI{ts - seq - 4}xQQ"
    elif ts >= 0:
        kind, vfmt = 1, f"!{ts}xQQ"
    elif seq >= 0:
        kind, vfmt = 2, f"!{seq}xI"
    else:
        kind, vfmt = 0, "!"
    return (struct.Struct("".join(fmt)).unpack_from, expect, p0, p1, kind,
            struct.Struct(vfmt).unpack_from, pre, tuple(rel for rel, _alen, _t in heads), ts, seq)


def _irregular(data: memoryview | bytes, off: int, end: int) -> DecodeError:
    """The precise error of the irregular message at ``off``: what its view raises."""
    if end - off < 16:
        return DecodeError(f"truncated nlmsghdr: {end - off} bytes left", off)
    length = int(_unpack_hdr(data, off)[0])
    if length < 16 or length > end - off:
        return DecodeError(f"nlmsg_len {length} outside 16..{end - off}", off)
    if length < 20:
        return DecodeError(f"log message of {length} bytes has no nfgenmsg", off)
    msg = LogMessage(data, off)
    try:
        msg._index()
        _ = (msg.timestamp_ns, msg.prefix, msg.seq_local)
    except DecodeError as exc:
        return exc
    return DecodeError("irregular log message", off)


#: bytes the kernel adds to every skb data buffer for ``struct skb_shared_info``
#: (320 on x86-64; a generous bound for other builds)
SKB_SHINFO = 384
#: the batch buffer of an instance whose ``nlbufsiz`` was never set: NLMSG_GOODSIZE
#: (3776 on x86-64 with 4 KiB pages; 8 KiB bounds it on larger pages)
NLBUFSIZ_DEFAULT_BOUND = 8192
#: attributes around a payload at most: headers, prefix (64), devices, hw header,
#: timestamp, uid/gid, sequence numbers, vlan, l2hdr, conntrack
MESSAGE_OVERHEAD = 2048


def datagram_bound(nlbufsiz: int | None, copy_range: int) -> int:
    """The largest datagram a group can send: a power of two to size receive slots.

    The kernel allocates a batch of ``max(nlbufsiz, one message)`` bytes and fills
    it up to its *tailroom*, which is that size plus ``skb_shared_info`` rounded up
    by the allocator (to a power of two above a page), less ``skb_shared_info``.
    """
    want = max(nlbufsiz or NLBUFSIZ_DEFAULT_BOUND, copy_range + MESSAGE_OVERHEAD) + SKB_SHINFO
    return 1 << (want - 1).bit_length()
