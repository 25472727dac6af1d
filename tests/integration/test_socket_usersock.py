"""NETLINK_USERSOCK between sockets and processes: unicast, multicast, credentials, batches."""

from __future__ import annotations

import mmap
import os
import struct

import pytest
from nsutil import Netns
from procutil import fork, reap

from netring import NETLINK, Message, _sys
from netring.codec import iter_messages
from netring.conn import group_mask
from netring.socket import NetlinkSocket
from netring.testing import message

USER_MSG = 0x10
u32 = struct.Struct("=I")


def recv_n(sock: NetlinkSocket, n: int) -> list[Message]:
    out: list[Message] = []
    for _ in range(n * 4):  # bounded
        out.extend(m for m in sock.recv(timeout=10))
        if len(out) >= n:
            break
    return out


def test_unicast_between_two_sockets_same_process(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as a, NetlinkSocket(
        NETLINK.USERSOCK, netns=netns.path, passcred=True
    ) as b:
        a.sendto(message(USER_MSG, b"ping", 0, 1, a.portid), portid=b.portid)
        [m] = b.recv(timeout=5)
        assert m.type == USER_MSG and m.payload.tobytes() == b"ping" and m.seq == 1
        assert b.last_sender == a.portid
        assert m.creds == (os.getpid(), os.getuid(), os.getgid())
        assert m.group == 0


def test_unicast_across_processes_with_credentials(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path, passcred=True, pktinfo=True) as rx:
        dest = rx.portid

        def child() -> None:
            with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as tx:
                for i in range(3):
                    body = u32.pack(tx.portid) + b"hello %d" % i
                    tx.sendto(message(USER_MSG, body, 0, i + 1, tx.portid), portid=dest)

        pid = fork(child)
        got = []
        for _ in range(3):
            [m] = rx.recv(timeout=10)
            got.append((m.seq, m.payload.tobytes()[4:], m.creds, m.group))
            assert rx.last_sender == u32.unpack_from(m.payload)[0]  # the kernel's sockaddr_nl
        assert reap(pid) == 0
    assert got == [(i + 1, b"hello %d" % i, (pid, os.getuid(), os.getgid()), 0) for i in range(3)]


def test_multicast_across_processes_with_credentials(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path, passcred=True, pktinfo=True) as rx1, \
            NetlinkSocket(NETLINK.USERSOCK, netns=netns.path, passcred=True,
                          groups=group_mask(3)) as rx2:
        rx1.add_membership(3)
        assert rx1.memberships() == [3] and rx2.memberships() == [3]

        def child() -> None:
            with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as tx:
                tx.sendto(message(USER_MSG, b"to group 3", 0, 7, tx.portid), groups=group_mask(3))
                tx.sendto(message(USER_MSG, b"to group 4", 0, 8, tx.portid), groups=group_mask(4))

        pid = fork(child)
        [m1] = rx1.recv(timeout=10)
        [m2] = rx2.recv(timeout=10)
        assert reap(pid) == 0
        for m in (m1, m2):
            assert m.payload.tobytes() == b"to group 3" and m.seq == 7
            assert m.creds == (pid, os.getuid(), os.getgid())
            assert m.group == 3  # rx1 from NETLINK_PKTINFO, rx2 from sockaddr_nl.nl_groups
        assert rx1.recv(block=False) == [] and rx2.recv(block=False) == []  # group 4 not joined
        rx1.drop_membership(3)
        assert rx1.memberships() == []


def test_recvmmsg_batch_receive(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path, passcred=True, batch=16) as rx, \
            NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as tx:
        n = 50
        bufs = [message(USER_MSG, u32.pack(i) * 12, 0, i + 1, tx.portid) for i in range(n)]
        assert tx.sendmmsg(bufs, portid=rx.portid) == n
        seqs: list[int] = []
        calls = 0
        while len(seqs) < n and calls < 100:  # bounded
            msgs = rx.recvmmsg(block=False)
            calls += 1
            assert len(msgs) <= 16
            for m in msgs:
                seqs.append(m.seq)
                assert m.payload.tobytes() == u32.pack(m.seq - 1) * 12
                assert m.creds == (os.getpid(), os.getuid(), os.getgid())
        assert seqs == list(range(1, n + 1))
        assert calls <= 5  # 50 datagrams in batches of up to 16
        assert rx.recvmmsg(block=False) == []


def test_mmsgbatch_fills_mmap_regions_directly(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path, passcred=True, pktinfo=True) as rx, \
            NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as tx:
        frame = 256
        m = mmap.mmap(-1, 8 * frame)
        mv = memoryview(m)
        batch = _sys.MMsgBatch([mv[i * frame : (i + 1) * frame] for i in range(7)] + [mv[7 * frame : 7 * frame + 32]])
        try:
            sizes = [16 + 8 * i for i in range(7)] + [200]  # the last overflows its 32-byte region
            bufs = [message(USER_MSG, bytes([i]) * (s - 16), 0, i + 1, tx.portid) for i, s in enumerate(sizes)]
            assert _sys.sendmmsg(tx.fileno(), bufs, dest_portid=rx.portid) == 8
            got = batch.recv(rx.fileno(), _sys.MSG_WAITFORONE)
            assert got == 8
            for i in range(7):
                assert batch.lengths[i] == sizes[i] and not batch.truncated(i)
                assert bytes(m[i * frame : i * frame + sizes[i]]) == bufs[i]  # written in place
                assert _sys.nl_address(batch, i) == (tx.portid, 0)
                group, creds = _sys.decode_netlink_cmsgs(batch.cmsgs(i))
                assert creds == (os.getpid(), os.getuid(), os.getgid())
                assert group == 0
                assert next(iter_messages(batch.view(i))).seq == i + 1
            assert batch.truncated(7) and batch.msg_flags[7] & _sys.MSG_TRUNC
            assert len(batch.view(7)) == 32
            assert batch.recv(rx.fileno(), _sys.MSG_DONTWAIT) == 0  # EAGAIN -> 0
            # and send straight from the regions
            assert batch.send(tx.fileno(), lengths=sizes[:3], name=_sys.sockaddr_nl_bytes(rx.portid)) == 3
            assert [mm.seq for mm in rx.recvmmsg()] + [mm.seq for mm in rx.recvmmsg(block=False)] == [1, 2, 3]
        finally:
            batch.close()
            mv.release()
            m.close()


def test_sendmsg_scatter_gather_is_one_datagram(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as rx, \
            NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as tx:
        parts = [message(USER_MSG, b"m%d" % i, 0, i + 1) for i in range(5)]
        assert tx.sendmsg(parts, portid=rx.portid) == sum(map(len, parts))
        assert [m.seq for m in rx.recv(timeout=5)] == [1, 2, 3, 4, 5]  # one recv: one datagram
        assert _sys.sendmsg(tx.fileno(), [bytearray(parts[0]), memoryview(parts[1])], dest_portid=rx.portid) == len(parts[0]) + len(parts[1])
        assert [m.seq for m in rx.recv(timeout=5)] == [1, 2]
        with pytest.raises(ValueError):
            _sys.sendmsg(tx.fileno(), [b"x"] * (_sys.IOV_MAX + 1))


def test_sys_errors_carry_errno() -> None:
    import errno

    batch = _sys.MMsgBatch([bytearray(64)])
    try:
        with pytest.raises(OSError) as ei:
            batch.recv(-1)
        assert ei.value.errno == errno.EBADF
    finally:
        batch.close()
    with pytest.raises(OSError) as ei:
        _sys.sendmmsg(-1, [b"x" * 16])
    assert ei.value.errno == errno.EBADF
    with pytest.raises(OSError) as ei:
        _sys.setns(-1)
    assert ei.value.errno == errno.EBADF
