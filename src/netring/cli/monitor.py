"""``netring monitor [links,addrs,routes,neigh,rules] [--json] [--netns NAME] [--count N] [--timeout S]``.

Prints every rtnetlink notification as it arrives (``ip monitor`` style text, or
one JSON object per line with ``"kind"`` plus the object's ``ip -j`` keys).  When
the kernel reports an overrun (ENOBUFS) the monitor re-dumps and prints a
``resync`` line.  On exit (count reached, timeout, Ctrl-C) a final statistics
line goes to stderr: messages, overruns, resyncs, kernel drops.
"""

from __future__ import annotations

import argparse
import sys

from ..codec.types import TYPE_CHECKING
from .dump import KIND_CHOICES, add_common, format_line, open_rtnl
from .output import json_dumps

if TYPE_CHECKING:
    from typing import Any

__all__ = ["register"]


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    for k in kinds:
        if k not in KIND_CHOICES:
            raise argparse.ArgumentTypeError(
                f"unknown kind {k!r}; choose from {', '.join(KIND_CHOICES)}")
    return kinds


def register(sub: Any) -> None:
    p = sub.add_parser("monitor", help="print rtnetlink change notifications (with resync)")
    p.add_argument("kinds", nargs="?", type=_kinds, default=list(KIND_CHOICES),
                   help="comma-separated: links,addrs,routes,neigh,rules (default: all)")
    add_common(p)
    p.add_argument("--count", type=int, metavar="N", help="stop after N notifications")
    p.add_argument("--timeout", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--rcvbuf", type=int, metavar="BYTES", help="socket receive buffer size")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    out = sys.stdout
    rt = open_rtnl(args)
    if rt is None:
        return 2
    with rt, rt.monitor(*args.kinds, rcvbuf=args.rcvbuf) as mon:
        names = rt.names()
        try:
            for ev in mon.events(timeout=args.timeout, count=args.count):
                if ev.kind == "resync":
                    names = rt.names(refresh=True)
                    if args.json:
                        out.write(json_dumps(ev.to_dict(names)) + "\n")
                    else:
                        counts = ", ".join(f"{k} {len(v)}" for k, v in (ev.state or {}).items())
                        out.write(f"[resync] overrun: re-dumped {counts}\n")
                else:
                    if ev.kind == "links":
                        names = rt.names()
                    d = ev.to_dict(names)
                    if args.json:
                        out.write(json_dumps(d) + "\n")
                    else:
                        del d["kind"]
                        out.write(f"[{ev.kind}] {format_line(ev.kind, d)}\n")
                out.flush()
        except KeyboardInterrupt:
            pass
        finally:
            s = mon.stats()
            print(f"netring monitor: {s['messages']} messages, {s['overruns']} overruns, "
                  f"{s['resyncs']} resyncs, {s['drops']} kernel drops", file=sys.stderr)
    return 0
