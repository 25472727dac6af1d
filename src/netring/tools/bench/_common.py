"""Shared helpers for benchmarks: machine description, timing, peak RSS, tables.

Every harness prints the same shape (no blank first line)::

    <table title>
    variant  rate  ratio
    ...                                  (a blank line before each further table)

    command: python -m netring bench recvmmsg --quick
    machine: Intel(R) Xeon(R) Processor, 2 cores, Linux 6.18.44, CPython 3.11.7
"""

from __future__ import annotations

import os
import platform
import resource
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence

from ...codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, TextIO

__all__ = ["machine", "machine_line", "timeit", "peak_rss_kib", "print_table", "command_line",
           "print_footer", "peer_venv_dir"]


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


def machine_line(m: Mapping[str, Any]) -> str:
    """:func:`machine`'s dict as one readable line (without the ``machine:`` label)."""
    return (f"{m.get('cpu', 'unknown')}, {m.get('cores', '?')} cores, Linux {m.get('kernel', '?')}, "
            f"{m.get('implementation', 'Python')} {m.get('python', '?')}")


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that produced the figures, as a shell would take it.

    ``python -m netring ...`` shows as that (not as the path of ``__main__.py``),
    the ``netring`` console script as ``netring ...``.
    """
    args = list(sys.argv if argv is None else argv)
    if not args:
        return "?"
    first = args[0].replace(os.sep, "/")
    if first.endswith("netring/__main__.py"):
        words = ["python", "-m", "netring", *args[1:]]
    elif os.path.basename(first) == "netring":
        words = ["netring", *args[1:]]
    else:
        words = ["python", *args]
    return shlex.join(words)


def print_footer(out: TextIO | None, result: Mapping[str, Any]) -> None:
    """The ``command:`` and ``machine:`` lines after a benchmark's tables."""
    if out is None:
        return
    print(f"\ncommand: {result.get('command') or command_line()}", file=out)
    print(f"machine: {machine_line(result.get('machine') or machine())}", file=out)


def timeit(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs of ``fn`` and its last result."""
    best = float("inf")
    result: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def default_sigint() -> None:
    """``preexec_fn`` for a process a benchmark stops with SIGINT, as a terminal would:
    SIGINT's default action, even when the benchmark runs in the background of a shell,
    which starts it with SIGINT ignored (a capture that ignored it would be killed
    later, its last buffered records unwritten)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def peak_rss_kib() -> int:
    """Peak resident set size of this process so far, in KiB."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def print_table(out: TextIO | None, title: str, rows: Sequence[Sequence[str]],
                header: Sequence[str], first: bool = False) -> None:
    """Print an aligned table (nothing when ``out`` is None).

    A blank line separates it from what came before, unless it is the ``first``
    thing the benchmark prints.  Trailing spaces are not printed.
    """
    if out is None:
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(title if first else f"\n{title}", file=out)
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
          file=out)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(),
              file=out)


def peer_venv_dir() -> str:
    """Where the harnesses install the peers they compare with (never netring's own
    environment): ``$XDG_CACHE_HOME/netring-bench/venv``, ``~/.cache/netring-bench/venv``
    without it."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "netring-bench", "venv")
