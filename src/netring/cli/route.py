"""``netring route get ADDR [from A] [iif I] [oif O] [mark M] [fibmatch]``.

Prints what ``ip route get`` prints (text), or with ``--json`` the object of
``ip -j route get``, for the route the kernel picks (``Rtnl.get_route``).
"""

from __future__ import annotations

import argparse
import sys

from ..codec.types import TYPE_CHECKING
from .args import integer as _integer
from .args import one_line_error as _one_line_error
from .dump import add_common, open_rtnl
from .output import json_dumps

if TYPE_CHECKING:
    from typing import Any

__all__ = ["register"]

#: ``ip route get`` words that take a value, and the get_route keyword they fill
_WORDS = {"from": "src", "iif": "iif", "oif": "oif", "dev": "oif", "mark": "mark"}
_mark = _integer("mark", 0, 0xFFFFFFFF)


def register(sub: Any) -> None:
    p = sub.add_parser("route", help="ask the kernel which route it takes (ip route get)")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    g = verbs.add_parser(
        "get", help="the route to ADDR: ip route get ADDR [from A] [iif I] [oif O] "
        "[mark M] [fibmatch]")
    g.add_argument("words", nargs="+", metavar="WORD",
                   help="ADDR [from A] [iif DEV] [oif DEV] [mark M] [fibmatch]")
    add_common(g)
    g.set_defaults(func=_get)
    p.error = g.error = _one_line_error("netring route")
    p.set_defaults(func=_usage)


def _usage(args: argparse.Namespace) -> int:
    print("netring route: which verb? (get)", file=sys.stderr)
    return 2


def _parse(words: list[str]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    dst = None
    i = 0
    while i < len(words):
        w = words[i]
        if w == "fibmatch":
            kw["fib_match"] = True
            i += 1
            continue
        if w in _WORDS:
            if i + 1 == len(words):
                raise ValueError(f"{w!r} needs a value")
            key = _WORDS[w]
            if key in kw:
                raise ValueError(f"{w} given twice")
            value: Any = words[i + 1]
            if key == "mark":
                try:
                    value = _mark(value)
                except argparse.ArgumentTypeError as exc:
                    raise ValueError(str(exc)) from None
            kw[key] = value
            i += 2
            continue
        if w == "to":
            i += 1
            if i == len(words):
                raise ValueError('"to" needs an address')
            w = words[i]
        if dst is not None:
            raise ValueError(f"one destination only ({dst!r}, then {w!r})")
        dst = w
        i += 1
    if dst is None:
        raise ValueError("need a destination address")
    kw["dst"] = dst
    return kw


def _get(args: argparse.Namespace) -> int:
    from ..errors import EncodeError, NetlinkError
    from ..subsystems.rtnetlink.text import TextContext
    from ..subsystems.rtnetlink.text.route import route_json, route_line

    try:
        kw = _parse(args.words)
    except ValueError as exc:
        print(f"netring route get: {exc}", file=sys.stderr)
        return 2
    rt = open_rtnl(args)
    if rt is None:
        return 2
    try:
        names = rt.names()
        for key in ("iif", "oif"):
            if key in kw and kw[key] not in names.values():
                print(f"netring route get: no such interface: {kw[key]}", file=sys.stderr)
                return 2
        dst = kw.pop("dst")
        route = rt.get_route(dst, **kw)
        if args.json:
            sys.stdout.write(json_dumps(route_json(route, names)) + "\n")
        else:
            sys.stdout.write(route_line(route, TextContext(names=names)) + "\n")
        sys.stdout.flush()
        return 0
    except EncodeError as exc:
        print(f"netring route get: {exc}", file=sys.stderr)
        return 2
    except NetlinkError as exc:
        print(f"netring route get: {exc}", file=sys.stderr)
        return 1
    finally:
        rt.close()
