"""``netring send -i IFACE FILE [--netns NAME] [--rate PPS] [--loop N]``: replay a capture.

Every record of a pcap or pcapng file goes out byte for byte through a TX ring
(``--method sendmmsg`` for the fallback), ``--loop N`` times, at most
``--rate`` packets per second (paced in batches).  At the end one line on
stderr: packets and bytes sent, seconds, rate.
"""

from __future__ import annotations

import argparse
import sys
import time

from ..codec.types import TYPE_CHECKING
from .args import integer as _integer
from .args import number as _number
from .args import one_line_error as _one_line_error

if TYPE_CHECKING:
    from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("send", help="replay a pcap/pcapng file through a TX ring")
    p.add_argument("-i", "--interface", required=True, metavar="IFACE", help="interface to send on")
    p.add_argument("file", metavar="FILE", help="pcap or pcapng file")
    p.add_argument("--netns", metavar="NAME", help="network namespace (name or path)")
    p.add_argument("--rate", type=_number("rate", "packets per second"), metavar="PPS",
                   help="at most PPS packets per second (default: as fast as the ring goes)")
    p.add_argument("--loop", type=_integer("loop", 1), default=1, metavar="N",
                   help="send the file N times (default 1)")
    p.add_argument("--method", choices=("ring", "sendmmsg", "auto"), default="auto",
                   help="TX ring (default auto: the ring, sendmmsg where the kernel has none)")
    p.add_argument("--tpacket", type=int, choices=(1, 2, 3), default=2, help="TX ring version")
    p.add_argument("--qdisc-bypass", action="store_true",
                   help="PACKET_QDISC_BYPASS: skip the interface's queueing discipline")
    p.error = _one_line_error("netring send")
    p.set_defaults(func=_run)


def _records(path: str) -> list[bytes]:
    from ..pcap.reader import read_capture

    with open(path, "rb") as f:
        raw = f.read()
    return [bytes(r.data) for r in read_capture(raw)]


def _run(args: argparse.Namespace) -> int:
    from ..errors import EncodeError
    from ..packet.edge.tx import open_sender

    frames = _records(args.file)
    if not frames:
        raise EncodeError(f"{args.file}: no packets in the file")
    longest = max(len(f) for f in frames)
    kw: dict[str, Any] = {"qdisc_bypass": args.qdisc_bypass}
    if args.method != "sendmmsg":
        kw.update(version=args.tpacket, frame_size=max(2048, longest + 64), frame_nr=256)
    sent = 0
    nbytes = 0
    start = time.monotonic()
    with open_sender(args.interface, method=args.method, netns=args.netns, **kw) as tx:
        batch = 64 if args.rate is None else max(1, min(64, int(args.rate // 100) or 1))
        for _ in range(args.loop):
            for i in range(0, len(frames), batch):
                chunk = frames[i:i + batch]
                sent += tx.send(chunk)
                nbytes += sum(len(c) for c in chunk)
                if args.rate is not None:
                    due = start + sent / args.rate
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
        tx.flush(10)
    dt = time.monotonic() - start
    print(f"netring send: {sent} packets, {nbytes} bytes sent in {dt:.3f} s "
          f"({sent / dt if dt > 0 else 0:.0f} pkt/s) via "
          f"{'TX ring' if type(tx).__name__ == 'TxRing' else 'sendmmsg'}", file=sys.stderr)
    return 0
