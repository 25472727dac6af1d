"""``netring bench NAME``: run one of the side-by-side benchmarks shipped in
``netring.tools.bench`` and print its ratios (``--json`` for one JSON object)."""

from __future__ import annotations

import argparse
import importlib
import sys

from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__all__ = ["register", "BENCHMARKS"]

#: the harnesses in netring.tools.bench (a test checks the list against the package)
BENCHMARKS = ("codec", "dump", "recvmmsg", "ring")


def _available() -> list[str]:
    return list(BENCHMARKS)


def register(sub: Any) -> None:
    p = sub.add_parser("bench", help="run a side-by-side benchmark (ring, dump, codec, recvmmsg)")
    p.add_argument("name", help="benchmark name: " + ", ".join(_available()))
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a fast look")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    names = _available()
    if args.name not in names:
        print(f"netring bench: unknown benchmark {args.name!r}; have: {', '.join(names)}",
              file=sys.stderr)
        return 2
    mod = importlib.import_module(f"netring.tools.bench.{args.name}")
    result: dict[str, Any] = mod.run(quick=args.quick, out=None if args.json else sys.stdout)
    if args.json:
        import json

        print(json.dumps(result))
    return 0
