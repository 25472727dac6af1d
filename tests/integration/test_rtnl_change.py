"""Changes made through netring.Rtnl, each verified by an independent reader: ``ip -j``."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator

import pytest
from nsutil import Netns, sh

from netring import Rtnl
from netring.errors import NetlinkError


@pytest.fixture
def rt(netns: Netns) -> Iterator[Rtnl]:
    with Rtnl(netns.path) as r:
        yield r


def link(ns: Netns, name: str) -> dict:  # type: ignore[type-arg]
    out = ns.ip_json("-d", "link", "show", "dev", name)
    assert len(out) == 1
    return out[0]  # type: ignore[no-any-return]


def test_link_add_del_kinds(netns: Netns, rt: Rtnl) -> None:
    rt.link_add("v0", "veth", peer="v1", mtu=1400)
    assert link(netns, "v0")["linkinfo"]["info_kind"] == "veth"
    assert link(netns, "v1")["mtu"] == 1500 and link(netns, "v0")["mtu"] == 1400
    rt.link_add("br0", "bridge", up=True)
    assert "UP" in link(netns, "br0")["flags"]
    rt.link_add("mv0", "macvlan", link="v0", mode="private")
    mv = link(netns, "mv0")
    assert mv["linkinfo"]["info_kind"] == "macvlan"
    assert mv["linkinfo"]["info_data"]["mode"] == "private"
    rt.link_add("vx0", "vxlan", vni=4242, port=4789, local="10.0.0.1")
    vx = link(netns, "vx0")["linkinfo"]["info_data"]
    assert vx["id"] == 4242 and vx["port"] == 4789 and vx["local"] == "10.0.0.1"
    rt.link_del("vx0")
    assert netns.ip("link", "show", "dev", "vx0", check=False).returncode != 0
    rt.link_del(rt.ifindex("mv0"))
    assert netns.ip("link", "show", "dev", "mv0", check=False).returncode != 0
    with pytest.raises(NetlinkError) as ei:
        rt.link_add("br0", "bridge")
    assert ei.value.errno == errno.EEXIST


def test_link_add_vlan(netns: Netns, rt: Rtnl) -> None:
    probe = netns.ip("link", "add", "link", "lo", "name", "probe0", "type", "vlan", "id", "9",
                     check=False)
    if probe.returncode != 0:
        pytest.skip(f"kernel lacks the vlan link type (8021q): {probe.stderr.strip()}")
    netns.ip("link", "del", "probe0")
    rt.link_add("v0", "veth", peer="v1")
    rt.link_add("v0.10", "vlan", link="v0", vlan_id=10)
    info = link(netns, "v0.10")["linkinfo"]
    assert info["info_kind"] == "vlan" and info["info_data"]["id"] == 10


def test_link_set(netns: Netns, rt: Rtnl) -> None:
    rt.link_add("v0", "veth", peer="v1")
    rt.link_add("br0", "bridge")
    rt.link_set("v0", up=True, mtu=1280, address="02:aa:bb:cc:dd:ee")
    d = link(netns, "v0")
    assert "UP" in d["flags"] and d["mtu"] == 1280 and d["address"] == "02:aa:bb:cc:dd:ee"
    rt.link_set("v0", up=False)
    assert "UP" not in link(netns, "v0")["flags"]
    rt.link_set("v0", master="br0")
    assert link(netns, "v0")["master"] == "br0"
    rt.link_set("v0", master=0)
    assert "master" not in link(netns, "v0")
    rt.link_set("v0", name="uplink")
    assert link(netns, "uplink")["ifname"] == "uplink"
    with pytest.raises(NetlinkError) as ei:
        rt.link_set("uplink", mtu=10)
    assert ei.value.errno == errno.EINVAL
    assert ei.value.ext_msg  # the kernel's extended-ack text
    with Netns() as other:
        rt.link_set("v1", netns=other.path)
        assert other.ip_json("link", "show", "dev", "v1")[0]["ifname"] == "v1"
        assert netns.ip("link", "show", "dev", "v1", check=False).returncode != 0


def test_addresses(netns: Netns, rt: Rtnl) -> None:
    netns.add_veth()

    def addrs() -> list[tuple[str, int]]:
        return [(a["local"], a["prefixlen"])
                for a in netns.ip_json("addr", "show", "dev", "veth0")[0]["addr_info"]
                if a["scope"] != "link"]

    rt.addr_add("veth0", "10.0.0.1/24", label="veth0:a", broadcast="10.0.0.255")
    rt.addr_add("veth0", "2001:db8::1/64", flags=["nodad"])
    assert ("10.0.0.1", 24) in addrs() and ("2001:db8::1", 64) in addrs()
    info = netns.ip_json("addr", "show", "dev", "veth0")[0]["addr_info"][0]
    assert info["label"] == "veth0:a" and info["broadcast"] == "10.0.0.255"
    with pytest.raises(NetlinkError) as ei:
        rt.addr_add("veth0", "10.0.0.1/24")
    assert ei.value.errno == errno.EEXIST
    rt.addr_replace("veth0", "10.0.0.1/24", valid_lft=300, preferred_lft=200)
    a = [x for x in netns.ip_json("addr", "show", "dev", "veth0")[0]["addr_info"]
         if x["local"] == "10.0.0.1"][0]
    assert 0 < a["valid_life_time"] <= 300 and a.get("dynamic") is True
    rt.addr_del("veth0", "10.0.0.1/24")
    rt.addr_del("veth0", "2001:db8::1/64")
    assert addrs() == []


def test_routes(netns: Netns, rt: Rtnl) -> None:
    netns.add_veth()
    netns.ip("addr", "add", "10.0.0.1/24", "dev", "veth0")

    def routes(*sel: str) -> list[dict]:  # type: ignore[type-arg]
        return netns.ip_json("route", "show", *sel)  # type: ignore[no-any-return]

    rt.route_add("10.1.0.0/24", gateway="10.0.0.2", metric=50, prefsrc="10.0.0.1")
    assert routes("10.1.0.0/24") == [{"dst": "10.1.0.0/24", "gateway": "10.0.0.2",
                                       "dev": "veth0", "prefsrc": "10.0.0.1", "metric": 50,
                                       "flags": []}]
    rt.route_add("10.2.0.0/24", dev="veth0", table=1000, protocol="static",
                 metrics={"mtu": 1400})
    r = routes("table", "1000")[0]
    assert r["dst"] == "10.2.0.0/24" and r["protocol"] == "static" and r["scope"] == "link"
    assert r["metrics"] == [{"mtu": 1400}]
    rt.route_add("10.3.0.0/24", type="blackhole")
    assert routes("10.3.0.0/24")[0]["type"] == "blackhole"
    rt.route_add("10.4.0.0/24", nexthops=[{"gateway": "10.0.0.2", "dev": "veth0", "weight": 1},
                                          {"gateway": "10.0.0.3", "dev": "veth0", "weight": 3}])
    nh = routes("10.4.0.0/24")[0]["nexthops"]
    assert [(h["gateway"], h["weight"]) for h in nh] == [("10.0.0.2", 1), ("10.0.0.3", 3)]
    rt.route_replace("10.1.0.0/24", gateway="10.0.0.3", metric=50)
    assert routes("10.1.0.0/24")[0]["gateway"] == "10.0.0.3"
    rt.route_append("10.1.0.0/24", gateway="10.0.0.4", metric=50, table=5)
    rt.route_append("10.1.0.0/24", gateway="10.0.0.5", metric=51, table=5)
    assert len(routes("table", "5")) == 2
    rt.route_add("default", family=2, gateway="10.0.0.254")
    assert routes("default")[0]["gateway"] == "10.0.0.254"
    rt.route_add("2001:db8:5::/64", dev="veth0", metric=9, pref=1)
    r6 = netns.ip_json("-6", "route", "show", "2001:db8:5::/64")[0]
    assert r6["metric"] == 9 and r6["pref"] == "high"
    with pytest.raises(NetlinkError) as ei:
        rt.route_add("10.9.0.0/24", gateway="192.0.2.1")  # gateway not reachable
    assert ei.value.errno == errno.ENETUNREACH and ei.value.ext_msg
    for dst, kw in (("10.1.0.0/24", {}), ("10.2.0.0/24", {"table": 1000}),
                    ("10.3.0.0/24", {}), ("10.4.0.0/24", {}), ("default", {"family": 2})):
        rt.route_del(dst, **kw)  # type: ignore[arg-type]
    assert [x["dst"] for x in routes()] == ["10.0.0.0/24"]
    with pytest.raises(NetlinkError) as ei:
        rt.route_del("10.1.0.0/24")
    assert ei.value.errno == errno.ESRCH


def test_neighbours(netns: Netns, rt: Rtnl) -> None:
    netns.add_veth()
    rt.neigh_add("10.0.0.9", "veth0", lladdr="02:00:00:00:00:09")
    rt.neigh_add("2001:db8::9", "veth0", lladdr="02:00:00:00:00:19")
    got = {n["dst"]: n for n in netns.ip_json("neigh", "show", "dev", "veth0")}
    assert got["10.0.0.9"]["lladdr"] == "02:00:00:00:00:09"
    assert got["10.0.0.9"]["state"] == ["PERMANENT"] and "2001:db8::9" in got
    with pytest.raises(NetlinkError) as ei:
        rt.neigh_add("10.0.0.9", "veth0", lladdr="02:00:00:00:00:10")
    assert ei.value.errno == errno.EEXIST
    rt.neigh_replace("10.0.0.9", "veth0", lladdr="02:00:00:00:00:10", router=True)
    got = {n["dst"]: n for n in netns.ip_json("neigh", "show", "dev", "veth0")}
    assert got["10.0.0.9"]["lladdr"] == "02:00:00:00:00:10" and "router" in got["10.0.0.9"]
    rt.neigh_add("10.0.0.50", "veth0", proxy=True)
    assert netns.ip_json("neigh", "show", "proxy")[0]["dst"] == "10.0.0.50"
    rt.neigh_del("10.0.0.50", "veth0", proxy=True)
    rt.neigh_del("10.0.0.9", "veth0")
    rt.neigh_del("2001:db8::9", "veth0")
    assert netns.ip_json("neigh", "show", "dev", "veth0") == []
    assert netns.ip_json("neigh", "show", "proxy") == []


def test_rules(netns: Netns, rt: Rtnl) -> None:
    netns.add_veth()
    rt.rule_add(priority=100, src="10.9.0.0/16", table=100)
    rt.rule_add(priority=101, fwmark=0x10, fwmask=0xFF, table=1000)
    rt.rule_add(priority=102, iif="veth0", action="blackhole")
    rt.rule_add(family=10, priority=103, dst="2001:db8::/32", table=7)
    got = {r["priority"]: r for r in netns.ip_json("rule", "show")}
    assert got[100]["src"] == "10.9.0.0" and got[100]["srclen"] == 16 and got[100]["table"] == "100"
    assert got[101]["fwmark"] == "0x10" and got[101]["table"] == "1000"
    assert got[102]["action"] == "blackhole" and got[102]["iif"] == "veth0"
    g6 = {r["priority"]: r for r in netns.ip_json("-6", "rule", "show")}
    assert g6[103]["dst"] == "2001:db8::" and g6[103]["table"] == "7"
    for p in (100, 101, 102):
        rt.rule_del(priority=p)
    rt.rule_del(family=10, priority=103)
    assert sorted(r["priority"] for r in netns.ip_json("rule", "show")) == [0, 32766, 32767]
    with pytest.raises(NetlinkError) as ei:
        rt.rule_del(priority=4242)
    assert ei.value.errno == errno.ENOENT


def test_works_without_moving_the_process(netns: Netns, rt: Rtnl) -> None:
    mine = os.readlink("/proc/self/ns/net")
    rt.link_add("v0", "veth", peer="v1")
    assert os.readlink("/proc/self/ns/net") == mine
    assert sh("ip", "link", "show", "dev", "v0", check=False).returncode != 0
