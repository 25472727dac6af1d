"""The netlink socket edge: bind, groups, options, request/ack, dumps, batches, netns.

Two layers, in the style of mdlayher/netlink's ``Conn`` over a ``Socket``:

* :class:`ReplyCollector` / :class:`AckCollector` are *pure* state machines fed
  one received message at a time.  They decide whether a message answers our
  request (sequence number, port id, sender, multicast group), turn
  ``NLMSG_ERROR``/``NLMSG_DONE`` into :class:`~netring.errors.NetlinkError`, and
  track ``NLM_F_MULTI``/``NLM_F_DUMP_INTR``.  They never touch the OS.
* :class:`NetlinkBase` holds the request/dump/receive API on top of two transport
  primitives (send one datagram, receive one datagram).  :class:`NetlinkSocket`
  implements them with a real ``AF_NETLINK`` socket; the public fake in
  :mod:`netring.testing` implements them with a handler function, so both share
  every line of protocol logic.

How a message is classified while a request (``seq`` sent to ``peer``) waits::

    received message                                   verdict
    ------------------------------------------------   -----------------------------
    multicast (group != 0)                              NOTIFY  kept, delivered later
    seq == ours, sender == peer, portid ours-or-0       OURS    data / ACK / error / DONE
    seq == 0, or sent by someone other than peer        NOTIFY  kept, delivered later
    unicast from peer with another seq                  STALE   dropped, counted (.stale)

Zero copy and lifetimes: every receive goes into one buffer allocated when the
socket is made (``bufsize``, 64 KiB by default; the kernel sizes dump skbs to at
most 32 KiB).  Messages yielded by :meth:`NetlinkBase.dump`, :meth:`NetlinkBase.recv`
and :meth:`NetlinkBase.messages` are :class:`~netring.codec.Message` views into
that buffer: **valid until the next receive on the socket** (the next iteration
step, request or recv).  Call ``msg.tobytes()`` to keep one.  Messages returned by
:meth:`NetlinkBase.request` and kept notifications are copies.

Overruns: ENOBUFS on receive (the kernel dropped messages for this socket because
its receive buffer was full) raises :class:`~netring.errors.Overrun` carrying the
running count (``.overruns``) and the kernel drop counter.  The socket keeps
working: call recv/messages again (and re-synchronise state, e.g. re-dump).

Debugging: with ``NETRING_DEBUG=1`` in the environment every buffer sent and
received is written to stderr with :func:`netring.codec.dump_messages`.

API (``NetlinkBase``, shared by ``NetlinkSocket`` and ``netring.testing.FakeSocket``)::

    next_seq() -> int
    request(type_, body=b"", flags=REQUEST|ACK, *, op=None, peer=0, timeout=None) -> list[Message]
    request_raw(message, *, op=None, peer=0, timeout=None) -> list[Message]
    request_many(data_or_buffers, *, check=True, op="batch", peer=0, timeout=None) -> list[ErrorMessage]
    dump(type_, body=b"", flags=REQUEST|DUMP, *, op=None, retry=0, peer=0, timeout=None) -> Iterator[Message]
    recv(*, block=True, timeout=None) -> list[Message]
    messages(*, block=True, timeout=None) -> Iterator[Message]
    send(data) / sendto(data, portid=0, groups=0) / sendmsg(buffers, portid=0, groups=0) -> int
    .portid .overruns .stale .pending .pending_limit .last_ack .last_sender

``NetlinkSocket`` adds: ``fileno() setblocking() getblocking() close() closed``,
``add_membership(g) drop_membership(g) memberships()``, ``features feature_errors
require(*names)``, ``rcvbuf sndbuf rcvbuf_forced drops()``, ``setsockopt getsockopt
socket``, ``recvmmsg(*, block=True, n=None) sendmmsg(buffers, portid=0, groups=0)``.
"""

from __future__ import annotations

import collections
import errno as _errno
import itertools
import os
import select
import socket as _socket
import struct
import sys
from collections.abc import Iterator, Sequence

from . import _sys
from . import netns as _netns
from .codec import NLM_F, NLMSG, Message, dump_messages, iter_messages, parse_done, parse_error
from .codec.constants import (
    NETLINK_ADD_MEMBERSHIP,
    NETLINK_CAP_ACK,
    NETLINK_DROP_MEMBERSHIP,
    NETLINK_EXT_ACK,
    NETLINK_GET_STRICT_CHK,
    NETLINK_LIST_MEMBERSHIPS,
    NETLINK_NO_ENOBUFS,
    NETLINK_PKTINFO,
    SOL_NETLINK,
)
from .codec.errmsg import ErrorMessage
from .codec.structs import nlmsghdr
from .codec.types import ReadableBuffer
from .errors import (
    DecodeError,
    DumpInterrupted,
    NetlinkError,
    NotSupportedError,
    Overrun,
)

__all__ = [
    "NetlinkBase",
    "NetlinkSocket",
    "ReplyCollector",
    "AckCollector",
    "Chunk",
    "NOTIFY",
    "STALE",
    "OURS",
    "error_from",
    "group_mask",
    "net_core_rmem_max",
    "DEFAULT_BUFSIZE",
]

DEFAULT_BUFSIZE = 65536
_SO_SNDBUFFORCE = 32  # <asm-generic/socket.h>
_SO_RCVBUFFORCE = 33
_SO_MEMINFO = 55
_SK_MEMINFO_DROPS = 8  # <linux/sock_diag.h> index of sk_drops in SO_MEMINFO
_SCM_CREDENTIALS = 2

# struct ucred { pid_t pid; uid_t uid; gid_t gid; }   <linux/socket.h>
_ucred = struct.Struct("=iII")
assert _ucred.size == 12
_u32 = struct.Struct("=I")

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


def net_core_rmem_max() -> int | None:
    """``net.core.rmem_max``: the cap ``SO_RCVBUF`` (without FORCE) is clamped to."""
    try:
        with open("/proc/sys/net/core/rmem_max") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


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


def _debug_enabled() -> bool:
    return os.environ.get("NETRING_DEBUG", "") not in ("", "0")


def _debug_log(what: str, data: ReadableBuffer) -> None:
    sys.stderr.write(f"netring: {what} {len(memoryview(data))} bytes\n")
    sys.stderr.write(dump_messages(data) + "\n")
    sys.stderr.flush()


class NetlinkBase:
    """Request/ack, dump and receive logic over two transport primitives.

    Subclasses implement :meth:`_send_datagram` and :meth:`_recv_chunk` (and
    ``portid``).  Everything else (sequence numbers, reply validation,
    notifications kept aside, error mapping, dump termination and retry, overrun
    accounting) lives here once and is shared by :class:`NetlinkSocket` and
    :class:`netring.testing.FakeSocket`.

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
    """

    portid: int

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self.overruns = 0
        self.stale = 0
        self.pending: collections.deque[Message] = collections.deque()
        self.last_ack: ErrorMessage | None = None
        self.last_sender = 0
        self.pending_limit = 65536
        self._pending_lost = 0
        self._debug = _debug_enabled()
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
        if self._debug:
            _debug_log(f"send to portid {portid} groups {groups:#x}", b"".join(bytes(b) for b in buffers))
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
            if self._debug:
                _debug_log(f"recv from portid {chunk.sender} group {chunk.group}", chunk.data)
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
            _u32.pack_into(mv.cast("B") if mv.format != "B" else mv, 8, seq)
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

    def _absorb(self, col: ReplyCollector, chunk: Chunk) -> Iterator[Message]:
        """Feed a datagram to ``col``; yield our data replies, keep notifications."""
        for msg in self._chunk_messages(chunk):
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
                for msg in rest:
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


def _list_memberships_raw(sock: _socket.socket) -> bytes:
    size = 128
    while True:
        raw = sock.getsockopt(SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, size)
        if len(raw) < size:
            return raw
        size *= 4
        if size > 1 << 16:
            return raw


class NetlinkSocket(NetlinkBase):
    """A netlink socket: bind, groups, options, request/ack, dumps, batches.

    Args:
        protocol: netlink protocol (``NETLINK.ROUTE``, ``NETLINK.USERSOCK``, ...).
        groups: legacy 32-bit multicast mask joined at bind (bit ``g-1`` = group ``g``).
        portid: explicit port id to bind (``None``/0: the kernel picks, "autobind").
        netns: namespace to open the socket in (name, ``/run/netns/NAME``,
            ``/proc/PID/ns/net`` or an open namespace fd); the calling thread never
            leaves its own namespace (see :mod:`netring.netns`).
        rcvbuf: receive buffer size requested with ``SO_RCVBUFFORCE`` (falls back to
            ``SO_RCVBUF``, capped by ``net.core.rmem_max``); the effective size the
            kernel applied (it doubles the request) is :attr:`rcvbuf`.
        sndbuf: send buffer size (``SO_SNDBUFFORCE``, falling back to ``SO_SNDBUF``).
        ext_ack: enable ``NETLINK_EXT_ACK`` (error text and offset in errors).
        cap_ack: enable ``NETLINK_CAP_ACK`` (errors echo only the request header).
        strict_check: enable ``NETLINK_GET_STRICT_CHK`` (strict dump request checks).
        pktinfo: enable ``NETLINK_PKTINFO``: ``Message.group`` on every message.
        passcred: enable ``SO_PASSCRED``: ``Message.creds`` = sender ``(pid, uid, gid)``.
        no_enobufs: set ``NETLINK_NO_ENOBUFS`` (drops are silent; no :class:`Overrun`).
        bufsize: size of the one receive buffer (>= 32 KiB recommended).
        batch: slots for :meth:`recvmmsg` (each ``batch_bufsize`` bytes), made on first use.
        batch_bufsize: bytes per :meth:`recvmmsg` slot.

    Attributes:
        protocol: the netlink protocol.
        portid: the port id the kernel assigned (or the one requested).
        features: which of ``ext_ack``, ``cap_ack``, ``strict_check`` (and the
            requested ``pktinfo``, ``passcred``, ``no_enobufs``) the kernel
            accepted: ``{"ext_ack": True, ...}``.  :meth:`require` turns a missing
            one into :class:`NotSupportedError`.
        feature_errors: for each refused option, the errno name (``"ENOPROTOOPT"``).
        rcvbuf_forced: ``SO_RCVBUFFORCE`` was accepted (else ``SO_RCVBUF`` was used).
        netns: the namespace given (resolved path or fd), ``None`` for the caller's.

    Not thread-safe: one socket per thread, or a lock around every call.
    """

    def __init__(
        self,
        protocol: int,
        *,
        groups: int = 0,
        portid: int | None = None,
        netns: str | os.PathLike[str] | int | None = None,
        rcvbuf: int | None = None,
        sndbuf: int | None = None,
        ext_ack: bool = True,
        cap_ack: bool = True,
        strict_check: bool = False,
        pktinfo: bool = False,
        passcred: bool = False,
        no_enobufs: bool = False,
        bufsize: int = DEFAULT_BUFSIZE,
        batch: int = 64,
        batch_bufsize: int = 8192,
    ) -> None:
        super().__init__()
        self.protocol = int(protocol)
        self._closed = True
        self._sock = _netns.socket_in(
            netns, _socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, self.protocol
        )
        self._closed = False
        self.netns: str | int | None = (
            netns if netns is None or isinstance(netns, int) else _netns.netns_path(netns)
        )
        self.features: dict[str, bool] = {}
        self.feature_errors: dict[str, str] = {}
        self.rcvbuf_forced = False
        self._pktinfo = pktinfo
        self._passcred = passcred
        self._batch_n = batch
        self._batch_bufsize = batch_bufsize
        self._batch: _sys.MMsgBatch | None = None
        self._batch_bufs: list[bytearray] = []
        try:
            if rcvbuf is not None:
                self.rcvbuf_forced = self._set_size(_SO_RCVBUFFORCE, _socket.SO_RCVBUF, rcvbuf)
            if sndbuf is not None:
                self._set_size(_SO_SNDBUFFORCE, _socket.SO_SNDBUF, sndbuf)
            for name, want, opt in (
                ("ext_ack", ext_ack, NETLINK_EXT_ACK),
                ("cap_ack", cap_ack, NETLINK_CAP_ACK),
                ("strict_check", strict_check, NETLINK_GET_STRICT_CHK),
            ):
                if want:
                    self._try_opt(name, SOL_NETLINK, opt)
            for name, want, level, opt in (
                ("pktinfo", pktinfo, SOL_NETLINK, NETLINK_PKTINFO),
                ("passcred", passcred, _socket.SOL_SOCKET, _socket.SO_PASSCRED),
                ("no_enobufs", no_enobufs, SOL_NETLINK, NETLINK_NO_ENOBUFS),
            ):
                if want and not self._try_opt(name, level, opt):
                    raise NotSupportedError(
                        f"{name}: the kernel refused the socket option ({self.feature_errors[name]})"
                    )
            self._sock.bind((portid or 0, groups))
            self.portid = int(self._sock.getsockname()[0])
        except BaseException:
            self.close()
            raise
        self._rbuf = bytearray(bufsize)
        self._rview = memoryview(self._rbuf)
        self._ancsize = (
            (_socket.CMSG_SPACE(4) if pktinfo else 0) + (_socket.CMSG_SPACE(12) if passcred else 0)
        )

    # -- options ----------------------------------------------------------------------------
    def _try_opt(self, name: str, level: int, opt: int, value: int = 1) -> bool:
        try:
            self._sock.setsockopt(level, opt, value)
        except OSError as exc:
            self.features[name] = False
            self.feature_errors[name] = _errno.errorcode.get(exc.errno or 0, str(exc.errno))
            return False
        self.features[name] = True
        return True

    def _set_size(self, force_opt: int, opt: int, size: int) -> bool:
        try:
            self._sock.setsockopt(_socket.SOL_SOCKET, force_opt, size)
            return True
        except PermissionError:
            self._sock.setsockopt(_socket.SOL_SOCKET, opt, size)
            return False

    def require(self, *names: str) -> None:
        """Raise :class:`NotSupportedError` unless every named feature was accepted."""
        for n in names:
            if not self.features.get(n):
                why = self.feature_errors.get(n, "not requested")
                raise NotSupportedError(f"netlink socket option {n} unavailable: {why}")

    @property
    def rcvbuf(self) -> int:
        """Effective receive buffer size (``getsockopt(SO_RCVBUF)``, kernel-doubled)."""
        return int(self._sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF))

    @rcvbuf.setter
    def rcvbuf(self, size: int) -> None:
        self.rcvbuf_forced = self._set_size(_SO_RCVBUFFORCE, _socket.SO_RCVBUF, size)

    @property
    def sndbuf(self) -> int:
        """Effective send buffer size (``getsockopt(SO_SNDBUF)``)."""
        return int(self._sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_SNDBUF))

    @sndbuf.setter
    def sndbuf(self, size: int) -> None:
        self._set_size(_SO_SNDBUFFORCE, _socket.SO_SNDBUF, size)

    def setsockopt(self, level: int, opt: int, value: int | bytes) -> None:
        """Raw ``setsockopt`` on the underlying socket."""
        self._sock.setsockopt(level, opt, value)

    def getsockopt(self, level: int, opt: int, buflen: int = 0) -> int | bytes:
        """Raw ``getsockopt`` on the underlying socket."""
        if buflen:
            return self._sock.getsockopt(level, opt, buflen)
        return self._sock.getsockopt(level, opt)

    def _kernel_drops(self) -> int | None:
        return self.drops()

    def drops(self) -> int | None:
        """The kernel's drop counter for this socket (``SO_MEMINFO``), or ``None``."""
        try:
            raw = self._sock.getsockopt(_socket.SOL_SOCKET, _SO_MEMINFO, 4 * 16)
        except OSError:
            return None
        if len(raw) < 4 * (_SK_MEMINFO_DROPS + 1):
            return None
        return int(_u32.unpack_from(raw, 4 * _SK_MEMINFO_DROPS)[0])

    # -- groups -----------------------------------------------------------------------------
    def add_membership(self, group: int) -> None:
        """Join multicast group ``group`` (any number, ``NETLINK_ADD_MEMBERSHIP``)."""
        self._sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)

    def drop_membership(self, group: int) -> None:
        """Leave multicast group ``group`` (``NETLINK_DROP_MEMBERSHIP``)."""
        self._sock.setsockopt(SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, group)

    def memberships(self) -> list[int]:
        """The groups this socket is in (``NETLINK_LIST_MEMBERSHIPS``), ascending."""
        raw = _list_memberships_raw(self._sock)
        out: list[int] = []
        for word_i in range(len(raw) // 4):
            word = int(_u32.unpack_from(raw, word_i * 4)[0])
            bit = 0
            while word:
                if word & 1:
                    out.append(word_i * 32 + bit + 1)
                word >>= 1
                bit += 1
        return out

    # -- plumbing -----------------------------------------------------------------------------
    def fileno(self) -> int:
        """The socket's file descriptor (for ``selectors``/``poll``/asyncio)."""
        return self._sock.fileno()

    def setblocking(self, flag: bool) -> None:
        """Blocking (default) or non-blocking mode.

        In non-blocking mode :meth:`recv`/:meth:`messages` with ``block=False`` return
        what is queued; :meth:`request`/:meth:`dump` still wait (with ``poll``) up to
        their ``timeout``.
        """
        self._sock.setblocking(flag)

    def getblocking(self) -> bool:
        """True when the socket is in blocking mode."""
        return self._sock.getblocking()

    @property
    def socket(self) -> _socket.socket:
        """The underlying :class:`socket.socket` (advanced use)."""
        return self._sock

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self._batch is not None:
            self._batch.close()
            self._batch = None
        if not self._closed:
            self._closed = True
            self._sock.close()

    def __enter__(self) -> NetlinkSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"portid={self.portid}"
        return f"<NetlinkSocket protocol={self.protocol} {state}>"

    # -- transport --------------------------------------------------------------------------
    def _send_datagram(self, buffers: Sequence[ReadableBuffer], portid: int, groups: int) -> int:
        try:
            return self._sock.sendmsg(buffers, (), 0, (portid, groups))
        except ConnectionRefusedError:
            # netlink_sendmsg() broadcasts to the group first, then also unicasts to
            # port id 0; a protocol with no kernel socket (NETLINK_USERSOCK) refuses
            # that second part although the multicast was delivered.
            if groups and portid == 0:
                return sum(len(memoryview(b)) for b in buffers)
            raise

    def _wait(self, timeout: float | None) -> None:
        p = select.poll()
        p.register(self._sock.fileno(), select.POLLIN | select.POLLERR)
        ms = None if timeout is None else max(0, int(timeout * 1000))
        if not p.poll(ms):
            raise TimeoutError(f"netlink socket: nothing received within {timeout} s")

    def _recv_chunk(self, block: bool, timeout: float | None) -> Chunk | None:
        flags = 0 if (block and timeout is None) else _sys.MSG_DONTWAIT
        while True:
            try:
                n, anc, mflags, addr = self._sock.recvmsg_into([self._rview], self._ancsize, flags)
            except BlockingIOError:
                if not block:
                    return None
                self._wait(timeout)
                continue
            break
        if mflags & _sys.MSG_TRUNC:
            raise DecodeError(
                f"datagram truncated by the kernel (MSG_TRUNC): larger than bufsize {len(self._rbuf)}",
                0,
            )
        sender, groups = (int(addr[0]), int(addr[1])) if addr else (0, 0)
        group = 0
        creds = None
        for level, ctype, data in anc:
            if level == SOL_NETLINK and ctype == NETLINK_PKTINFO and len(data) >= 4:
                group = int(_u32.unpack_from(data)[0])
            elif level == _socket.SOL_SOCKET and ctype == _SCM_CREDENTIALS and len(data) >= 12:
                pid, uid, gid = _ucred.unpack_from(data)
                creds = (int(pid), int(uid), int(gid))
        if not group and groups:
            # without NETLINK_PKTINFO the group is only known for groups 1..32
            group = groups.bit_length()
        return Chunk(self._rview[:n], sender, group, creds)

    # -- batched I/O ---------------------------------------------------------------------------
    def recvmmsg(self, *, block: bool = True, n: int | None = None) -> list[Message]:
        """Receive up to ``n`` datagrams with one ``recvmmsg`` into preallocated slots.

        Returns the messages of every datagram received (views into the slots,
        valid until the next :meth:`recvmmsg`), with ``group``/``creds`` set when
        ``pktinfo``/``passcred`` are on.  ``[]`` when ``block`` is false and nothing
        is queued.

        Raises:
            Overrun: ENOBUFS (counted in :attr:`overruns`).
            DecodeError: a datagram was larger than ``batch_bufsize``.
        """
        if self._batch is None:
            self._batch_bufs = [bytearray(self._batch_bufsize) for _ in range(self._batch_n)]
            self._batch = _sys.MMsgBatch(self._batch_bufs, name=True, control=64)
        b = self._batch
        flags = _sys.MSG_WAITFORONE | (0 if block else _sys.MSG_DONTWAIT)
        try:
            got = b.recv(self._sock.fileno(), flags, n)
        except OSError as exc:
            if exc.errno == _errno.ENOBUFS:
                self.overruns += 1
                raise Overrun(self.overruns, self._kernel_drops()) from None
            raise
        out: list[Message] = []
        for i in range(got):
            if b.truncated(i):
                raise DecodeError(
                    f"datagram {i} truncated (MSG_TRUNC): larger than batch_bufsize "
                    f"{self._batch_bufsize}", 0,
                )
            view = b.view(i)
            if self._debug:
                _debug_log(f"recvmmsg[{i}] from portid {b.portid(i)}", view)
            group = b.group(i) if self._pktinfo else 0
            if not group:
                group = b.groups(i).bit_length()
            creds = b.creds(i) if self._passcred else None
            out.extend(self._chunk_messages(Chunk(view, b.portid(i), group, creds)))
        return out

    def sendmmsg(
        self, buffers: Sequence[ReadableBuffer], portid: int = 0, groups: int = 0
    ) -> int:
        """Send each buffer as its own datagram with one ``sendmmsg``; returns datagrams sent."""
        if self._debug:
            for buf in buffers:
                _debug_log(f"sendmmsg to portid {portid}", buf)
        return _sys.sendmmsg(self._sock.fileno(), buffers, portid, groups)
