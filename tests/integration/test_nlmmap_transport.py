"""The one conversation over a netlink ring: requests, errors and rtnetlink dumps
read from ring frames equal the same exchanges over the plain socket."""

from __future__ import annotations

import errno
from socket import AF_INET

import pytest
from nsutil import Netns

from netring import NETLINK, NLM_F, NetlinkError, NetlinkSocket, Rtnl
from netring.nlmmap import RingGeometry, RingTransport
from netring.subsystems.rtnetlink import RTM
from netring.subsystems.rtnetlink.structs import ifinfomsg

ROUTES = 20_000


@pytest.fixture
def routes(netns: Netns) -> Netns:
    netns.add_veth()
    netns.ip("addr", "add", "10.255.255.1/32", "dev", "veth0")
    netns.batch([f"route add 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32 dev veth0"
                 for i in range(ROUTES)])
    return netns


def _dicts(rt: Rtnl) -> list[dict[str, object]]:
    # IPv4 only: the veth's IPv6 link-local routes appear whenever its address
    # generation finishes, which may fall between the two dumps
    names = rt.names()
    return [r.to_dict(names) for r in rt.routes(family=AF_INET)]


def test_rtnl_dump_over_a_ring_equals_the_socket(routes: Netns) -> None:
    with Rtnl(routes.name) as plain:
        expected = _dicts(plain)
    assert len(expected) >= ROUTES
    with NetlinkSocket(NETLINK.ROUTE, netns=routes.name) as sock:
        conn = RingTransport.connect(sock, backend="user")
        transport = conn.transport
        assert isinstance(transport, RingTransport)
        with Rtnl(sock=conn) as rt:
            assert _dicts(rt) == expected
            assert transport.frames > 0 and rt.interrupted == 0
            assert "user" in repr(transport)


def test_dump_through_a_tiny_ring_uses_copy_frames_and_loses_nothing(routes: Netns) -> None:
    with Rtnl(routes.name) as plain:
        expected = plain.count_routes()
    with NetlinkSocket(NETLINK.ROUTE, netns=routes.name) as sock:
        conn = RingTransport.connect(sock, RingGeometry.for_frames(4096, 8), backend="user")
        with Rtnl(sock=conn) as rt:
            assert rt.count_routes() == expected
            stats = conn.transport.ring.stats()  # type: ignore[attr-defined]
            assert stats["copies"] > 0 and stats["enobufs"] == 0


def test_requests_and_errors_over_a_ring(netns: Netns) -> None:
    netns.add_veth()
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.name) as sock:
        conn = RingTransport.connect(sock, backend="user")
        rt = Rtnl(sock=conn)
        assert rt.get_link("veth0").name == "veth0"
        rt.route_add("10.7.0.0/24", dev="veth0")
        assert [r.dst_prefix for r in rt.routes() if r.dst_prefix == "10.7.0.0/24"] == [
            "10.7.0.0/24"]
        with pytest.raises(NetlinkError) as ei:
            rt.route_add("10.7.0.0/24", dev="veth0")
        assert ei.value.errno == errno.EEXIST
        rt.route_del("10.7.0.0/24")
        # the generic message dump streams views out of ring frames too
        types = [m.type for m in conn.dump(RTM.GETLINK, ifinfomsg.pack(0, 0, 0, 0, 0))]
        assert types == [RTM.NEWLINK] * 3  # lo, veth0, veth1
        assert conn.request(RTM.GETLINK, ifinfomsg.pack(0, 0, 1, 0, 0),
                            NLM_F.REQUEST)[0].type == RTM.NEWLINK
        conn.close()
