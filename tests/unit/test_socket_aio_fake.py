"""netring.aio over the fake socket: same protocol logic, awaited (no root, no kernel)."""

from __future__ import annotations

import asyncio
import errno
import selectors

import pytest

from netring import DumpInterrupted, Message, NetlinkError, aio
from netring.testing import Datagram, FakeSocket, ack, dump_reply, error, message

T = 0x10


def test_async_request_ack_error_and_timeout() -> None:
    def handler(reqs: list[Message]) -> object:
        r = reqs[0]
        if r.payload.tobytes() == b"bad":
            return error(r, errno.EINVAL, msg="nope")
        if r.payload.tobytes() == b"silent":
            return None
        return [message(T, b"data", 0, r.seq), ack(r)]

    async def main() -> None:
        with FakeSocket(handler) as sock:
            out = await aio.request(sock, T, b"ok", timeout=1)
            assert [m.payload.tobytes() for m in out] == [b"data"]
            with pytest.raises(NetlinkError) as ei:
                await aio.request(sock, T, b"bad", op="T")
            assert ei.value.errno == errno.EINVAL and ei.value.ext_msg == "nope"
            with pytest.raises(TimeoutError):
                await aio.request(sock, T, b"silent", timeout=0.05)

    asyncio.run(main())


def test_async_messages_wake_up_on_injected_notifications() -> None:
    async def main() -> None:
        with FakeSocket() as sock:
            loop = asyncio.get_running_loop()
            for i in range(3):
                loop.call_later(0.01 * (i + 1), sock.inject, Datagram(message(T, b"n%d" % i), group=2))
            got = []
            async with asyncio.timeout(5):
                async for m in aio.messages(sock):
                    got.append((m.payload.tobytes(), m.group))
                    if len(got) == 3:
                        break
            assert got == [(b"n0", 2), (b"n1", 2), (b"n2", 2)]

    asyncio.run(main())


def test_async_dump_retry_and_interrupt() -> None:
    calls: list[int] = []

    def handler(reqs: list[Message]) -> object:
        calls.append(reqs[0].seq)
        torn = len(calls) in (1, 3, 4)
        grams: list[object] = [Datagram(message(T, b"mc"), group=1)]
        grams += dump_reply(reqs[0], [(T, b"a"), (T, b"b"), (T, b"c")], intr_from=1 if torn else None)
        return grams

    async def main() -> None:
        with FakeSocket(handler) as sock:
            got = [m.payload.tobytes() async for m in aio.dump(sock, T, retry=1)]
            assert got == [b"a", b"b", b"c"] and len(calls) == 2
            with pytest.raises(DumpInterrupted):
                async for _m in aio.dump(sock, T, retry=1):
                    pass
            assert len(calls) == 4
            assert [m.payload.tobytes() for m in sock.recv(block=False)] == [b"mc"] * 4

    asyncio.run(main())


def test_fake_fileno_polls_readable_only_while_replies_are_queued() -> None:
    sock = FakeSocket(lambda reqs: ack(reqs[0]))
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    assert sel.select(0) == []
    sock.inject(message(T, b"x"))
    assert len(sel.select(0)) == 1
    assert sock.recv(block=False)
    assert sel.select(0) == []
    sel.close()
    sock.close()
