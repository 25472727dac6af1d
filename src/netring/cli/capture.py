"""``netring capture -i IFACE [-f FILTER] [-c N] [--timeout S] [-w FILE] ...``: tcpdump's job.

Captures through a TPACKET ring (V3 by default) and prints one line per packet
(tcpdump's: time, direction, protocol, addresses, length), or ``--json``
objects, or writes a pcap/pcapng file with ``-w`` (``--print`` prints too).
Stops after ``-c N`` packets, at ``--timeout S`` seconds, or on SIGINT/SIGTERM,
then prints tcpdump's summary on stderr::

    12 packets captured
    12 packets received by filter
    0 packets dropped by kernel

On a terminal, while the lines do not go to that terminal (``-w``, a pipe), a
rate/drop line is refreshed in place on stderr.  ``--workers W`` runs W
processes in one fanout group (``--fanout N`` picks the group id, default one
derived from the process id; ``--fanout-mode`` its mode); with ``-w`` each
worker writes ``FILE.K``.  ``-f FILTER`` compiles a tcpdump expression (or
takes classic BPF bytecode) and attaches it before the ring fills.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from .._sys.sigstop import SignalStop
from ..codec.types import TYPE_CHECKING
from .args import integer as _integer
from .args import one_line_error as _one_line_error
from .args import seconds as _seconds

if TYPE_CHECKING:
    from typing import Any

__all__ = ["register"]

_MAX_SNAPLEN = 262144
_STOP_LOOK = 0.25  # seconds: how often an idle capture looks for a SIGTERM
_snaplen_range = _integer("snaplen", 0, _MAX_SNAPLEN)


def _snaplen(text: str) -> int:
    """``-s N``: 1.._MAX_SNAPLEN, and 0 (tcpdump's way) for the largest."""
    return _snaplen_range(text) or _MAX_SNAPLEN


def register(sub: Any) -> None:
    p = sub.add_parser("capture", help="capture packets through a TPACKET ring (tcpdump-like)")
    p.add_argument("-i", "--interface", required=True, metavar="IFACE",
                   help="interface to capture on ('any': every interface)")
    p.add_argument("--netns", metavar="NAME", help="network namespace (name or path)")
    p.add_argument("-f", "--filter", metavar="FILTER",
                   help="tcpdump filter expression (or classic BPF bytecode)")
    p.add_argument("-c", "--count", type=_integer("count", 1), metavar="N",
                   help="stop after N packets")
    p.add_argument("--timeout", type=_seconds(), metavar="S",
                   help="stop after S seconds")
    p.add_argument("-w", "--write", metavar="FILE", help="write packets to FILE ('-': stdout)")
    p.add_argument("--format", choices=("pcap", "pcapng"), default="pcap",
                   help="file format for -w (default pcap, nanosecond timestamps)")
    p.add_argument("--print", dest="print_lines", action="store_true",
                   help="print packet lines even with -w")
    p.add_argument("-s", "--snaplen", type=_snaplen, default=_MAX_SNAPLEN, metavar="N",
                   help=f"bytes kept per packet (default and 0: {_MAX_SNAPLEN})")
    p.add_argument("--tpacket", type=int, choices=(1, 2, 3), default=3,
                   help="ring version (default 3: blocks; 2 for the lowest latency)")
    p.add_argument("--retire-ms", type=_integer("retire-ms", 1), default=10, metavar="MS",
                   help="V3 block retire timeout in ms (default 10)")
    p.add_argument("-B", "--buffer-size", type=_integer("buffer size", 1), default=32 << 10,
                   metavar="KIB", help="ring size in KiB (default 32768)")
    p.add_argument("--fanout", type=_integer("fanout group", 0, 0xFFFF), metavar="N",
                   help="join fanout group N (0..65535)")
    p.add_argument("--fanout-mode", default="hash",
                   choices=("hash", "lb", "cpu", "rollover", "rnd", "qm"),
                   help="fanout mode (default hash: a flow, both ways, stays on one member)")
    p.add_argument("--workers", type=_integer("workers", 1), default=1, metavar="W",
                   help="W capture processes in one fanout group")
    p.add_argument("--json", action="store_true", help="one JSON object per packet")
    p.add_argument("-p", "--no-promiscuous-mode", dest="promisc", action="store_false",
                   help="do not put the interface in promiscuous mode")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-packet output")
    p.add_argument("--time-stamp-type", choices=("software", "hardware"), default="software",
                   help="timestamps from the kernel (default) or the NIC's clock")
    p.error = _one_line_error("netring capture")
    p.set_defaults(func=_run)


class _Stop(Exception):
    """SIGTERM arrived."""


def _on_term(signum: int, frame: object) -> None:
    raise _Stop


def _open_ring(args: argparse.Namespace) -> Any:
    from ..packet.edge.ring import CaptureRing
    from ..packet.edge.sock import PacketSocket

    ifname = None if args.interface == "any" else args.interface
    sock = PacketSocket(ifname, netns=args.netns, promisc=args.promisc and ifname is not None)
    try:
        if args.filter:
            from ..packet.edge.filter import attach_filter, compile_filter

            program = compile_filter(args.filter, 1, args.snaplen)
            attach_filter(sock.fileno(), program)
        fanout = None
        if args.fanout is not None:
            fanout = (args.fanout, args.fanout_mode)
        return CaptureRing(sock, version=args.tpacket, snaplen=args.snaplen,
                           retire_ms=args.retire_ms, buffer_size=args.buffer_size << 10,
                           timestamp=args.time_stamp_type, fanout=fanout), sock
    except BaseException:
        sock.close()
        raise


def _open_writer(args: argparse.Namespace, suffix: str) -> tuple[Any, Any]:
    from ..pcap.writer import open_writer

    if args.write == "-":
        f: Any = sys.stdout.buffer
    else:
        f = open(args.write + suffix, "wb")
    kw = {"name": args.interface} if args.format == "pcapng" else {}
    return open_writer(f, args.format, 1, args.snaplen, **kw), f


def _capture(args: argparse.Namespace, worker: int, budget: Any,
             stop: SignalStop | None = None) -> dict[str, int]:
    """One capture process: ring, loop, output; returns its counters.  ``stop``: a
    SIGTERM request, looked at between blocks (a block is written whole) and at least
    every :data:`_STOP_LOOK` seconds while waiting."""
    from ..packet.capfile import write_batch
    from ..packet.summary import decode, format_time, summary_line

    ring, sock = _open_ring(args)
    writer = f = None
    if ring.timestamp_note and worker == 0:
        print(f"netring capture: {ring.timestamp_note}", file=sys.stderr)
    out = sys.stdout
    try:
        if args.write:
            writer, f = _open_writer(args, f".{worker}" if args.workers > 1 else "")
        show = not args.quiet and (not args.write or args.print_lines) and args.write != "-"
        as_json = args.json
        live = sys.stderr.isatty() and not (show and out.isatty())
        from .output import json_dumps as dumps
        if worker == 0 and not args.quiet and args.workers == 1:
            print(f"netring capture: listening on {args.interface}, link-type EN10MB "
                  f"(Ethernet), TPACKET_V{args.tpacket}, snapshot length {args.snaplen} bytes",
                  file=sys.stderr)
        captured = 0
        limit = args.count
        deadline = None if args.timeout is None else time.monotonic() + args.timeout
        next_live = time.monotonic() + 0.5
        last_count = 0
        pcapng = writer is not None and args.format == "pcapng"
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if stop is not None and stop.requested:
                break
            wait = 0.5 if deadline is None else min(0.5, deadline - now)
            if stop is not None:
                wait = min(wait, _STOP_LOOK)
            blk = ring.next_block(timeout=wait)
            if blk is None:
                if live:
                    next_live = _live_line(ring, captured, last_count, next_live, now)
                    last_count = captured
                continue
            with blk:
                take = len(blk)
                if limit is not None:
                    take = _reserve(budget, take, limit, captured)
                if writer is not None and take:
                    # the block's frames in one call (a V3 block of one stride straight
                    # from the mapping); the block is released after it
                    write_batch(writer, blk, take, direction=pcapng)
                lines = []
                if show:
                    for i, pkt in enumerate(blk):
                        if i >= take:
                            break
                        if as_json:
                            rec = pkt.to_dict()
                            rec["time"] = format_time(pkt.ts_ns)
                            rec.update(decode(pkt.data, pkt.vlan_tci))
                            lines.append(dumps(rec))
                        else:
                            lines.append(summary_line(pkt.ts_ns, pkt.direction, pkt.data,
                                                      pkt.wirelen, pkt.vlan_tci))
                captured += take
            if lines:
                out.write("\n".join(lines) + "\n")
                out.flush()
            if live and time.monotonic() >= next_live:
                next_live = _live_line(ring, captured, last_count, next_live, time.monotonic())
                last_count = captured
            if limit is not None and (captured >= limit or _spent(budget, limit)):
                break
        total = ring.stats_total
        if writer is not None:
            if pcapng and hasattr(writer, "write_stats"):
                writer.write_stats(0, time.time_ns(), received=total.packets, dropped=total.drops)
            writer.flush()
        if live:
            sys.stderr.write("\r\x1b[K")
        return {"captured": captured, "received": total.packets, "dropped": total.drops}
    finally:
        if writer is not None:
            writer.close()
        if f is not None and f is not sys.stdout.buffer:
            f.close()
        ring.close()
        sock.close()


def _live_line(ring: Any, captured: int, last: int, due: float, now: float) -> float:
    if now < due:
        return due
    st = ring.stats_total
    rate = (captured - last) / 0.5
    sys.stderr.write(f"\r{captured} packets captured, {rate:.0f} pkt/s, "
                     f"{st.drops} dropped by kernel\x1b[K")
    sys.stderr.flush()
    return now + 0.5


def _reserve(budget: Any, want: int, limit: int, captured: int) -> int:
    """How many of ``want`` packets this process may still take (shared -c budget)."""
    if budget is None:
        return max(0, min(want, limit - captured))
    with budget.get_lock():
        take = max(0, min(want, limit - int(budget.value)))
        budget.value += take
    return take


def _spent(budget: Any, limit: int) -> bool:
    return budget is not None and budget.value >= limit


def _summary(stats: dict[str, int]) -> None:
    print(f"{stats['captured']} packets captured", file=sys.stderr)
    print(f"{stats['received']} packets received by filter", file=sys.stderr)
    print(f"{stats['dropped']} packets dropped by kernel", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    import threading

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_term) if main_thread else None
    try:
        if args.workers > 1:
            return _run_workers(args)
        stats = {"captured": 0, "received": 0, "dropped": 0}
        rc = 0
        try:
            if main_thread:
                with SignalStop() as stop:  # SIGTERM ends the loop between blocks
                    stats = _capture(args, 0, None, stop)
            else:
                stats = _capture(args, 0, None)
        except KeyboardInterrupt:
            rc = 130
        except _Stop:
            rc = 0
        _summary(stats)
        return rc
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _run_workers(args: argparse.Namespace) -> int:
    """W forked capture processes in one fanout group; counters summed at the end."""
    import json
    import multiprocessing

    if args.fanout is None:
        args.fanout = os.getpid() & 0xFFFF
    budget = multiprocessing.Value("q", 0) if args.count is not None else None
    pids = []
    pipes = []
    for w in range(args.workers):
        r, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # worker
            os.close(r)
            code = 0
            stats = {"captured": 0, "received": 0, "dropped": 0}
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, _on_term)  # until the loop watches it
                with SignalStop() as stop:
                    stats = _capture(args, w, budget, stop)
            except _Stop:
                code = 0
            except BaseException as exc:  # reported by the parent's exit status
                from . import exit_status

                code, text = exit_status(exc)
                code = int(code)
                print(f"netring capture: worker {w}: {text}", file=sys.stderr)
            finally:
                try:
                    os.write(wfd, json.dumps(stats).encode())
                finally:
                    os._exit(code)
        os.close(wfd)
        pids.append(pid)
        pipes.append(r)
    rc = 0
    interrupted = False
    try:
        for pid in pids:
            _, status = os.waitpid(pid, 0)
            rc = rc or os.waitstatus_to_exitcode(status)
    except (KeyboardInterrupt, _Stop) as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        for pid in pids:
            os.waitpid(pid, 0)
    total = {"captured": 0, "received": 0, "dropped": 0}
    for r in pipes:
        with os.fdopen(r, "rb") as fh:
            raw = fh.read()
        if raw:
            for k, v in json.loads(raw).items():
                total[k] += int(v)
    _summary(total)
    return 130 if interrupted else (rc if rc > 0 else 0)
