"""asyncio helpers for netlink sockets: no threads, just ``loop.add_reader``.

::

    async for msg in aio.messages(sock):          # notifications, forever
        ...
    replies = await aio.request(sock, RTM_GETLINK, body, NLM_F.REQUEST | NLM_F.ACK)
    async for msg in aio.dump(sock, RTM_GETLINK, body):
        ...

Each helper waits for readability with ``loop.add_reader(sock.fileno(), ...)``
and then receives without blocking (``MSG_DONTWAIT``), so the event loop never
stalls; the socket itself may stay in blocking mode.  The protocol logic
(sequence/port-id validation, notifications kept aside, errors, ``NLMSG_DONE``,
``NLM_F_DUMP_INTR``) is the socket's own
(:class:`netring.codec.conversation.ReplyCollector`).

Lifetimes are those of the synchronous API: messages from :func:`messages` and
:func:`dump` are views valid until the next iteration step; :func:`request`
returns copies.  Do not run two helpers on one socket at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Protocol

from .codec import NLM_F, Message
from .codec.conversation import Chunk, NetlinkBase, _copy_message
from .codec.types import ReadableBuffer
from .errors import DumpInterrupted

__all__ = ["readable", "messages", "request", "dump"]

_DRAIN_TIMEOUT = 5.0


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


async def _recv(sock: NetlinkBase) -> Chunk:
    while True:
        chunk = sock._recv(False, None)
        if chunk is not None:
            return chunk
        await readable(sock)


async def messages(sock: NetlinkBase) -> AsyncIterator[Message]:
    """Iterate every received message (kept notifications first), forever.

    :class:`~netring.errors.Overrun` propagates (the iterator ends); the socket
    stays usable, so iterate again after re-synchronising.
    """
    while True:
        sock._check_pending_lost()
        while sock.pending:
            yield sock.pending.popleft()
        chunk = await _recv(sock)
        for msg in sock._chunk_messages(chunk):
            yield msg


async def request(
    sock: NetlinkBase,
    type_: int,
    body: ReadableBuffer = b"",
    flags: int = NLM_F.REQUEST | NLM_F.ACK,
    *,
    op: str | None = None,
    peer: int = 0,
    timeout: float | None = None,
) -> list[Message]:
    """Awaitable :meth:`netring.codec.conversation.NetlinkBase.request` (same arguments and result).

    Raises:
        NetlinkError: the kernel refused.
        TimeoutError: no complete answer within ``timeout`` seconds.
    """
    col = sock._start(type_, body, flags, op or f"type {type_}", peer, dump=False)
    out: list[Message] = []
    async with asyncio.timeout(timeout):
        while not col.done:
            chunk = await _recv(sock)
            out.extend(_copy_message(m) for m in sock._absorb(col, chunk))
    sock.last_ack = col.ack
    return out


async def dump(
    sock: NetlinkBase,
    type_: int,
    body: ReadableBuffer = b"",
    flags: int = NLM_F.REQUEST | NLM_F.DUMP,
    *,
    op: str | None = None,
    retry: int = 0,
    peer: int = 0,
) -> AsyncIterator[Message]:
    """Async :meth:`netring.codec.conversation.NetlinkBase.dump` (same semantics, ``retry`` too).

    Leaving the iteration early (``break``, then ``aclose()`` - done for you by
    ``contextlib.aclosing`` or when the generator is collected) drains the rest of
    the dump synchronously: the kernel builds each remaining chunk inside the
    receive call, so this does not wait on anything but the kernel (bounded by
    a 5 s per-chunk timeout).
    """
    flags |= NLM_F.REQUEST | NLM_F.DUMP
    name = op or f"dump type {type_}"
    attempt = 0
    while True:
        col = sock._start(type_, body, flags, name, peer, dump=True)
        kept: list[Message] = []
        it: Iterator[Message] = iter(())
        try:
            while not col.done:
                chunk = await _recv(sock)
                it = sock._absorb(col, chunk)
                for msg in it:
                    if retry > 0:
                        kept.append(_copy_message(msg))
                    else:
                        yield msg
        except GeneratorExit:
            sock._finish_abandoned(col, it, _DRAIN_TIMEOUT)
            raise
        except DumpInterrupted:
            attempt += 1
            if attempt > retry:
                raise
            continue
        for msg in kept:
            yield msg
        return
