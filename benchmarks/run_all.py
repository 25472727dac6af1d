#!/usr/bin/env python3
"""Run every netring benchmark in turn (codec, recvmmsg, ring, dump, queue, capture) and print
their tables; ``--quick`` for smaller sizes.  Root is needed (private namespaces).

The figures in docs/benchmarks.md come from this script.
"""

import importlib
import sys

NAMES = ("codec", "recvmmsg", "ring", "dump", "queue", "capture")

if __name__ == "__main__":
    quick = "--quick" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("-")] or NAMES
    for name in only:
        print(f"\n===== netring bench {name}{' --quick' if quick else ''} =====")
        importlib.import_module(f"netring.tools.bench.{name}").run(quick=quick, out=sys.stdout)
