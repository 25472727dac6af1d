"""``netring queue --queue N[,M|N:M] [--verdict accept|drop] [--mark M] [--batch K]
[--fail-open] [-w FILE] [--count N] [--timeout S] [--workers W [--fanout flow|rr]]
[--ring auto|uring|kernel|user] [--netns NAME] [--json]``.

Binds the nfnetlink_queue queues named, gives every packet the verdict asked for
(with ``--mark``, a new ``skb->mark``) and counts: a live statistics line on
stderr when it is a terminal (packets/s, bytes/s, verdicts by kind, kernel drops,
ENOBUFS, fail-open accepts), refreshed in place; ``--json`` prints one JSON
object per packet on stdout; ``-w FILE`` writes every packet to a pcapng file with
its verdict, queue and packet id.  It ends after ``--count`` packets or
``--timeout`` seconds (exit 0), or on SIGINT (130) / SIGTERM, always after giving
every packet it holds its verdict and unbinding; then a final summary line.

It warns when a queue is protected neither by ``--fail-open`` (the kernel accepts
when the queue is full) nor by a ``--queue-bypass`` rule (packets pass while no
one listens, e.g. after this process dies).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time

from ..codec.types import TYPE_CHECKING
from .args import integer as _integer
from .args import one_line_error as _one_line_error
from .args import seconds as _seconds
from .output import json_dumps

if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

__all__ = ["register", "parse_queues"]

_LIVE_EVERY = 0.5  # seconds between refreshes of the live line


def parse_queues(text: str) -> list[int]:
    """``3``, ``3,5``, ``3:7`` (inclusive) or a mix (``1,4:6``) -> queue numbers, in order."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise argparse.ArgumentTypeError(f"queue {text!r}: an empty item")
        lo_s, sep, hi_s = part.partition(":")
        try:
            lo = int(lo_s)
            hi = int(hi_s) if sep else lo
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"queue {part!r}: not a queue number (0..65535) or range N:M") from None
        if not (0 <= lo <= 0xFFFF and 0 <= hi <= 0xFFFF):
            raise argparse.ArgumentTypeError(f"queue {part!r}: queue numbers are 0..65535")
        if hi < lo:
            raise argparse.ArgumentTypeError(f"queue range {part!r}: {hi} is below {lo}")
        out.extend(range(lo, hi + 1))
    return list(dict.fromkeys(out))


def register(sub: Any) -> None:
    p = sub.add_parser("queue", help="nfnetlink_queue: give queued packets a verdict, count, "
                                     "capture")
    p.add_argument("-q", "--queue", type=parse_queues, required=True, metavar="N[,M|N:M]",
                   help="queue numbers to bind: N, a list N,M or a range N:M (inclusive)")
    p.add_argument("--verdict", choices=("accept", "drop"), default="accept",
                   help="the verdict every packet gets (default accept)")
    p.add_argument("--mark", type=_integer("mark", 0, 0xFFFFFFFF), metavar="M",
                   help="set skb->mark with the verdict (decimal or 0x...)")
    p.add_argument("--batch", type=_integer("batch", 1, 1024), default=64, metavar="K",
                   help="datagrams per recvmmsg, so at most K packets per batch verdict "
                        "(default 64)")
    p.add_argument("--fail-open", action="store_true",
                   help="NFQA_CFG_F_FAIL_OPEN: the kernel accepts packets when the queue is "
                        "full or this socket's buffer overflows, instead of dropping them")
    p.add_argument("--maxlen", type=_integer("maxlen", 1, 0xFFFFFFFF), metavar="N",
                   help="the kernel's queue length limit (default: the kernel's 1024)")
    p.add_argument("--copy-range", type=_integer("copy range", 0, 65531), default=65531,
                   metavar="BYTES", help="bytes of each packet to copy (default 65531: all)")
    p.add_argument("-w", "--write", metavar="FILE",
                   help="write the packets to a pcapng file (with verdict, queue, packet id)")
    p.add_argument("-c", "--count", type=_integer("count", 1, 1 << 62), metavar="N",
                   help="stop after N packets (N >= 1)")
    p.add_argument("--timeout", type=_seconds(), metavar="S", help="stop after S seconds (> 0)")
    p.add_argument("--workers", type=_integer("workers", 1, 64), metavar="W",
                   help="give the verdicts in W worker processes behind the one queue socket "
                        "(a worker pool, docs/nfqueue.md)")
    p.add_argument("--fanout", choices=("flow", "rr"), default="flow",
                   help="with --workers: both directions of a flow to one worker (flow, the "
                        "default) or round-robin (rr)")
    p.add_argument("--ring", choices=("auto", "uring", "kernel", "user"),
                   help="receive from a netlink RX ring instead of recvmmsg: uring (io_uring "
                        "fills it), kernel (4.5 rings), user, or auto (the first the kernel "
                        "allows; docs/nfqueue.md)")
    p.add_argument("--netns", metavar="NAME", help="network namespace (name or path)")
    p.add_argument("--json", action="store_true", help="one JSON object per packet on stdout")
    p.error = _one_line_error("netring queue")
    p.set_defaults(func=_run)


def _bypass_queues(netns: str | None) -> set[int] | None:
    """Queues some iptables/ip6tables NFQUEUE rule sends to with ``--queue-bypass``
    (``None`` when the rules cannot be read)."""
    import shutil
    import subprocess

    found: set[int] = set()
    read_any = False
    for tool in ("iptables", "ip6tables"):
        if shutil.which(tool) is None:
            continue
        cmd = [tool, "-w", "-S"]
        if netns is not None:
            cmd = ["ip", "netns", "exec", netns, *cmd] if "/" not in netns else [
                "nsenter", f"--net={netns}", *cmd]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode != 0:
            continue
        read_any = True
        for line in out.stdout.splitlines():
            if "NFQUEUE" not in line or "--queue-bypass" not in line:
                continue
            words = line.split()
            for flag in ("--queue-num", "--queue-balance"):
                if flag in words:
                    spec = words[words.index(flag) + 1]
                    lo, _, hi = spec.partition(":")
                    found.update(range(int(lo), int(hi or lo) + 1))
            if "--queue-num" not in words and "--queue-balance" not in words:
                found.add(0)
    return found if read_any else None


class _Terminated(Exception):
    """SIGTERM arrived."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def _run(args: argparse.Namespace) -> int:
    from ..subsystems.nfnetlink.constants import NF
    from ..subsystems.nfnetlink.edge.queue import Queue
    from ..subsystems.nfnetlink.queue.stats import stats_line
    from .queue_pool import conflict

    if conflict(args):
        print(f"netring queue: {conflict(args)}", file=sys.stderr)
        return 2
    if args.ring and args.workers:
        print("netring queue: --ring cannot be combined with --workers: the pool's owner "
              "receives with recvmmsg", file=sys.stderr)
        return 2
    if not args.fail_open:
        bypass = _bypass_queues(args.netns)
        unprotected = [q for q in args.queue if bypass is None or q not in bypass]
        if unprotected:
            which = ", ".join(map(str, unprotected[:8])) + (" ..." if len(unprotected) > 8 else "")
            print(f"netring queue: warning: queue {which}: neither --fail-open nor a "
                  "--queue-bypass rule protects the traffic (a full queue drops packets; "
                  "without a listener every queued packet is dropped)", file=sys.stderr)
    verdict = NF.ACCEPT if args.verdict == "accept" else NF.DROP
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    live = sys.stderr.isatty()
    out = sys.stdout
    rc = 0
    terminated = False
    q = None
    writer = None
    pool_lines: list[str] = []
    start = time.monotonic()
    try:
        q = Queue(args.queue, netns=args.netns, fail_open=args.fail_open, batch=args.batch,
                  maxlen=args.maxlen, copy_range=args.copy_range, batch_verdict=verdict,
                  batch_mark=args.mark, ring=args.ring)
        if args.write:
            writer = _open_pcapng(args.write)
        name = args.verdict
        next_live = start + _LIVE_EVERY
        if args.workers:
            from .queue_pool import run_pool

            run_pool(q, args, verdict, live, _LIVE_EVERY, pool_lines)
        # SIGTERM, from here on, ends the loop after the batch in hand (never inside
        # the verdict bookkeeping)
        with contextlib.nullcontext() if args.workers or not main_thread else (
                q.stop_on_signal()) as stop:
            for batch in () if args.workers else q.batches(args.count, args.timeout):
                if args.json or writer is not None:
                    for pkt in batch:
                        if writer is not None:
                            writer.packet(pkt, name)
                        if args.json:
                            d = pkt.to_dict()
                            d["verdict"] = name
                            if args.mark is not None:
                                d["verdict_mark"] = args.mark
                            out.write(json_dumps(d) + "\n")
                    if args.json:
                        out.flush()
                batch.verdict(verdict, mark=args.mark)
                if live:
                    now = time.monotonic()
                    if now >= next_live:
                        next_live = now + _LIVE_EVERY
                        sys.stderr.write("\r\x1b[K" + stats_line(q.stats(), now - start))
                        sys.stderr.flush()
        terminated = stop is not None and stop.requested
    except KeyboardInterrupt:
        rc = 130
    except _Terminated:
        terminated = True
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if q is not None:
            q.flush()
            s = q.stats()
            q.close()
            if live:
                sys.stderr.write("\r\x1b[K")
            print("netring queue: " + stats_line(s, time.monotonic() - start), file=sys.stderr)
            if args.ring:
                print(f"netring queue: received through the {s.receive} ring", file=sys.stderr)
            for line in pool_lines:
                print("netring queue: " + line, file=sys.stderr)
        if writer is not None:
            writer.close()
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    if terminated:
        sys.stderr.flush()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    return rc


class _PcapngOut:
    """Queued packets into a pcapng file: one interface per link type (raw IPv4/IPv6)."""

    def __init__(self, path: str) -> None:
        from ..pcap.format import LINKTYPE, PCAPNG_VERDICT_TYPE
        from ..pcap.writer import PcapngWriter, make_verdict

        self._f = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._w = PcapngWriter(self._f)
        # pcapng has no verdict type for netfilter: type 0 (variable-length data) with
        # the kernel's name of the verdict, NF_ACCEPT or NF_DROP
        self._verdicts = {name: make_verdict(PCAPNG_VERDICT_TYPE.HARDWARE, b"NF_" + name.upper().encode())
                          for name in ("accept", "drop")}
        self._ifaces: dict[int, int] = {}
        self._linktype = LINKTYPE

    def packet(self, pkt: Any, verdict: str) -> None:
        fam = int(pkt.family)
        iface = self._ifaces.get(fam)
        if iface is None:
            lt = {2: self._linktype.IPV4, 10: self._linktype.IPV6}.get(fam, self._linktype.RAW)
            iface = self._w.add_interface(lt, 65535, name=f"nfqueue family {fam}")
            self._ifaces[fam] = iface
        ts = pkt.timestamp_ns
        self._w.write(pkt.payload, time.time_ns() if ts is None else ts, pkt.cap_len, iface,
                      packetid=pkt.id, queue=pkt.queue, verdict=[self._verdicts[verdict]])

    def close(self) -> None:
        self._w.close()
        self._f.close()


def _open_pcapng(path: str) -> _PcapngOut:
    return _PcapngOut(path)
