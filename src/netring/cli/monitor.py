"""``netring monitor [KINDS] [--json] [-t] [--netns NAME] [-c N] [--timeout S] [--rcvbuf BYTES]``.

Prints every rtnetlink notification as it arrives (``ip monitor`` style text, or
one JSON object per line with ``"kind"`` plus the object's ``ip -j`` keys).

When the kernel reports an overrun (ENOBUFS) the monitor re-dumps and prints a
``resync`` summary, then the difference between what it knew and the kernel's
state as ordinary events marked as coming from the resync (text: ``[resync]``
before the kind; JSON: ``"resync": true``; a removed object carries
``"deleted": true``), so a consumer applying the stream ends with the kernel's
state.

``-t``/``--timestamp``: text output puts iproute2's ``ip -t monitor`` line
(``Timestamp: Tue Dec  1 13:02:44 2026 393675 usec``, local time) before each
event; JSON adds ``"timestamp"``: local time in ISO 8601 with microseconds and
the UTC offset (``"2026-12-01T13:02:44.393675+00:00"``).

On exit (count reached, timeout, SIGINT, SIGTERM) a final statistics line goes to
stderr: messages, overruns, resyncs, kernel drops, effective receive buffer.
SIGINT exits with 130; SIGTERM, like ``ip monitor``, ends the process by the
signal itself (after the statistics line).  Once the monitor runs, SIGTERM is
looked at between events (the line being written is finished first).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time

from ..codec.types import TYPE_CHECKING
from .args import MAX_RCVBUF as _MAX_RCVBUF
from .args import integer as _integer
from .args import one_line_error as _one_line_error
from .args import seconds as _seconds
from .args import size as _size
from .dump import KIND_CHOICES, add_common, format_line, open_rtnl
from .output import json_dumps

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import FrameType
    from typing import Any

    from ..subsystems.rtnetlink.edge.monitor import Event

__all__ = ["register", "event_lines", "timestamp_text", "timestamp_json"]

#: the default receive buffer (kept equal to monitor.DEFAULT_RCVBUF, which this
#: module does not import so that ``--help`` stays quick; a unit test checks it)
_DEFAULT_RCVBUF = 128 << 20


def _kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    if not kinds:
        raise argparse.ArgumentTypeError(f"no kind given; choose from {', '.join(KIND_CHOICES)}")
    for k in kinds:
        if k not in KIND_CHOICES:
            raise argparse.ArgumentTypeError(
                f"unknown kind {k!r}; choose from {', '.join(KIND_CHOICES)}")
    return list(dict.fromkeys(kinds))


def register(sub: Any) -> None:
    p = sub.add_parser(
        "monitor", help="print rtnetlink change notifications (state kept exact across overruns)")
    p.add_argument("kinds", nargs="?", type=_kinds, default=list(KIND_CHOICES),
                   help="comma-separated: links,addrs,routes,neigh,rules (default: all)")
    add_common(p)
    p.add_argument("-t", "--timestamp", action="store_true",
                   help="a timestamp with each event (text: ip -t monitor's line; JSON: "
                        "\"timestamp\", ISO 8601 local time with microseconds and offset)")
    p.add_argument("-c", "--count", type=_integer("count", 1), metavar="N",
                   help="stop after N events (N >= 1)")
    p.add_argument("--timeout", type=_seconds(), metavar="S", help="stop after S seconds (> 0)")
    p.add_argument("--rcvbuf", type=_size("rcvbuf", 1, _MAX_RCVBUF), metavar="BYTES",
                   help=f"socket receive buffer to ask for (default {_DEFAULT_RCVBUF >> 20}M "
                        "via SO_RCVBUFFORCE, or SO_RCVBUF capped by net.core.rmem_max; the "
                        f"kernel doubles it: {2 * _DEFAULT_RCVBUF} bytes effective "
                        "(NetlinkSocket.rcvbuf), shown in the final statistics); "
                        "suffixes K, M, G")
    p.error = _one_line_error("netring monitor")
    p.set_defaults(func=_run)


def timestamp_text(now: float) -> str:
    """``ip -t monitor``'s line (iproute2 ``print_timestamp``: ``asctime`` of local time
    and the microseconds): ``Timestamp: Tue Dec  1 13:02:44 2026 393675 usec``."""
    return f"Timestamp: {time.asctime(time.localtime(now))} {int(now * 1e6) % 1000000} usec"


def timestamp_json(now: float) -> str:
    """The ``"timestamp"`` of a JSON event: local time, ISO 8601, microseconds and the
    UTC offset (``2026-12-01T13:02:44.393675+00:00``)."""
    from datetime import datetime

    return datetime.fromtimestamp(now).astimezone().isoformat(timespec="microseconds")


def event_lines(ev: Event, names: Mapping[int, str], *, json: bool = False,
                now: float | None = None) -> list[str]:
    """The output lines of one event (text or JSON); ``now``: add a timestamp.

    Every event printed by ``netring monitor`` goes through here.
    """
    if json:
        d = ev.to_dict(names)
        if now is not None:
            d["timestamp"] = timestamp_json(now)
        return [json_dumps(d)]
    lines = [] if now is None else [timestamp_text(now)]
    if ev.obj is None:
        d = ev.to_dict(names)
        counts = ", ".join(f"{k} {n}" for k, n in d["objects"].items())
        lines.append(f"[resync] overrun: re-dumped {counts}; {d['added']} added, "
                     f"{d['changed']} changed, {d['removed']} removed")
        return lines
    mark = "[resync] " if ev.resync else ""
    text = _object_text(ev.kind, ev.obj, names)
    if ev.action == "del" and not ev.obj.deleted:
        text = "Deleted " + text  # a removal found by a resync carries the last copy it knew
    lines.extend(mark + t if i == 0 else t for i, t in enumerate(text.split("\n")))
    return lines


def _object_text(kind: str, obj: Any, names: Mapping[int, str]) -> str:
    """What ``ip monitor`` prints for one object: the text of ``ip KIND show``
    (addresses as ``ip monitor`` prints them: ``index: dev`` first)."""
    from ..subsystems.rtnetlink.text import TextContext
    from ..subsystems.rtnetlink.text.address import addr_text
    from ..subsystems.rtnetlink.text.link import link_lines
    from ..subsystems.rtnetlink.text.neighbour import neigh_line
    from ..subsystems.rtnetlink.text.route import route_line
    from ..subsystems.rtnetlink.text.rule import rule_line

    ctx = TextContext(names=names)
    if kind == "routes":
        return route_line(obj, ctx)
    if kind == "rules":
        return rule_line(obj, ctx)
    if kind == "links":
        return "\n".join(link_lines(obj, ctx))
    if kind == "neigh":
        return neigh_line(obj, ctx)
    if kind == "addrs":
        return addr_text(obj, TextContext(names=names, oneline=True))
    return format_line(kind, obj.to_dict(names))


class _Terminated(Exception):
    """SIGTERM arrived."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def _stats_line(s: Mapping[str, int]) -> str:
    return (f"netring monitor: {s['messages']} messages, {s['overruns']} overruns, "
            f"{s['resyncs']} resyncs, {s['drops']} kernel drops, "
            f"{s['resync_events']} resync events, rcvbuf {s['rcvbuf']} bytes")


def _run(args: argparse.Namespace) -> int:
    from ..errors import NetringError, NotSupportedError

    out = sys.stdout
    # signal handlers can only be set in the main thread (the CLI's); elsewhere
    # (main() called from a worker thread) SIGTERM keeps its disposition
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    rt = None
    mon = None
    rc = 0
    terminated = False
    try:
        rt = open_rtnl(args)
        if rt is None:
            return 2
        mon = rt.monitor(*args.kinds, rcvbuf=args.rcvbuf)
        names = rt.names()
        stamp = args.timestamp
        # from here SIGTERM is a request the event loop looks at between events
        # (a handler raising there could land in a finaliser and be lost)
        with mon.stop_on_signal() if main_thread else contextlib.nullcontext() as stop:
            for ev in mon.events(timeout=args.timeout, count=args.count):
                if ev.kind == "links" or ev.obj is None:
                    names = rt.names()
                lines = event_lines(ev, names, json=args.json,
                                    now=time.time() if stamp else None)
                out.write("\n".join(lines) + "\n")
                out.flush()
        terminated = stop is not None and stop.requested
    except KeyboardInterrupt:
        rc = 130
    except _Terminated:
        terminated = True
    except NotSupportedError:
        raise  # main() says which capability is missing (exit 3)
    except NetringError as exc:
        if args.debug:
            raise
        print(f"netring monitor: {exc}", file=sys.stderr)
        rc = 1
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if mon is not None:
            print(_stats_line(mon.stats()), file=sys.stderr)
            mon.close()
        if rt is not None:
            rt.close()
        try:
            out.flush()
        except BrokenPipeError:
            pass
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    if terminated:
        # like ip monitor: the process ends by the signal (status "killed by SIGTERM")
        sys.stderr.flush()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    return rc
