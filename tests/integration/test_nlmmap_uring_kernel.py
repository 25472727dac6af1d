"""The io_uring ring against the real kernel, in private namespaces: USERSOCK streams,
groups and credentials in frame headers, truncation, re-arming, overruns, kept
frames, and the one conversation (rtnetlink dumps and requests) over it."""

from __future__ import annotations

import errno
import mmap
import os
import socket
import struct
import time

import pytest
from nsutil import Netns
from procutil import fork, reap

from netring import NETLINK, NLM_F, NetlinkError, NetlinkSocket, Rtnl
from netring.codec.constants import NETLINK_ADD_MEMBERSHIP, SO, SOL_NETLINK
from netring.errors import Overrun, TruncatedError
from netring.netns import socket_in
from netring.nlmmap import RingGeometry, RingTransport, open_ring, ring_support
from netring.nlmmap.edge.uring import UringRing, support
from netring.nlmmap.uring_abi import IORING_SQ
from netring.subsystems.rtnetlink import RTM
from netring.subsystems.rtnetlink.structs import ifinfomsg
from netring.tools.ringtraffic import send_sequence

pytestmark = pytest.mark.skipif(not support()["available"],
                                reason=f"io_uring ring unavailable: {support()['reason']}")

SEQ = struct.Struct("=I")
ROUTES = 10_000


def usersock(ns: Netns, rcvbuf: int = 8 << 20) -> socket.socket:
    s = socket_in(ns.path, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK)
    s.bind((0, 0))
    s.setsockopt(socket.SOL_SOCKET, SO.RCVBUFFORCE, rcvbuf)
    return s


def message(seq: int, size: int = 64) -> bytes:
    return struct.pack("=IHHII", size, 0x10, 0, seq, 0) + bytes(size - 16)


def seqs(views: object) -> list[int]:
    return [SEQ.unpack_from(v, 8)[0] for v in views]  # type: ignore[attr-defined]


def test_open_ring_picks_io_uring_after_the_kernel_rings(netns: Netns) -> None:
    with usersock(netns) as s:
        ring = open_ring(s)
        try:
            assert ring.backend == "uring" == ring_support()["backend"]
            assert "backend=uring" in repr(ring) and "ENOPROTOOPT" in ring.reason
            assert ring.tx is not None  # the default TX ring rides along (one sendmsg)
        finally:
            ring.close()


def test_tx_frames_go_out_with_one_sendmsg_and_come_back_through_rx(netns: Netns) -> None:
    with usersock(netns) as r:
        ring = open_ring(r)
        try:
            for i in range(3):
                view = ring.tx_frame()
                assert view is not None
                view[:64] = message(i)
                ring.commit(64)
            res = ring.flush(portid=r.getsockname()[0])  # to ourselves: one datagram
            assert res.frames == 3 and res.syscalls == 1
            f = ring.recv(timeout=2)
            assert f is not None and f.len == 3 * 64
            assert seqs([f.data[k * 64 : (k + 1) * 64] for k in range(3)]) == [0, 1, 2]
            ring.release(f)
        finally:
            ring.close()


def test_a_stream_arrives_in_order_with_credentials_and_sender(netns: Netns) -> None:
    r, s = usersock(netns), usersock(netns)
    with r, s:
        ring = UringRing(r, RingGeometry.for_frames(256, 64))
        try:
            pid = fork(lambda: send_sequence(netns.path, r.getsockname()[0], 3000, 64))
            got = seqs(bytes(v) for v in ring.data(timeout=5, count=3000))
            assert reap(pid) == 0
            assert got == list(range(3000))
            st = ring.stats()
            # 64 frames for 3000 messages: the multishot receive ran dry and was re-armed,
            # with nothing lost
            assert st["arms"] > 1 and st["ring_full"] > 0 and st["enobufs"] == 0
            s.sendto(message(7), (r.getsockname()[0], 0))
            f = ring.recv(timeout=2)
            assert f is not None and SEQ.unpack_from(f.data, 8)[0] == 7
            assert (f.pid, f.uid, f.gid) == (os.getpid(), os.getuid(), os.getgid())
            assert f.group == 0 and ring.sender(f) == s.getsockname()[0]
            ring.release(f)
        finally:
            ring.close()


def test_multicast_group_lands_in_nm_group(netns: Netns) -> None:
    r, s = usersock(netns), usersock(netns)
    with r, s:
        r.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 3)
        ring = UringRing(r, RingGeometry.for_frames(512, 8))
        try:
            try:
                s.sendto(message(5), (0, 1 << 2))
            except ConnectionRefusedError:  # no kernel socket on USERSOCK: the group got it
                pass
            f = ring.recv(timeout=2)
            assert f is not None and f.group == 3 and SEQ.unpack_from(f.data, 8)[0] == 5
            ring.release(f)
        finally:
            ring.close()


def test_without_meta_no_group_or_credentials_are_asked_for(netns: Netns) -> None:
    r, s = usersock(netns), usersock(netns)
    with r, s:
        ring = UringRing(r, RingGeometry.for_frames(256, 16), meta=False)
        try:
            assert ring.capacity == 256 - 24 - 16 - 12
            s.sendto(message(1), (r.getsockname()[0], 0))
            f = ring.recv(timeout=2)
            assert f is not None and (f.pid, f.uid, f.gid, f.group) == (0, 0, 0, 0)
            ring.release(f)
        finally:
            ring.close()


def test_an_oversized_datagram_is_counted_and_raised_in_order(netns: Netns) -> None:
    r, s = usersock(netns), usersock(netns)
    with r, s:
        ring = UringRing(r, RingGeometry.for_frames(512, 8))
        cap = ring.capacity
        dst = (r.getsockname()[0], 0)
        try:
            s.sendto(message(1), dst)
            s.sendto(message(2, cap + 100), dst)  # cut by the kernel: its tail is gone
            s.sendto(message(3), dst)
            it = ring.data(timeout=2)
            assert seqs([next(it)]) == [1]
            with pytest.raises(TruncatedError) as ei:
                next(it)
            assert ei.value.size == cap + 100 and ei.value.bufsize == cap
            assert seqs(ring.data(timeout=1, count=1)) == [3]  # and the stream goes on
            assert ring.stats()["truncated"] == 1
        finally:
            ring.close()


def test_kept_frames_stay_intact_while_the_kernel_refills_the_others(netns: Netns) -> None:
    r, s = usersock(netns), usersock(netns)
    with r, s:
        ring = UringRing(r, RingGeometry.for_frames(512, 8))
        dst = (r.getsockname()[0], 0)
        try:
            for i in range(4):
                s.sendto(message(i), dst)
            kept = []
            for _ in range(4):
                f = ring.recv(timeout=2)
                assert f is not None
                if SEQ.unpack_from(f.data, 8)[0] % 2 == 0:
                    ring.skip(f)  # keep 0 and 2
                    kept.append(f)
                else:
                    ring.release(f)
            for i in range(4, 40):  # four laps of the other frames
                s.sendto(message(i), dst)
            assert seqs(ring.data(timeout=1, count=36)) == list(range(4, 40))
            assert seqs(f.data for f in kept) == [0, 2]  # not overwritten
            for f in kept:
                ring.release(f)
            s.sendto(message(99), dst)
            assert seqs(ring.data(timeout=1, count=1)) == [99]
        finally:
            ring.close()


def test_a_cooperative_ring_runs_the_waiting_receive_on_a_non_blocking_look(
        netns: Netns) -> None:
    """With COOP_TASKRUN the receive runs as task work when this thread next enters
    the kernel, not by interrupting it; a datagram that arrived while the thread made
    no system call is still there for a non-blocking ``recv`` right after (the ring
    runs waiting task work itself when the kernel flags IORING_SQ_TASKRUN)."""
    r, s = usersock(netns), usersock(netns)
    sent = mmap.mmap(-1, 8)  # the child's "sent": read here without a system call
    with r, s:
        ring = UringRing(r, RingGeometry.for_frames(512, 16), cooperative=True)
        try:
            assert ring.cooperative and ring.stats()["cooperative"] == 1
            assert "cooperative" in repr(ring)
            dst = r.getsockname()[0]
            for k in range(5):

                def child(k: int = k) -> None:
                    time.sleep(0.05)
                    s.sendto(message(k), (dst, 0))
                    sent[0] = k + 1

                pid = fork(child)
                end = time.monotonic() + 10  # vDSO clock: no system call while spinning
                while sent[0] != k + 1 and time.monotonic() < end:
                    pass
                f = ring.recv(timeout=0)  # microseconds after the arrival
                assert f is not None and seqs([f.data]) == [k]
                ring.release(f)
                assert reap(pid) == 0
        finally:
            ring.close()
            sent.close()


@pytest.mark.parametrize("cooperative", [True, False])
def test_a_look_runs_waiting_task_work_only_on_a_cooperative_ring(netns: Netns,
                                                                 cooperative: bool) -> None:
    """IORING_SQ_TASKRUN in the SQ ring's flags (the kernel sets it on a TASKRUN_FLAG
    ring while task work waits; stored here by hand) makes a look that finds no
    completion enter the kernel once to run it, on a cooperative ring only."""
    with usersock(netns) as r:
        ring = UringRing(r, RingGeometry.for_frames(512, 16), cooperative=cooperative)
        try:
            assert ring._look() is False
            before = ring.enters
            ring._sqw[ring._sq_flags_w] |= IORING_SQ.TASKRUN
            assert ring._look() is False  # nothing arrived: the run of task work finds none
            assert ring.enters - before == (1 if cooperative else 0)
        finally:
            ring.close()


def test_several_frames_in_hand_at_once(netns: Netns) -> None:
    r, s = usersock(netns), usersock(netns)
    with r, s:
        ring = UringRing(r, RingGeometry.for_frames(512, 8))
        try:
            for i in range(5):
                s.sendto(message(i), (r.getsockname()[0], 0))
            held = [ring.recv(timeout=2) for _ in range(5)]
            assert all(f is not None for f in held)
            assert seqs(f.data for f in held if f is not None) == list(range(5))
            for f in reversed(held):
                assert f is not None
                ring.release(f)
            s.sendto(message(5), (r.getsockname()[0], 0))
            assert seqs(ring.data(timeout=1, count=1)) == [5]
        finally:
            ring.close()


def _lap(ring: UringRing, s: socket.socket, dest: int, sizes: list[int], first: int
         ) -> list[memoryview]:
    """Send one datagram per size, then read them all with data(): the views, and
    each one's content checked against what was sent while it is valid."""
    for k, size in enumerate(sizes):
        s.sendto(message(first + k, size), (dest, 0))
    views = []
    for k, v in enumerate(ring.data(timeout=2, count=len(sizes))):
        assert bytes(v) == message(first + k, sizes[k])
        views.append(v)
    return views


def test_alike_datagrams_reuse_their_frames_views_and_others_get_new_ones(
        netns: Netns) -> None:
    r, s = usersock(netns), usersock(netns)
    with r, s:
        dest = r.getsockname()[0]
        ring = UringRing(r, RingGeometry.for_frames(512, 8), meta=False)
        try:
            first = _lap(ring, s, dest, [64] * 8, 0)
            again = _lap(ring, s, dest, [64] * 8, 8)  # the same frames, the same lengths
            assert all(a is b for a, b in zip(first, again, strict=True))
            sizes = [64, 96, 64, 128, 64, 64, 32, 64]
            third = _lap(ring, s, dest, sizes, 16)  # lengths changed: those views are new
            assert [a is b for a, b in zip(again, third, strict=True)] == \
                [n == 64 for n in sizes]
            assert [len(v) for v in third] == sizes
            with third[0]:  # a program may release a view it was given
                pass
            fourth = _lap(ring, s, dest, sizes, 24)
            assert fourth[0] is not third[0] and bytes(fourth[0]) == message(24, 64)
            assert fourth[1] is third[1]
        finally:
            ring.close()
        with pytest.raises(ValueError):  # the views went with the ring's mapping
            bytes(fourth[1])


def test_kernel_drops_raise_overrun_once_and_the_ring_reads_on(netns: Netns) -> None:
    r, s = usersock(netns), usersock(netns)
    with r, s:
        r.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 3)
        r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        ring = UringRing(r, RingGeometry.for_frames(512, 8))
        try:
            # every buffer taken and nobody reading: the flood overflows the socket
            for i in range(8):
                s.sendto(message(i), (r.getsockname()[0], 0))
            for i in range(200):
                try:
                    s.sendto(message(1000 + i), (0, 1 << 2))
                except ConnectionRefusedError:
                    pass
            with pytest.raises(Overrun):
                for _m in ring.messages(timeout=1):
                    pass
            assert ring.stats()["enobufs"] == 1
            for _m in ring.messages(timeout=0.2):  # what survived the flood
                pass
            try:
                s.sendto(message(999, 20), (0, 1 << 2))
            except ConnectionRefusedError:
                pass
            f = ring.recv(timeout=2)
            assert f is not None and f.group == 3 and SEQ.unpack_from(f.data, 8)[0] == 999
            ring.release(f)
        finally:
            ring.close()


def test_close_stops_the_receive_and_the_socket_is_plain_again(netns: Netns) -> None:
    r, s = usersock(netns), usersock(netns)
    with r, s:
        ring = UringRing(r, RingGeometry.for_frames(512, 8))
        assert ring.stats()["arms"] == 1
        ring.close()
        ring.close()  # twice is fine
        s.sendto(message(42), (r.getsockname()[0], 0))
        r.settimeout(2)
        assert SEQ.unpack_from(r.recv(4096), 8)[0] == 42  # no receive request is left


@pytest.fixture
def routes(netns: Netns) -> Netns:
    netns.add_veth()
    netns.batch([f"route add 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32 dev veth0"
                 for i in range(ROUTES)])
    return netns


def test_rtnl_dump_over_the_io_uring_ring_equals_the_socket(routes: Netns) -> None:
    with Rtnl(routes.name) as plain:
        names = plain.names()
        expected = [r.to_dict(names) for r in plain.routes()]
    assert len(expected) >= ROUTES
    with NetlinkSocket(NETLINK.ROUTE, netns=routes.name) as sock:
        conn = RingTransport.connect(sock, backend="uring")
        transport = conn.transport
        assert isinstance(transport, RingTransport) and transport.ring.backend == "uring"
        with Rtnl(sock=conn) as rt:
            assert [r.to_dict(names) for r in rt.routes()] == expected
            assert rt.count_routes() == len(expected)
            st = transport.ring.stats()
            assert st["truncated"] == 0 and st["enobufs"] == 0
            assert "backend=uring" in repr(transport)


def test_dump_through_a_small_io_uring_ring_loses_nothing(routes: Netns) -> None:
    with Rtnl(routes.name) as plain:
        expected = plain.count_routes()
    with NetlinkSocket(NETLINK.ROUTE, netns=routes.name) as sock:
        # 4 frames: the dump goes on only as frames come back (re-armed each time)
        conn = RingTransport.connect(sock, RingGeometry.for_frames(16384, 4), backend="uring")
        with Rtnl(sock=conn) as rt:
            assert rt.count_routes() == expected
            st = conn.transport.ring.stats()  # type: ignore[attr-defined]
            assert st["arms"] > 1 and st["enobufs"] == 0 and st["truncated"] == 0


def test_requests_acks_and_errors_over_the_io_uring_ring(netns: Netns) -> None:
    netns.add_veth()
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.name) as sock:
        conn = RingTransport.connect(sock, backend="uring", creds=True)
        rt = Rtnl(sock=conn)
        assert rt.get_link("veth0").name == "veth0"
        rt.route_add("10.7.0.0/24", dev="veth0")
        with pytest.raises(NetlinkError) as ei:
            rt.route_add("10.7.0.0/24", dev="veth0")
        assert ei.value.errno == errno.EEXIST
        rt.route_del("10.7.0.0/24")
        types = [m.type for m in conn.dump(RTM.GETLINK, ifinfomsg.pack(0, 0, 0, 0, 0))]
        assert types == [RTM.NEWLINK] * 3
        reply = conn.request(RTM.GETLINK, ifinfomsg.pack(0, 0, 1, 0, 0), NLM_F.REQUEST)
        assert reply[0].type == RTM.NEWLINK
        conn.close()


def test_a_dump_datagram_larger_than_a_frame_is_a_truncated_error(netns: Netns) -> None:
    netns.add_veth()
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.name) as sock:
        # frames of 1 KiB; the kernel's link dump needs more for one message
        conn = RingTransport.connect(sock, RingGeometry.for_frames(1024, 16), backend="uring")
        with pytest.raises(TruncatedError):
            list(conn.dump(RTM.GETLINK, ifinfomsg.pack(0, 0, 0, 0, 0)))
        assert conn.transport.ring.stats()["truncated"] >= 1  # type: ignore[attr-defined]
        conn.close()


def test_asyncio_waits_on_the_ring_descriptor(netns: Netns) -> None:
    """aio waits for readability of transport.fileno(): with io_uring the socket is
    drained by the kernel, so the ring's own descriptor is the one to wait on."""
    import asyncio

    from netring import aio

    netns.add_veth()
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.name) as sock:
        conn = RingTransport.connect(sock, backend="uring")
        assert conn.transport.fileno() != sock.fileno()

        async def talk() -> tuple[int, int]:
            links = [m.type async for m in aio.dump(conn, RTM.GETLINK,
                                                       ifinfomsg.pack(0, 0, 0, 0, 0))]
            reply = await aio.request(conn, RTM.GETLINK, ifinfomsg.pack(0, 0, 1, 0, 0),
                                      NLM_F.REQUEST, timeout=5)
            return len(links), reply[0].type

        assert asyncio.run(asyncio.wait_for(talk(), 10)) == (3, RTM.NEWLINK)
        conn.close()
