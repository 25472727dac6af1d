"""netring.Rtnl over netring.testing.FakeSocket: dump retry on NLM_F_DUMP_INTR,
kernel errors with extended-ack text, monitor resync after an overrun.  No root."""

from __future__ import annotations

import errno
import ipaddress
from typing import Any

import pytest

from netring import Rtnl
from netring.codec import Message
from netring.errors import DumpInterrupted, NetlinkError
from netring.subsystems.rtnetlink import AF_INET, RTA, RTM, RTNLGRP, Link
from netring.subsystems.rtnetlink.structs import ifinfomsg, rtmsg
from netring.testing import Datagram, FakeSocket, dump_reply, error, message, overrun
from netring.testing.fake import ack


def route_body(dst: str, table: int = 254, oif: int = 2) -> bytes:
    net = ipaddress.ip_network(dst)
    def attr(t: int, v: bytes) -> bytes:
        n = 4 + len(v)
        return n.to_bytes(2, "little") + t.to_bytes(2, "little") + v + b"\0" * ((-n) & 3)
    return (rtmsg.pack(AF_INET, net.prefixlen, 0, 0, min(table, 252) if table > 255 else table,
                       4, 0, 1, 0)
            + attr(RTA.TABLE, table.to_bytes(4, "little"))
            + attr(RTA.DST, net.network_address.packed)
            + attr(RTA.OIF, oif.to_bytes(4, "little")))


def link_body(index: int, name: str) -> bytes:
    nm = name.encode() + b"\0"
    n = 4 + len(nm)
    return (ifinfomsg.pack(0, 1, index, 0x1043, 0) + n.to_bytes(2, "little")
            + (3).to_bytes(2, "little") + nm + b"\0" * ((-n) & 3))


class Kernel:
    """A tiny rtnetlink kernel: a routing table, links, and a switch to interrupt dumps."""

    def __init__(self, interrupt: int = 0) -> None:
        self.routes = [f"10.0.{i}.0/24" for i in range(25)]
        self.interrupt = interrupt
        self.dumps = 0

    def __call__(self, reqs: list[Message]) -> Any:
        out: list[Any] = []
        for req in reqs:
            if req.type == RTM.GETROUTE:
                self.dumps += 1
                intr = 3 if self.dumps <= self.interrupt else None
                out += dump_reply(req, [(RTM.NEWROUTE, route_body(d)) for d in self.routes],
                                  per_datagram=10, intr_from=intr)
            elif req.type == RTM.GETLINK:
                out += dump_reply(req, [(RTM.NEWLINK, link_body(1, "lo")),
                                        (RTM.NEWLINK, link_body(2, "veth0"))])
            elif req.type == RTM.NEWROUTE:
                out.append(error(req, errno.ENETUNREACH, msg="Nexthop has invalid gateway",
                                 offset=40))
            elif req.type == RTM.DELROUTE:
                out.append(ack(req))
        return out


def test_dump_restarts_after_dump_intr() -> None:
    k = Kernel(interrupt=2)
    rt = Rtnl(sock=FakeSocket(k), retry=5)
    routes = rt.routes()
    assert [r.dst_prefix for r in routes] == k.routes
    assert rt.interrupted == 2 and k.dumps == 3
    assert routes[0].to_dict(rt.names()) == {"dst": "10.0.0.0/24", "dev": "veth0",
                                              "protocol": "static", "flags": []}


def test_overrun_mid_dump_drains_and_restarts() -> None:
    k = Kernel()
    calls = {"n": 0}

    def handler(reqs: list[Message]) -> Any:
        out = k(reqs)
        if reqs[0].type == RTM.GETROUTE:
            calls["n"] += 1
            if calls["n"] == 1:
                out.insert(1, overrun())  # ENOBUFS after the first datagram
        return out

    rt = Rtnl(sock=FakeSocket(handler))
    routes = rt.routes()
    assert len(routes) == 25 and calls["n"] == 2 and rt.interrupted == 1


def test_dump_gives_up_after_retries() -> None:
    k = Kernel(interrupt=100)
    rt = Rtnl(sock=FakeSocket(k), retry=2)
    with pytest.raises(DumpInterrupted):
        rt.routes()
    assert k.dumps == 3


def test_kernel_error_carries_extended_ack() -> None:
    rt = Rtnl(sock=FakeSocket(Kernel()))
    with pytest.raises(NetlinkError) as ei:
        rt.route_add("10.9.0.0/24", gateway="192.0.2.1")
    e = ei.value
    assert e.errno == errno.ENETUNREACH and e.ext_msg == "Nexthop has invalid gateway"
    assert e.ext_offset == 40 and "RTM_NEWROUTE 10.9.0.0/24" in str(e)
    rt.route_del("10.0.1.0/24")  # ACKed


def test_monitor_resyncs_after_overrun() -> None:
    k = Kernel()
    rt = Rtnl(sock=FakeSocket(k))
    notify = FakeSocket()
    mon = rt.monitor("routes", sock=notify)
    notify.inject(message(RTM.NEWROUTE, route_body("10.9.0.0/24")), group=7)
    notify.inject(overrun())
    # queued before the resync: drained (the re-dump reflects the state after it)
    notify.inject(message(RTM.NEWROUTE, route_body("10.8.0.0/24")), group=7)
    it = mon.events(count=3)
    events = [next(it), next(it), next(it)]
    notify.inject(message(RTM.DELROUTE, route_body("10.0.3.0/24")), group=7)
    events += list(it)
    # the resync's difference: 10.9.0.0/24 was known (a notification) but is not in the dump
    assert [(e.kind, e.action, e.resync) for e in events] == [
        ("routes", "new", False), ("resync", "resync", False), ("routes", "del", True),
        ("routes", "del", False)]
    assert events[0].obj is not None and events[0].obj.to_dict()["dst"] == "10.9.0.0/24"
    state = events[1].state
    assert state is not None and len(state["routes"]) == 25
    assert events[2].to_dict()["dst"] == "10.9.0.0/24" and events[2].to_dict()["resync"] is True
    assert events[3].to_dict()["deleted"] is True
    assert mon.stats() == {"messages": 2, "overruns": 1, "resyncs": 1, "refreshes": 0,
                           "resync_events": 1, "drops": 0, "rcvbuf": 0}


def test_notifications_before_an_ack_survive_the_next_dump() -> None:
    """A change's multicast notifications that arrive before its ACK are kept aside;
    a dump on the same connection leaves them for the caller (the dump path is the
    connection's own, so the fake drives the production path)."""
    k = Kernel()

    def handler(reqs: list[Message]) -> Any:
        req = reqs[0]
        if req.type == RTM.NEWLINK:
            return [Datagram(message(RTM.NEWLINK, link_body(7, "v0")), group=RTNLGRP.LINK),
                    Datagram(message(RTM.NEWLINK, link_body(8, "v1")), group=RTNLGRP.LINK),
                    ack(req)]
        return k(reqs)

    sock = FakeSocket(handler)
    rt = Rtnl(sock=sock)
    rt.link_add("v0", "veth", peer="v1")
    assert len(sock.pending) == 2
    assert [ln.name for ln in rt.links()] == ["lo", "veth0"]
    kept = sock.recv(block=False)
    assert [(m.type, m.group) for m in kept] == [(RTM.NEWLINK, RTNLGRP.LINK)] * 2
    assert [Link(m.tobytes()).name for m in kept] == ["v0", "v1"]
    assert sock.recv(block=False) == []


def test_dump_keeps_a_notification_datagram_that_arrives_mid_dump() -> None:
    k = Kernel()

    def handler(reqs: list[Message]) -> Any:
        out = k(reqs)
        if reqs[0].type == RTM.GETROUTE:
            out.insert(1, Datagram(message(RTM.NEWLINK, link_body(9, "late")),
                                   group=RTNLGRP.LINK))
        return out

    sock = FakeSocket(handler)
    rt = Rtnl(sock=sock)
    assert len(rt.routes()) == 25
    kept = sock.recv(block=False)
    assert len(kept) == 1 and Link(kept[0].tobytes()).name == "late"
    assert sock.stale == 0
