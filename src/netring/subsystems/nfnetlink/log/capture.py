"""nflog to a capture file: :class:`CaptureSink` writes log messages to a pcapng or pcap
writer, one interface per group.

A datagram of alike messages (a flood) goes to the writer as columns
(:meth:`LogReader.take_run <.reader.LogReader.take_run>`, ``write_columns``), the rest
as records (:meth:`LogReader.records <.reader.LogReader.records>`): IPv4/IPv6 payloads
as ``LINKTYPE_RAW`` with the wire length from the IP header, pcapng with the prefix as
each packet's comment and a sequence gap as its ``epb_dropcount``; other messages as
``LINKTYPE_NFLOG`` records (pcapng) or skipped and counted (pcap).

Pure module: the writer is handed in, a datagram is anything with the receive
batch's three members (:class:`Datagram`).
"""

from __future__ import annotations

import time
from array import array

from ....codec.types import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator
    from typing import Any

    from .message import LogMessage
    from .reader import LogStats
    from .run import Record, Run

__all__ = ["CaptureSink", "Datagram"]


class Datagram(Protocol):
    """One received datagram as the sink reads it (a receive batch of
    :class:`~netring.subsystems.nfnetlink.edge.log.Log`)."""

    data: memoryview

    def take_run(self, limit: int | None = None) -> Run | None: ...

    def records(self) -> Generator[Record, None, None]: ...


class CaptureSink:
    """Writes log messages to a pcapng or pcap writer (one interface per group).

    Args:
        writer: a :class:`netring.pcap.writer.PcapngWriter` or ``PcapWriter``.
        pcapng: the writer is pcapng (interfaces, comments, statistics).
        groups: the groups, in order (pcapng interface ``nflog:N`` each).
        snaplen: the interfaces' snap length.

    Attributes:
        written: packets written.
        skipped: messages not written (pcap: not IPv4/IPv6, or no payload).
    """

    def __init__(self, writer: Any, pcapng: bool, groups: list[int], snaplen: int) -> None:
        from ....pcap.format import LINKTYPE

        self.writer = writer
        self.pcapng = pcapng
        self.snaplen = snaplen
        self.written = 0
        self.skipped = 0
        self._raw: dict[int, int] = {}
        self._nflog: dict[int, int] = {}
        self._linktype_nflog = int(LINKTYPE.NFLOG)
        if pcapng:
            for g in groups:
                self._raw[g] = writer.add_interface(int(LINKTYPE.RAW), snaplen,
                                                    name=f"nflog:{g}")

    def _nflog_iface(self, group: int) -> int:
        iface = self._nflog.get(group)
        if iface is None:
            iface = self._nflog[group] = self.writer.add_interface(
                self._linktype_nflog, self.snaplen + 256, name=f"nflog:{group}",
                description="packets that are not IPv4/IPv6, as nfnetlink_log messages")
        return iface

    def write(self, msg: LogMessage, ts_ns: int) -> None:
        """Write one message (``ts_ns``: the time when the kernel sent none)."""
        data = msg.tobytes()
        self.write_batch(_one(msg), memoryview(data), ts_ns)

    def write_datagram(self, batch: Datagram, now: int, limit: int | None = None) -> int:
        """Write the messages of one received datagram (at most ``limit``); returns
        how many.  A run of alike IPv4/IPv6 messages (a flood) goes to the writer as
        columns (:meth:`Batch.take_run
        <netring.subsystems.nfnetlink.edge.log.Batch.take_run>`), the rest as records."""
        n = 0
        run = batch.take_run(limit)
        if run is not None:
            n = self._write_run(run, now)
            if limit is not None:
                limit -= n
        if limit is not None and limit <= 0:
            return n
        walk = batch.records()
        try:
            return n + self.write_batch(walk if limit is None else _upto(walk, limit),
                                        batch.data, now)
        finally:
            walk.close()  # a walk cut short by the limit counts what it took, now

    def _write_run(self, run: Run, now: int) -> int:
        """A run to the writer: columns when its packets are IP of one version (for
        pcapng on the group's raw interface, the prefix as every block's comment, the
        gap before the run on its first block)."""
        ip = run.ip_wirelen()
        if ip is None:
            return self.write_batch(run.records(), memoryview(run.data), now)
        k = run.count
        wire = ip[1]
        sec, nsec = run.sec, run.nsec()
        if sec is None or nsec is None:
            s, ns = divmod(now, 1_000_000_000)
            sec, nsec = array("I", [s]) * k, array("I", [ns]) * k
        first = run.payload
        if not self.pcapng:
            self.writer.write_columns(sec, nsec, wire, run.data, first, run.step, run.size)
            self.written += k
            return k
        iface = self._raw[run.group]
        comment = run.prefix or None
        start = 0
        if run.gap:  # the first block carries the loss before it
            self.writer.write(memoryview(run.data)[first:first + run.size],
                              sec[0] * 1_000_000_000 + nsec[0], wire[0], iface,
                              comment=comment, dropcount=run.gap)
            start, first = 1, first + run.step
        self.writer.write_columns(sec[start:], nsec[start:], wire[start:], run.data, first,
                                  run.step, run.size, iface, comment=comment)
        self.written += k
        return k

    def write_batch(self, records: Iterable[Record], data: memoryview, now: int) -> int:
        """Write the messages of one datagram (``records`` of
        :meth:`~netring.subsystems.nfnetlink.log.LogReader.records` over ``data``);
        ``now`` stands in for a missing kernel timestamp.  Returns how many.

        IPv4/IPv6 packets without a prefix or a gap before them are handed to the
        writer's ``write_many`` in runs (all messages of a datagram belong to one
        group); the others are written one by one with their options.
        """
        if not self.pcapng:
            return self._write_pcap(records, data, now)
        n = 0
        writer = self.writer
        raw = self._raw
        run: list[tuple[memoryview, int, int]] = []
        iface = -1
        for off, length, group, p0, p1, ts, prefix, gap in records:
            n += 1
            if ts < 0:
                ts = now
            wire = _ip_wirelen(data, p0, p1)
            if wire < 0:  # not IP: the LINKTYPE_NFLOG record tcpdump -i nflog writes
                self._flush_run(run, iface)
                writer.write(data[off + 16:off + length], ts, None, self._nflog_iface(group),
                             comment=prefix or None, dropcount=gap or None)
                self.written += 1
                continue
            g_iface = raw[group]
            if not (prefix or gap) and (iface == g_iface or not run):
                iface = g_iface
                run.append((data[p0:p1], ts, wire))
                continue
            self._flush_run(run, iface)
            if prefix or gap:
                writer.write(data[p0:p1], ts, wire, g_iface, comment=prefix or None,
                             dropcount=gap or None)
                self.written += 1
            else:
                iface = g_iface
                run.append((data[p0:p1], ts, wire))
        self._flush_run(run, iface)
        return n

    def _write_pcap(self, records: Iterable[Record], data: memoryview, now: int) -> int:
        """:meth:`write_batch` for pcap: IPv4/IPv6 packets only, one ``write_many``."""
        before = self.written + self.skipped
        self.writer.write_many(self._pcap_packets(records, data, now))
        return self.written + self.skipped - before

    def _pcap_packets(self, records: Iterable[Record], data: memoryview,
                      now: int) -> Iterator[tuple[memoryview, int, int]]:
        written = skipped = 0
        try:
            for _off, _length, _group, p0, p1, ts, _prefix, _gap in records:
                wire = _ip_wirelen(data, p0, p1)
                if wire < 0:
                    skipped += 1
                    continue
                written += 1
                yield data[p0:p1], (now if ts < 0 else ts), wire
        finally:
            self.written += written
            self.skipped += skipped

    def _flush_run(self, run: list[tuple[memoryview, int, int]], iface: int) -> None:
        if run:
            if self.pcapng:
                self.writer.write_many(run, iface)
            else:
                self.writer.write_many(run)
            self.written += len(run)
            run.clear()

    def close(self, stats: LogStats) -> None:
        """Per-group statistics (pcapng, from the log's ``stats``), then flush and close
        the writer."""
        if self.pcapng:
            now = time.time_ns()
            groups = stats.groups
            for g, iface in self._raw.items():
                gs = groups.get(g)
                self.writer.write_stats(iface, now, received=gs.messages if gs else 0,
                                        dropped=gs.gaps if gs else 0)
        self.writer.close()


def _ip_wirelen(data: memoryview, p0: int, p1: int) -> int:
    """The length on the wire of the IP packet logged at ``data[p0:p1]``, as
    ``tcpdump -i nflog`` records it (IPv4 total length; IPv6 payload length + 40;
    never below the bytes logged), or -1 when the payload is not IPv4/IPv6 (or empty).
    (:meth:`Run.ip_wirelen <.run.Run.ip_wirelen>` is the same for a run's columns.)"""
    size = p1 - p0
    if size <= 0:
        return -1
    v = data[p0] >> 4
    if v != 4 and v != 6:
        return -1
    if size < 6:
        return size
    wire = ((data[p0 + 2] << 8) | data[p0 + 3]) if v == 4 else \
        40 + ((data[p0 + 4] << 8) | data[p0 + 5])
    return size if wire < size else wire


def _upto(records: Iterator[Record], n: int) -> Iterator[Record]:
    """The first ``n`` records."""
    for r in records:
        yield r
        n -= 1
        if n <= 0:
            return


def _one(msg: LogMessage) -> Iterator[Record]:
    """The capture record of a single message copied to its own buffer (offset 0)."""
    p = msg.raw("PAYLOAD")
    p0, p1 = (-1, -1) if p is None else (p.offset - msg._off + 4, p.offset - msg._off + p.len)
    ts = msg.timestamp_ns
    yield (0, msg.nlmsg_len, msg.group, p0, p1, -1 if ts is None else ts, msg.prefix, msg.gap)
