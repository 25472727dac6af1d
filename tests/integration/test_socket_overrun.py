"""ENOBUFS provoked with a tiny receive buffer and a bounded multicast flood."""

from __future__ import annotations

import pytest
from nsutil import Netns

from netring import NETLINK, Overrun
from netring.conn import group_mask
from netring.socket import NetlinkSocket
from netring.testing import message

USER_MSG = 0x10
FLOOD = 2000
RTNLGRP_IPV4_ROUTE = 7


def flood(tx: NetlinkSocket, group: int, n: int = FLOOD) -> None:
    payload = bytes(512)
    for i in range(n):  # multicast never blocks the sender: overflow drops at the receiver
        tx.sendto(message(USER_MSG, payload, 0, i + 1, tx.portid), groups=group_mask(group))


def drain(sock: NetlinkSocket, limit: int = 10 * FLOOD) -> tuple[int, int]:
    """Receive without blocking until empty; returns (messages, overruns seen)."""
    msgs = overruns = 0
    for _ in range(limit):
        try:
            got = sock.recv(block=False)
        except Overrun:
            overruns += 1
            continue
        if not got:
            break
        msgs += len(got)
    return msgs, overruns


def test_overrun_is_reported_with_its_count_and_the_socket_keeps_working(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path, rcvbuf=4096) as rx, \
            NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as tx:
        rx.add_membership(1)
        assert rx.rcvbuf < 64 * 1024
        flood(tx, 1)
        with pytest.raises(Overrun) as ei:
            for _ in range(FLOOD):  # bounded: the overrun comes long before this ends
                rx.recv(block=False)
        assert ei.value.count == 1 and rx.overruns == 1
        assert ei.value.drops is not None and ei.value.drops > 0
        assert ei.value.drops == rx.drops()
        received, _ = drain(rx)
        assert received < FLOOD
        # still alive: a new message arrives and is received
        tx.sendto(message(USER_MSG, b"after the storm", 0, 99999, tx.portid), groups=group_mask(1))
        [m] = rx.recv(timeout=5)
        assert m.payload.tobytes() == b"after the storm"
        # a second storm is a second overrun, counted
        flood(tx, 1)
        _, seen = drain(rx)
        assert seen == 1 and rx.overruns == 2
        tx.sendto(message(USER_MSG, b"again", 0, 1, tx.portid), portid=rx.portid)
        assert [m.payload.tobytes() for m in rx.recv(timeout=5)] == [b"again"]


def test_overrun_in_recvmmsg(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path, rcvbuf=4096) as rx, \
            NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as tx:
        rx.add_membership(2)
        flood(tx, 2)
        with pytest.raises(Overrun) as ei:
            for _ in range(FLOOD):
                rx.recvmmsg(block=False)
        assert ei.value.count == 1
        for _ in range(FLOOD):
            if not rx.recvmmsg(block=False):
                break
        tx.sendto(message(USER_MSG, b"ok", 0, 5, tx.portid), portid=rx.portid)
        assert [m.seq for m in rx.recvmmsg()] == [5]


def test_no_enobufs_drops_silently(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path, rcvbuf=4096, no_enobufs=True) as rx, \
            NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as tx:
        assert rx.features["no_enobufs"]
        rx.add_membership(1)
        flood(tx, 1)
        received, overruns = drain(rx)
        assert overruns == 0 and rx.overruns == 0
        assert 0 < received < FLOOD
        drops = rx.drops()
        assert drops is not None and drops + received == FLOOD


def test_rtnetlink_route_notifications_overrun(netns: Netns) -> None:
    netns.add_veth("nrto0", "nrto1")
    netns.ip("addr", "add", "10.77.0.1/16", "dev", "nrto0")
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.path, rcvbuf=4096) as rx:
        rx.add_membership(RTNLGRP_IPV4_ROUTE)
        netns.batch([f"route add 10.{100 + i // 250}.{i % 250}.0/24 via 10.77.0.2" for i in range(3000)])
        _, overruns = drain(rx)
        assert overruns == 1 and rx.overruns == 1
        netns.ip("route", "add", "10.200.0.0/24", "via", "10.77.0.2")
        [m] = rx.recv(timeout=5)
        assert m.type == 24  # RTM_NEWROUTE
