"""The ``netring`` command line: argparse wiring only, no protocol logic.

Each subcommand lives in its own module exposing ``register(subparsers)``, which
adds its parser and sets ``func`` (``(args) -> int``) as the parser default.

:func:`main` is the one boundary where errors become exit codes.  Whatever a
command lets escape is printed as one line, ``netring COMMAND: <what>``, on
stderr (``--debug`` re-raises it, so the traceback shows)::

    exit  meaning                     raised as
    ----  --------------------------  ------------------------------------------------
      0   success                     (also: stdout closed early, e.g. ``| head``)
      1   failed at run time          NetlinkError (the kernel said no), DecodeError,
                                      any other NetringError or OSError, internal errors
      2   usage                       argparse errors, ValueError, EncodeError, a
                                      namespace that is missing or not a namespace
      3   not supported here          NotSupportedError (which capability, which command)
      4   permission refused          PermissionError, NamespacePermissionError,
                                      NetlinkError with EPERM / EACCES
    130   interrupted (SIGINT)        KeyboardInterrupt

A global ``-n NS`` / ``--netns NS`` before the command (``netring -n blue dump
routes``, as ``ip -n``) becomes the command's ``--netns`` unless that is given.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence

from ..codec.types import TYPE_CHECKING
from ..errors import (
    EncodeError,
    NamespaceNotFound,
    NetlinkError,
    NetringError,
    NotANamespace,
    NotSupportedError,
)

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "main",
    "run",
    "build_parser",
    "exit_status",
    "EXIT_OK",
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "EXIT_NOT_SUPPORTED",
    "EXIT_PERMISSION",
    "EXIT_INTERRUPTED",
]

# subcommand modules, in the order --help lists them
COMMANDS = ("probe", "demo", "dump", "route", "monitor", "capture", "send", "log", "queue",
            "bench")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_SUPPORTED = 3
EXIT_PERMISSION = 4
EXIT_INTERRUPTED = 130

_EXIT_CODES = """\
exit status: 0 success, 1 failed at run time (e.g. the kernel refused), 2 usage error,
3 not supported here, 4 permission refused, 130 interrupted"""


def _columns() -> int:
    """The terminal width, read as ``shutil.get_terminal_size`` reads it (``COLUMNS``,
    then the terminal on stdout, then 80), without importing shutil: argparse asks
    for it on every ``add_argument``, and shutil brings the compression modules along."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Help(argparse.HelpFormatter):
    """argparse's layout, at :func:`_columns` wide (less 2, as argparse does)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         _columns() - 2 if width is None else width)


class _RawHelp(argparse.RawDescriptionHelpFormatter, _Help):
    """:class:`_Help` keeping the description's own line breaks (the top-level help)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help formatter defaults to :class:`_Help` (subcommands)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names, when it can be told without parsing.

    Only the first word that is not a global option counts, and only when it
    is one of :data:`COMMANDS` exactly; anything else (``--help``, a typo, an
    abbreviation) leaves the choice to the full parser.
    """
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("-n", "--netns"):
            i += 2
            continue
        if word == "--debug" or word.startswith("--netns="):
            i += 1
            continue
        return word if word in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every subcommand, or just ``only`` (one of COMMANDS).

    Registering one subcommand is what a command run needs; ``--help`` and
    mistakes get the full parser, so its listing and suggestions are complete.
    """
    from .. import __version__

    parser = _Parser(
        prog="netring",
        description="Linux netlink and AF_PACKET messaging through memory-mapped rings.",
        epilog=_EXIT_CODES,
        formatter_class=_RawHelp,
    )
    parser.add_argument("--version", action="version", version=f"netring {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("-n", "--netns", dest="global_netns", metavar="NS",
                        help="network namespace (name or path) for the command, like ip -n")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in (only,) if only else COMMANDS:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        mod.register(sub)
    return parser


def _os_text(exc: OSError) -> str:
    """An OSError as ``what: strerror`` (no ``[Errno N]``, no quotes)."""
    text = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        text = f"{os.fsdecode(exc.filename)}: {text}"
        if exc.filename2 is not None:
            text += f" -> {os.fsdecode(exc.filename2)}"
    return text


def _permission_hint() -> str:
    # root was refused by the kernel for another reason (a user namespace, a
    # read-only file, a security module): saying "run as root" would mislead
    uid = os.geteuid()
    return "" if uid == 0 else f" (running as uid {uid}; this needs root or the capability)"


def exit_status(exc: BaseException) -> tuple[int, str]:
    """The exit status and the one-line message for an exception that left a command.

    The message does not carry the ``netring COMMAND:`` prefix.  See the module
    docstring for the table.
    """
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, NotSupportedError):
        return EXIT_NOT_SUPPORTED, f"not supported here: {exc}"
    if isinstance(exc, PermissionError) or (
            isinstance(exc, NetlinkError) and exc.errno in (errno.EPERM, errno.EACCES)):
        text = str(exc) if isinstance(exc, NetringError) else _os_text(exc)
        return EXIT_PERMISSION, f"permission denied: {text}{_permission_hint()}"
    if isinstance(exc, NamespaceNotFound | NotANamespace | EncodeError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, NetringError):
        return EXIT_FAILURE, str(exc) or type(exc).__name__
    if isinstance(exc, OSError):
        return EXIT_FAILURE, _os_text(exc)
    if isinstance(exc, ValueError):
        return EXIT_USAGE, str(exc) or type(exc).__name__
    return EXIT_FAILURE, f"internal error: {type(exc).__name__}: {exc} (--debug shows the traceback)"


def _apply_global_netns(args: argparse.Namespace) -> str | None:
    """Hand ``-n NS`` to the command as ``args.netns``; the complaint if it cannot."""
    ns = args.global_netns
    if ns is None:
        return None
    if not hasattr(args, "netns"):
        return f"-n/--netns {ns}: this command does not run in a network namespace"
    if args.netns is None:
        args.netns = ns
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(_chosen_command(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage line + error (2), or --help / --version (0)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    complaint = _apply_global_netns(args)
    if complaint:
        print(f"netring {args.command}: {complaint}", file=sys.stderr)
        return EXIT_USAGE
    try:
        rc: int = args.func(args)
        return rc
    except BrokenPipeError:
        # the reader went away (| head): not an error; keep the exit-time flush quiet
        out = sys.stdout
        if out is sys.__stdout__ and out is not None:
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
            except (OSError, ValueError):
                pass
        return EXIT_OK
    except Exception as exc:
        if args.debug:
            raise
        rc, text = exit_status(exc)
        print(f"netring {args.command}: {text}", file=sys.stderr)
        return rc
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"netring {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


#: modules whose exit-time work (atexit handlers, joins) a finished command may need
_EXIT_HOOKED = ("threading", "multiprocessing", "concurrent.futures", "logging", "asyncio")


def run() -> None:
    """Console-script entry point.

    A finished command's output is flushed, then the process ends with
    ``os._exit``: Python's own teardown (clearing every module and freeing every
    object, about 8 ms after a dump: a seventh of ``netring dump links``) does
    nothing for it.  Every file a command writes is closed by the command itself.
    When a module with exit-time work of its own was loaded (threads to join,
    atexit handlers: :data:`_EXIT_HOOKED`), the normal exit is taken.
    """
    code = main()
    if any(m in sys.modules for m in _EXIT_HOOKED):
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BrokenPipeError:  # the reader went away (| head): the output is done
            pass
        except (OSError, ValueError):  # a closed or failing stream: the normal exit says so
            sys.exit(code)
    os._exit(code)
