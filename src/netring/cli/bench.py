"""``netring bench NAME``: run one of the side-by-side benchmarks shipped in
``netring.tools.bench`` and print its ratios (``--json``: one JSON object on
stdout, nothing else there; progress a harness prints goes to stderr)."""

from __future__ import annotations

import argparse
import importlib
import sys

from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__all__ = ["register", "BENCHMARKS"]

#: the harnesses in netring.tools.bench (a test checks the list against the package)
BENCHMARKS = ("capture", "codec", "dump", "queue", "recvmmsg", "ring")


def _available() -> list[str]:
    return list(BENCHMARKS)


def register(sub: Any) -> None:
    p = sub.add_parser("bench", help="run a side-by-side benchmark (capture, ring, dump, codec, recvmmsg, queue)")
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
    if not args.json:
        result: dict[str, Any] = mod.run(quick=args.quick, out=sys.stdout)
        return 1 if result.get("error") else 0
    import contextlib
    import json

    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the one JSON object
        result = mod.run(quick=args.quick, out=None)
    print(json.dumps(result))
    if result.get("error"):
        print(f"netring bench: {result['error']}", file=sys.stderr)
        return 1
    return 0
