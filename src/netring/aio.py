"""asyncio helpers for netlink connections: no threads, just ``loop.add_reader``.

::

    async for msg in aio.messages(sock):          # notifications, forever
        ...
    replies = await aio.request(sock, RTM_GETLINK, body, NLM_F.REQUEST | NLM_F.ACK)
    async for msg in aio.dump(sock, RTM_GETLINK, body):
        ...

Each helper waits for readability with ``loop.add_reader(sock.fileno(), ...)``
and then receives without blocking, so the event loop never stalls; the socket
itself may stay in blocking mode.  The protocol logic is the connection's own:
these helpers drive :class:`netring.conn.Connection` through the same
primitives its blocking methods use (``begin``, ``recv_chunk``, ``absorb``,
``abandon``, ``take_pending``, :class:`~netring.conn.DumpRetry`); any
connection works, e.g. :class:`netring.testing.FakeSocket`.

Lifetimes are those of the synchronous API: messages from :func:`messages` and
:func:`dump` are views valid until the next iteration step; :func:`request`
returns copies.  Do not run two helpers on one connection at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

from .codec import NLM_F, Message
from .codec.types import Protocol, ReadableBuffer
from .conn import DRAIN_TIMEOUT, Chunk, Connection, DumpRetry, copy_message
from .errors import DumpInterrupted

__all__ = ["readable", "messages", "request", "dump"]


class _Pollable(Protocol):
    def fileno(self) -> int: ...


async def readable(sock: _Pollable) -> None:
    """Wait until ``sock`` is readable (data queued or an error such as ENOBUFS)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()

    def ready() -> None:
        if not fut.done():
            fut.set_result(None)

    loop.add_reader(fd, ready)
    try:
        await fut
    finally:
        loop.remove_reader(fd)


async def _recv(conn: Connection) -> Chunk:
    while True:
        chunk = conn.recv_chunk(False)
        if chunk is not None:
            return chunk
        await readable(conn)


async def messages(conn: Connection) -> AsyncIterator[Message]:
    """Iterate every received message (kept notifications first), forever.

    :class:`~netring.errors.Overrun` propagates (the iterator ends); the
    connection stays usable, so iterate again after re-synchronising.
    """
    while True:
        for msg in conn.take_pending():
            yield msg
        chunk = await _recv(conn)
        for msg in conn.chunk_messages(chunk):
            yield msg


async def request(
    conn: Connection,
    type_: int,
    body: ReadableBuffer = b"",
    flags: int = NLM_F.REQUEST | NLM_F.ACK,
    *,
    op: str | None = None,
    peer: int = 0,
    timeout: float | None = None,
) -> list[Message]:
    """Awaitable :meth:`netring.conn.Connection.request` (same arguments and result).

    Raises:
        NetlinkError: the kernel refused.
        TimeoutError: no complete answer within ``timeout`` seconds.
    """
    col = conn.begin(type_, body, flags, op=op or "", peer=peer)
    out: list[Message] = []
    async with asyncio.timeout(timeout):
        while not col.done:
            chunk = await _recv(conn)
            out.extend(copy_message(m) for m in conn.absorb(col, chunk))
    conn.last_ack = col.ack
    return out


async def dump(
    conn: Connection,
    type_: int,
    body: ReadableBuffer = b"",
    flags: int = NLM_F.REQUEST | NLM_F.DUMP,
    *,
    op: str | None = None,
    retry: int = 0,
    peer: int = 0,
) -> AsyncIterator[Message]:
    """Async :meth:`netring.conn.Connection.dump` (same semantics, ``retry`` too).

    Leaving the iteration early (``break``, then ``aclose()`` - done for you by
    ``contextlib.aclosing`` or when the generator is collected) drains the rest of
    the dump synchronously: the kernel builds each remaining chunk inside the
    receive call, so this does not wait on anything but the kernel (bounded by
    a 5 s per-chunk timeout).
    """
    flags |= NLM_F.REQUEST | NLM_F.DUMP
    name = op or f"dump type {type_}"
    budget = DumpRetry(name, retry)
    while True:
        col = conn.begin(type_, body, flags, op=name, peer=peer, dump=True)
        kept: list[Message] = []
        it: Iterator[Message] | None = None
        try:
            while not col.done:
                chunk = await _recv(conn)
                it = conn.absorb(col, chunk)
                for msg in it:
                    if retry > 0:
                        kept.append(copy_message(msg))
                    else:
                        yield msg
        except GeneratorExit:
            conn.abandon(col, it, DRAIN_TIMEOUT)
            raise
        except DumpInterrupted as exc:
            conn.restarts += 1
            budget.failed(exc)
            continue
        for msg in kept:
            yield msg
        return
