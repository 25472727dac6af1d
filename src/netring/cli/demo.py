"""``netring demo``: a self-contained tour in a private network namespace."""

from __future__ import annotations

import argparse
import sys

from ..codec.types import TYPE_CHECKING
from .output import json_dumps

if TYPE_CHECKING:
    from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="a self-contained tour, in a private network namespace")
    p.add_argument("--count", type=int, default=100_000, help="messages per stream stage")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..tools.demo import run_demo

    results = run_demo(args.count, None if args.json else sys.stdout)
    if args.json:
        print(json_dumps(results))
    return 0 if all(r.get("ok") for k, r in results.items() if isinstance(r, dict)) else 1
