"""The monitor's state and its difference (netring.subsystems.rtnetlink.state), and the
Monitor over netring.testing.FakeSocket: the initial dump, notifications applied by key,
a resync's difference as events, NLM_F_REPLACE displacement, the route re-dump after a
link goes down, and the CLI's argument checks.  No root."""

from __future__ import annotations

import ipaddress
import json
import time
from typing import Any

import pytest

from netring import Rtnl
from netring.cli import build_parser, main
from netring.cli import monitor as cli_monitor
from netring.codec import NLM_F, Message
from netring.subsystems.rtnetlink import AF_INET, IFA, IFF, RTA, RTM, RTNLGRP, Address, Link, Route
from netring.subsystems.rtnetlink.edge.monitor import DEFAULT_RCVBUF, Event, Monitor
from netring.subsystems.rtnetlink.state import State, diff, object_key
from netring.subsystems.rtnetlink.structs import ifaddrmsg, ifinfomsg, rtmsg
from netring.testing import FakeSocket, dump_reply, message, overrun


def attr(t: int, v: bytes) -> bytes:
    n = 4 + len(v)
    return n.to_bytes(2, "little") + t.to_bytes(2, "little") + v + b"\0" * ((-n) & 3)


def route_body(dst: str, gateway: str | None = None, oif: int = 2, metric: int | None = None,
               table: int = 254) -> bytes:
    net = ipaddress.ip_network(dst)
    b = (rtmsg.pack(AF_INET, net.prefixlen, 0, 0, table, 4, 0, 1, 0)
         + attr(RTA.TABLE, table.to_bytes(4, "little"))
         + attr(RTA.DST, net.network_address.packed)
         + attr(RTA.OIF, oif.to_bytes(4, "little")))
    if gateway is not None:
        b += attr(RTA.GATEWAY, ipaddress.ip_address(gateway).packed)
    if metric is not None:
        b += attr(RTA.PRIORITY, metric.to_bytes(4, "little"))
    return b


def link_body(index: int, name: str, flags: int = 0x1043) -> bytes:
    return ifinfomsg.pack(0, 1, index, flags, 0) + attr(3, name.encode() + b"\0")


def addr_body(index: int, ip: str, plen: int) -> bytes:
    raw = ipaddress.ip_address(ip).packed
    return (ifaddrmsg.pack(AF_INET, plen, 0x80, 0, index) + attr(IFA.ADDRESS, raw)
            + attr(IFA.LOCAL, raw))


def route(dst: str, type_: int = RTM.NEWROUTE, flags: int = 0, **kw: Any) -> Route:
    return Route(message(type_, route_body(dst, **kw), flags))


class Kernel:
    """Dumps answer from mutable tables the test changes behind the monitor's back."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {f"10.0.{i}.0/24": route_body(f"10.0.{i}.0/24")
                                         for i in range(5)}
        self.links: dict[int, bytes] = {1: link_body(1, "lo"), 2: link_body(2, "veth0")}
        self.addrs: list[bytes] = [addr_body(2, "10.0.0.1", 24)]
        self.dumps: list[int] = []
        self.interrupt = 0  # route dumps still to flag NLM_F_DUMP_INTR

    def __call__(self, reqs: list[Message]) -> Any:
        out: list[Any] = []
        for req in reqs:
            self.dumps.append(req.type)
            if req.type == RTM.GETROUTE:
                intr = 0 if self.interrupt > 0 else None
                self.interrupt -= 1
                out += dump_reply(req, [(RTM.NEWROUTE, b) for b in self.routes.values()],
                                  intr_from=intr)
            elif req.type == RTM.GETLINK:
                out += dump_reply(req, [(RTM.NEWLINK, b) for b in self.links.values()])
            elif req.type == RTM.GETADDR:
                out += dump_reply(req, [(RTM.NEWADDR, b) for b in self.addrs])
        return out


def monitor(k: Kernel, *kinds: str) -> tuple[Any, FakeSocket]:
    rt = Rtnl(sock=FakeSocket(k))
    notify = FakeSocket()
    return rt.monitor(*kinds, sock=notify), notify


def consumer_apply(state: dict[Any, Any], events: list[Event]) -> None:
    """A consumer of the JSON lines: key by (table, dst, gateway, dev), "deleted" forgets."""
    for ev in events:
        d = json.loads(json.dumps(ev.to_dict()))
        if d["kind"] != "routes":
            continue
        key = (d.get("table"), d["dst"], d.get("gateway"), d.get("dev"), d.get("metric"))
        if d.get("deleted"):
            state.pop(key, None)
        else:
            state[key] = d


def kernel_keys(k: Kernel) -> set[Any]:
    out = set()
    for b in k.routes.values():
        d = Route(message(RTM.NEWROUTE, b)).to_dict()
        out.add((d.get("table"), d["dst"], d.get("gateway"), d.get("dev"), d.get("metric")))
    return out


# -- State and diff -----------------------------------------------------------------------

def test_diff_reports_added_changed_removed_and_nothing_for_equal_objects() -> None:
    old = State.from_dumps({"routes": [route("10.1.0.0/24"), route("10.2.0.0/24"),
                                       route("10.3.0.0/24", metric=5)]})
    new = State.from_dumps({"routes": [route("10.1.0.0/24"),         # same
                                       route("10.3.0.0/24", metric=5, oif=2),
                                       route("10.4.0.0/24")]})
    # make 10.3 differ in something that is not part of the key: its protocol byte
    changed = bytearray(message(RTM.NEWROUTE, route_body("10.3.0.0/24", metric=5)))
    changed[16 + 5] = 3  # rtm_protocol: boot
    new.load("routes", [route("10.1.0.0/24"), Route(bytes(changed)), route("10.4.0.0/24")])
    got = [(c.what, c.action, c.obj.to_dict()["dst"]) for c in diff(old, new)]
    assert got == [("changed", "new", "10.3.0.0/24"), ("added", "new", "10.4.0.0/24"),
                   ("removed", "del", "10.2.0.0/24")]
    assert diff(old, old) == []


def test_diff_orders_links_first_when_adding_and_last_when_removing() -> None:
    link = Link(message(RTM.NEWLINK, link_body(7, "v7")))
    a = Address(message(RTM.NEWADDR, addr_body(7, "10.7.0.1", 24)))
    empty = State(("links", "addrs"))
    full = State.from_dumps({"links": [link], "addrs": [a]})
    assert [(c.kind, c.what) for c in diff(empty, full)] == [("links", "added"), ("addrs", "added")]
    assert [(c.kind, c.what) for c in diff(full, empty)] == [("addrs", "removed"),
                                                              ("links", "removed")]


def test_apply_sets_forgets_and_a_replace_displaces_its_slot() -> None:
    st = State(("routes",))
    assert st.apply(route("10.1.0.0/24", gateway="10.0.0.2")) == []
    assert st.apply(route("10.1.0.0/24", gateway="10.0.0.9", metric=9)) == []  # another slot
    gone = st.apply(route("10.1.0.0/24", gateway="10.0.0.3", flags=NLM_F.REPLACE))
    assert [g.gateway for g in gone] == ["10.0.0.2"]
    assert sorted(str(r.gateway) for r in st.values("routes")) == ["10.0.0.3", "10.0.0.9"]
    st.apply(route("10.1.0.0/24", RTM.DELROUTE, gateway="10.0.0.3"))
    assert [r.gateway for r in st.values("routes")] == ["10.0.0.9"]
    # cloned (cache) routes are not state: a dump never shows them
    cloned = bytearray(message(RTM.NEWROUTE, route_body("10.5.0.0/24")))
    cloned[16 + 8] = 0x00  # rtm_flags low byte
    cloned[16 + 9] = 0x02  # RTM_F_CLONED = 0x200
    st.apply(Route(bytes(cloned)))
    assert len(st) == 1


def test_keys_tell_objects_apart_per_kind() -> None:
    a = route("10.1.0.0/24", oif=2)
    b = route("10.1.0.0/24", oif=3)  # same prefix on two devices (two connected subnets)
    assert object_key("routes", a) != object_key("routes", b)
    l1 = Link(message(RTM.NEWLINK, link_body(4, "x")))
    l2 = Link(message(RTM.NEWLINK, link_body(4, "renamed")))
    assert object_key("links", l1) == object_key("links", l2) == 4
    x = Address(message(RTM.NEWADDR, addr_body(2, "10.0.0.1", 24)))
    y = Address(message(RTM.NEWADDR, addr_body(2, "10.0.0.1", 16)))
    assert object_key("addrs", x) != object_key("addrs", y)


# -- Monitor over FakeSocket --------------------------------------------------------------

def test_monitor_dumps_after_joining_and_applies_notifications() -> None:
    k = Kernel()
    mon, notify = monitor(k, "routes")
    assert RTM.GETROUTE in k.dumps and len(mon.state.objects["routes"]) == 5
    notify.inject(message(RTM.NEWROUTE, route_body("10.9.0.0/24")), group=RTNLGRP.IPV4_ROUTE)
    notify.inject(message(RTM.DELROUTE, route_body("10.0.0.0/24")), group=RTNLGRP.IPV4_ROUTE)
    evs = list(mon.events(count=2))
    assert [(e.action, e.resync) for e in evs] == [("new", False), ("del", False)]
    dsts = sorted(r.dst_prefix for r in mon.state.values("routes"))
    assert "10.9.0.0/24" in dsts and "10.0.0.0/24" not in dsts


def test_resync_yields_the_difference_and_the_consumer_ends_with_the_kernel_state() -> None:
    k = Kernel()
    mon, notify = monitor(k, "routes")
    consumer: dict[Any, Any] = {}
    for b in k.routes.values():
        consumer_apply(consumer, [Event("routes", "new", Route(message(RTM.NEWROUTE, b)))])
    # while notifications were lost: one removed, one changed, two added
    del k.routes["10.0.1.0/24"]
    k.routes["10.0.2.0/24"] = route_body("10.0.2.0/24", gateway="10.0.0.7")
    k.routes["10.8.0.0/24"] = route_body("10.8.0.0/24")
    k.routes["10.8.1.0/24"] = route_body("10.8.1.0/24", metric=3)
    notify.inject(overrun())
    notify.inject(message(RTM.NEWROUTE, route_body("10.0.3.0/24")), group=7)  # drained
    evs = list(mon.events(count=5))
    summary = evs[0]
    assert summary.kind == "resync" and summary.obj is None
    assert summary.to_dict()["added"] == 3 and summary.to_dict()["removed"] == 2
    assert all(e.resync for e in evs[1:]) and len(evs) == 6
    assert {e.change for e in evs[1:]} == {"added", "removed"}  # a new gateway: a new key
    assert all(e.to_dict()["resync"] is True for e in evs[1:])
    assert all(e.to_dict().get("deleted") is True for e in evs[1:] if e.action == "del")
    consumer_apply(consumer, evs)
    assert set(consumer) == kernel_keys(k)
    st = mon.stats()
    assert st["overruns"] == 1 and st["resyncs"] == 1 and st["resync_events"] == 5
    assert st["messages"] == 0


def test_a_changed_object_is_a_new_event_carrying_the_new_object() -> None:
    k = Kernel()
    mon, notify = monitor(k, "links")
    k.links[2] = link_body(2, "veth0", flags=0x1002)  # went down, same index
    notify.inject(overrun())
    evs = list(mon.events(count=1))
    assert [(e.kind, e.action, e.change) for e in evs] == [
        ("resync", "resync", None), ("links", "new", "changed")]
    assert isinstance(evs[1].obj, Link) and not evs[1].obj.flags & IFF.UP


def test_replace_notification_yields_a_del_for_the_displaced_route() -> None:
    k = Kernel()
    k.routes["10.6.0.0/24"] = route_body("10.6.0.0/24", gateway="10.0.0.2")
    mon, notify = monitor(k, "routes")
    notify.inject(message(RTM.NEWROUTE, route_body("10.6.0.0/24", gateway="10.0.0.3"),
                          NLM_F.REPLACE), group=7)
    evs = list(mon.events(count=2))
    assert [(e.action, e.obj.gateway) for e in evs if isinstance(e.obj, Route)] == [
        ("del", "10.0.0.2"), ("new", "10.0.0.3")]
    assert [r.gateway for r in mon.state.values("routes") if r.dst == "10.6.0.0"] == ["10.0.0.3"]


def test_link_down_makes_the_monitor_re_dump_routes() -> None:
    k = Kernel()
    k.routes["10.6.0.0/24"] = route_body("10.6.0.0/24", gateway="10.0.0.2")
    mon, notify = monitor(k, "routes")
    before = k.dumps.count(RTM.GETROUTE)
    del k.routes["10.6.0.0/24"]  # flushed by the kernel without RTM_DELROUTE
    notify.inject(message(RTM.NEWLINK, link_body(2, "veth0", flags=0x1002)), group=1)
    evs = list(mon.events(count=1))
    assert k.dumps.count(RTM.GETROUTE) == before + 1 and mon.stats()["refreshes"] == 1
    assert [(e.kind, e.action, e.resync, e.change) for e in evs] == [
        ("routes", "del", True, "removed")]
    assert evs[0].to_dict()["dst"] == "10.6.0.0/24"


def test_untracked_monitor_keeps_the_old_resync() -> None:
    k = Kernel()
    rt = Rtnl(sock=FakeSocket(k))
    notify = FakeSocket()
    mon = Monitor(rt, ("routes",), sock=notify, track=False)
    assert k.dumps == []
    notify.inject(overrun())
    notify.inject(message(RTM.NEWROUTE, route_body("10.9.0.0/24")), group=7)  # drained
    evs = list(mon.events(count=1))
    assert [e.kind for e in evs] == ["resync"] and evs[0].changes == []
    assert evs[0].state is not None and len(evs[0].state["routes"]) == 5


# -- CLI ------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["--count", "0"], ["-c", "-3"], ["--count", "many"], ["--timeout", "0"],
    ["--timeout", "-1"], ["--timeout", "inf"], ["--rcvbuf", "0"], ["--rcvbuf", "12Q"],
    ["--rcvbuf", "4G"], ["routes,bogus"], [","],
])
def test_cli_bad_arguments_are_one_line_and_exit_2(argv: list[str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("netring monitor: ")
    if "bogus" in argv[0]:
        assert "links, addrs, routes, neigh, rules" in err


def test_cli_help_shows_the_default_receive_buffer(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_monitor._DEFAULT_RCVBUF == DEFAULT_RCVBUF
    assert main(["monitor", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "default 128M" in out and f"{2 * DEFAULT_RCVBUF} bytes effective" in out


def test_cli_rcvbuf_sizes() -> None:
    parser = build_parser("monitor")
    for text, size in (("4096", 4096), ("512K", 512 << 10), ("64m", 64 << 20)):
        assert parser.parse_args(["monitor", "--rcvbuf", text]).rcvbuf == size


def test_event_lines_text_json_and_timestamps() -> None:
    ev = Event("routes", "del", route("10.1.0.0/24"), resync=True, change="removed")
    (line,) = cli_monitor.event_lines(ev, {2: "veth0"}, json=True)
    d = json.loads(line)
    assert d["kind"] == "routes" and d["resync"] is True and d["deleted"] is True
    assert d["dev"] == "veth0"
    now = time.mktime((2026, 12, 1, 13, 2, 44, 0, 0, -1)) + 0.393675
    stamp, text = cli_monitor.event_lines(ev, {2: "veth0"}, now=now)
    assert stamp == "Timestamp: Tue Dec  1 13:02:44 2026 393675 usec"
    assert text.startswith("[resync] Deleted 10.1.0.0/24 dev veth0")
    (jl,) = cli_monitor.event_lines(ev, {}, json=True, now=now)
    assert json.loads(jl)["timestamp"].startswith("2026-12-01T13:02:44.393675")


def test_a_resync_outlasts_a_dump_the_kernel_keeps_interrupting() -> None:
    k = Kernel()
    mon, notify = monitor(k, "routes")
    k.interrupt = 13  # more than Rtnl's 5 retries: two rounds fail, the third succeeds
    k.routes["10.8.0.0/24"] = route_body("10.8.0.0/24")
    notify.inject(overrun())
    evs = list(mon.events(count=1))
    assert [(e.kind, e.change) for e in evs] == [("resync", None), ("routes", "added")]
    assert k.interrupt < 0
