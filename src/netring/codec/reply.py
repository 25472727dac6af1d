"""The reply rule and the per-request state machines, sans I/O.

Every netlink exchange in netring (socket, fake, asyncio, rings, subsystem dump
readers) decides "is this message ours?" with :func:`classify` and finishes a
request with :class:`ReplyCollector` or :class:`AckCollector`.  Nothing here
receives or sends: a driver (:class:`netring.conn.Connection`) feeds received
messages in, one at a time, and acts on the verdicts.

How a message is classified while a request (``seq`` sent to ``peer``) waits::

    received message                                   verdict
    ------------------------------------------------   -----------------------------
    multicast (group != 0)                              NOTIFY  kept, delivered later
    seq == ours, sender == peer, portid ours-or-0       OURS    data / ACK / error / DONE
    seq == 0, or sent by someone other than peer        NOTIFY  kept, delivered later
    unicast from peer with another seq                  STALE   dropped, counted

This is the rule of libmnl's ``mnl_cb_run`` and mdlayher/netlink's ``Validate``
(sequence numbers equal; port ids equal unless either side is 0), plus the
sender and group checks a socket that also receives notifications needs.

What ends a reply (:meth:`ReplyCollector.feed`)::

    NLMSG_ERROR error == 0      ACK: done, kept in .ack (ext-ack warning, cookie)
    NLMSG_ERROR error <  0      NetlinkError(errno, op, seq, ext-ack text/offset)
    NLMSG_DONE  status == 0     end of a dump; DumpInterrupted if any message of it
                                carried NLM_F_DUMP_INTR (raised at DONE: drained)
    NLMSG_DONE  status <  0     NetlinkError
    data without NLM_F_MULTI    end of a reply to a request without NLM_F_ACK
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import DumpInterrupted, EncodeError, NetlinkError
from .constants import NLM_F, NLMSG
from .errmsg import ErrorMessage, parse_done, parse_error
from .message import Message

__all__ = [
    "NOTIFY",
    "STALE",
    "OURS",
    "classify",
    "error_from",
    "ReplyCollector",
    "AckCollector",
]

NOTIFY = 0
"""Verdict: an unsolicited message (multicast, seq 0, or another sender): keep it."""
STALE = 1
"""Verdict: a unicast reply from our peer to some other (earlier) request: drop, count."""
OURS = 2
"""Verdict: part of the answer to the pending request."""

# plain ints on the per-message path (IntFlag arithmetic costs a call per message)
_NLMSG_ERROR = int(NLMSG.ERROR)
_NLMSG_DONE = int(NLMSG.DONE)
_NLMSG_MIN_TYPE = int(NLMSG.MIN_TYPE)
_F_MULTI = int(NLM_F.MULTI)
_F_DUMP_INTR = int(NLM_F.DUMP_INTR)


def classify(
    msg_seq: int, msg_portid: int, sender: int, group: int, seq: int, portid: int, peer: int
) -> int:
    """The verdict (``NOTIFY``, ``STALE`` or ``OURS``) for one received message.

    Args:
        msg_seq, msg_portid: the message's ``nlmsg_seq`` and ``nlmsg_pid``.
        sender: the datagram's source port id (``sockaddr_nl.nl_pid``; 0: the kernel).
        group: the multicast group it was delivered to (0: unicast).
        seq: the pending request's sequence number.
        portid: our port id.
        peer: the port id the request went to (0: the kernel).
    """
    if group:
        return NOTIFY
    if msg_seq == seq and sender == peer and (msg_portid == 0 or portid == 0 or msg_portid == portid):
        return OURS
    if msg_seq == 0 or sender != peer:
        return NOTIFY
    return STALE


def error_from(em: ErrorMessage, op: str, seq: int) -> NetlinkError:
    """The :class:`NetlinkError` for a decoded ``NLMSG_ERROR``/``NLMSG_DONE``."""
    return NetlinkError(
        -em.error, op=op, seq=seq, ext_msg=em.msg, ext_offset=em.offs, miss_type=em.miss_type
    )


class ReplyCollector:
    """The state machine of one request's answer (sans I/O).

    Feed it every received message (:meth:`feed`); it answers ``NOTIFY``,
    ``STALE`` or ``OURS`` and sets :attr:`done` when the answer is complete (see
    the module table).  After :attr:`done` (or an exception) it is finished:
    feeding it more raises ``RuntimeError``.

    Args:
        seq: the request's sequence number (never 0).
        portid: our port id.
        peer: the port id the request went to (0: the kernel).
        op: operation name used in errors.
        dump: the request is a dump (``NLM_F_DUMP``).
        ack: the request asked for an ACK (``NLM_F_ACK``).

    Attributes:
        done: the answer is complete.
        interrupted: some message of the dump carried ``NLM_F_DUMP_INTR``.
        ack: the ACK's :class:`~netring.codec.ErrorMessage` (``None`` until then).
        count: data messages that were ours.
    """

    __slots__ = ("seq", "portid", "peer", "op", "dump", "want_ack", "done", "interrupted",
                 "ack", "count")

    def __init__(
        self, seq: int, portid: int, *, peer: int = 0, op: str = "", dump: bool = False,
        ack: bool = True,
    ) -> None:
        if seq == 0:
            raise EncodeError("a request needs a non-zero sequence number")
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
        return classify(msg.seq, msg.portid, sender, group, self.seq, self.portid, self.peer)

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
        verdict = classify(msg.seq, msg.portid, sender, group, self.seq, self.portid, self.peer)
        if verdict != OURS:
            return verdict
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
                raise DumpInterrupted(self.op, self.seq)
        return OURS  # NOOP / OVERRUN: nothing to deliver


class AckCollector:
    """The state machine collecting one ACK/error per message of a batch (sans I/O).

    Args:
        seqs: sequence numbers that requested an ACK, in send order.
        portid: our port id.
        peer: where the batch went (0: the kernel).

    :meth:`feed` returns the verdict like :meth:`ReplyCollector.feed` (``OURS`` for
    any message carrying one of ``seqs``) but never raises for kernel errors: they
    are kept in :attr:`results` (``seq -> ErrorMessage``).  :attr:`done` turns true
    when every sequence got its ACK or error; errors for messages of the batch
    that asked for no ACK are kept in :attr:`extra_errors`.
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
        mseq = msg.seq
        if mseq in self.pending:
            verdict = classify(mseq, msg.portid, sender, group, mseq, self.portid, self.peer)
            if verdict == OURS:
                if msg.type == _NLMSG_ERROR:
                    self.results[mseq] = parse_error(msg)
                    self.pending.discard(mseq)
                    self.done = not self.pending
                return OURS
            return verdict
        if mseq == 0 or sender != self.peer:
            return NOTIFY
        if msg.type == _NLMSG_ERROR and mseq not in self.results:
            # an error for a message of the batch that did not ask for an ACK
            em = parse_error(msg)
            if em.error:
                self.extra_errors.append((mseq, em))
                return OURS
        return STALE
