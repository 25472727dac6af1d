"""The one netlink conversation: requests, ACKs, dumps and notifications over a transport.

Every netlink exchange in netring runs through :class:`Connection`: the real
socket (:class:`netring.NetlinkSocket`), the handler-driven fake
(:class:`netring.testing.FakeSocket`), asyncio (:mod:`netring.aio`), a ring
(:class:`netring.nlmmap.edge.transport.RingTransport`) and every subsystem
(rtnetlink dumps and monitor).  It decides nothing about replies itself: the
rule and the state machines are :mod:`netring.codec.reply`; this module only
drives them with datagrams from a :class:`Transport`::

                         +--------------------- Connection ----------------------+
    request(), dump(),  -|-> next_seq, nlmsghdr -------------------> transport.send()
    dump_with(reader)    |                                                        |
    recv(), messages()  <|-- ReplyCollector <- iter_messages <- Chunk <- transport.recv()
                         |   OURS: yield/copy   NOTIFY: .pending   STALE: .stale  |
                         +--------------------------------------------------------+

The transport is five members (:class:`Transport`): ``portid``, ``send``,
``recv`` (one datagram as a :class:`Chunk`), ``fileno`` and ``drops``.  This
module imports no OS module; whatever needs one (waiting, debug output) is the
transport's or is injected (``debug_log``).

Zero copy and lifetimes: messages yielded by :meth:`Connection.dump`,
:meth:`Connection.recv` and :meth:`Connection.messages` are
:class:`~netring.codec.Message` views into the transport's receive buffer,
**valid until the next receive** (the next iteration step, request or recv).
Call ``msg.tobytes()`` to keep one.  Messages returned by
:meth:`Connection.request` and kept notifications are copies.

Overruns: ``OSError(ENOBUFS)`` from the transport raises
:class:`~netring.errors.Overrun` carrying the running count (:attr:`overruns`)
and the transport's drop counter; the connection keeps working.

Drivers other than the blocking one (asyncio) use the same primitives the
blocking methods are written with: :meth:`Connection.begin`,
:meth:`Connection.recv_chunk`, :meth:`Connection.absorb`,
:meth:`Connection.abandon`, :meth:`Connection.take_pending` and
:class:`DumpRetry`.
"""

from __future__ import annotations

import collections
import errno as _errno
import itertools
from collections.abc import Callable, Iterator, Sequence

from .codec.constants import NLM_F
from .codec.debug import dump_messages
from .codec.errmsg import ErrorMessage
from .codec.message import Message, iter_messages
from .codec.reply import NOTIFY, OURS, STALE, AckCollector, ReplyCollector, error_from
from .codec.structs import nlmsghdr, u32
from .codec.types import TYPE_CHECKING, Protocol, ReadableBuffer, TypeVar
from .errors import DecodeError, DumpInterrupted, EncodeError, NetlinkError, Overrun

__all__ = [
    "Connection",
    "Transport",
    "Chunk",
    "ChunkReader",
    "DumpRetry",
    "DebugLog",
    "debug_text",
    "group_mask",
    "copy_message",
]

if TYPE_CHECKING:
    from typing import TypeAlias

DebugLog: TypeAlias = Callable[[str, ReadableBuffer], None]
"""A debug hook: called with a label (``"recv from portid 0 group 1"``) and the bytes."""

R = TypeVar("R", bound="ChunkReader")

_NLMSG_MIN_TYPE = 16  # NLMSG_MIN_TYPE, <linux/netlink.h> (int on the per-message path)
DRAIN_TIMEOUT = 5.0
"""Seconds an abandoned reply's rest may take per datagram while it is drained."""


def group_mask(group: int) -> int:
    """The legacy ``nl_groups`` bit for multicast group ``group`` (1..32)."""
    if not 1 <= group <= 32:
        raise EncodeError(f"group {group} outside 1..32: use add_membership() for higher groups")
    return 1 << (group - 1)


def debug_text(what: str, data: ReadableBuffer) -> str:
    """The ``NETRING_DEBUG`` rendering of one buffer: a header line and the message table."""
    return f"netring: {what} {len(memoryview(data))} bytes\n{dump_messages(data)}\n"


def copy_message(msg: Message) -> Message:
    """A copy of ``msg`` that no longer references the receive buffer."""
    out = next(iter_messages(msg.tobytes()))
    out.group = msg.group
    out.creds = msg.creds
    return out


class Chunk:
    """One received datagram: a view of its bytes and where it came from.

    Attributes:
        data: the datagram (a view into the transport's buffer; valid until its next receive).
        sender: sender port id (``sockaddr_nl.nl_pid``; 0 = the kernel).
        group: destination multicast group (``NETLINK_PKTINFO``, else derived from
            ``nl_groups``); 0 for unicast.
        creds: ``(pid, uid, gid)`` from ``SCM_CREDENTIALS`` or ``None``.
    """

    __slots__ = ("data", "sender", "group", "creds")

    def __init__(
        self, data: memoryview, sender: int = 0, group: int = 0,
        creds: tuple[int, int, int] | None = None,
    ) -> None:
        self.data = data
        self.sender = sender
        self.group = group
        self.creds = creds


class Transport(Protocol):
    """What a :class:`Connection` needs from below: five members.

    Attributes:
        portid: our port id (the kernel's answer to ``bind``).
    """

    portid: int

    def send(self, buffers: Sequence[ReadableBuffer], portid: int, groups: int) -> int:
        """Send the buffers as ONE datagram to ``portid``/``groups``; returns bytes sent."""
        ...

    def recv(self, block: bool, timeout: float | None) -> Chunk | None:
        """One datagram; ``None`` when ``block`` is false and nothing is queued.

        Raises ``OSError(ENOBUFS)`` on an overrun, ``TimeoutError`` after
        ``timeout`` seconds, :class:`~netring.errors.TruncatedError` when the
        datagram did not fit.
        """
        ...

    def fileno(self) -> int:
        """A descriptor that polls readable when :meth:`recv` would not block."""
        ...

    def drops(self) -> int | None:
        """The kernel's drop counter for the endpoint, or ``None`` when unknown."""
        ...


class ChunkReader(Protocol):
    """A dump reader that takes whole datagrams (see :meth:`Connection.dump_with`)."""

    def feed(self, data: ReadableBuffer, n: int | None = None,
             chunk: Chunk | None = None) -> bool:
        """Process one datagram of the reply (``data``: its bytes, ``chunk``: its source);
        returns whether the reply is complete."""
        ...


class DumpRetry:
    """Counts dump attempts against a retry budget (shared by every dump driver).

    Args:
        name: operation name for the final error.
        retry: restarts allowed after ``NLM_F_DUMP_INTR`` (or an overrun mid-dump).
    """

    __slots__ = ("name", "retry", "attempt")

    def __init__(self, name: str, retry: int) -> None:
        self.name = name
        self.retry = retry
        self.attempt = 0

    def failed(self, exc: NetlinkError | Overrun) -> None:
        """One attempt failed with ``exc``; re-raise when the budget is spent."""
        self.attempt += 1
        if self.attempt > self.retry:
            if isinstance(exc, DumpInterrupted) and self.retry:
                raise DumpInterrupted(
                    self.name, exc.seq, f"dump still inconsistent after {self.retry} retries"
                ) from None
            raise exc


class Connection:
    """Request/ack, dump and receive logic over a :class:`Transport`.

    Args:
        transport: the datagram endpoint.
        debug_log: called with a label and the bytes of every buffer sent and
            received (``None``: no debug output; the socket edge passes a stderr
            writer when ``NETRING_DEBUG`` is set).

    Attributes:
        transport: the transport.
        overruns: ENOBUFS overruns seen so far.
        stale: replies dropped because they answered no pending request.
        restarts: dumps restarted after ``NLM_F_DUMP_INTR`` or an overrun mid-dump.
        pending: notifications received while a request waited (copies),
            delivered first by :meth:`recv` and :meth:`messages`.
        pending_limit: most notifications kept in :attr:`pending`; beyond it the
            oldest are discarded and the next :meth:`recv`/:meth:`messages` raises
            :class:`Overrun` (messages were lost, exactly as with ENOBUFS).
        last_ack: the :class:`~netring.codec.ErrorMessage` of the last ACK
            (extended-ack warning text and cookie included), or ``None``.
        last_sender: sender port id of the last datagram received
            (``Message.portid`` is only what the sender wrote).
        debug_log: the debug hook; may be replaced at any time.
    """

    def __init__(self, transport: Transport, *, debug_log: DebugLog | None = None) -> None:
        self.transport = transport
        self._seq = itertools.count(1)
        self.overruns = 0
        self.stale = 0
        self.restarts = 0
        self.pending: collections.deque[Message] = collections.deque()
        self.last_ack: ErrorMessage | None = None
        self.last_sender = 0
        self.pending_limit = 65536
        self._pending_lost = 0
        self.debug_log = debug_log
        self._hdr = bytearray(16)

    @property
    def portid(self) -> int:
        """Our port id."""
        return self.transport.portid

    def fileno(self) -> int:
        """The descriptor to poll (``selectors``, asyncio)."""
        return self.transport.fileno()

    def drops(self) -> int | None:
        """The transport's kernel drop counter, or ``None``."""
        return self.transport.drops()

    def close(self) -> None:
        """Close the transport, when it has a ``close`` (idempotent where it is)."""
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sequence numbers ---------------------------------------------------------------
    def next_seq(self) -> int:
        """A fresh sequence number (1..2**32-1, never 0; wraps around)."""
        s = next(self._seq)
        if s > 0xFFFFFFFF:
            self._seq = itertools.count(2)
            s = 1
        return s

    # -- sending ------------------------------------------------------------------------
    def sendto(self, data: ReadableBuffer, portid: int = 0, groups: int = 0) -> int:
        """Send one prebuilt datagram (one or more whole messages) as is.

        Args:
            data: the bytes to send; several messages back to back are fine (the
                kernel processes them in order and answers each).
            portid: destination port id (0: the kernel).
            groups: destination ``nl_groups`` mask (:func:`group_mask`); sending to
                a group or to another process needs ``NETLINK_USERSOCK`` or
                CAP_NET_ADMIN.

        Returns:
            Bytes sent.
        """
        return self._send([data], portid, groups)

    def send(self, data: ReadableBuffer) -> int:
        """Send one prebuilt datagram to the kernel (see :meth:`sendto`)."""
        return self._send([data], 0, 0)

    def sendmsg(self, buffers: Sequence[ReadableBuffer], portid: int = 0, groups: int = 0) -> int:
        """Send several buffers as ONE datagram (scatter-gather, one iovec each).

        The concatenation must be whole netlink messages; nothing is copied.
        """
        return self._send(buffers, portid, groups)

    def _send(self, buffers: Sequence[ReadableBuffer], portid: int, groups: int) -> int:
        log = self.debug_log
        if log is not None:
            log(f"send to portid {portid} groups {groups:#x}", b"".join(bytes(b) for b in buffers))
        return self.transport.send(buffers, portid, groups)

    # -- driver primitives -----------------------------------------------------------------
    def begin(
        self, type_: int, body: ReadableBuffer = b"", flags: int = NLM_F.REQUEST | NLM_F.ACK,
        *, op: str = "", peer: int = 0, dump: bool = False,
    ) -> ReplyCollector:
        """Send a request with a fresh seq; return the collector for its answer.

        The 16-byte ``nlmsghdr`` is written here and sent with ``body`` in one
        datagram (two iovecs, no copy).
        """
        seq = self.next_seq()
        col = ReplyCollector(seq, self.portid, peer=peer, op=op or f"type {type_}", dump=dump,
                             ack=bool(flags & NLM_F.ACK))
        body_len = len(memoryview(body))
        nlmsghdr.pack_into(self._hdr, 0, 16 + body_len, type_, flags | NLM_F.REQUEST, seq, 0)
        self._send([self._hdr, body] if body_len else [self._hdr], peer, 0)
        return col

    def recv_chunk(self, block: bool = True, timeout: float | None = None) -> Chunk | None:
        """One datagram from the transport (``None``: non-blocking and nothing queued).

        Raises:
            Overrun: the kernel dropped messages (ENOBUFS); counted in :attr:`overruns`.
        """
        try:
            chunk = self.transport.recv(block, timeout)
        except OSError as exc:
            if exc.errno == _errno.ENOBUFS:
                raise self.overrun() from None
            raise
        if chunk is not None:
            self.last_sender = chunk.sender
            log = self.debug_log
            if log is not None:
                log(f"recv from portid {chunk.sender} group {chunk.group}", chunk.data)
        return chunk

    def overrun(self) -> Overrun:
        """Count an ENOBUFS overrun of the transport; the :class:`Overrun` to raise."""
        self.overruns += 1
        return Overrun(self.overruns, self.transport.drops())

    @staticmethod
    def chunk_messages(chunk: Chunk) -> Iterator[Message]:
        """The messages of a datagram, each tagged with its group and credentials."""
        group = chunk.group
        creds = chunk.creds
        for msg in iter_messages(chunk.data):
            msg.group = group
            msg.creds = creds
            yield msg

    def route(self, msg: Message, verdict: int) -> None:
        """Act on a message that is not ours: keep a notification, count a stale reply."""
        if verdict == NOTIFY:
            if len(self.pending) >= self.pending_limit:
                self.pending.popleft()
                self._pending_lost += 1
            self.pending.append(copy_message(msg))
        elif verdict == STALE:
            self.stale += 1

    def absorb(
        self, col: ReplyCollector, chunk: Chunk, msgs: Iterator[Message] | None = None
    ) -> Iterator[Message]:
        """Feed a datagram to ``col``; yield our data replies, route the rest.

        ``msgs`` is the datagram's message iterator when the caller needs to go on
        with it after stopping early (an abandoned dump).
        """
        sender = chunk.sender
        group = chunk.group
        for msg in self.chunk_messages(chunk) if msgs is None else msgs:
            if col.done:
                self.route(msg, col.classify(msg, sender, group))
                continue
            v = col.feed(msg, sender, group)
            if v == OURS:
                if msg.type >= _NLMSG_MIN_TYPE:
                    yield msg
            else:
                self.route(msg, v)

    def abandon(
        self, col: ReplyCollector, rest: Iterator[Message] | None = None,
        timeout: float | None = DRAIN_TIMEOUT,
    ) -> None:
        """Finish a reply whose consumer left: drain it (notifications survive).

        ``rest`` is what is left of the current datagram (an :meth:`absorb` or
        :meth:`chunk_messages` iterator).  Kernel errors of the abandoned reply
        are dropped (nobody waits for them); a receive error ends the drain.
        """
        while True:
            if rest is not None:
                try:
                    for _ in rest:
                        pass
                except (NetlinkError, DecodeError):
                    pass  # the abandoned reply's own error: its caller left
            if col.done:
                return
            try:
                chunk = self.recv_chunk(True, timeout)
            except (OSError, Overrun, DecodeError):
                return
            if chunk is None:
                return
            rest = self.absorb(col, chunk)

    def take_pending(self) -> Iterator[Message]:
        """Deliver the kept notifications (raising :class:`Overrun` first if some were lost)."""
        if self._pending_lost:
            self._pending_lost = 0
            self.overruns += 1
            raise Overrun(self.overruns, None)
        pending = self.pending
        while pending:
            yield pending.popleft()

    # -- receiving ------------------------------------------------------------------------
    def recv(self, *, block: bool = True, timeout: float | None = None) -> list[Message]:
        """Receive the messages of one datagram (all of them, unfiltered).

        Notifications kept aside while a request waited come first (and alone).

        Args:
            block: wait for a datagram; with ``False`` return ``[]`` when none is queued.
            timeout: seconds to wait at most (``TimeoutError`` after).

        Returns:
            Message views valid until the next receive (kept notifications are copies).

        Raises:
            Overrun: the kernel dropped messages (ENOBUFS); the connection stays usable.
        """
        kept = list(self.take_pending())
        if kept:
            return kept
        chunk = self.recv_chunk(block, timeout)
        if chunk is None:
            return []
        return list(self.chunk_messages(chunk))

    def messages(self, *, block: bool = True, timeout: float | None = None) -> Iterator[Message]:
        """Iterate received messages: kept notifications first, then the transport.

        Runs forever when ``block`` is true; with ``block=False`` it stops when
        nothing is queued.  Views are valid until the next iteration step.
        :class:`Overrun` propagates (the iterator ends); call again to continue.
        """
        while True:
            yield from self.take_pending()
            chunk = self.recv_chunk(block, timeout)
            if chunk is None:
                return
            yield from self.chunk_messages(chunk)

    # -- request / ack --------------------------------------------------------------------
    def request(
        self,
        type_: int,
        body: ReadableBuffer = b"",
        flags: int = NLM_F.REQUEST | NLM_F.ACK,
        *,
        op: str | None = None,
        peer: int = 0,
        timeout: float | None = None,
    ) -> list[Message]:
        """Send one request and wait for its complete answer.

        Replies are validated (:mod:`netring.codec.reply`): only messages with our
        sequence number from ``peer`` count; notifications arriving meanwhile are
        kept in :attr:`pending`; stale replies are dropped and counted.

        Args:
            type_: ``nlmsg_type`` (e.g. ``RTM_NEWLINK``).
            body: the family header plus attributes, prebuilt; ``b""`` for none.
            flags: ``nlmsg_flags``.  With ``NLM_F_ACK`` (default) the call returns
                at the ACK; without it, at the first reply not marked ``NLM_F_MULTI``
                (or ``NLMSG_DONE``) - so only omit it for requests that answer.
            op: operation name for errors (default ``"type N"``).
            peer: destination port id (0: the kernel).
            timeout: seconds to wait for each datagram at most (``TimeoutError``).

        Returns:
            The data replies (copies, safe to keep); ``[]`` for a plain ACK.  The
            ACK itself is in :attr:`last_ack`.

        Raises:
            NetlinkError: the kernel refused (errno, op, seq, extended-ack text/offset).
            Overrun: the receive buffer overflowed meanwhile (the answer may be lost).
        """
        col = self.begin(type_, body, flags, op=op or "", peer=peer)
        return self._collect(col, timeout)

    def request_raw(
        self,
        message: ReadableBuffer,
        *,
        op: str | None = None,
        peer: int = 0,
        timeout: float | None = None,
    ) -> list[Message]:
        """Send ONE fully prebuilt message (header included) and wait for its answer.

        A ``nlmsg_seq`` of 0 is replaced by :meth:`next_seq` in place (the buffer
        must then be writable).  Same answer rules and return value as
        :meth:`request`; for many messages in one datagram use :meth:`request_many`.

        Raises:
            EncodeError: the buffer does not hold exactly one message, or seq is 0
                in a read-only buffer.
        """
        msgs = list(iter_messages(message))
        if len(msgs) != 1:
            raise EncodeError(f"request_raw needs exactly one message, got {len(msgs)}")
        m = msgs[0]
        seq = m.seq
        if seq == 0:
            mv = memoryview(message)
            if mv.readonly:
                raise EncodeError("nlmsg_seq is 0 and the buffer is read-only: set a seq")
            seq = self.next_seq()
            u32.pack_into(mv.cast("B") if mv.format != "B" else mv, 8, seq)
        col = ReplyCollector(
            seq, self.portid, peer=peer, op=op or f"type {m.type}",
            ack=bool(m.flags & NLM_F.ACK),
        )
        self._send([message], peer, 0)
        return self._collect(col, timeout)

    def _collect(self, col: ReplyCollector, timeout: float | None) -> list[Message]:
        out: list[Message] = []
        while not col.done:
            chunk = self.recv_chunk(True, timeout)
            assert chunk is not None  # a blocking receive returns a chunk or raises
            out.extend(copy_message(m) for m in self.absorb(col, chunk))
        self.last_ack = col.ack
        return out

    def request_many(
        self,
        data: ReadableBuffer | Sequence[ReadableBuffer],
        *,
        check: bool = True,
        op: str = "batch",
        peer: int = 0,
        timeout: float | None = None,
    ) -> list[ErrorMessage]:
        """Send fully prebuilt messages in ONE ``sendmsg`` and collect their ACKs.

        ``data`` is one buffer of messages back to back, or a sequence of buffers
        sent as one datagram (one iovec each).  Every message that carries
        ``NLM_F_ACK`` is waited for; give each a distinct non-zero ``nlmsg_seq``
        (:meth:`next_seq`).  Data replies are dropped; notifications are kept.

        Args:
            check: raise the first error (after every ACK was collected, so the
                connection is clean) instead of returning it.

        Returns:
            One :class:`~netring.codec.ErrorMessage` per ACK-requesting message, in
            send order (``error == 0`` for success).

        Raises:
            NetlinkError: with ``check``, the first failed message (its seq).
            EncodeError: a message asking for an ACK has seq 0 or a duplicate seq.
        """
        bufs: Sequence[ReadableBuffer]
        bufs = list(data) if isinstance(data, list | tuple) else [data]  # type: ignore[list-item]
        seqs: list[int] = []
        for b in bufs:
            for m in iter_messages(b):
                if m.flags & NLM_F.ACK:
                    if m.seq == 0 or m.seq in seqs:
                        raise EncodeError(
                            f"message at offset {m.offset}: ACK needs a unique non-zero seq, "
                            f"got {m.seq}")
                    seqs.append(m.seq)
        col = AckCollector(seqs, self.portid, peer=peer)
        self._send(bufs, peer, 0)
        while not col.done:
            chunk = self.recv_chunk(True, timeout)
            assert chunk is not None  # a blocking receive returns a chunk or raises
            for msg in self.chunk_messages(chunk):
                v = col.feed(msg, chunk.sender, chunk.group)
                if v != OURS:
                    self.route(msg, v)
        results = [col.results[s] for s in seqs]
        if check:
            for s, em in itertools.chain(zip(seqs, results, strict=True), col.extra_errors):
                if em.error:
                    raise error_from(em, op, s)
        return results

    # -- dumps ----------------------------------------------------------------------------
    def dump(
        self,
        type_: int,
        body: ReadableBuffer = b"",
        flags: int = NLM_F.REQUEST | NLM_F.DUMP,
        *,
        op: str | None = None,
        retry: int = 0,
        peer: int = 0,
        timeout: float | None = None,
    ) -> Iterator[Message]:
        """Dump: send a ``NLM_F_DUMP`` request and iterate its replies.

        Without ``retry`` the messages are streamed as zero-copy views, **valid
        until the next iteration step**; if the kernel flagged the dump as
        inconsistent, :class:`DumpInterrupted` is raised after the last message
        (at DONE, with the connection drained).  With ``retry=N`` each attempt is
        buffered (copies of the received datagrams) and only a consistent dump is
        yielded; up to ``N`` restarts with a new sequence number, then
        :class:`DumpInterrupted`.  Stopping the iteration early drains the rest of
        the dump (the kernel runs one dump per socket at a time).

        Args:
            type_: ``nlmsg_type`` (e.g. ``RTM_GETLINK``).
            body: prebuilt family header (+ filter attributes).
            flags: ``nlmsg_flags`` (``NLM_F_DUMP`` is added).
            op: operation name for errors.
            retry: restarts allowed on ``NLM_F_DUMP_INTR``.
            peer: destination port id (0: the kernel).
            timeout: seconds to wait for each datagram at most.
        """
        flags |= NLM_F.REQUEST | NLM_F.DUMP
        name = op or f"dump type {type_}"
        if retry <= 0:
            yield from self._dump_stream(type_, body, flags, name, peer, timeout, copy=False)
            return
        budget = DumpRetry(name, retry)
        while True:
            try:
                kept = list(self._dump_stream(type_, body, flags, name, peer, timeout, copy=True))
            except DumpInterrupted as exc:
                self.restarts += 1
                budget.failed(exc)
                continue
            yield from kept
            return

    def _dump_stream(
        self, type_: int, body: ReadableBuffer, flags: int, name: str, peer: int,
        timeout: float | None, copy: bool,
    ) -> Iterator[Message]:
        col = self.begin(type_, body, flags, op=name, peer=peer, dump=True)
        rest: Iterator[Message] | None = None
        try:
            while not col.done:
                chunk = self.recv_chunk(True, timeout)
                assert chunk is not None  # a blocking receive returns a chunk or raises
                if copy:
                    chunk.data = memoryview(chunk.data.tobytes())
                rest = self.chunk_messages(chunk)
                yield from self.absorb(col, chunk, rest)
        except GeneratorExit:
            # the caller stopped early: drain so the kernel finishes this dump
            self.abandon(col, rest, DRAIN_TIMEOUT if timeout is None else timeout)
            raise

    def dump_with(
        self,
        type_: int,
        body: ReadableBuffer,
        make_reader: Callable[[ReplyCollector, Callable[[Message, int], None]], R],
        *,
        flags: int = NLM_F.REQUEST | NLM_F.DUMP,
        op: str | None = None,
        retry: int = 0,
        peer: int = 0,
        timeout: float | None = None,
        copy: bool = True,
    ) -> R:
        """Dump, handing each datagram of the reply whole to a specialised reader.

        For readers that build objects straight over the received bytes (the
        rtnetlink dump reader makes one three-slot view per message): the reader
        gets the dump's :class:`~netring.codec.reply.ReplyCollector` and this
        connection's :meth:`route` when it is made (``make_reader(col, route)``),
        and every datagram of the reply (:meth:`ChunkReader.feed`).  It must feed
        every message it does not take on its fast path to ``col`` and route what
        ``col`` says is not ours, so the reply rule stays the one in
        :mod:`netring.codec.reply`.  Multicast datagrams and datagrams from other
        senders never reach it: they are kept as notifications here.

        Args:
            copy: give the reader a fresh ``bytes`` copy of each datagram (its
                objects may keep it); ``False``: the transport's buffer, valid
                until the next receive (count-only readers).
            retry: restarts allowed after ``NLM_F_DUMP_INTR`` or an overrun mid-dump
                (each restart counted in :attr:`restarts`).

        Returns:
            The reader of the consistent attempt.
        """
        flags |= NLM_F.REQUEST | NLM_F.DUMP
        name = op or f"dump type {type_}"
        budget = DumpRetry(name, retry)
        while True:
            col = self.begin(type_, body, flags, op=name, peer=peer, dump=True)
            reader = make_reader(col, self.route)
            try:
                while not col.done:
                    chunk = self.recv_chunk(True, timeout)
                    assert chunk is not None  # a blocking receive returns a chunk or raises
                    if chunk.group or chunk.sender != peer:
                        for msg in self.chunk_messages(chunk):
                            self.route(msg, NOTIFY)
                        continue
                    reader.feed(bytes(chunk.data) if copy else chunk.data, None, chunk)
                return reader
            except (DumpInterrupted, Overrun) as exc:
                self.restarts += 1
                if not col.done:
                    self.abandon(col, None, DRAIN_TIMEOUT if timeout is None else timeout)
                budget.failed(exc)
