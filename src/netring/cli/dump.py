"""``netring dump {links,addrs,routes,neigh,rules}``: what ``ip`` prints, streamed.

Text is ``ip``'s default text line for line (``netring dump routes`` is
``ip route show``: the main table, IPv4 unless ``-6``; ``--table all`` is
``ip route show table all``; ``netring dump rules`` is ``ip rule show``);
``--json`` prints one JSON object per line with the keys, key order and values
of ``ip -j``.  Routes take ``ip``'s trailing selectors::

    netring dump routes [dev IFACE] [table T] [proto P] [type T] [scope S]
                        [root PFX | match PFX | exact PFX | PFX]

Routes are rendered datagram by datagram while the dump is read (nothing is
kept), so memory does not grow with the table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from ..codec.types import TYPE_CHECKING
from .args import integer as _integer
from .args import one_line_error as _one_line_error
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
#: route selectors given as options: (option dest, selector key)
_ROUTE_OPTIONS = (("table", "table"), ("dev", "dev"), ("proto", "protocol"),
                  ("type", "type"), ("scope", "scope"))
#: output buffered before a write (bytes)
_WRITE_CHUNK = 1 << 16


class UsageError(Exception):
    """Bad command-line input: one line on stderr, exit status 2."""


def add_common(p: argparse.ArgumentParser) -> None:
    """Options shared by ``dump`` and ``monitor``."""
    p.add_argument("--json", action="store_true",
                   help="newline-delimited JSON objects with ip -j's keys and formats")
    p.add_argument("--netns", metavar="NAME", help="network namespace (name or path)")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "dump", help="dump links, addresses, routes, neighbours or rules as ip prints them",
        description="Print what ip prints: 'dump routes' is 'ip route show' (main table, "
        "IPv4 unless -6), 'dump rules' is 'ip rule show'; --json is ip -j.")
    p.add_argument("kind", choices=KIND_CHOICES)
    p.add_argument("selectors", nargs="*", metavar="SELECTOR",
                   help="routes: ip route show selectors: dev IFACE, table T, proto P, "
                   "type T, scope S, root|match|exact PFX, PFX")
    add_common(p)
    fam = p.add_mutually_exclusive_group()
    fam.add_argument("-4", dest="family", action="store_const", const="4", help="IPv4 only")
    fam.add_argument("-6", dest="family", action="store_const", const="6", help="IPv6 only")
    p.add_argument("--table", help="routes: all, main, local, default or a table id "
                   "(default: main)")
    p.add_argument("--dev", help="only objects of this interface (not rules)")
    p.add_argument("--proto", help="routes: only this protocol (name or number)")
    p.add_argument("--type", help="routes: only this type (unicast, blackhole, local ...)")
    p.add_argument("--scope", help="routes: only this scope (global, link, host ...)")
    p.add_argument("-d", "--details", action="store_true",
                   help="links, addrs: ip -d (link kind and its data, promiscuity, MTU bounds)")
    p.add_argument("-s", "--stats", action="count", default=0,
                   help="links, addrs, neigh: ip -s statistics (twice: ip -s -s)")
    p.add_argument("-br", "--brief", action="store_true", help="links, addrs: ip -br")
    p.add_argument("-o", "--oneline", action="store_true", help="links, addrs: ip -o")
    p.add_argument("-c", "--count", type=_integer("count", 1), metavar="N",
                   help="stop after N objects")
    p.add_argument("--total", action="store_true", help="print only the number of objects")
    p.set_defaults(func=_run)
    base = p.parse_known_args

    def parse_known_args(args: Any = None, namespace: Any = None) -> Any:
        if args is not None:
            # "-c -1" would read as an option (there are -4/-6): keep it a value
            args = list(args)
            for i in range(len(args) - 1):
                if args[i] in ("-c", "--count") and args[i + 1][:1] == "-":
                    args[i:i + 2] = [f"--count={args[i + 1]}"]
                    break
        # selectors after an option ("dump routes --json dev v0") come back as extras
        ns, extras = base(args, namespace)
        words = [x for x in extras if not x.startswith("-")]
        if words:
            ns.selectors = list(ns.selectors or []) + words
        return ns, [x for x in extras if x.startswith("-")]

    p.parse_known_args = parse_known_args
    p.error = _one_line_error("netring dump")


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
            words.extend(k if v is None else f"{k} {v}" for k, v in m.items())
        for nh in d.get("nexthops", []):
            gw = f" via {nh['gateway']}" if "gateway" in nh else ""
            words.append(f"\n\tnexthop{gw} dev {nh.get('dev')} weight {nh.get('weight')}")
    if kind == "neigh" and d.get("state"):
        words.append(",".join(d["state"]))
    return " ".join(words)


def open_rtnl(args: argparse.Namespace) -> Any:
    """An :class:`~netring.Rtnl` for ``--netns``, or ``None`` after printing why not."""
    from .. import Rtnl

    return Rtnl(args.netns)  # a bad namespace raises a netring error; main reports it


def _fail(args: argparse.Namespace, msg: str) -> int:
    print(f"netring dump {args.kind}: {msg}", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace) -> int:
    from ..errors import DumpInterrupted, EncodeError, NetlinkError
    from ..subsystems.rtnetlink.names import family_of

    family = family_of(args.family)
    try:
        limit = args.count
        if args.total and limit is not None:
            raise UsageError("--total and --count exclude each other")
        opts = {key: getattr(args, dest) for dest, key in _ROUTE_OPTIONS
                if getattr(args, dest) is not None}
        if args.kind != "routes":
            _object_selectors(args, opts)
        if args.kind in ("routes", "rules"):
            views = [o for o, on in (("-d", args.details), ("-s", args.stats),
                                     ("-br", args.brief), ("-o", args.oneline)) if on]
            if views:
                raise UsageError(f"{' '.join(views)}: applies to links, addrs and neigh, "
                                 f"not {args.kind}")
    except UsageError as exc:
        return _fail(args, str(exc))
    rt = open_rtnl(args)
    out = sys.stdout
    try:
        if args.kind == "routes":
            return _routes(args, rt, family, opts, limit)
        return _dump(args, rt, family, limit)
    except (UsageError, EncodeError) as exc:
        return _fail(args, str(exc))
    except DumpInterrupted:
        out.flush()
        print(f"netring dump {args.kind}: the dump was interrupted and may be inconsistent",
              file=sys.stderr)
        return 0
    except NetlinkError as exc:
        out.flush()
        print(f"netring dump {args.kind}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    finally:
        rt.close()


def _quiet_stdout() -> None:
    """The reader went away (``| head``): no second error when Python flushes at exit."""
    import os

    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError):
        pass


def _binary_writer() -> Any:
    """``sys.stdout.buffer.write``, or a decoding writer when stdout is text only."""
    out = sys.stdout
    buf = getattr(out, "buffer", None)
    if buf is not None:
        out.flush()
        return buf.write
    return lambda b: out.write(b.decode())


def _ifindex(names: Mapping[int, str], dev: str) -> int:
    for i, n in names.items():
        if n == dev:
            return i
    raise UsageError(f"no such interface: {dev}")


def _selector(args: argparse.Namespace, family: int, opts: dict[str, str],
              names: Mapping[int, str]) -> Any:
    from ..subsystems.rtnetlink import requests as rq
    from ..subsystems.rtnetlink.filters import (
        PREFIX_MODES,
        RouteSelector,
        protocol_id,
        route_selector_words,
        scope_id,
        table_id,
        type_id,
    )

    words = route_selector_words(args.selectors)
    for k, v in opts.items():
        if k in words and words[k] != v:
            raise UsageError(f"{k} given twice ({words[k]!r} and {v!r})")
        words[k] = v
    table: int | None = 254
    if "table" in words:
        t = words["table"]
        table = None if t == "all" else table_id(t)
    prefix = None
    for mode in PREFIX_MODES:
        if mode in words:
            fam, raw, plen = rq.parse_prefix(words[mode], family)
            prefix = (mode, fam, raw, plen)
    proto = words.get("protocol")
    scope = words.get("scope")
    return RouteSelector(
        family=family, table=table,
        oif=_ifindex(names, words["dev"]) if "dev" in words else None,
        protocol=None if proto in (None, "all") else protocol_id(proto),
        rtype=type_id(words["type"]) if "type" in words else None,
        scope=None if scope in (None, "all") else scope_id(scope),
        prefix=prefix)


def _routes(args: argparse.Namespace, rt: Any, family: int, opts: dict[str, str],
            limit: int | None) -> int:
    import json

    from ..subsystems.rtnetlink.text import TextContext
    from ..subsystems.rtnetlink.text.route import RouteStream

    names = rt.names()
    sel = _selector(args, family, opts, names)
    stream = RouteStream(TextContext(names=names), json=args.json, hide=sel.hidden(),
                         keep=sel.shape_ok, select=sel.dst_ok if sel.prefix else None,
                         dumps=json.dumps)
    write = _binary_writer()
    total = args.total
    pending: list[bytes] = []
    size = 0

    def sink(data: bytes, offsets: list[int]) -> bool:
        nonlocal size
        if limit is None:
            text = stream.render(data, offsets)
        else:
            # render no more than the routes still wanted (some may be filtered out)
            parts = []
            pos = 0
            while pos < len(offsets) and stream.count < limit:
                step = limit - stream.count
                parts.append(stream.render(data, offsets[pos:pos + step]))
                pos += step
            text = b"".join(parts)
        if not total and text:
            pending.append(text)
            size += len(text)
            if size >= _WRITE_CHUNK:
                write(b"".join(pending))
                pending.clear()
                size = 0
        return limit is not None and stream.count >= limit

    try:
        rt.stream_routes(sink, family=sel.dump_family, table=sel.table, oif=sel.oif,
                         protocol=sel.protocol, type=sel.rtype)
    finally:
        if pending:
            write(b"".join(pending))
    if total:
        print(stream.count)
    sys.stdout.flush()
    return 0


def _object_selectors(args: argparse.Namespace, opts: dict[str, str]) -> None:
    """Check and store the selectors of links, addrs, neigh and rules (``dev X``,
    ``nud all``, ``proxy``) as ``args.dev``, ``args.nud_all``, ``args.proxy``."""
    if set(opts) - {"dev"}:
        given = [f"--{d}" for d, k in _ROUTE_OPTIONS if k in opts and k != "dev"]
        raise UsageError(f"{' '.join(given)}: applies to routes only")
    words = list(args.selectors)
    args.nud_all = args.proxy = False
    while words:
        w = words.pop(0)
        if w == "dev" and words and args.kind != "rules":
            dev = words.pop(0)
            if args.dev is not None and args.dev != dev:
                raise UsageError(f"dev given twice ({args.dev!r} and {dev!r})")
            args.dev = dev
        elif w == "nud" and args.kind == "neigh" and words:
            state = words.pop(0)
            if state != "all":
                raise UsageError(f"nud {state}: only 'nud all' is supported")
            args.nud_all = True
        elif w == "proxy" and args.kind == "neigh":
            args.proxy = True
        else:
            raise UsageError(f"{w}: not a selector of {args.kind} (routes take "
                             "dev/table/proto/type/scope/prefixes; links and addrs: dev; "
                             "neigh: dev, nud all, proxy; rules: none)")
    if args.kind == "rules" and args.dev is not None:
        raise UsageError("--dev: applies to routes, links, addrs and neigh, not rules")


def _context(args: argparse.Namespace, names: Mapping[int, str],
             netns_names: Mapping[int, str] | None = None) -> Any:
    from ..subsystems.rtnetlink.text import TextContext

    return TextContext(names=names, netns_names=netns_names or {}, details=args.details,
                       stats=bool(args.stats), stats_level=args.stats, brief=args.brief,
                       oneline=args.oneline)


def _by_dev(args: argparse.Namespace, names: Mapping[int, str]) -> int | None:
    return None if args.dev is None else _ifindex(names, args.dev)


def _write_lines(parts: list[str]) -> int:
    if parts:
        sys.stdout.write("\n".join(parts) + "\n")
    sys.stdout.flush()
    return 0


def _dump(args: argparse.Namespace, rt: Any, family: int, limit: int | None) -> int:
    from ..subsystems.rtnetlink.constants import AF_INET

    kind = args.kind
    if kind == "addrs" and not args.total:
        return _addrs(args, rt, family, limit)
    names = rt.names()
    index = _by_dev(args, names)
    if kind == "rules":
        # ip rule show: IPv4 unless -6
        objs: list[Any] = list(rt.rules(family=family or AF_INET))
    elif kind == "links":
        objs = [ln for ln in rt.links(stats=bool(args.stats))
                if index is None or ln.index == index]
    elif kind == "neigh":
        from ..subsystems.rtnetlink.text.neighbour import neigh_shown

        objs = [n for n in rt.dump("neigh", family=family)
                if neigh_shown(n, args.nud_all, args.proxy)
                and (index is None or n.ifindex == index)]
    else:
        objs = [a for a in rt.dump(kind, family=family) if index is None or a.index == index]
    if limit is not None:
        objs = objs[:limit]
    if args.total:
        print(len(objs))
        return 0
    flags = rt.link_flags() if kind == "links" else None
    nsn = rt.netns_names() if kind == "links" and any(
        ln.link_netnsid is not None for ln in objs) else None
    ctx = _context(args, names, nsn)
    # the text renderers load per kind: a link dump builds no rule or neighbour tables
    if kind == "links":
        from ..subsystems.rtnetlink.text.link import link_lines
    elif kind == "neigh":
        from ..subsystems.rtnetlink.text.neighbour import neigh_line
    elif kind == "rules":
        from ..subsystems.rtnetlink.text.rule import rule_line
    parts: list[str] = []
    for o in objs:
        if args.json:
            if kind == "links":
                d = o.to_dict(names, flags, stats=bool(args.stats), details=args.details,
                              stats_level=max(1, args.stats))
            else:
                d = o.to_dict(names)
            parts.append(json_dumps(d))
        elif kind == "links":
            parts.extend(link_lines(o, ctx, link_flags=flags))
        elif kind == "neigh":
            parts.append(neigh_line(o, ctx, hide_dev=index is not None))
        elif kind == "rules":
            parts.append(rule_line(o, ctx))
        else:
            parts.append(format_line(kind, o.to_dict(names)))
    return _write_lines(parts)


def _addrs(args: argparse.Namespace, rt: Any, family: int, limit: int | None) -> int:
    """``ip addr show``: one block per interface (``-o``: a line per address)."""
    from ..subsystems.rtnetlink.text.address import addr_lines

    addrs = rt.addresses(family=family)
    links = rt.links(stats=bool(args.stats))
    names = {ln.index: ln.name or f"if{ln.index}" for ln in links}
    index = _by_dev(args, names)
    flags = {ln.index: ln.flags for ln in links}
    nsn = rt.netns_names() if any(ln.link_netnsid is not None for ln in links) else None
    ctx = _context(args, names, nsn)
    by_index: dict[int, list[Any]] = {}
    for a in addrs:
        by_index.setdefault(a.index, []).append(a)
    text: list[str] = []
    shown = 0
    for link in links:
        if index is not None and link.index != index:
            continue
        mine = by_index.get(link.index, [])
        if family and not mine:
            continue
        if limit is not None and shown >= limit:
            break
        if args.json:
            text.append(json_dumps(_addr_json(link, mine, names, flags, args.oneline)))
        else:
            text.extend(addr_lines(link, mine, ctx, link_flags=flags))
        shown += 1
    return _write_lines(text)


def _addr_json(link: Any, addrs: list[Any], names: Mapping[int, str],
               flags: Mapping[int, int], oneline: bool) -> dict[str, Any]:
    """One interface of ``ip -j addr show``: the link's keys (without ``linkmode``,
    which ``ip addr`` does not print) and its ``addr_info``; ``ip -j -o addr``
    keeps only ``addr_info``, each entry with its ``index`` and ``dev``."""
    infos = []
    for a in addrs:
        d = a.to_dict(names)
        if not oneline:
            d.pop("index", None)
            d.pop("dev", None)
        infos.append(d)
    if oneline:
        return {"addr_info": infos}
    out: dict[str, Any] = link.to_dict(names, flags)
    out.pop("linkmode", None)
    out["addr_info"] = infos
    return out
