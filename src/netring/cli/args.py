"""What every command's argument parsing shares: the one-line usage error and the
value converters (argparse ``type=`` callables).

Each converter names the option and the value it refuses, so a mistake reads the
same in every command::

    netring queue: argument --batch: batch 0: must be between 1 and 1024
    netring log: argument --rcvbuf: rcvbuf 'lots': not a size in bytes (e.g. 4096, 64K, 32M)
    netring capture: argument --timeout: timeout -2: must be a finite number of seconds > 0

This module is imported by every command on every run: it imports nothing but
:mod:`argparse` and :mod:`sys`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NoReturn

__all__ = ["one_line_error", "integer", "size", "number", "seconds", "MAX_RCVBUF"]

#: the largest ``--rcvbuf`` a command accepts (SO_RCVBUF is an int, and the kernel
#: doubles the value asked for)
MAX_RCVBUF = (1 << 31) // 2 - 1

#: the size suffixes (binary multiples, case-insensitive)
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def one_line_error(prog: str) -> Callable[[str], NoReturn]:
    """An ``ArgumentParser.error`` that prints ``PROG: message`` (no usage block) and
    exits 2, so a mistake is one line, as every netring command reports it."""

    def error(message: str) -> NoReturn:
        print(f"{prog}: {message}", file=sys.stderr)
        raise SystemExit(2)

    return error


def _whole(text: str) -> int:
    """``text`` as a whole number: decimal (``010`` is ten, ``1_000`` a thousand) or
    with a ``0x``/``0o``/``0b`` prefix.  Raises ValueError for anything else."""
    try:
        return int(text)
    except ValueError:
        return int(text, 0)


def _range(lo: int, hi: int | None, unit: str = "") -> str:
    """``at least LO`` or ``between LO and HI``, then ``unit`` (" bytes"; " byte" after
    ``at least 1``)."""
    if hi is None:
        return f"at least {lo}{unit[:-1] if lo == 1 and unit else unit}"
    return f"between {lo} and {hi}{unit}"


def integer(what: str, lo: int, hi: int | None = None) -> Callable[[str], int]:
    """A converter for a whole number in ``lo..hi`` (inclusive; ``hi`` None: no upper
    bound), decimal or ``0x...``.  ``what`` names the option in the complaint."""

    def parse(text: str) -> int:
        try:
            n = _whole(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} {text!r}: not a whole number") from None
        if n < lo or (hi is not None and n > hi):
            raise argparse.ArgumentTypeError(f"{what} {n}: must be {_range(lo, hi)}")
        return n

    return parse


def size(what: str, lo: int, hi: int | None = None) -> Callable[[str], int]:
    """A converter for a number of bytes in ``lo..hi``, with an optional suffix ``K``,
    ``M`` or ``G`` (2**10, 2**20, 2**30; either case): ``65536``, ``64K``, ``32m``."""

    def parse(text: str) -> int:
        t = text.strip().lower()
        scale = _UNITS.get(t[-1:], 1)
        try:
            n = _whole(t[:-1] if scale > 1 else t) * scale
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{what} {text!r}: not a size in bytes (e.g. 4096, 64K, 32M)") from None
        if n < lo or (hi is not None and n > hi):
            raise argparse.ArgumentTypeError(f"{what} {text!r}: must be {_range(lo, hi, ' bytes')}")
        return n

    return parse


def number(what: str, unit: str, zero: bool = False) -> Callable[[str], float]:
    """A converter for a finite number of ``unit`` (``"packets per second"``), > 0
    (``zero``: >= 0)."""

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} {text!r}: not a number of {unit}") from None
        if not (v >= 0 if zero else v > 0) or v == float("inf"):  # NaN fails both
            raise argparse.ArgumentTypeError(
                f"{what} {text}: must be a finite number of {unit} {'>=' if zero else '>'} 0")
        return v

    return parse


def seconds(what: str = "timeout", zero: bool = False) -> Callable[[str], float]:
    """A converter for a finite number of seconds, > 0 (``zero``: >= 0)."""
    return number(what, "seconds", zero)
