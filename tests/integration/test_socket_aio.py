"""asyncio helpers (netring.aio) on real sockets in a private namespace."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import struct

import pytest
from nsutil import Netns

from netring import NETLINK, NLM_F, NetlinkError, aio
from netring.socket import NetlinkSocket
from netring.testing import message

RTM_NEWLINK, RTM_GETLINK = 16, 18
IFLA_IFNAME = 3
ifinfomsg = struct.Struct("=BxHiII")


def test_async_messages_request_and_dump(netns: Netns) -> None:
    netns.add_veth("nrtaio0", "nrtaio1")

    async def main() -> None:
        with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as rx, \
                NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as tx, \
                NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as rt:

            async def send_later() -> None:
                await asyncio.sleep(0.05)
                for i in range(3):
                    tx.sendto(message(0x10, b"m%d" % i, 0, i + 1, tx.portid), portid=rx.portid)

            task = asyncio.create_task(send_later())
            got = []
            async with asyncio.timeout(10):
                async for m in aio.messages(rx):
                    got.append(m.payload.tobytes())
                    if len(got) == 3:
                        break
            await task
            assert got == [b"m0", b"m1", b"m2"]

            out = await aio.request(rt, RTM_GETLINK, ifinfomsg.pack(0, 0, 1, 0, 0), timeout=5)
            assert [a.text() for a in out[0].attrs(16) if a.type == IFLA_IFNAME] == ["lo"]

            names = []
            async for m in aio.dump(rt, RTM_GETLINK, ifinfomsg.pack(0, 0, 0, 0, 0)):
                names += [a.text() for a in m.attrs(16) if a.type == IFLA_IFNAME]
            assert sorted(names) == sorted(link["ifname"] for link in netns.ip_json("link"))

            names = [m.tobytes() async for m in aio.dump(rt, RTM_GETLINK, ifinfomsg.pack(0, 0, 0, 0, 0), retry=2)]
            assert len(names) == 3

            with pytest.raises(NetlinkError) as ei:
                await aio.request(rt, RTM_NEWLINK, ifinfomsg.pack(0, 0, 12345, 0, 0),
                                  NLM_F.REQUEST | NLM_F.ACK, op="RTM_NEWLINK")
            assert ei.value.errno == errno.ENODEV

            with pytest.raises(TimeoutError):
                await aio.request(rx, 0x10, b"", NLM_F.REQUEST | NLM_F.ACK, peer=tx.portid, timeout=0.05)

    asyncio.run(main())


def test_async_dump_stopped_early_is_drained(netns: Netns) -> None:
    for i in range(30):
        netns.add_veth(f"a{i}x", f"a{i}y", up=False)

    async def main() -> None:
        with NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as rt:
            body = ifinfomsg.pack(0, 0, 0, 0, 0)
            async with contextlib.aclosing(aio.dump(rt, RTM_GETLINK, body)) as it:
                async for _m in it:
                    break
            n = 0
            async for _m in aio.dump(rt, RTM_GETLINK, body):  # no EBUSY, no leftovers
                n += 1
            assert n == 61
            assert rt.recv(block=False) == []

    asyncio.run(main())
