"""Dumps against the real kernel, compared entry for entry with iproute2's ``ip -j``."""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from nsutil import Netns

from netring import Rtnl
from netring.cli import main
from netring.errors import NetlinkError
from netring.subsystems.rtnetlink import AF_INET, AF_INET6


def _canon(items: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(d, sort_keys=True) for d in items)


def populate(ns: Netns, n: int = 3000) -> None:
    """Thousands of routes of mixed kinds: gateway, device, blackhole/unreachable/prohibit,
    multipath, other tables, metrics, protocols, IPv6."""
    ns.add_veth()
    ns.ip("addr", "add", "10.0.0.1/16", "dev", "veth0")
    ns.ip("addr", "add", "2001:db8::1/64", "dev", "veth0", "nodad")
    lines = []
    kinds = 10
    for i in range(n):
        a, b = (i >> 8) & 255, i & 255
        k = i % kinds
        if k == 0:
            lines.append(f"route add 10.{100 + a}.{b}.0/24 via 10.0.0.2")
        elif k == 1:
            lines.append(f"route add 10.{100 + a}.{b}.0/24 dev veth0 metric {i % 7}")
        elif k == 2:
            lines.append(f"route add blackhole 10.{100 + a}.{b}.0/24 table {100 + i % 3}")
        elif k == 3:
            lines.append(f"route add 10.{100 + a}.{b}.0/24 nexthop via 10.0.0.2 weight 2 "
                         f"nexthop via 10.0.0.3 weight 5")
        elif k == 4:
            lines.append(f"route add 10.{100 + a}.{b}.0/24 via 10.0.0.2 table 1000 "
                         f"mtu 1400 advmss 1300 proto bgp")
        elif k == 5:
            lines.append(f"route add 10.{100 + a}.{b}.0/24 dev veth0 proto {20 + i % 5} "
                         f"src 10.0.0.1 scope link")
        elif k == 6:
            lines.append(f"route add unreachable 10.{100 + a}.{b}.0/24 metric 9")
        elif k == 7:
            lines.append(f"route add 2001:db8:{a:x}:{b:x}::/64 via 2001:db8::2 metric 7")
        elif k == 8:
            lines.append(f"route add 2001:db8:1{a:x}:{b:x}::/64 dev veth0 pref high table 200")
        else:
            lines.append(f"route add prohibit 10.{100 + a}.{b}.0/24 table 300 proto static "
                         f"initcwnd 10 rtt 50")
    ns.batch(lines)


@pytest.fixture
def populated(netns: Netns) -> Netns:
    populate(netns)
    return netns


def test_route_dump_equals_ip_json(populated: Netns) -> None:
    with Rtnl(populated.path) as rt:
        names = rt.names()
        mine = [r.to_dict(names) for r in rt.routes()]
    ref = populated.ip_json("route", "show", "table", "all")
    assert len(mine) == len(ref) > 3000
    assert mine == ref


def test_cli_dump_routes_json_lines_equal_ip_json(populated: Netns) -> None:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["dump", "routes", "--json", "--table", "all",
                     "--netns", populated.name]) == 0
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert lines == populated.ip_json("route", "show", "table", "all")
    buf6 = io.StringIO()
    with contextlib.redirect_stdout(buf6):
        assert main(["dump", "routes", "--json", "-6", "--table", "all",
                     "--netns", populated.name]) == 0
    assert [json.loads(x) for x in buf6.getvalue().splitlines()] == populated.ip_json(
        "-6", "route", "show", "table", "all")


def test_route_filters_in_kernel(populated: Netns) -> None:
    with Rtnl(populated.path) as rt:
        assert rt.strict
        everything = rt.routes()
        t1000 = rt.routes(table=1000)
        assert t1000 and all(r.table == 1000 for r in t1000)
        assert len(t1000) == sum(1 for r in everything if r.table == 1000)
        v6 = rt.routes(family=AF_INET6)
        assert v6 and all(r.family == AF_INET6 for r in v6)
        assert len(v6) == sum(1 for r in everything if r.family == AF_INET6)
        veth0 = rt.ifindex("veth0")
        by_oif = rt.routes(oif=veth0)
        assert by_oif and all(r.oif == veth0 for r in by_oif)
        assert rt.count_routes() == len(everything)
        assert rt.count_routes(family=AF_INET, table="main") == sum(
            1 for r in everything if r.family == AF_INET and r.table == 254)
        assert len(rt.routes(protocol="bgp")) == sum(1 for r in everything if r.protocol == 186)


def _settled(read: Callable[[], Any], pause: float = 0.2, limit: float = 10.0) -> Any:
    """What ``read()`` returns once two reads ``pause`` seconds apart agree (at most
    ``limit`` seconds of looking; then the last read)."""
    end = time.monotonic() + limit
    last = read()
    while time.monotonic() < end:
        time.sleep(pause)
        now = read()
        if now == last:
            return now
        last = now
    return last


def test_links_addrs_neigh_rules_equal_ip_json(netns: Netns) -> None:
    netns.add_veth()
    netns.ip("link", "add", "br0", "type", "bridge")
    netns.ip("link", "set", "veth1", "master", "br0")
    netns.ip("link", "add", "mv0", "link", "veth0", "type", "macvlan", "mode", "bridge")
    netns.ip("link", "add", "vx0", "type", "vxlan", "id", "42", "dstport", "4789")
    netns.ip("link", "set", "veth0", "alias", "the uplink")
    netns.ip("addr", "add", "10.0.0.1/24", "brd", "+", "dev", "veth0")
    netns.ip("addr", "add", "10.0.0.7/24", "dev", "veth0", "label", "veth0:x")
    netns.ip("addr", "add", "192.168.5.1", "peer", "192.168.5.2", "dev", "veth0")
    netns.ip("addr", "add", "2001:db8::1/64", "dev", "veth0", "nodad")
    netns.ip("addr", "add", "10.9.0.1/24", "dev", "br0", "valid_lft", "100", "preferred_lft", "50")
    netns.ip("neigh", "add", "10.0.0.9", "lladdr", "02:00:00:00:00:09", "dev", "veth0")
    netns.ip("neigh", "add", "10.0.0.10", "lladdr", "02:00:00:00:00:0a", "dev", "veth0",
             "nud", "stale", "router")
    netns.ip("neigh", "add", "proxy", "10.0.0.50", "dev", "veth0")
    netns.ip("rule", "add", "from", "10.9.0.0/16", "table", "100", "prio", "100")
    netns.ip("rule", "add", "not", "fwmark", "0x10/0xff", "lookup", "200", "prio", "99")
    netns.ip("rule", "add", "iif", "veth0", "unreachable", "prio", "98")
    netns.ip("-6", "rule", "add", "from", "2001:db8::/32", "table", "7", "prio", "7")
    with Rtnl(netns.path) as rt:
        names = rt.names()
        flags = rt.link_flags()
        links = [ln.to_dict(names, flags) for ln in rt.links()]
        assert links == netns.ip_json("link", "show")
        addrs = [a.to_dict(names) for a in rt.addresses()]
        ref_addrs = [e for ln in netns.ip_json("-o", "addr", "show") for e in ln["addr_info"]]
        # lifetimes tick between the two reads: compare them loosely
        for d in addrs + ref_addrs:
            if d.get("valid_life_time", 0) < 0xFFFFFFFF:
                d["valid_life_time"] = d["preferred_life_time"] = "finite"
        assert _canon(addrs) == _canon(ref_addrs)
        # the kernel adds IPv6 multicast neighbours (MLD) on its own once links are
        # up: compare once the table stopped changing
        ref_neigh = _settled(lambda: netns.ip_json("neigh", "show", "nud", "all"))
        assert [n.to_dict(names) for n in rt.neighbours()] == ref_neigh
        assert [n.to_dict(names) for n in rt.neighbours(proxy=True)] == netns.ip_json(
            "neigh", "show", "proxy")
        assert [r.to_dict(names) for r in rt.rules(family=AF_INET)] == netns.ip_json(
            "-4", "rule", "show")
        assert [r.to_dict(names) for r in rt.rules(family=AF_INET6)] == netns.ip_json(
            "-6", "rule", "show")
        kinds = {ln.name: ln.kind for ln in rt.links()}
        assert kinds["veth0"] == "veth" and kinds["br0"] == "bridge"
        assert kinds["mv0"] == "macvlan" and kinds["vx0"] == "vxlan"
        assert [ln.name for ln in rt.links(master=rt.ifindex("br0"))] == ["veth1"]
        assert {ln.name for ln in rt.links(kind="veth")} == {"veth0", "veth1"}


def test_get_link_and_route(netns: Netns) -> None:
    netns.add_veth()
    netns.ip("addr", "add", "10.0.0.1/24", "dev", "veth0")
    netns.ip("route", "add", "10.8.0.0/16", "via", "10.0.0.2", "metric", "5")
    with Rtnl(netns.path) as rt:
        ln = rt.get_link("veth0")
        assert ln.name == "veth0" and rt.get_link(ln.index).name == "veth0"
        with pytest.raises(NetlinkError) as ei:
            rt.get_link("nope0")
        assert ei.value.errno == 19  # ENODEV
        r = rt.get_route("10.8.1.2")
        assert (r.dst, r.gateway, r.oif, r.prefsrc) == ("10.8.1.2", "10.0.0.2", ln.index,
                                                         "10.0.0.1")
        fib = rt.get_route("10.8.1.2", fib_match=True)
        assert fib.dst_prefix == "10.8.0.0/16" and fib.priority == 5
        ref = netns.ip_json("route", "get", "10.8.1.2")[0]
        assert ref["gateway"] == r.gateway and ref["prefsrc"] == r.prefsrc


def test_cli_dump_every_kind(netns: Netns) -> None:
    netns.add_veth()
    netns.ip("addr", "add", "10.0.0.1/24", "dev", "veth0")
    for kind in ("links", "addrs", "routes", "neigh", "rules"):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["dump", kind, "--netns", netns.name]) == 0
        text = out.getvalue()
        if kind != "neigh":
            assert text.strip()
        js = io.StringIO()
        with contextlib.redirect_stdout(js):
            assert main(["dump", kind, "--json", "--netns", netns.name]) == 0
        for line in js.getvalue().splitlines():
            assert isinstance(json.loads(line), dict)


def test_link_stats64_equal_ip_json(netns: Netns) -> None:
    import socket

    from netring.netns import socket_in

    s = socket_in(netns.path, socket.AF_INET, socket.SOCK_DGRAM)
    with s:
        for _ in range(5):
            s.sendto(b"x" * 100, ("127.0.0.1", 9))
    with Rtnl(netns.path) as rt:
        lo = rt.links(stats=True)
        mine = [ln.to_dict(rt.names(), rt.link_flags(), stats=True) for ln in lo]
        assert lo[0].stats64 is not None and lo[0].stats64["tx_packets"] >= 5
    assert mine == netns.ip_json("-s", "link", "show")
