"""Rings against the real kernel, inside private namespaces.

The kernel here has no NETLINK_RX_RING (removed in 4.6), so the probe must say
ENOPROTOOPT and every ring below runs on the user-space engine.
"""

from __future__ import annotations

import os
import platform
import signal
import socket
import struct
import time

import pytest
from nsutil import Netns
from procutil import fork, reap

from netring.codec import NETLINK, NLM_F, NLMSG, Builder, iter_messages
from netring.codec.constants import NETLINK_ADD_MEMBERSHIP, SO, SOL_NETLINK
from netring.netns import socket_in
from netring.nlmmap import RingGeometry, open_ring, probe, ring_support
from netring.nlmmap.edge.fanout import Feeder
from netring.nlmmap.edge.shm import SharedRing
from netring.nlmmap.edge.user import UserRing
from netring.nlmmap.geometry import GeometryError
from netring.subsystems.rtnetlink.constants import RTM
from netring.tools.ringtraffic import send_sequence

SEQ = struct.Struct("=I")


def _kernel_version() -> tuple[int, int]:
    parts = platform.release().split(".")
    return int(parts[0]), int(parts[1].split("-")[0])


def usersock(ns: Netns, rcvbuf: int = 8 << 20) -> socket.socket:
    s = socket_in(ns.path, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK)
    s.bind((0, 0))
    try:
        s.setsockopt(socket.SOL_SOCKET, SO.RCVBUFFORCE, rcvbuf)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    return s


def seq_of(view: memoryview) -> int:
    return int(SEQ.unpack_from(view, 8)[0])


# ---------------------------------------------------------------------------------
def test_probe_answers_enoprotoopt_on_this_kernel() -> None:
    p = probe()
    if _kernel_version() >= (4, 6):
        assert p == {"rx": False, "tx": False, "error": "ENOPROTOOPT (Protocol not available)"}
        rs = ring_support()
        # next in line: io_uring where the kernel permits it, else the user-space engine
        assert rs["backend"] == ("uring" if rs["uring"]["available"] else "user")
        assert "kernel refused NETLINK_RX_RING: ENOPROTOOPT" in rs["reason"]
    else:  # pragma: no cover - a 3.10-4.5 kernel with CONFIG_NETLINK_MMAP
        assert p["rx"] or p["error"]


def test_kernel_backend_refused_here(netns: Netns) -> None:
    if _kernel_version() < (4, 6):  # pragma: no cover
        pytest.skip("this kernel may still have NETLINK_RX_RING")
    from netring.errors import NotSupportedError

    s = usersock(netns)
    with s, pytest.raises(NotSupportedError, match="kernel refused NETLINK_RX_RING: ENOPROTOOPT"):
        open_ring(s, backend="kernel")


def test_open_ring_falls_back_and_says_why(netns: Netns) -> None:
    s = usersock(netns)
    with s:
        ring = open_ring(s)
        try:
            assert ring.backend == ring_support()["backend"]
            assert "ENOPROTOOPT" in repr(ring)
            assert ("io_uring fills the frames" if ring.backend == "uring"
                    else "user-space engine") in ring.reason
        finally:
            ring.close()
        ring = open_ring(s, backend="user")
        try:
            assert ring.backend == "user" and "user-space engine" in ring.reason
        finally:
            ring.close()


def _dump_request(seq: int) -> bytes:
    b = Builder(64)
    b.begin(RTM.GETROUTE, NLM_F.REQUEST | NLM_F.DUMP, seq=seq)
    b.put(bytes([socket.AF_INET]) + bytes(11))  # struct rtmsg, family AF_INET
    b.end()
    return b.tobytes()


def _plain_dump(ns: Netns, seq: int) -> list[bytes]:
    s = socket_in(ns.path, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.ROUTE)
    with s:
        s.bind((0, 0))
        s.settimeout(10)
        s.send(_dump_request(seq))
        buf = bytearray(1 << 16)
        out: list[bytes] = []
        for _ in range(1_000_000):
            n = s.recv_into(buf)
            done = False
            for m in iter_messages(buf, 0, n):
                if m.type == NLMSG.DONE:
                    done = True
                    break
                assert m.type == RTM.NEWROUTE, m
                out.append(_normalise(m.data))
            if done:
                return out
    raise AssertionError("dump did not end")


def _normalise(data: memoryview) -> bytes:
    b = bytearray(data)
    b[12:16] = bytes(4)  # nlmsg_pid: our own port id, differs per socket
    return bytes(b)


def _ring_dump(ns: Netns, seq: int, geometry: RingGeometry) -> tuple[list[bytes], dict[str, int]]:
    s = socket_in(ns.path, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.ROUTE)
    with s:
        s.bind((0, 0))
        ring = open_ring(s, geometry, None, backend="user")
        assert isinstance(ring, UserRing)
        try:
            s.send(_dump_request(seq))
            out: list[bytes] = []
            for m in ring.messages(timeout=10):
                if m.type == NLMSG.DONE:
                    return out, ring.stats()
                assert m.type == RTM.NEWROUTE, m
                out.append(_normalise(m.data))
        finally:
            ring.close()
    raise AssertionError("ring dump did not end")


@pytest.fixture
def routes_100k(netns: Netns) -> Netns:
    netns.add_veth()
    netns.ip("addr", "add", "10.255.255.1/32", "dev", "veth0")
    lines = [f"route add 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32 dev veth0"
             for i in range(100_000)]
    netns.batch(lines)
    return netns


def test_100k_route_dump_through_ring_equals_plain_recv(routes_100k: Netns) -> None:
    plain = _plain_dump(routes_100k, 7)
    assert len(plain) >= 100_000
    # frames large enough for the kernel's dump skbs (<= 32 KiB): zero extra copies
    big = RingGeometry.for_frames(32768 + 24, 64)
    ring_msgs, st = _ring_dump(routes_100k, 7, big)
    assert ring_msgs == plain  # message for message
    assert st["enobufs"] == 0 and st["truncated"] == 0


def test_dump_through_tiny_ring_never_loses(routes_100k: Netns) -> None:
    plain = _plain_dump(routes_100k, 9)
    # 8 frames of 4 KiB: every dump skb is larger than a frame (COPY path) and the
    # ring is full most of the time; the engine reads only while there is room
    tiny = RingGeometry.for_frames(4096, 8)
    ring_msgs, st = _ring_dump(routes_100k, 9, tiny)
    assert ring_msgs == plain
    assert st["copies"] > 0 and st["enobufs"] == 0


def test_oversized_messages_arrive_whole_via_copy(netns: Netns) -> None:
    r, s = usersock(netns), usersock(netns)
    with r, s:
        ring = open_ring(r, RingGeometry.for_frames(1024, 16), None, backend="user")
        try:
            dst = r.getsockname()[0]
            sizes = [64, 100_000, 64, 5000, 200_000, 32]
            for i, n in enumerate(sizes):
                msg = struct.pack("=IHHII", n, 0x10, 0, i, 0) + bytes([i]) * (n - 16)
                s.sendto(msg, (dst, 0))
            got = []
            for _ in range(len(sizes)):
                f = ring.recv(timeout=5)
                assert f is not None
                got.append((f.len, f.is_copy, bytes(f.data)))
                ring.release(f)
            for i, (n, (ln, is_copy, data)) in enumerate(zip(sizes, got, strict=True)):
                assert ln == n == len(data) and is_copy == (n > 1000)
                assert data[16:] == bytes([i]) * (n - 16) and SEQ.unpack_from(data, 8)[0] == i
        finally:
            ring.close()


def test_credentials_and_group_filled(netns: Netns) -> None:
    r, s = usersock(netns), usersock(netns)
    with r, s:
        ring = open_ring(r, RingGeometry.for_frames(512, 8), None, backend="user")
        try:
            s.sendto(struct.pack("=IHHII", 20, 0x10, 0, 5, 0) + b"abcd", (r.getsockname()[0], 0))
            f = ring.recv(timeout=5)
            assert f is not None
            assert (f.pid, f.uid, f.gid, f.group) == (os.getpid(), os.getuid(), os.getgid(), 0)
            ring.release(f)
        finally:
            ring.close()


def test_tx_flush_1000_in_one_syscall(netns: Netns) -> None:
    a, peer = usersock(netns), usersock(netns)
    with a, peer:
        ring = open_ring(a, None, RingGeometry.for_frames(128, 1024), backend="user")
        try:
            for i in range(1000):
                v = ring.tx_frame()
                assert v is not None
                b = Builder(v)
                b.begin(0x10, seq=i)
                b.put(struct.pack("=I", i) * 12)
                b.end()
                ring.commit(b.tail)
            assert ring.tx is not None
            tx = ring.tx.ring  # another writer of the shared ring corrupts frame 500
            tx.words[tx.hdr[500] + 1] = 4000
            res = ring.flush(portid=peer.getsockname()[0])
            assert res.syscalls == 1 and res.frames == 999
            assert [b.index for b in res.bad] == [500] and res.bytes == 999 * 64
            buf = bytearray(1 << 20)
            peer.settimeout(10)
            n = peer.recv_into(buf)  # one datagram holding every message, in order
            seqs = [m.seq for m in iter_messages(buf, 0, n)]
            assert seqs == [i for i in range(1000) if i != 500]
            assert ring.tx.free() == 1024  # all frames released, the bad one too
        finally:
            ring.close()


def test_bad_geometry_rejected_with_rule_named() -> None:
    with pytest.raises(GeometryError, match="frame_size <= block_size"):
        RingGeometry(4096, 1, 8192, 1)
    # a tampered header is refused on attach, rule named
    shared = SharedRing.create(RingGeometry.for_frames(1024, 8))
    fds = [os.dup(f) for f in shared.fds()]
    try:
        os.pwrite(fds[0], struct.pack("=IIII", 4096, 2, 1024, 5), 16)  # frame_nr 5 != 8
        with pytest.raises(GeometryError, match="frame_nr == frames_per_block"):
            SharedRing.from_fds(fds)
    finally:
        for f in fds:
            os.close(f)
        shared.close()


@pytest.mark.parametrize("mode", ["key", "round-robin"])
def test_usersock_flood_across_processes_fanout(netns: Netns, mode: str) -> None:
    """A feeder drains one socket into 2 rings; 2 worker processes (rings passed with
    SCM_RIGHTS) consume; a sender process floods.  Nothing lost, order kept per ring."""
    total = 60_000
    r = usersock(netns)
    dst = r.getsockname()[0]
    g = RingGeometry.for_frames(128, 1024)
    rings = [SharedRing.create(g) for _ in range(2)]
    keyed = mode == "key"
    feeder = Feeder(r, rings, key=(lambda v: seq_of(v) & 1) if keyed else None, batch=64)
    results: list[int] = []
    pids = []
    for k, shared in enumerate(rings):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()

        def worker(b: socket.socket = b, out_w: int = out_w, k: int = k) -> None:
            ring = UserRing.attach(SharedRing.receive(b))
            last = -1
            count = 0
            xor = 0
            # keyed: exactly half each; round-robin: until the stream goes quiet
            for v in ring.data(timeout=10 if keyed else 1.5,
                               count=total // 2 if keyed else None):
                seq = seq_of(v)
                assert seq > last and (seq & 1 == k or not keyed)
                last = seq
                count += 1
                xor ^= seq
            os.write(out_w, struct.pack("=II", count, xor))

        pids.append(fork(worker))
        shared.send(a)
        a.close()
        b.close()
        os.close(out_w)
        results.append(out_r)
    sender = fork(lambda: send_sequence(netns.path, dst, total))
    fed = feeder.run(count=total, duration=60)
    assert fed == total
    reap(sender)
    counts = []
    xor = 0
    for pid, fd in zip(pids, results, strict=True):
        assert reap(pid) == 0
        c, x = struct.unpack("=II", os.read(fd, 8))
        counts.append(c)
        xor ^= x
        os.close(fd)
    expect_xor = 0
    for i in range(total):
        expect_xor ^= i
    assert sum(counts) == total and xor == expect_xor  # each seq once, none lost
    assert feeder.per_ring == counts
    if keyed:
        assert counts == [total // 2, total // 2]
    else:
        assert min(counts) > 0
    feeder.close()
    for shared in rings:
        assert shared.stats()["enobufs"] == 0
        shared.close()
    r.close()


def test_consumer_killed_mid_stream_new_consumer_continues(netns: Netns) -> None:
    total = 20_000
    r = usersock(netns)
    dst = r.getsockname()[0]
    shared = SharedRing.create(RingGeometry.for_frames(128, 512))
    feeder = Feeder(r, [shared], batch=64)  # round-robin of one ring: zero copy
    log_r, log_w = os.pipe()

    def first_consumer() -> None:
        ring = UserRing.attach(SharedRing.from_fds([os.dup(f) for f in shared.fds()]))
        n = 0
        for v in ring.data(timeout=10):
            os.write(log_w, SEQ.pack(seq_of(v)))
            n += 1
            if n == 7_777:  # die holding this frame (and a run of unreleased ones)
                os.kill(os.getpid(), signal.SIGKILL)

    victim = fork(first_consumer)
    os.close(log_w)
    sender = fork(lambda: send_sequence(netns.path, dst, total))
    # feed until the victim is dead, then the rest while the new consumer reads
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        feeder.run(duration=0.05)
        done, status = os.waitpid(victim, os.WNOHANG)
        if done:
            break
    assert status is not None and os.WIFSIGNALED(status)
    seen_a = []
    data = b""
    while chunk := os.read(log_r, 65536):
        data += chunk
    os.close(log_r)
    seen_a = [SEQ.unpack_from(data, i)[0] for i in range(0, len(data), 4)]
    assert len(seen_a) == 7_777
    ring = UserRing.attach(SharedRing.from_fds([os.dup(f) for f in shared.fds()]))
    seen_b: list[int] = []
    t_end = time.monotonic() + 60
    while len(set(seen_a) | set(seen_b)) < total and time.monotonic() < t_end:
        feeder.run(duration=0.02)
        seen_b.extend(seq_of(v) for v in ring.data(timeout=0.01))
    reap(sender)
    assert seen_a == list(range(7_777))
    assert seen_b == list(range(7_776, total))  # only the held frame comes again
    st = shared.stats()
    assert st["ring_full"] > 0  # the feeder paused while nobody consumed ...
    assert st["enobufs"] == 0  # ... and nothing was dropped
    ring.close()
    feeder.close()
    shared.close()
    r.close()


def test_demo_stream_in_namespace(netns: Netns) -> None:
    from netring.tools.ringtraffic import demo_stream

    out = demo_stream(netns.path, 20_000)
    assert out["messages"] == 20_000 and out["in_order"]
    assert out["backend"] == ring_support()["backend"]


def test_overrun_counted_and_surfaced(netns: Netns) -> None:
    """A multicast flood into a tiny receive buffer: the kernel drops (ENOBUFS); the
    ring counts it and the consumer gets Overrun once, then reads on."""
    from netring.errors import Overrun

    r = socket_in(netns.path, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK)
    s = usersock(netns)
    with r, s:
        r.bind((0, 0))
        r.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, 3)  # group 3
        r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        ring = open_ring(r, RingGeometry.for_frames(512, 64), None, backend="user")
        try:
            for i in range(200):
                try:
                    s.sendto(struct.pack("=IHHII", 64, 0x10, 0, i, 0) + bytes(48), (0, 1 << 2))
                except ConnectionRefusedError:  # no kernel socket on USERSOCK: group still sent
                    pass
            with pytest.raises(Overrun):
                for _m in ring.messages(timeout=1):
                    pass
            assert ring.stats()["enobufs"] >= 1
            for _m in ring.messages(timeout=0.2):  # what survived the flood
                pass
            try:
                s.sendto(struct.pack("=IHHII", 20, 0x10, 0, 999, 0) + b"live", (0, 1 << 2))
            except ConnectionRefusedError:
                pass
            f = ring.recv(timeout=2)  # the ring reads on after the overrun
            assert f is not None and f.group == 3 and seq_of(f.data) == 999
            ring.release(f)
        finally:
            ring.close()
