"""``netring dump {links,addrs,routes,neigh,rules} [--json] [--netns NAME] [-4|-6]``.

Human output is one line per object in ``ip``'s word order; ``--json`` prints one
JSON object per line with the keys and values of ``ip -j`` (so each line can be
compared with the matching element of ``ip -j route show table all`` etc.).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from ..codec.types import TYPE_CHECKING
from .output import json_dumps

if TYPE_CHECKING:
    from typing import Any

__all__ = ["register", "format_line", "add_common", "open_rtnl"]

KIND_CHOICES = ("links", "addrs", "routes", "neigh", "rules")

# ip's words for the JSON keys it prints as "word value"
_WORDS = {
    "gateway": "via", "protocol": "proto", "prefsrc": "src", "from": "from",
    "lladdr": "lladdr", "table": "table", "scope": "scope", "metric": "metric",
    "dev": "dev", "priority": "pref", "iif": "iif", "oif": "oif", "fwmark": "fwmark",
    "master": "master", "mtu": "mtu", "qdisc": "qdisc", "operstate": "state",
    "link_type": "link", "address": "addr", "broadcast": "brd", "txqlen": "qlen",
    "label": "label", "pref": "pref",
}


def add_common(p: argparse.ArgumentParser) -> None:
    """Options shared by ``dump`` and ``monitor``."""
    p.add_argument("--json", action="store_true",
                   help="newline-delimited JSON objects with ip -j's keys and formats")
    p.add_argument("--netns", metavar="NAME", help="network namespace (name or path)")


def register(sub: Any) -> None:
    p = sub.add_parser("dump", help="dump links, addresses, routes, neighbours or rules")
    p.add_argument("kind", choices=KIND_CHOICES)
    add_common(p)
    fam = p.add_mutually_exclusive_group()
    fam.add_argument("-4", dest="family", action="store_const", const="4", help="IPv4 only")
    fam.add_argument("-6", dest="family", action="store_const", const="6", help="IPv6 only")
    p.add_argument("--table", help="routes: only this table (id or main/local/default)")
    p.add_argument("--count", action="store_true", help="print only the number of objects")
    p.set_defaults(func=_run)


def format_line(kind: str, d: Mapping[str, Any]) -> str:
    """One ``ip``-style text line for the ``ip -j`` dict ``d`` of an object of ``kind``."""
    words: list[str] = []
    if d.get("deleted"):
        words.append("Deleted")
    if kind == "routes":
        if "type" in d:
            words.append(str(d["type"]))
        words.append(str(d["dst"]))
        skip = {"type", "dst", "flags", "nexthops", "metrics", "deleted"}
    elif kind == "links":
        words.append(f"{d['ifindex']}: {d.get('ifname')}: <{','.join(d.get('flags', []))}>")
        skip = {"ifindex", "ifname", "flags", "deleted"}
    elif kind == "addrs":
        local = d.get("local", "")
        words.append(f"{d.get('index')}: {d.get('dev')} {d.get('family')} {local}/{d.get('prefixlen')}")
        skip = {"index", "dev", "family", "local", "prefixlen", "deleted"}
    elif kind == "neigh":
        words.append(str(d.get("dst", "")))
        skip = {"dst", "state", "deleted"}
    else:
        words.append(f"{d.get('priority', 0)}:")
        skip = {"priority", "deleted"}
    for k, v in d.items():
        if k in skip:
            continue
        if v is None or v is True:
            words.append(k)
        elif isinstance(v, list):
            if v and all(isinstance(x, str) for x in v):
                words.append(",".join(v))
        elif isinstance(v, dict):
            continue
        else:
            words.append(f"{_WORDS.get(k, k)} {v}")
    if kind == "routes":
        flags = d.get("flags") or []
        words.extend(flags)
        for m in d.get("metrics", []):
            words.extend(f"{k} {v}" for k, v in m.items())
        for nh in d.get("nexthops", []):
            gw = f" via {nh['gateway']}" if "gateway" in nh else ""
            words.append(f"\n\tnexthop{gw} dev {nh.get('dev')} weight {nh.get('weight')}")
    if kind == "neigh" and d.get("state"):
        words.append(",".join(d["state"]))
    return " ".join(words)


def open_rtnl(args: argparse.Namespace) -> Any:
    """An :class:`~netring.Rtnl` for ``--netns``, or ``None`` after printing why not."""
    from .. import Rtnl

    try:
        return Rtnl(args.netns)
    except FileNotFoundError:
        print(f"netring {args.command}: no such network namespace: {args.netns}",
              file=sys.stderr)
        return None


def _run(args: argparse.Namespace) -> int:
    from ..errors import NetlinkError
    from ..subsystems.rtnetlink.filters import family_of

    family = family_of(args.family)
    rt = open_rtnl(args)
    if rt is None:
        return 2
    try:
        return _dump(args, rt, family)
    except NetlinkError as exc:
        print(f"netring dump {args.kind}: {exc}", file=sys.stderr)
        return 1
    finally:
        rt.close()


def _dump(args: argparse.Namespace, rt: Any, family: int) -> int:
    if args.kind == "routes" and (args.table or args.count):
        if args.count:
            print(rt.count_routes(family=family, table=args.table))
            return 0
        objs: list[Any] = list(rt.routes(family=family, table=args.table))
    else:
        objs = rt.dump(args.kind, family=family)
    if args.count:
        print(len(objs))
        return 0
    names = rt.names()
    flags = rt.link_flags() if args.kind == "links" else None
    out = sys.stdout
    write = out.write
    for o in objs:
        d = o.to_dict(names, flags) if flags is not None else o.to_dict(names)
        write((json_dumps(d) if args.json else format_line(args.kind, d)) + "\n")
    out.flush()
    return 0
