"""A handler-driven fake netlink socket, for tests that need no root and no kernel.

In the manner of mdlayher/netlink's ``nltest``: every datagram the code under test
sends is parsed and handed to a *handler* function, whose return value is queued
as the datagrams the fake will "receive"::

    code under test                FakeSocket                        your handler
    ---------------   send    ---------------------   list[Message]  ------------
    sock.request() ---------> parse the datagram   ----------------> handler(reqs)
                   <--------- queue of datagrams   <---------------- return replies
                     recv      (+ inject(...) for notifications / overruns)

:class:`FakeSocket` is a :class:`netring.conn.Connection` over a
:class:`FakeTransport`, so ``request``, ``request_raw``, ``request_many``,
``dump``, ``dump_with`` (the rtnetlink dump path), ``recv``, ``messages``,
``sendto`` and the overrun accounting are the *same code* as the real
:class:`~netring.socket.NetlinkSocket`; only the transport differs.  Anything
that takes a connection (``netring.Rtnl(sock=...)``, the asyncio helpers)
runs its production path over it.  ``NETRING_DEBUG`` logs its traffic to
stderr like the real socket's.

A handler returns ``None`` (no reply), one reply, or an iterable of replies; a
reply is ``bytes``/``bytearray`` (one datagram, possibly many messages), a
:class:`~netring.codec.Message`, a :class:`Datagram` (to set sender, group or
credentials) or an ``OSError`` (raised by the receive that reaches it, e.g.
:func:`overrun`).  A blocking receive with nothing queued raises
``TimeoutError`` instead of hanging.

Byte builders: :func:`message`, :func:`ack`, :func:`error`, :func:`done`,
:func:`dump_reply`.
"""

from __future__ import annotations

import collections
import errno as _errno
import socket
from collections.abc import Callable, Iterable, Sequence

from ..codec import NLM_F, NLMSG, Message, iter_messages
from ..codec.constants import NLMSGERR_ATTR
from ..codec.structs import nlattr, nlmsgerr_error, nlmsghdr, u32
from ..codec.types import TYPE_CHECKING, ReadableBuffer
from ..conn import Chunk, Connection
from ..socket import debug_log_from_env

if TYPE_CHECKING:
    from typing import TypeAlias

__all__ = [
    "FakeSocket",
    "FakeTransport",
    "Datagram",
    "Handler",
    "Reply",
    "message",
    "ack",
    "error",
    "done",
    "dump_reply",
    "overrun",
]


class Datagram:
    """One datagram the fake will deliver, with its source.

    Attributes:
        data: the bytes (one or more netlink messages).
        sender: sender port id (0: the kernel).
        group: multicast group it was delivered to (0: unicast).
        creds: ``(pid, uid, gid)`` as ``SCM_CREDENTIALS`` would report, or ``None``.
    """

    __slots__ = ("data", "sender", "group", "creds")

    def __init__(
        self, data: ReadableBuffer, *, sender: int = 0, group: int = 0,
        creds: tuple[int, int, int] | None = None,
    ) -> None:
        self.data = bytes(data)
        self.sender = sender
        self.group = group
        self.creds = creds


Reply: TypeAlias = bytes | bytearray | memoryview | Message | Datagram | OSError
Handler: TypeAlias = Callable[[list[Message]], None | Reply | Iterable[Reply]]


def _tlv(type_: int, payload: bytes) -> bytes:
    n = 4 + len(payload)
    return nlattr.pack(n, type_) + payload + b"\0" * ((-n) & 3)


def message(
    type_: int, body: ReadableBuffer = b"", flags: int = 0, seq: int = 0, portid: int = 0
) -> bytes:
    """One netlink message (header + ``body``, padded to 4 bytes)."""
    b = bytes(body)
    n = 16 + len(b)
    return nlmsghdr.pack(n, type_, flags, seq, portid) + b + b"\0" * ((-n) & 3)


def _ext_tlvs(msg: str | None, offset: int | None, miss_type: int | None,
              cookie: bytes | None) -> bytes:
    out = b""
    if msg is not None:
        out += _tlv(NLMSGERR_ATTR.MSG, msg.encode() + b"\0")
    if offset is not None:
        out += _tlv(NLMSGERR_ATTR.OFFS, u32.pack(offset))
    if cookie is not None:
        out += _tlv(NLMSGERR_ATTR.COOKIE, cookie)
    if miss_type is not None:
        out += _tlv(NLMSGERR_ATTR.MISS_TYPE, u32.pack(miss_type))
    return out


def error(
    req: Message,
    errno: int,
    *,
    msg: str | None = None,
    offset: int | None = None,
    miss_type: int | None = None,
    capped: bool = True,
    portid: int | None = None,
) -> bytes:
    """The kernel's ``NLMSG_ERROR`` for ``req`` with ``-errno`` and extended-ack TLVs.

    Args:
        req: the request being answered (its header is echoed).
        errno: positive errno (0 makes an ACK).
        msg, offset, miss_type: ``NLMSGERR_ATTR_MSG`` / ``_OFFS`` / ``_MISS_TYPE``.
        capped: echo only the request header (``NETLINK_CAP_ACK``), else all of it.
        portid: ``nlmsg_pid`` of the reply (default: the request's).
    """
    tlvs = _ext_tlvs(msg, offset, miss_type, None)
    flags = 0
    if capped or errno == 0:
        echoed = req.data.tobytes()[:16]
        flags |= NLM_F.CAPPED
    else:
        raw = req.data.tobytes()
        echoed = raw + b"\0" * ((-len(raw)) & 3)
    if tlvs:
        flags |= NLM_F.ACK_TLVS
    body = nlmsgerr_error.pack(-errno) + echoed + tlvs
    return message(NLMSG.ERROR, body, flags, req.seq, req.portid if portid is None else portid)


def ack(
    req: Message, *, msg: str | None = None, cookie: bytes | None = None,
    portid: int | None = None,
) -> bytes:
    """The ACK (``NLMSG_ERROR`` with error 0) for ``req``; ``msg`` is a warning text."""
    tlvs = _ext_tlvs(msg, None, None, cookie)
    flags = NLM_F.CAPPED | (NLM_F.ACK_TLVS if tlvs else 0)
    body = nlmsgerr_error.pack(0) + req.data.tobytes()[:16] + tlvs
    return message(NLMSG.ERROR, body, flags, req.seq, req.portid if portid is None else portid)


def done(
    req: Message, error: int = 0, *, flags: int = NLM_F.MULTI, msg: str | None = None,
    portid: int | None = None,
) -> bytes:
    """``NLMSG_DONE`` ending the dump ``req``; ``error`` is a positive errno (0: success)."""
    tlvs = _ext_tlvs(msg, None, None, None)
    if tlvs:
        flags |= NLM_F.ACK_TLVS
    return message(
        NLMSG.DONE, nlmsgerr_error.pack(-error) + tlvs, flags, req.seq,
        req.portid if portid is None else portid,
    )


def dump_reply(
    req: Message,
    items: Iterable[tuple[int, ReadableBuffer]],
    *,
    per_datagram: int = 2,
    intr_from: int | None = None,
    error: int = 0,
    portid: int | None = None,
) -> list[bytes]:
    """The datagrams of a dump answering ``req``: data messages, then ``NLMSG_DONE``.

    Args:
        items: ``(type, body)`` of each data message (sent with ``NLM_F_MULTI``).
        per_datagram: data messages per datagram (the kernel packs several per skb).
        intr_from: set ``NLM_F_DUMP_INTR`` on message ``intr_from`` and every one
            after it, DONE included (``None``: a consistent dump).
        error: positive errno carried by DONE (0: success).
    """
    pid = req.portid if portid is None else portid
    msgs: list[bytes] = []
    for i, (type_, body) in enumerate(items):
        fl = NLM_F.MULTI | (NLM_F.DUMP_INTR if intr_from is not None and i >= intr_from else 0)
        msgs.append(message(type_, body, fl, req.seq, pid))
    dflags = NLM_F.MULTI | (NLM_F.DUMP_INTR if intr_from is not None else 0)
    grams = [b"".join(msgs[i : i + per_datagram]) for i in range(0, len(msgs), max(1, per_datagram))]
    last = done(req, error, flags=dflags, portid=pid)
    if grams and len(msgs) % per_datagram:
        grams[-1] += last
    else:
        grams.append(last)
    return grams


def overrun() -> OSError:
    """A reply that makes the receive reaching it fail with ENOBUFS (an overrun)."""
    return OSError(_errno.ENOBUFS, "No buffer space available (fake overrun)")


class FakeTransport:
    """A :class:`netring.conn.Transport` whose kernel is a handler function.

    Args:
        handler: called with the messages of every datagram sent to port id 0
            (copies); returns the replies to queue (see the module docstring).
            ``None`` makes a transport that only records what is sent.
        portid: our port id.

    Attributes:
        sent: every datagram sent, as ``(bytes, dest_portid, dest_groups)``.
        queue: datagrams waiting to be received.
        closed: set by :meth:`close`; further I/O raises ``EBADF``.
    """

    def __init__(self, handler: Handler | None = None, *, portid: int = 4242) -> None:
        self.handler = handler
        self.portid = portid
        self.sent: list[tuple[bytes, int, int]] = []
        self.queue: collections.deque[Datagram | OSError] = collections.deque()
        self.closed = False
        self._bell: tuple[socket.socket, socket.socket] | None = None
        self._rung = False

    def fileno(self) -> int:
        """A descriptor that polls readable while replies are queued (for selectors/asyncio)."""
        if self._bell is None:
            self._bell = socket.socketpair()
            self._bell[0].setblocking(False)
            self._ring()
        return self._bell[0].fileno()

    def drops(self) -> int | None:
        """A fake has no kernel drop counter."""
        return None

    def _ring(self) -> None:
        if self._bell is None:
            return
        if self.queue and not self._rung:
            self._bell[1].send(b"!")
            self._rung = True
        elif not self.queue and self._rung:
            self._bell[0].recv(16)
            self._rung = False

    def inject(
        self, data: ReadableBuffer | Message | Datagram | OSError, *, sender: int = 0,
        group: int = 0, creds: tuple[int, int, int] | None = None,
    ) -> None:
        """Queue one datagram (e.g. a multicast notification) or an ``OSError``."""
        if isinstance(data, Datagram | OSError):
            self.queue.append(data)
        elif isinstance(data, Message):
            self.queue.append(Datagram(data.tobytes(), sender=sender, group=group, creds=creds))
        else:
            self.queue.append(Datagram(data, sender=sender, group=group, creds=creds))
        self._ring()

    def _enqueue(self, reply: object) -> None:
        if reply is None:
            return
        if isinstance(reply, bytes | bytearray | memoryview | Message | Datagram | OSError):
            self.inject(reply)
            return
        if isinstance(reply, Iterable):
            for r in reply:
                self._enqueue(r)
            return
        raise TypeError(f"handler returned {type(reply).__name__}, not bytes/Message/Datagram")

    def send(self, buffers: Sequence[ReadableBuffer], portid: int, groups: int) -> int:
        """Record the datagram; hand it to the handler when it goes to the kernel."""
        if self.closed:
            raise OSError(_errno.EBADF, "fake socket is closed")
        data = b"".join(bytes(b) for b in buffers)
        self.sent.append((data, portid, groups))
        if self.handler is not None and portid == 0 and groups == 0:
            reqs = list(iter_messages(data))
            self._enqueue(self.handler(reqs))
        return len(data)

    def recv(self, block: bool, timeout: float | None) -> Chunk | None:
        """The next queued datagram; a blocking receive with nothing queued raises ``TimeoutError``."""
        if self.closed:
            raise OSError(_errno.EBADF, "fake socket is closed")
        if not self.queue:
            if not block:
                return None
            raise TimeoutError("fake socket: blocking receive with no reply queued")
        item = self.queue.popleft()
        self._ring()
        if isinstance(item, OSError):
            raise item
        return Chunk(memoryview(item.data), item.sender, item.group, item.creds)

    def close(self) -> None:
        """Mark closed (idempotent)."""
        self.closed = True
        if self._bell is not None:
            for s in self._bell:
                s.close()
            self._bell = None


class FakeSocket(Connection):
    """A netlink connection whose kernel is a handler function.

    Args:
        handler: called with the messages of every datagram sent to port id 0
            (copies); returns the replies to queue (see the module docstring).
            ``None`` makes a fake that only records what is sent.
        portid: our port id.
        protocol: the netlink protocol it pretends to speak.

    Attributes:
        sent: every datagram sent, as ``(bytes, dest_portid, dest_groups)``.
        queue: datagrams waiting to be received.
    """

    transport: FakeTransport

    def __init__(self, handler: Handler | None = None, *, portid: int = 4242,
                 protocol: int = 0) -> None:
        super().__init__(FakeTransport(handler, portid=portid), debug_log=debug_log_from_env())
        self.protocol = protocol

    @property
    def handler(self) -> Handler | None:
        """The handler playing the kernel (may be replaced)."""
        return self.transport.handler

    @handler.setter
    def handler(self, handler: Handler | None) -> None:
        self.transport.handler = handler

    @property
    def sent(self) -> list[tuple[bytes, int, int]]:
        """Every datagram sent, as ``(bytes, dest_portid, dest_groups)``."""
        return self.transport.sent

    @property
    def queue(self) -> collections.deque[Datagram | OSError]:
        """Datagrams waiting to be received."""
        return self.transport.queue

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self.transport.closed

    def inject(
        self, data: ReadableBuffer | Message | Datagram | OSError, *, sender: int = 0,
        group: int = 0, creds: tuple[int, int, int] | None = None,
    ) -> None:
        """Queue one datagram (e.g. a multicast notification) or an ``OSError``."""
        self.transport.inject(data, sender=sender, group=group, creds=creds)

    def close(self) -> None:
        """Mark closed (idempotent); further I/O raises ``EBADF``."""
        self.transport.close()

    def __enter__(self) -> FakeSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
