"""Decoding of real kernel captures (tests/golden/rtnl, recorded by record.py there):
the typed views' to_dict() must equal what iproute2's ``ip -j`` printed at the time."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from netring.codec import iter_messages
from netring.subsystems.rtnetlink import (
    RTA,
    RTM,
    Address,
    DumpReader,
    Link,
    Neighbour,
    Route,
    RtnlObject,
    Rule,
    decode,
)

GOLDEN = pathlib.Path(__file__).resolve().parent.parent / "golden" / "rtnl"
META = json.loads((GOLDEN / "meta.json").read_text())
EXPECTED = json.loads((GOLDEN / "expected_ip_json.json").read_text())
NAMES = {int(k): v for k, v in META["names"].items()}
FLAGS = {int(k): v for k, v in META["link_flags"].items()}


def _read(name: str, cls: type[RtnlObject], seq_key: str) -> list[Any]:
    data = (GOLDEN / f"{name}.bin").read_bytes()
    r: DumpReader[Any] = DumpReader(cls, META["seq"][seq_key], keep=True)
    assert r.feed(data)
    assert r.count == len(r.objects)
    return r.objects


def _canon(items: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(d, sort_keys=True) for d in items)


def test_routes_equal_ip_json_entry_for_entry() -> None:
    routes = _read("routes", Route, "routes")
    mine = [r.to_dict(NAMES) for r in routes]
    assert mine == EXPECTED["routes"]
    assert any("nexthops" in d for d in mine)
    assert any("metrics" in d for d in mine)


def test_links_equal_ip_json() -> None:
    links = _read("links", Link, "links")
    assert [ln.to_dict(NAMES, FLAGS) for ln in links] == EXPECTED["links"]


def test_addresses_equal_ip_json() -> None:
    addrs = _read("addrs", Address, "addrs")
    assert _canon([a.to_dict(NAMES) for a in addrs]) == _canon(EXPECTED["addrs"])


def test_neighbours_equal_ip_json() -> None:
    neigh = _read("neigh", Neighbour, "neigh")
    assert [n.to_dict(NAMES) for n in neigh] == EXPECTED["neigh"]


@pytest.mark.parametrize("fam", ["rules4", "rules6"])
def test_rules_equal_ip_json(fam: str) -> None:
    rules = _read(fam, Rule, fam)
    assert [r.to_dict(NAMES) for r in rules] == EXPECTED[fam]


def test_route_fields() -> None:
    routes = _read("routes", Route, "routes")
    by_dst = {(r.table, r.dst_prefix): r for r in routes}
    gw = by_dst[(254, "10.1.0.0/24")]
    assert gw.gateway == "10.0.0.2" and gw.oif == 3 and gw.protocol == 3 and gw.type == 1
    assert gw.raw("RTA_GATEWAY") is not None and gw.raw(RTA.GATEWAY).ipv4() == "10.0.0.2"  # type: ignore[union-attr]
    assert gw.raw("MARK") is None
    mp = by_dst[(254, "10.4.0.0/24")]
    assert [(n.gateway, n.weight, n.ifindex) for n in mp.multipath] == [
        ("10.0.0.2", 1, 3), ("10.0.0.3", 2, 3)]
    t100 = by_dst[(100, "10.5.0.0/24")]
    assert t100.metrics == {"mtu": 1400, "advmss": 1300}
    big = by_dst[(1000, "10.8.0.0/24")]
    assert big.rtm_table == 252 and big.table == 1000  # RT_TABLE_COMPAT in the header
    default = by_dst[(254, "default")]
    assert default.dst is None and default.priority == 10
    v6 = by_dst[(254, "2001:db8:2::/64")]
    assert v6.pref == 1 and v6.family == 10 and v6.priority == 5
    assert "RTA_TABLE" in gw.attr_names()


def test_link_fields() -> None:
    links = {ln.name: ln for ln in _read("links", Link, "links")}
    v0 = links["veth0"]
    assert v0.kind == "veth" and v0.address == "02:00:00:00:00:01" and v0.mtu == 1500
    assert v0.link == links["veth1"].index and v0.up and v0.operstate == 6
    assert links["mv0"].kind == "macvlan" and links["vx0"].kind == "vxlan"
    assert links["br0"].kind == "bridge" and links["lo"].type == 772
    assert v0.raw("IFLA_IFNAME") is not None and v0.txqlen == 1000


def test_notifications_decode() -> None:
    data = (GOLDEN / "notifications.bin").read_bytes()
    objs = [decode(data, m.offset) for m in iter_messages(data)]
    kinds = {(type(o).__name__, o.deleted) for o in objs if o is not None}
    assert ("Route", False) in kinds and ("Route", True) in kinds
    assert ("Neighbour", True) in kinds and ("Rule", True) in kinds
    assert ("Address", True) in kinds and ("Link", False) in kinds
    for o in objs:
        assert o is not None
        d = o.to_dict(NAMES)
        assert isinstance(d, dict) and json.dumps(d)
        if o.deleted:
            assert d["deleted"] is True


def test_views_keep_only_buffer_and_offset() -> None:
    routes = _read("routes", Route, "routes")
    r = routes[0]
    assert not hasattr(r, "__dict__")
    slots = [x for c in Route.__mro__ for x in c.__dict__.get("__slots__", ())]
    assert slots == ["_buf", "_off", "_idx"]  # the whole hierarchy keeps three slots
    copy = r.copy()
    assert copy.tobytes() == r.tobytes() and copy.to_dict(NAMES) == r.to_dict(NAMES)
    assert r.nlmsg_type == RTM.NEWROUTE and r.seq == META["seq"]["routes"]
