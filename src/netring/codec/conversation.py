"""The netlink conversation, sans I/O: reply validation, request/ack, dumps, receive.

Everything a netlink socket does *between* the kernel calls lives here, in the
style of mdlayher/netlink's ``Conn`` over a ``Socket``; the OS edge
(:mod:`netring.socket`) supplies only the transport:

* :class:`ReplyCollector` / :class:`AckCollector` are state machines fed one
  received message at a time.  They decide whether a message answers our
  request (sequence number, port id, sender, multicast group), turn
  ``NLMSG_ERROR``/``NLMSG_DONE`` into :class:`~netring.errors.NetlinkError`, and
  track ``NLM_F_MULTI``/``NLM_F_DUMP_INTR``.
* :class:`NetlinkBase` holds the request/dump/receive API on top of two transport
  primitives a subclass implements (:meth:`NetlinkBase._send_datagram`: send one
  datagram; :meth:`NetlinkBase._recv_chunk`: receive one datagram as a
  :class:`Chunk`).  :class:`netring.socket.NetlinkSocket` implements them with a
  real ``AF_NETLINK`` socket, :class:`netring.testing.FakeSocket` with a handler
  function, so both share every line of protocol logic.

This module imports no OS module (``tests/unit/test_purity.py``).  What would
need one is injected by the edge: debug output is a ``debug_log`` callable
(:class:`~netring.socket.NetlinkSocket` passes a stderr writer when
``NETRING_DEBUG`` is set), waiting for readability and the kernel drop counter
are subclass methods::

                        +---------------------- NetlinkBase (pure) ----------------------+
    request(), dump() ->| next_seq, nlmsghdr ------------------> _send_datagram() ------|--> edge
    recv(), messages() <| ReplyCollector <- iter_messages <- Chunk <- _recv_chunk() <---|--- edge
                        |   OURS: yield / copy    NOTIFY: .pending    STALE: .stale      |
                        +----------------------------------------------------------------+

How a message is classified while a request (``seq`` sent to ``peer``) waits::

    received message                                   verdict
    ------------------------------------------------   -----------------------------
    multicast (group != 0)                              NOTIFY  kept, delivered later
    seq == ours, sender == peer, portid ours-or-0       OURS    data / ACK / error / DONE
    seq == 0, or sent by someone other than peer        NOTIFY  kept, delivered later
    unicast from peer with another seq                  STALE   dropped, counted (.stale)

Zero copy and lifetimes: messages yielded by :meth:`NetlinkBase.dump`,
:meth:`NetlinkBase.recv` and :meth:`NetlinkBase.messages` are
:class:`~netring.codec.Message` views into the transport's receive buffer:
**valid until the next receive on the socket** (the next iteration step, request
or recv).  Call ``msg.tobytes()`` to keep one.  Messages returned by
:meth:`NetlinkBase.request` and kept notifications are copies.

Overruns: ``OSError(ENOBUFS)`` from the transport (the kernel dropped messages
because the receive buffer was full) raises :class:`~netring.errors.Overrun`
carrying the running count (``.overruns``) and the kernel drop counter.  The
socket keeps working: call recv/messages again (and re-synchronise state).

API (``NetlinkBase``, shared by ``NetlinkSocket`` and ``netring.testing.FakeSocket``)::

    next_seq() -> int
    request(type_, body=b"", flags=REQUEST|ACK, *, op=None, peer=0, timeout=None) -> list[Message]
    request_raw(message, *, op=None, peer=0, timeout=None) -> list[Message]
    request_many(data_or_buffers, *, check=True, op="batch", peer=0, timeout=None) -> list[ErrorMessage]
    dump(type_, body=b"", flags=REQUEST|DUMP, *, op=None, retry=0, peer=0, timeout=None) -> Iterator[Message]
    recv(*, block=True, timeout=None) -> list[Message]
    messages(*, block=True, timeout=None) -> Iterator[Message]
    send(data) / sendto(data, portid=0, groups=0) / sendmsg(buffers, portid=0, groups=0) -> int
    .portid .overruns .stale .pending .pending_limit .last_ack .last_sender .debug_log
"""

from __future__ import annotations

import collections
import errno as _errno
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import TypeAlias

from ..errors import DecodeError, DumpInterrupted, NetlinkError, Overrun
from .constants import NLM_F, NLMSG
from .debug import dump_messages
from .errmsg import ErrorMessage, parse_done, parse_error
from .message import Message, iter_messages
from .structs import nlmsghdr, u32
from .types import ReadableBuffer

__all__ = [
    "NetlinkBase",
    "ReplyCollector",
    "AckCollector",
    "Chunk",
    "DebugLog",
    "NOTIFY",
    "STALE",
    "OURS",
    "debug_text",
    "error_from",
    "group_mask",
]

DebugLog: TypeAlias = Callable[[str, ReadableBuffer], None]
"""A debug hook: called with a label (``"recv from portid 0 group 1"``) and the bytes."""

NOTIFY = 0
STALE = 1
OURS = 2

# plain ints on the per-message path (IntFlag arithmetic costs a call per message)
_NLMSG_ERROR = int(NLMSG.ERROR)
_NLMSG_DONE = int(NLMSG.DONE)
_NLMSG_MIN_TYPE = int(NLMSG.MIN_TYPE)
_F_MULTI = int(NLM_F.MULTI)
_F_DUMP_INTR = int(NLM_F.DUMP_INTR)


def group_mask(group: int) -> int:
    """The legacy ``nl_groups`` bit for multicast group ``group`` (1..32)."""
    if not 1 <= group <= 32:
        raise ValueError(f"group {group} outside 1..32: use add_membership() for higher groups")
    return 1 << (group - 1)


def error_from(em: ErrorMessage, op: str, seq: int) -> NetlinkError:
    """Build the :class:`NetlinkError` for a decoded ``NLMSG_ERROR``/``NLMSG_DONE``."""
    return NetlinkError(
        -em.error, op=op, seq=seq, ext_msg=em.msg, ext_offset=em.offs, miss_type=em.miss_type
    )


def _classify(msg: Message, sender: int, group: int, seq: int, portid: int, peer: int) -> int:
    if group:
        return NOTIFY
    if msg.seq == seq and sender == peer and (msg.portid == 0 or portid == 0 or msg.portid == portid):
        return OURS
    if msg.seq == 0 or sender != peer:
        return NOTIFY
    return STALE


class ReplyCollector:
    """Pure state machine for one request's replies (sans I/O).

    Feed it every received message (:meth:`feed`); it answers ``NOTIFY``,
    ``STALE`` or ``OURS`` and sets :attr:`done` when the reply is complete:

    * ``NLMSG_ERROR`` with error 0 (ACK) ends it (kept in :attr:`ack`, extended-ack
      warnings and cookie included); a negative error raises :class:`NetlinkError`.
    * ``NLMSG_DONE`` ends a dump; a negative status raises :class:`NetlinkError`;
      if any message of the dump carried ``NLM_F_DUMP_INTR``,
      :class:`DumpInterrupted` is raised *at* DONE, so the dump is drained and the
      socket is clean.
    * without an ACK requested and outside a dump, a data message without
      ``NLM_F_MULTI`` ends the reply.

    After :attr:`done` (or an exception) the collector is finished: feeding it
    more raises ``RuntimeError``.

    Args:
        seq: the request's sequence number (never 0).
        portid: our port id.
        peer: the port id the request went to (0: the kernel).
        op: operation name used in errors.
        dump: the request is a dump (``NLM_F_DUMP``).
        ack: the request asked for an ACK (``NLM_F_ACK``).
    """

    __slots__ = ("seq", "portid", "peer", "op", "dump", "want_ack", "done", "interrupted",
                 "ack", "count")

    def __init__(
        self, seq: int, portid: int, *, peer: int = 0, op: str = "", dump: bool = False,
        ack: bool = True,
    ) -> None:
        if seq == 0:
            raise ValueError("a request needs a non-zero sequence number")
        self.seq = seq
        self.portid = portid
        self.peer = peer
        self.op = op
        self.dump = dump
        self.want_ack = ack
        self.done = False
        self.interrupted = False
        self.ack: ErrorMessage | None = None
        self.count = 0

    def classify(self, msg: Message, sender: int = 0, group: int = 0) -> int:
        """``NOTIFY``, ``STALE`` or ``OURS`` for ``msg`` (see the module table)."""
        return _classify(msg, sender, group, self.seq, self.portid, self.peer)

    def feed(self, msg: Message, sender: int = 0, group: int = 0) -> int:
        """Process one received message; returns its verdict.

        ``OURS`` with ``msg.type`` >= ``NLMSG_MIN_TYPE`` is a data reply for the
        caller; control messages (ACK, DONE) are consumed here.

        Raises:
            NetlinkError: the kernel reported an error for this request.
            DumpInterrupted: the dump finished but was inconsistent.
            DecodeError: a malformed error/done message.
        """
        if self.done:
            raise RuntimeError("reply already complete")
        mseq = msg.seq
        if group or mseq != self.seq or sender != self.peer or not (
            msg.portid == 0 or self.portid == 0 or msg.portid == self.portid
        ):
            return _classify(msg, sender, group, self.seq, self.portid, self.peer)
        t = msg.type
        flags = msg.flags
        if t >= _NLMSG_MIN_TYPE:
            self.count += 1
            if flags & _F_DUMP_INTR:
                self.interrupted = True
            if not self.dump and not self.want_ack and not flags & _F_MULTI:
                self.done = True
            return OURS
        if t == _NLMSG_ERROR:
            self.done = True
            em = parse_error(msg)
            if em.error:
                raise error_from(em, self.op, self.seq)
            self.ack = em
            return OURS
        if t == _NLMSG_DONE:
            self.done = True
            em = parse_done(msg)
            if em.error:
                raise error_from(em, self.op, self.seq)
            if self.interrupted or flags & _F_DUMP_INTR:
                self.interrupted = True
                raise DumpInterrupted(
                    f"{self.op}: dump seq {self.seq} interrupted (NLM_F_DUMP_INTR): "
                    "the data changed while dumping; restart it"
                )
        return OURS  # NOOP / OVERRUN: nothing to deliver


class AckCollector:
    """Pure state machine collecting one ACK/error per message of a batch.

    Args:
        seqs: sequence numbers that requested an ACK, in send order.
        portid: our port id.
        peer: where the batch went (0: the kernel).

    :meth:`feed` returns the verdict like :meth:`ReplyCollector.feed` (``OURS`` for
    any message carrying one of ``seqs``) but never raises for kernel errors: they
    are kept in :attr:`results` (``seq -> ErrorMessage``).  :attr:`done` turns true
    when every sequence got its ACK or error.
    """

    __slots__ = ("seqs", "portid", "peer", "results", "pending", "done", "extra_errors")

    def __init__(self, seqs: Sequence[int], portid: int, *, peer: int = 0) -> None:
        self.seqs = list(seqs)
        self.portid = portid
        self.peer = peer
        self.results: dict[int, ErrorMessage] = {}
        self.pending = set(self.seqs)
        self.done = not self.pending
        self.extra_errors: list[tuple[int, ErrorMessage]] = []

    def feed(self, msg: Message, sender: int = 0, group: int = 0) -> int:
        """Process one received message; returns ``NOTIFY``, ``STALE`` or ``OURS``."""
        if group:
            return NOTIFY
        if msg.seq in self.pending and sender == self.peer and (
            msg.portid in (0, self.portid) or self.portid == 0
        ):
            if msg.type == NLMSG.ERROR:
                self.results[msg.seq] = parse_error(msg)
                self.pending.discard(msg.seq)
                self.done = not self.pending
            return OURS
        if msg.seq == 0 or sender != self.peer:
            return NOTIFY
        if msg.type == NLMSG.ERROR and msg.seq not in self.results:
            # an error for a message of the batch that did not ask for an ACK
            em = parse_error(msg)
            if em.error:
                self.extra_errors.append((msg.seq, em))
                return OURS
        return STALE


class Chunk:
    """One received datagram: a view of its bytes and where it came from.

    Attributes:
        data: the datagram (a view into the receive buffer; valid until the next receive).
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


def _copy_message(msg: Message) -> Message:
    """A copy of ``msg`` that no longer references the receive buffer."""
    out = next(iter_messages(msg.tobytes()))
    out.group = msg.group
    out.creds = msg.creds
    return out


def debug_text(what: str, data: ReadableBuffer) -> str:
    """The ``NETRING_DEBUG`` rendering of one buffer: a header line and the message table."""
    return f"netring: {what} {len(memoryview(data))} bytes\n{dump_messages(data)}\n"


class NetlinkBase:
    """Request/ack, dump and receive logic over two transport primitives.

    Subclasses implement :meth:`_send_datagram` and :meth:`_recv_chunk` (and
    ``portid``).  Everything else (sequence numbers, reply validation,
    notifications kept aside, error mapping, dump termination and retry, overrun
    accounting) lives here once and is shared by
    :class:`netring.socket.NetlinkSocket` and :class:`netring.testing.FakeSocket`.

    Args:
        debug_log: called with a label and the bytes of every buffer sent and
            received (``None``: no debug output).  The OS edge passes a stderr
            writer when ``NETRING_DEBUG`` is set (:func:`netring.socket.debug_log_from_env`).

    Attributes:
        portid: our port id.
        overruns: ENOBUFS overruns seen so far.
        stale: replies dropped because they answered no pending request.
        pending: notifications received while a request waited (copies),
            delivered first by :meth:`recv` and :meth:`messages`.
        pending_limit: most notifications kept in :attr:`pending`; beyond it the
            oldest are discarded and the next :meth:`recv`/:meth:`messages` raises
            :class:`Overrun` (messages were lost, exactly as with ENOBUFS).
        last_ack: the :class:`~netring.codec.ErrorMessage` of the last ACK
            (extended-ack warning text and cookie included), or ``None``.
        last_sender: sender port id (``sockaddr_nl.nl_pid``, 0 = the kernel) of the
            last datagram received; ``Message.portid`` is only what the sender wrote.
        debug_log: the debug hook (see Args); may be replaced at any time.
    """

    portid: int

    def __init__(self, *, debug_log: DebugLog | None = None) -> None:
        self._seq = itertools.count(1)
        self.overruns = 0
        self.stale = 0
        self.pending: collections.deque[Message] = collections.deque()
        self.last_ack: ErrorMessage | None = None
        self.last_sender = 0
        self.pending_limit = 65536
        self._pending_lost = 0
        self.debug_log = debug_log
        self._hdr = bytearray(16)

    # -- transport primitives (subclasses) --------------------------------------------
    def _send_datagram(self, buffers: Sequence[ReadableBuffer], portid: int, groups: int) -> int:
        raise NotImplementedError

    def _recv_chunk(self, block: bool, timeout: float | None) -> Chunk | None:
        """Receive one datagram; ``None`` when ``block`` is false and nothing is queued.

        Raises ``OSError(ENOBUFS)`` on an overrun (turned into :class:`Overrun` here)
        and ``TimeoutError`` when ``timeout`` expires.
        """
        raise NotImplementedError

    def _kernel_drops(self) -> int | None:
        return None

    def fileno(self) -> int:
        """The file descriptor to poll (``selectors``, asyncio); transports provide it."""
        raise NotImplementedError(f"{type(self).__name__} has no file descriptor")

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
            groups: destination ``nl_groups`` mask (``group_mask(g)``); the kernel
                delivers to the lowest set group.  Sending to a group or to another
                process needs ``NETLINK_USERSOCK`` or CAP_NET_ADMIN.  (The kernel
                also unicasts a group message to ``portid``; with ``portid=0`` on
                ``NETLINK_USERSOCK``, which has no kernel socket, the resulting
                ``ECONNREFUSED`` is ignored because the multicast went out.)

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
        return self._send_datagram(buffers, portid, groups)

    def _send_request(
        self, type_: int, body: ReadableBuffer, flags: int, seq: int, peer: int
    ) -> None:
        body_len = len(memoryview(body))
        nlmsghdr.pack_into(self._hdr, 0, 16 + body_len, type_, flags | NLM_F.REQUEST, seq, 0)
        self._send([self._hdr, body] if body_len else [self._hdr], peer, 0)

    # -- receiving ------------------------------------------------------------------------
    def _check_pending_lost(self) -> None:
        if self._pending_lost:
            self._pending_lost = 0
            self.overruns += 1
            raise Overrun(self.overruns, None)

    def _recv(self, block: bool, timeout: float | None) -> Chunk | None:
        try:
            chunk = self._recv_chunk(block, timeout)
        except OSError as exc:
            if exc.errno == _errno.ENOBUFS:
                self.overruns += 1
                raise Overrun(self.overruns, self._kernel_drops()) from None
            raise
        if chunk is not None:
            self.last_sender = chunk.sender
            log = self.debug_log
            if log is not None:
                log(f"recv from portid {chunk.sender} group {chunk.group}", chunk.data)
        return chunk

    @staticmethod
    def _chunk_messages(chunk: Chunk) -> Iterator[Message]:
        group = chunk.group
        creds = chunk.creds
        for msg in iter_messages(chunk.data):
            msg.group = group
            msg.creds = creds
            yield msg

    def recv(self, *, block: bool = True, timeout: float | None = None) -> list[Message]:
        """Receive the messages of one datagram (all of them, unfiltered).

        Notifications kept aside while a request waited come first (and alone).

        Args:
            block: wait for a datagram; with ``False`` return ``[]`` when none is queued.
            timeout: seconds to wait at most (``TimeoutError`` after).

        Returns:
            Message views valid until the next receive (kept notifications are copies).

        Raises:
            Overrun: the kernel dropped messages (ENOBUFS); the socket stays usable.
        """
        self._check_pending_lost()
        if self.pending:
            out = list(self.pending)
            self.pending.clear()
            return out
        chunk = self._recv(block, timeout)
        if chunk is None:
            return []
        return list(self._chunk_messages(chunk))

    def messages(self, *, block: bool = True, timeout: float | None = None) -> Iterator[Message]:
        """Iterate received messages: kept notifications first, then the socket.

        Runs forever when ``block`` is true; with ``block=False`` it stops when
        nothing is queued.  Views are valid until the next iteration step.
        :class:`Overrun` propagates (the iterator ends); call again to continue.
        """
        while True:
            self._check_pending_lost()
            while self.pending:
                yield self.pending.popleft()
            chunk = self._recv(block, timeout)
            if chunk is None:
                return
            yield from self._chunk_messages(chunk)

    def _keep(self, msg: Message) -> None:
        if len(self.pending) >= self.pending_limit:
            self.pending.popleft()
            self._pending_lost += 1
        self.pending.append(_copy_message(msg))

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

        The 16-byte ``nlmsghdr`` is written here (next sequence number, never 0;
        ``NLM_F_REQUEST`` always set) and sent together with ``body`` in one
        ``sendmsg`` (two iovecs, no copy).  Replies are validated: only messages
        with our sequence number from ``peer`` count; notifications arriving
        meanwhile are kept in :attr:`pending`; stale replies are dropped.

        Args:
            type_: ``nlmsg_type`` (e.g. ``RTM_NEWLINK``).
            body: the family header plus attributes, prebuilt (e.g. with a
                :class:`~netring.codec.Builder` ``put_struct``/``attr_*`` into a
                buffer); ``b""`` for none.
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
        col = self._start(type_, body, flags, op or f"type {type_}", peer, dump=False)
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

        For messages made with :class:`~netring.codec.Builder`::

            b.begin(RTM_NEWLINK, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE, seq=sock.next_seq())
            ...; b.end()
            sock.request_raw(b.view())

        A ``nlmsg_seq`` of 0 is replaced by :meth:`next_seq` in place (the buffer
        must then be writable).  Same answer rules and return value as
        :meth:`request`; for many messages in one datagram use :meth:`request_many`.

        Raises:
            ValueError: the buffer does not hold exactly one message, or seq is 0 in
                a read-only buffer.
        """
        msgs = list(iter_messages(message))
        if len(msgs) != 1:
            raise ValueError(f"request_raw needs exactly one message, got {len(msgs)}")
        m = msgs[0]
        seq = m.seq
        if seq == 0:
            mv = memoryview(message)
            if mv.readonly:
                raise ValueError("nlmsg_seq is 0 and the buffer is read-only: set a seq")
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
            chunk = self._recv(True, timeout)
            assert chunk is not None
            out.extend(_copy_message(m) for m in self._absorb(col, chunk))
        self.last_ack = col.ack
        return out

    def _absorb(
        self, col: ReplyCollector, chunk: Chunk, msgs: Iterator[Message] | None = None
    ) -> Iterator[Message]:
        """Feed a datagram to ``col``; yield our data replies, keep notifications.

        ``msgs`` is the datagram's message iterator when the caller needs to go on
        with it after stopping early (see :meth:`_dump_stream`).
        """
        for msg in self._chunk_messages(chunk) if msgs is None else msgs:
            if col.done:
                self._route_after(col, msg, chunk)
                continue
            v = col.feed(msg, chunk.sender, chunk.group)
            if v == OURS:
                if msg.type >= _NLMSG_MIN_TYPE:
                    yield msg
            elif v == NOTIFY:
                self._keep(msg)
            else:
                self.stale += 1

    def _start(
        self, type_: int, body: ReadableBuffer, flags: int, op: str, peer: int, dump: bool
    ) -> ReplyCollector:
        """Send a request with a fresh seq; return the collector for its answer."""
        seq = self.next_seq()
        col = ReplyCollector(seq, self.portid, peer=peer, op=op, dump=dump,
                             ack=bool(flags & NLM_F.ACK))
        self._send_request(type_, body, flags, seq, peer)
        return col

    def _route_after(self, col: ReplyCollector, msg: Message, chunk: Chunk) -> None:
        """A message after the reply completed, in the same datagram."""
        if col.classify(msg, chunk.sender, chunk.group) == NOTIFY:
            self._keep(msg)
        else:
            self.stale += 1

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
                socket is clean) instead of returning it.

        Returns:
            One :class:`~netring.codec.ErrorMessage` per ACK-requesting message, in
            send order (``error == 0`` for success).

        Raises:
            NetlinkError: with ``check``, the first failed message (its seq).
            ValueError: a message asking for an ACK has seq 0 or a duplicate seq.
        """
        bufs: Sequence[ReadableBuffer]
        bufs = list(data) if isinstance(data, list | tuple) else [data]  # type: ignore[list-item]
        seqs: list[int] = []
        for b in bufs:
            for m in iter_messages(b):
                if m.flags & NLM_F.ACK:
                    if m.seq == 0 or m.seq in seqs:
                        raise ValueError(f"message at offset {m.offset}: ACK needs a unique non-zero seq, got {m.seq}")
                    seqs.append(m.seq)
        col = AckCollector(seqs, self.portid, peer=peer)
        self._send(bufs, peer, 0)
        while not col.done:
            chunk = self._recv(True, timeout)
            assert chunk is not None
            for msg in self._chunk_messages(chunk):
                v = col.feed(msg, chunk.sender, chunk.group)
                if v == NOTIFY:
                    self._keep(msg)
                elif v == STALE:
                    self.stale += 1
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

        Handles ``NLM_F_MULTI`` chunks up to ``NLMSG_DONE`` (whose negative status
        raises :class:`NetlinkError`) and ``NLM_F_DUMP_INTR``.

        Without ``retry`` the messages are streamed as zero-copy views, **valid
        until the next iteration step**; if the kernel flagged the dump as
        inconsistent, :class:`DumpInterrupted` is raised after the last message
        (at DONE, with the socket drained).  With ``retry=N`` each attempt is
        buffered (copies of the received chunks) and only a consistent dump is
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
            timeout: seconds to wait for each chunk at most.
        """
        flags |= NLM_F.REQUEST | NLM_F.DUMP
        name = op or f"dump type {type_}"
        if retry <= 0:
            yield from self._dump_stream(type_, body, flags, name, peer, timeout)
            return
        attempt = 0
        while True:
            kept: list[Message] = []
            try:
                for msg in self._dump_stream(type_, body, flags, name, peer, timeout, copy=True):
                    kept.append(msg)
            except DumpInterrupted:
                attempt += 1
                if attempt > retry:
                    raise DumpInterrupted(
                        f"{name}: dump still inconsistent after {retry} retries"
                    ) from None
                continue
            yield from kept
            return

    def _dump_stream(
        self, type_: int, body: ReadableBuffer, flags: int, name: str, peer: int,
        timeout: float | None, copy: bool = False,
    ) -> Iterator[Message]:
        col = self._start(type_, body, flags, name, peer, dump=True)
        chunk: Chunk | None = None
        rest: Iterator[Message] = iter(())
        try:
            while not col.done:
                chunk = self._recv(True, timeout)
                assert chunk is not None
                if copy:
                    chunk.data = memoryview(chunk.data.tobytes())
                rest = self._chunk_messages(chunk)
                yield from self._absorb(col, chunk, rest)
        except GeneratorExit:
            # the caller stopped early: drain so the kernel finishes this dump
            self._drain(col, chunk, rest, timeout)
            raise

    def _finish_abandoned(
        self, col: ReplyCollector, it: Iterator[Message], timeout: float | None
    ) -> None:
        """Finish a reply whose consumer left while ``it`` (an :meth:`_absorb`) was open."""
        try:
            for _ in it:
                pass
        except (NetlinkError, DumpInterrupted, DecodeError):
            return
        self._drain(col, None, iter(()), timeout)

    def _drain(
        self, col: ReplyCollector, chunk: Chunk | None, rest: Iterator[Message],
        timeout: float | None,
    ) -> None:
        """Consume the rest of an abandoned reply (kept notifications survive)."""
        while True:
            if chunk is not None:
                for msg in rest:
                    if col.done:
                        self._route_after(col, msg, chunk)
                        continue
                    try:
                        v = col.feed(msg, chunk.sender, chunk.group)
                    except (NetlinkError, DumpInterrupted, DecodeError):
                        continue
                    if v == NOTIFY:
                        self._keep(msg)
            if col.done:
                return
            try:
                chunk = self._recv(True, timeout)
            except (OSError, Overrun, DecodeError):
                return
            if chunk is None:
                return
            rest = self._chunk_messages(chunk)
