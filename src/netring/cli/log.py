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
import contextlib
import signal
import sys
import threading
import time

from ..codec.types import TYPE_CHECKING
from .args import MAX_RCVBUF as _MAX_RCVBUF
from .args import integer as _integer
from .args import one_line_error as _one_line_error
from .args import seconds as _seconds
from .args import size as _size
from .output import json_dumps

if TYPE_CHECKING:
    from types import FrameType
    from typing import Any, BinaryIO, TextIO

    from ..subsystems.nfnetlink.edge.log import Log
    from ..subsystems.nfnetlink.log.capture import CaptureSink
    from ..subsystems.nfnetlink.log.message import LogMessage

__all__ = ["register", "parse_groups", "stats_line"]

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
            from ..subsystems.nfnetlink.log.capture import CaptureSink

            sink = CaptureSink(writer, pcapng, args.groups, snap)
        text = sink is None and not args.json
        lines = sink is None or args.json
        names = log.names() if lines else {}
        count = args.count
        # SIGTERM, from here on, ends the loop after the datagram in hand (never with a
        # record half written)
        with log.stop_on_signal() if main_thread else contextlib.nullcontext():
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
                sink.close(log.stats)
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
