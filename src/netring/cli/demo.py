"""``netring demo``: a self-contained tour in a private network namespace.

Each stage is printed as it finishes.  On Ctrl-C (SIGINT) the demo says which
stage it stopped in, removes its namespace (every process in it is ended and
reaped) and exits 130.
"""

from __future__ import annotations

import argparse
import sys

from ..codec.types import TYPE_CHECKING
from .args import integer as _integer
from .args import one_line_error as _one_line_error
from .output import json_dumps

if TYPE_CHECKING:
    from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="a self-contained tour, in a private network namespace")
    p.add_argument("--count", type=_integer("count", 1), default=100_000, metavar="N",
                   help="messages per stream stage (at least 1; default 100000)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.error = _one_line_error("netring demo")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..tools.demo import DemoInterrupted, run_demo

    try:
        results = run_demo(args.count, None if args.json else sys.stdout)
    except DemoInterrupted as exc:
        print(f"netring demo: interrupted {exc.where()}; its namespace is removed",
              file=sys.stderr)
        return 130
    if args.json:
        print(json_dumps(results))
    # a stage this machine cannot run (no nft/iptables, say) is skipped, not failed
    return 0 if all(r.get("ok") or r.get("skipped") for k, r in results.items()
                    if isinstance(r, dict)) else 1
