"""Shared helpers for benchmarks: machine description, timing, peak RSS, tables."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

__all__ = ["machine", "timeit", "peak_rss_kib", "print_table", "command_line"]


def machine() -> dict[str, Any]:
    """A short description of the machine the figures come from."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


def command_line() -> str:
    """The command that produced the figures."""
    return " ".join([os.path.basename(sys.executable)] + sys.argv) if sys.argv else "?"


def timeit(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs of ``fn`` and its last result."""
    best = float("inf")
    result: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def peak_rss_kib() -> int:
    """Peak resident set size of this process so far, in KiB."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def print_table(out: TextIO | None, title: str, rows: Sequence[Sequence[str]],
                header: Sequence[str]) -> None:
    """Print an aligned table (nothing when ``out`` is None)."""
    if out is None:
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}", file=out)
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)), file=out)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)), file=out)
