"""What every command's argument parsing shares: the one-line usage error and the
converters for seconds (argparse ``type=`` callables whose complaint names the
option and the value)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NoReturn

__all__ = ["one_line_error", "seconds"]


def one_line_error(prog: str) -> Callable[[str], NoReturn]:
    """An ``ArgumentParser.error`` that prints ``PROG: message`` (no usage block) and
    exits 2, so a mistake is one line, as every netring command reports it."""

    def error(message: str) -> NoReturn:
        print(f"{prog}: {message}", file=sys.stderr)
        raise SystemExit(2)

    return error


def seconds(what: str = "timeout", zero: bool = False) -> Callable[[str], float]:
    """A converter for a finite number of seconds, > 0 (``zero``: >= 0)."""

    def parse(text: str) -> float:
        try:
            s = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} {text!r}: not a number of seconds") from None
        if not (s >= 0 if zero else s > 0) or s == float("inf"):
            raise argparse.ArgumentTypeError(
                f"{what} {text}: must be a finite number of seconds {'>=' if zero else '>'} 0")
        return s

    return parse
