"""MMsgBatch (recvmmsg/sendmmsg over caller regions) against the real kernel."""

from __future__ import annotations

import os
import socket
import struct

import pytest
from nsutil import Netns

from netring import NETLINK, _sys
from netring.codec.constants import NETLINK_PKTINFO, SOL_NETLINK
from netring.netns import socket_in


def _usersock(ns: Netns) -> socket.socket:
    s = socket_in(ns.path, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK)
    s.bind((0, 0))
    return s


def _port(s: socket.socket) -> int:
    return int(s.getsockname()[0])


def test_send_lengths_destinations_and_header_restore(netns: Netns) -> None:
    rx, rx2, tx = _usersock(netns), _usersock(netns), _usersock(netns)
    try:
        regs = [bytearray(64) for _ in range(4)] + [bytearray(32)]
        for i, r in enumerate(regs):
            struct.pack_into("=IHHII", r, 0, len(r), 0x10, 0, i + 1, 0)
        b = _sys.MMsgBatch(regs, name=True, control=64)
        rb = _sys.MMsgBatch([bytearray(128) for _ in range(8)], name=True, control=64)
        assert b.send(tx.fileno(), name=_sys.sockaddr_nl_bytes(_port(rx))) == 5
        assert rb.recv(rx.fileno()) == 5
        assert [rb.lengths[i] for i in range(5)] == [64, 64, 64, 64, 32]
        assert all(_sys.nl_address(rb, i)[0] == _port(tx) for i in range(5))
        assert _sys.nl_address(rb, 0) == (_port(tx), 0)
        assert bytes(rb.view(4)) == bytes(regs[4])
        # explicit lengths and another destination reuse the cached headers correctly
        assert b.send(tx.fileno(), lengths=[16, 20, 24], name=_sys.sockaddr_nl_bytes(_port(rx2))) == 3
        assert rb.recv(rx2.fileno()) == 3
        assert [rb.lengths[i] for i in range(3)] == [16, 20, 24]
        assert bytes(rb.view(1)) == bytes(regs[1][:20])
        # back to whole regions, fewer slots
        assert b.send(tx.fileno(), n=2, name=_sys.sockaddr_nl_bytes(_port(rx))) == 2
        assert rb.recv(rx.fileno(), _sys.MSG_DONTWAIT) == 2
        assert [rb.lengths[i] for i in range(2)] == [64, 64]
        assert rb.recv(rx.fileno(), _sys.MSG_DONTWAIT) == 0  # EAGAIN -> 0
        for bad in ([65], [-1], [10, 10, 10, 10, 33]):
            with pytest.raises(ValueError):
                b.send(tx.fileno(), lengths=bad, name=_sys.sockaddr_nl_bytes(_port(rx)))
        # credentials and pktinfo cmsgs over several rounds (header restore each time)
        rx.setsockopt(SOL_NETLINK, NETLINK_PKTINFO, 1)
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        for _ in range(3):
            b.send(tx.fileno(), name=_sys.sockaddr_nl_bytes(_port(rx)))
            got = rb.recv(rx.fileno())
            assert got == 5
            meta = [_sys.decode_netlink_cmsgs(rb.cmsgs(i)) for i in range(got)]
            assert all(creds == (os.getpid(), os.getuid(), os.getgid()) for _g, creds in meta)
            assert meta[0][0] == 0
        b.close()
        b.close()  # harmless twice
        rb.close()
        regs[0].extend(b"x")  # unpinned after close: the bytearray may resize again
    finally:
        for s in (rx, rx2, tx):
            s.close()


def test_truncation_is_flagged(netns: Netns) -> None:
    rx, tx = _usersock(netns), _usersock(netns)
    try:
        big = bytearray(64)
        struct.pack_into("=IHHII", big, 0, 64, 0x10, 0, 1, 0)
        assert _sys.sendmmsg(tx.fileno(), [big], dest_portid=_port(rx)) == 1
        small = _sys.MMsgBatch([bytearray(16)], name=False, control=0)
        assert small.recv(rx.fileno()) == 1
        assert small.truncated(0) and small.msg_flags[0] & _sys.MSG_TRUNC
        assert len(small.view(0)) == 16
        small.close()
    finally:
        rx.close()
        tx.close()


def test_pinned_region_cannot_resize_while_batch_lives() -> None:
    region = bytearray(32)
    b = _sys.MMsgBatch([region], name=False, control=0)
    with pytest.raises(BufferError):
        region.extend(b"x")
    b.close()
    region.extend(b"x")
