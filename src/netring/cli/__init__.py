"""The ``netring`` command line: argparse wiring only, no protocol logic.

Each subcommand lives in its own module exposing ``register(subparsers)``, which
adds its parser and sets ``func`` (``(args) -> int``) as the parser default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import NotSupportedError

__all__ = ["main", "run", "build_parser"]

# subcommand modules, in the order --help lists them
COMMANDS = ("probe", "demo", "dump", "route", "monitor", "bench")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (all subcommands registered)."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="netring",
        description="Linux netlink and AF_PACKET messaging through memory-mapped rings.",
    )
    parser.add_argument("--version", action="version", version=f"netring {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc: int = args.func(args)
        return rc
    except KeyboardInterrupt:
        return 130
    except NotSupportedError as exc:
        if args.debug:
            raise
        print(f"netring {args.command}: not supported here: {exc}", file=sys.stderr)
        return 3
    except PermissionError as exc:
        if args.debug:
            raise
        print(f"netring {args.command}: permission denied ({exc}); run as root", file=sys.stderr)
        return 4
    except BrokenPipeError:
        return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
