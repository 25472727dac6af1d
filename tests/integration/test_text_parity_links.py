"""``ip link``/``ip addr``/``ip neigh`` text and ``ip -j`` JSON of netring's renderers,
compared line for line with iproute2 (the oracle) in a private namespace.

Values that tick between iproute2's read and ours are compared modulo that value:
the bridge's ``gc_timer``, finite address lifetimes, and the traffic counters of
``-s`` (the namespace's own IPv6 chatter moves them); each normaliser below says
which.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from nsutil import Netns, have_ip, have_root, sh

from netring import Rtnl
from netring.subsystems.rtnetlink.text.address import addr_lines
from netring.subsystems.rtnetlink.text.context import TextContext
from netring.subsystems.rtnetlink.text.link import link_lines
from netring.subsystems.rtnetlink.text.neighbour import neigh_line, neigh_shown

SETUP = [
    "link add ve0 type veth peer name ve1",
    "link set ve0 address 02:00:00:00:00:01 mtu 1400 txqlen 500 alias my_alias",
    "link set ve0 up", "link set ve1 up",
    "link add br0 type bridge", "link add vb0 type veth peer name vb1",
    "link set vb0 master br0", "link set br0 up", "link set vb0 up",
    "link add mv0 link ve1 type macvlan mode bridge",
    "link add vxlan0 type vxlan id 42 dstport 4789 local 10.0.0.1",
    "link add vd0 type veth peer name vd1",
    "addr add 10.0.0.1/24 brd + dev ve0", "addr add 10.0.0.2/24 dev ve0",
    "addr add 10.0.0.3/24 dev ve0 label ve0:1",
    "addr add 10.9.0.1/24 dev ve0 valid_lft 1000 preferred_lft 500",
    "addr add 10.1.0.1 peer 10.1.0.2 dev ve0",
    "addr add 2001:db8::1/64 dev ve0 nodad",
    "addr add 2001:db8:1::1/64 dev ve0 nodad noprefixroute valid_lft 2000 preferred_lft 1000",
    "neigh add 10.0.0.5 lladdr 02:00:00:00:00:05 dev ve0 nud permanent",
    "neigh add 10.0.0.6 lladdr 02:00:00:00:00:06 dev ve0 nud stale",
    "neigh add 10.0.0.7 lladdr 02:00:00:00:00:08 dev ve0 nud noarp",
    "neigh add proxy 10.0.0.8 dev ve0",
]


@pytest.fixture
def world() -> Iterator[tuple[Netns, Netns]]:
    """The namespace under test, a named peer namespace, and a veth into a namespace
    without a name (held by a process we start and stop)."""
    if not have_root():
        pytest.skip("needs root: creates network namespaces")
    if not have_ip():
        pytest.skip("needs iproute2's `ip` as the oracle")
    ns, peer = Netns(), Netns()
    holder = subprocess.Popen(["unshare", "--net", "sleep", "120"])
    try:
        # no DAD: link-local addresses would change flags (tentative) while we compare
        for conf in ("all", "default"):
            sh("ip", "netns", "exec", ns.name, "sysctl", "-qw",
               f"net.ipv6.conf.{conf}.accept_dad=0")
        ns.batch(SETUP)
        ns.ip("link", "add", "vx0", "type", "veth", "peer", "name", "vy0", "netns", peer.name)
        ns.ip("link", "set", "vx0", "up")
        ns.ip("link", "add", "vz0", "type", "veth", "peer", "name", "vz1", "netns",
              str(holder.pid))
        yield ns, peer
    finally:
        holder.kill()
        holder.wait()
        peer.close()
        ns.close()


def _ip_lines(ns: Netns, *args: str) -> list[str]:
    out = ns.ip(*args).stdout
    return out[:-1].split("\n") if out else []


def _netns_names(ns: Netns) -> dict[int, str]:
    out: dict[int, str] = {}
    for line in _ip_lines(ns, "netns", "list-id"):
        m = re.match(r"nsid (\d+) \(iproute2 netns name: (\S+)\)", line)
        if m:
            out[int(m.group(1))] = m.group(2)
    return out


_STATS_HEAD = re.compile(r"^    (RX|TX)(:| errors:)")


def _norm(lines: list[str]) -> list[str]:
    """Modulo ticking values: ``gc_timer`` (bridge garbage-collection countdown),
    ``NNNsec`` (finite lifetimes count down), and the ``-s`` counter blocks (numbers
    and the column widths they set)."""
    out: list[str] = []
    in_stats = False
    for line in lines:
        line = re.sub(r"gc_timer +\d+\.\d+", "gc_timer T", line)
        line = re.sub(r"\d+sec", "Nsec", line)
        if in_stats or _STATS_HEAD.match(line):
            line = re.sub(r"\d+", "N", re.sub(r" +", " ", line))
        in_stats = bool(_STATS_HEAD.match(line)) and not in_stats
        out.append(line)
    return out


OPTIONS = [
    ((), {}), (("-d",), {"details": True}), (("-s",), {"stats": True, "stats_level": 1}),
    (("-s", "-s"), {"stats": True, "stats_level": 2}), (("-br",), {"brief": True}),
    (("-o",), {"oneline": True}), (("-d", "-s"), {"details": True, "stats": True,
                                                  "stats_level": 1}),
]


def _settled(ns: Netns, args: tuple[str, ...], ours: Callable[[], list[str]]
             ) -> tuple[list[str], list[str]]:
    """``(ours, ip's)`` read while the kernel's state held still: ip before and after
    our read agree (the namespace keeps adding multicast neighbours and link-local
    addresses for a moment after its links come up).  Bounded: 50 tries."""
    for _ in range(50):
        before = _norm(_ip_lines(ns, *args))
        got = ours()
        after = _norm(_ip_lines(ns, *args))
        if before == after:
            return _norm(got), after
    raise AssertionError(f"ip {' '.join(args)} never held still")


@pytest.mark.parametrize(("opts", "kw"), OPTIONS, ids=lambda v: " ".join(v) if
                         isinstance(v, tuple) else None)
def test_link_and_addr_text(world: tuple[Netns, Netns], opts: tuple[str, ...],
                            kw: dict[str, Any]) -> None:
    ns, peer = world
    nsnames = _netns_names(ns)

    def render(addr: bool) -> list[str]:
        with Rtnl(ns.name) as rtnl:
            links = rtnl.links(stats=True)
            addrs = rtnl.addresses()
        names = {ln.index: ln.name or "" for ln in links}
        flags = {ln.index: ln.flags for ln in links}
        ctx = TextContext(names=names, netns_names=nsnames, **kw)
        if addr:
            return [x for ln in links for x in addr_lines(ln, addrs, ctx, link_flags=flags)]
        return [x for ln in links for x in link_lines(ln, ctx, link_flags=flags)]

    got, want = _settled(ns, (*opts, "link", "show"), lambda: render(False))
    assert got == want
    got, want = _settled(ns, (*opts, "addr", "show"), lambda: render(True))
    assert got == want
    if not opts:
        text = "\n".join(want)
        assert f"link-netns {peer.name}" in text and "link-netnsid " in text
        assert "vb0@vb1: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN>" in text
        assert "inet 10.1.0.1 peer 10.1.0.2/32" in text and "ve0:1" in text


def test_neigh_text(world: tuple[Netns, Netns]) -> None:
    ns, _peer = world
    for stats in (False, True):
        s = ("-s",) if stats else ()
        for args, nud_all, proxy in (((), False, False), (("nud", "all"), True, False),
                                     (("proxy",), False, True)):
            def render(stats: bool = stats, nud_all: bool = nud_all,
                       proxy: bool = proxy) -> list[str]:
                with Rtnl(ns.name) as rtnl:
                    ctx = TextContext(names=rtnl.names(), stats=stats)
                    entries = rtnl.neighbours() + rtnl.neighbours(proxy=True)
                return [neigh_line(n, ctx) for n in entries if neigh_shown(n, nud_all, proxy)]

            got, want = _settled(ns, (*s, "neigh", "show", *args), render)
            assert got == want, (s, args)
    plain = _ip_lines(ns, "neigh", "show")
    assert any("PERMANENT" in x for x in plain) and not any("NOARP" in x for x in plain)
    assert _ip_lines(ns, "neigh", "show", "proxy") == ["10.0.0.8 dev ve0 proxy "]


def _zero_counters(d: dict[str, Any]) -> None:
    for key in ("stats64", "stats"):
        for side in d.get(key, {}).values():
            for k in side:
                side[k] = 0


def _norm_json(d: dict[str, Any]) -> dict[str, Any]:
    """Modulo ticking values: the bridge ``gc_timer``, the counters, finite lifetimes."""
    data = d.get("linkinfo", {}).get("info_data", {})
    if "gc_timer" in data:
        data["gc_timer"] = "T"
    _zero_counters(d)
    for k in ("valid_life_time", "preferred_life_time"):
        if k in d and d[k] != 0xFFFFFFFF:
            d[k] = "finite"
    return d


@pytest.mark.parametrize("opts", [(), ("-d",), ("-s",), ("-s", "-s"), ("-d", "-s")])
def test_link_json(world: tuple[Netns, Netns], opts: tuple[str, ...]) -> None:
    ns, _peer = world
    with Rtnl(ns.name) as rtnl:
        links = rtnl.links(stats=True)
    names = {ln.index: ln.name or "" for ln in links}
    flags = {ln.index: ln.flags for ln in links}
    want = ns.ip_json(*opts, "link", "show")
    got = [ln.to_dict(names, flags, stats="-s" in opts, details="-d" in opts,
                      stats_level=opts.count("-s")) for ln in links]
    assert len(got) == len(want)
    for w, g in zip(want, got, strict=True):
        # json.dumps keeps the key order: the order is compared too
        assert json.dumps(_norm_json(g)) == json.dumps(_norm_json(w))
    kinds = {w["ifname"]: w.get("linkinfo", {}) for w in want}
    if "-d" in opts:
        assert kinds["vxlan0"]["info_data"]["id"] == 42
        assert kinds["vb0"]["info_slave_kind"] == "bridge"


def test_addr_and_neigh_json(world: tuple[Netns, Netns]) -> None:
    ns, _peer = world

    def ip_addrs() -> list[str]:
        # ip -j -o groups the addresses by link: [{"addr_info": [...]}, ...]
        return [json.dumps(_norm_json(a)) for x in ns.ip_json("-o", "addr", "show")
                for a in x["addr_info"]]

    def ours() -> tuple[list[str], list[str], list[str]]:
        with Rtnl(ns.name) as rtnl:
            names = rtnl.names()
            addrs = sorted(rtnl.addresses(), key=lambda a: a.index)  # stable: dump order kept
            neigh = rtnl.neighbours()
            proxies = rtnl.neighbours(proxy=True)
        return ([json.dumps(_norm_json(a.to_dict(names))) for a in addrs],
                [json.dumps(n.to_dict(names)) for n in neigh],
                [json.dumps(n.to_dict(names)) for n in proxies])

    def ip_all() -> tuple[list[str], list[str], list[str]]:
        return (ip_addrs(), [json.dumps(x) for x in ns.ip_json("neigh", "show", "nud", "all")],
                [json.dumps(x) for x in ns.ip_json("neigh", "show", "proxy")])

    for _ in range(50):  # bounded: until ip's reads before and after ours agree
        before = ip_all()
        got = ours()
        if before == ip_all():
            break
    else:
        raise AssertionError("the namespace never held still")
    assert got == before
