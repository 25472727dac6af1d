"""``netring log --group N[,M] [-w FILE] [--format pcapng|pcap] [--count N] [--timeout S]
[--netns NAME] [--json] [--snaplen N] [--qthresh N] [--flush-timeout S] [--nlbufsiz BYTES]
[--rcvbuf BYTES]``.

Binds nfnetlink_log groups (what nft's ``log group N`` and iptables'
``-j NFLOG --nflog-group N`` send to) and prints one line per logged packet,
like ``tcpdump -n -i nflog:N`` with ulogd's interface fields::

    12:00:00.123456 nflog:5 "in: " IN=veth0 OUT= IP 10.0.0.1.40000 > 10.0.0.2.53: UDP, length 32

``--json``: one JSON object per line instead (the message's attributes, the
payload as hex, ``"ip"`` with the summary's fields).  ``-w FILE``: write the
packets to a capture file instead of printing them (``-w -``: standard
output): pcapng by default, one interface ``nflog:N`` per group
(``LINKTYPE_RAW``: IPv4/IPv6 from the network header), the rule's prefix as
each packet's comment, the messages lost before a packet (sequence gaps) as
its drop count, and per-group statistics at the end; packets that are not IP,
or carry no payload, go to a second interface of the group as
``LINKTYPE_NFLOG`` records (the whole message, as ``tcpdump -i nflog`` writes
it).  ``--format pcap`` writes ``LINKTYPE_RAW`` only (other packets are
counted as skipped).

Stops after ``--count`` packets or ``--timeout`` seconds (exit 0), or on
SIGINT (exit 130) or SIGTERM (exit 0).  On a terminal a statistics line on
stderr is refreshed in place; a final summary (packets, bytes, sequence gaps,
overruns, kernel drops, what was written) always goes to stderr.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from array import array

from ..codec.types import TYPE_CHECKING
from .args import MAX_RCVBUF as _MAX_RCVBUF
from .args import integer as _integer
from .args import one_line_error as _one_line_error
from .args import seconds as _seconds
from .args import size as _size
from .output import json_dumps

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from types import FrameType
    from typing import Any, BinaryIO, TextIO

    from ..subsystems.nfnetlink.edge.log import Batch, Log
    from ..subsystems.nfnetlink.log.message import LogMessage
    from ..subsystems.nfnetlink.log.reader import Record
    from ..subsystems.nfnetlink.log.run import Run

__all__ = ["register", "parse_groups", "stats_line", "CaptureSink"]

#: the largest copy range (NFULNL_COPY_RANGE_MAX; kept here so --help loads nothing)
_COPY_MAX = 0xFFFF - 4
_NLBUF_MIN, _NLBUF_MAX = 4096, 131072
#: seconds between refreshes of the live statistics line
_REFRESH = 0.5
#: the CLI's kernel parameters: big batches, flushed within 50 ms
_CLI_NLBUFSIZ = 65536
_CLI_QTHRESH = 1024
_CLI_FLUSH = 0.05


_group = _integer("group", 0, 0xFFFF)


def parse_groups(text: str) -> list[int]:
    """``"5"`` or ``"5,6"`` -> ``[5, 6]`` (each 0..65535, no repeats)."""
    out: list[int] = []
    for part in text.split(","):
        p = part.strip()
        if not p:
            raise argparse.ArgumentTypeError(f"group list {text!r}: an empty group")
        g = _group(p)
        if g in out:
            raise argparse.ArgumentTypeError(f"group {g} given twice")
        out.append(g)
    return out


def register(sub: Any) -> None:
    p = sub.add_parser("log", help="receive nfnetlink_log groups (nft log group N, NFLOG): "
                                   "print them or write a pcapng/pcap file")
    p.add_argument("-g", "--group", dest="groups", type=parse_groups, required=True,
                   metavar="N[,M...]", help="log group(s) to bind, 0..65535")
    p.add_argument("-w", "--write", metavar="FILE",
                   help="write the packets to FILE (pcapng; '-': standard output)")
    p.add_argument("--format", choices=("pcapng", "pcap"), help="capture format for -w "
                   "(default pcapng; pcap holds IPv4/IPv6 packets only, LINKTYPE_RAW)")
    p.add_argument("-c", "--count", type=_integer("count", 1, 1 << 62), metavar="N",
                   help="stop after N packets")
    p.add_argument("--timeout", type=_seconds("timeout"), metavar="S",
                   help="stop after S seconds (> 0)")
    p.add_argument("--netns", metavar="NAME", help="network namespace (name or path)")
    p.add_argument("--json", action="store_true", help="one JSON object per packet")
    p.add_argument("-s", "--snaplen", type=_integer("snaplen", 0, _COPY_MAX), default=0,
                   metavar="N", help=f"bytes of each packet to copy (0: all, at most {_COPY_MAX})")
    p.add_argument("--qthresh", type=_integer("qthresh", 1, 0xFFFFFFFF),
                   default=_CLI_QTHRESH, metavar="N",
                   help=f"packets per kernel batch at most (default {_CLI_QTHRESH})")
    p.add_argument("--flush-timeout", type=_seconds("flush timeout", zero=True),
                   default=_CLI_FLUSH, metavar="S",
                   help=f"seconds a batch may wait in the kernel (default {_CLI_FLUSH}; "
                        "1/100 s steps)")
    p.add_argument("--nlbufsiz", type=_size("nlbufsiz", _NLBUF_MIN, _NLBUF_MAX),
                   default=_CLI_NLBUFSIZ, metavar="BYTES",
                   help=f"kernel batch buffer (default {_CLI_NLBUFSIZ >> 10}K; grown after "
                        "overruns up to 128K)")
    p.add_argument("--rcvbuf", type=_size("rcvbuf", 1, _MAX_RCVBUF), metavar="BYTES",
                   help="socket receive buffer to ask for (default 32M; doubled after "
                        "overruns); suffixes K, M, G")
    p.error = _one_line_error("netring log")
    p.set_defaults(func=_run)


def stats_line(packets: int, log: Log, extra: str = "") -> str:
    """The statistics text: packets, bytes, sequence gaps, overruns, kernel drops."""
    st = log.refresh_stats()
    drops = "?" if st.drops is None else str(st.drops)
    return (f"netring log: {packets} packets ({st.bytes} bytes), {st.seq_gaps} lost "
            f"(sequence gaps), {st.overruns} overruns, {drops} kernel drops{extra}")


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
        from ..pcap.format import LINKTYPE

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

    def write_datagram(self, batch: Batch, now: int, limit: int | None = None) -> int:
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
        pcapng = True
        raw = self._raw
        run: list[tuple[memoryview, int, int]] = []
        iface = -1
        for off, length, group, p0, p1, ts, prefix, gap in records:
            n += 1
            if ts < 0:
                ts = now
            v = data[p0] >> 4 if p1 > p0 else 0
            if v == 4 or v == 6:
                size = p1 - p0
                if size >= 6:
                    wire = ((data[p0 + 2] << 8) | data[p0 + 3]) if v == 4 else \
                        40 + ((data[p0 + 4] << 8) | data[p0 + 5])
                    if wire < size:
                        wire = size
                else:
                    wire = size
                if not pcapng:
                    run.append((data[p0:p1], ts, wire))
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
            elif pcapng:
                self._flush_run(run, iface)
                # nfgenmsg + attributes: the LINKTYPE_NFLOG record tcpdump -i nflog writes
                writer.write(data[off + 16:off + length], ts, None, self._nflog_iface(group),
                             comment=prefix or None, dropcount=gap or None)
                self.written += 1
            else:
                self.skipped += 1
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
                size = p1 - p0
                if size >= 6:
                    v = data[p0] >> 4
                    if v == 4:
                        wire = (data[p0 + 2] << 8) | data[p0 + 3]
                    elif v == 6:
                        wire = 40 + ((data[p0 + 4] << 8) | data[p0 + 5])
                    else:
                        skipped += 1
                        continue
                    written += 1
                    yield data[p0:p1], (now if ts < 0 else ts), (size if wire < size else wire)
                elif size > 0 and data[p0] >> 4 in (4, 6):
                    written += 1
                    yield data[p0:p1], (now if ts < 0 else ts), size
                else:
                    skipped += 1
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

    def close(self, log: Log) -> None:
        """Per-group statistics (pcapng), then flush and close the writer."""
        if self.pcapng:
            now = time.time_ns()
            groups = log.stats.groups
            for g, iface in self._raw.items():
                gs = groups.get(g)
                self.writer.write_stats(iface, now, received=gs.messages if gs else 0,
                                        dropped=gs.gaps if gs else 0)
        self.writer.close()


class _Terminated(Exception):
    """SIGTERM arrived."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def _open_output(args: argparse.Namespace) -> tuple[BinaryIO | None, bool]:
    """The capture file (``None`` without -w) and whether this command opened it."""
    if args.write is None:
        return None, False
    if args.write == "-":
        return sys.stdout.buffer, False
    return open(args.write, "wb"), True  # noqa: SIM115 - closed in _run's finally


class _Live:
    """The statistics line refreshed in place on a terminal."""

    def __init__(self, err: TextIO, out_is_tty: bool) -> None:
        self.err = err
        self.on = err.isatty()
        self.out_is_tty = out_is_tty
        self.shown = False
        self.next = time.monotonic() + _REFRESH

    def clear(self) -> None:
        if self.shown:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self.shown = False

    def tick(self, text: str) -> None:
        if not self.on:
            return
        self.err.write("\r" + text + "\x1b[K")
        self.err.flush()
        self.shown = True
        self.next = time.monotonic() + _REFRESH


def _run(args: argparse.Namespace) -> int:
    from ..errors import EncodeError
    from ..subsystems.nfnetlink.edge.log import Log
    from ..subsystems.nfnetlink.log.constants import NFULNL_CFG_F
    from ..subsystems.nfnetlink.log.text import message_line

    if args.format is not None and args.write is None:
        raise EncodeError("--format needs -w FILE")
    if args.write == "-" and args.json:
        raise EncodeError("-w - and --json both write to standard output: choose one")
    out = sys.stdout
    err = sys.stderr
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    log: Log | None = None
    sink: CaptureSink | None = None
    fobj: BinaryIO | None = None
    owned = False
    rc = 0
    packets = 0
    live = _Live(err, out.isatty())
    try:
        log = Log(args.groups, netns=args.netns, copy_range=args.snaplen,
                  nlbufsiz=args.nlbufsiz, qthresh=args.qthresh, timeout=args.flush_timeout,
                  flags=NFULNL_CFG_F.SEQ,
                  **({} if args.rcvbuf is None else {"rcvbuf": args.rcvbuf}))
        fobj, owned = _open_output(args)
        if fobj is not None:
            from ..pcap.writer import PcapngWriter, PcapWriter

            pcapng = (args.format or "pcapng") == "pcapng"
            snap = args.snaplen or 0xFFFF
            if pcapng:
                writer: Any = PcapngWriter(fobj)
            else:
                from ..pcap.format import LINKTYPE

                writer = PcapWriter(fobj, int(LINKTYPE.RAW), snap, nanoseconds=True)
            sink = CaptureSink(writer, pcapng, args.groups, snap)
        text = sink is None and not args.json
        lines = sink is None or args.json
        names = log.names() if lines else {}
        count = args.count
        for batch in log.batches(timeout=args.timeout):
            now = time.time_ns()
            chunk: list[str] = []
            if sink is not None and not lines:
                packets += sink.write_datagram(
                    batch, now, None if count is None else count - packets)
                if live.on and time.monotonic() >= live.next:
                    live.tick(stats_line(packets, log))
                if count is not None and packets >= count:
                    break
                continue
            for msg in batch:
                if sink is not None:
                    sink.write(msg, now)
                if lines:
                    i, o = msg.indev, msg.outdev
                    if (i is not None and i not in names) or (o is not None and o not in names):
                        names = _names_for(log, msg, names)
                    if text:
                        chunk.append(message_line(msg, names, now))
                    else:
                        chunk.append(json_dumps(_json(msg, names, now)))
                packets += 1
                if count is not None and packets >= count:
                    break
            if chunk:
                if live.out_is_tty:
                    live.clear()
                out.write("\n".join(chunk) + "\n")
                out.flush()
            if live.on and time.monotonic() >= live.next:
                live.tick(stats_line(packets, log))
            if count is not None and packets >= count:
                break
    except KeyboardInterrupt:
        rc = 130
    except _Terminated:
        rc = 0
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        live.clear()
        try:
            extra = ""
            if sink is not None and log is not None:
                sink.close(log)
                extra = f"; {sink.written} written to {args.write}"
                if sink.skipped:
                    extra += f", {sink.skipped} not IPv4/IPv6 skipped"
            if log is not None:
                print(stats_line(packets, log, extra), file=err)
        finally:
            if owned and fobj is not None:
                fobj.close()
            elif fobj is not None:
                fobj.flush()
            if log is not None:
                log.close()
            if main_thread:
                signal.signal(signal.SIGTERM, previous)
    return rc


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


def _names_for(log: Log, msg: LogMessage, names: dict[int, str]) -> dict[int, str]:
    """The names again when a message names an interface not known (a new link)."""
    for idx in (msg.indev, msg.outdev):
        if idx is not None and idx not in names:
            log.ifname(idx)  # refreshes at most once a second
            return log.names()
    return names


def _json(msg: LogMessage, names: dict[int, str], now: int) -> dict[str, Any]:
    from ..subsystems.nfnetlink.summary import summarize

    d = msg.to_dict(names)
    d.setdefault("ts_ns", now)
    payload = msg.payload
    if payload is not None:
        s = summarize(payload)
        if s is not None:
            d["ip"] = s.to_dict()
    return d
