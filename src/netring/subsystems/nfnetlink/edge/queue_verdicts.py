"""A queue's verdicts: :class:`QueueVerdicts`, a part of :class:`~.queue.Queue`.

Every packet the queue hands out gets exactly one verdict, whatever order its
owner decides in; this is the bookkeeping that makes sure of it, over the
:class:`~netring.subsystems.nfnetlink.queue.batch.Batcher` (which knows, per
queue, the ids awaiting a verdict and the contiguous completed prefix)::

    set_verdict / PacketBatch.accept ... --> Batcher.complete(_many)
    released (a view let go), the end    --> the policy verdict       (counted:
      of a batch (_release_current), the                           released_without
      window (_enforce_window), close                              _verdict)
    flush / _flush                       --> VerdictWriter --> one send() to the kernel
                                             (VERDICT_BATCH for the prefix, the rest alone)
    a refused verdict (an NLMSG_ERROR    --> NetlinkError named by errno, kept in
      the receive path meets)                ``errors``; ``verdict_errors`` counted

A packet is *awaiting* its verdict when its id lies between its queue's oldest
outstanding id and the last one received (modulo 2**32) and is not done yet.  ``set_verdict`` for anything else raises (the batcher
refuses it); the batch-wide and policy verdicts skip it, so a late or repeated
one cannot reach a packet the kernel has reused the id for.  ``hold`` (a copied
packet) keeps a packet out of its batch's end; the window and ``close`` still
reach it.

The verdict hot path (``set_verdict``, ``PacketBatch.accept``) is methods of the
one ``Queue`` class; this module only keeps them apart from the receive path
(:mod:`.queue_receive`, built on this part: a receive settles the verdicts of
the batch before) and the configuration (:mod:`.queue_config`).
"""

from __future__ import annotations

import errno as _errno
from itertools import repeat

from ....codec.errmsg import parse_error
from ....codec.structs import be32 as _be32
from ....codec.types import TYPE_CHECKING
from ....errors import NetlinkError
from ..constants import NF
from ..queue.checksum import fix_packet
from ..queue.packet import Packet
from ..queue.requests import NFQNL_VERDICT_BATCH_TYPE, NFQNL_VERDICT_TYPE, VerdictWriter

if TYPE_CHECKING:
    from collections import deque
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import Any

    from ....codec import Message
    from ....conn import Connection
    from ..queue.batch import Batcher, QueueState
    from ..queue.stats import QueueStats

__all__ = ["QueueVerdicts", "PacketBatch"]


class QueueVerdicts:
    """Verdict sending and the out-of-order-safe bookkeeping of a :class:`~.queue.Queue`
    (a mixin: the state it reads is set up by ``Queue.__init__``)."""

    conn: Connection
    batcher: Batcher
    writer: VerdictWriter
    policy: int
    window: int
    errors: deque[NetlinkError]
    _stats: QueueStats
    _current: PacketBatch | None
    _released: list[tuple[int, int]]
    _held: set[tuple[int, int]]
    _send: Callable[[Any], int]

    if TYPE_CHECKING:
        @property
        def portid(self) -> int: ...  # Queue

        def _owner(self, queue: int) -> int | None: ...  # QueueConfig

    def set_verdict(self, queue: int, packet_id: int, verdict: int, *, mark: int | None = None,
                    connmark: int | None = None, labels: int | None = None,
                    payload: Any = None, fix_checksums: bool = True) -> None:
        """Record the verdict for a received packet (sent batched; see the module doc).

        Args:
            payload: replacement packet bytes; with ``fix_checksums`` its IPv4/IPv6
                lengths and IPv4/TCP/UDP checksums are recomputed first (on a copy).

        Raises:
            EncodeError: the packet is not awaiting a verdict, or a value is out of range.
        """
        if mark is None and connmark is None and labels is None and payload is None:
            self.plain_verdict(queue, packet_id, verdict)
            return
        b = self.batcher
        if payload is not None:
            if fix_checksums:
                payload = bytearray(payload)
                fix_packet(payload)
            if self.writer.room < len(payload) + 256:
                self._flush(force=False)
        elif self.writer.room < 64:
            self._flush(force=False)
        if self._held:
            self._held.discard((queue, packet_id))
        b.complete(queue, packet_id, verdict, mark=mark, connmark=connmark, labels=labels,
                   payload=payload)
        if b.waiting and b.due():
            self._flush(force=True)

    def plain_verdict(self, queue: int, packet_id: int, verdict: int) -> None:
        """:meth:`set_verdict` with the verdict word alone (what ``pkt.accept()`` and
        ``pkt.drop()`` give; the per-packet hot path).

        Raises:
            EncodeError: the packet is not awaiting a verdict.
        """
        if self.writer.room < 64:
            self._flush(force=False)
        if self._held:
            self._held.discard((queue, packet_id))
        b = self.batcher
        b.complete_plain(queue, packet_id, verdict)
        if not b.in_flight:
            # every packet received has its verdict: send them now, not at the next
            # receive (the same messages; a quiet queue's packet leaves sooner)
            self._flush(force=False)
        elif b.waiting and b.due():
            self._flush(force=True)

    def hold(self, queue: int, packet_id: int) -> None:
        """A packet was copied to get its verdict later: its batch's end does not
        release it (the window still bounds how many may wait)."""
        self._held.add((queue, packet_id))

    def released(self, queue: int, packet_id: int) -> None:
        """A packet was let go without a verdict: the policy gives it one (counted).

        Safe to call from a finaliser: the verdict is recorded at the next operation.
        """
        self._released.append((queue, packet_id))

    def verdict_now(self, queue: int, packet_id: int, verdict: int, *, mark: int | None = None,
                    connmark: int | None = None, labels: int | None = None,
                    payload: Any = None, ack: bool = True, batch: bool = False) -> None:
        """Send one verdict at once, outside the batcher, and wait for the kernel's ACK.

        For verdicts on packets this object did not receive (another process's
        queue, a test, a recovery tool); packets it did receive should use
        :meth:`set_verdict` (a packet it knows is marked done here too).

        Args:
            batch: send ``NFQNL_MSG_VERDICT_BATCH`` (every queued id up to ``packet_id``).

        Raises:
            NetlinkError: the kernel refused: ENOENT (no such packet queued), EPERM
                (the queue is bound by another socket: its port id named).
        """
        w = VerdictWriter(len(payload) + 256 if payload is not None else 256)
        seq = self.conn.next_seq()
        if batch:
            w.plain(NFQNL_VERDICT_BATCH_TYPE, queue, packet_id, int(verdict), seq, mark)
        elif payload is None and connmark is None and labels is None:
            w.plain(NFQNL_VERDICT_TYPE, queue, packet_id, int(verdict), seq, mark)
        else:
            w.full(queue, packet_id, int(verdict), seq, mark=mark, connmark=connmark,
                   labels=labels, payload=payload)
        msg = bytearray(w.view())
        if ack:
            msg[6] |= 0x04  # NLM_F_ACK (low byte of nlmsg_flags, host order)
        self.batcher.sent(queue, packet_id)
        try:
            if ack:
                self.conn.request_raw(msg, op=f"verdict for packet {packet_id} of queue {queue}",
                                      timeout=10.0)
            else:
                self.conn.send(msg)
        except NetlinkError as exc:
            raise self._verdict_error(exc.errno or 0, queue, packet_id, exc.seq) from None

    def _verdict_error(self, code: int, queue: int, packet_id: int, seq: int) -> NetlinkError:
        op = f"verdict for packet {packet_id} of queue {queue}"
        if code == _errno.ENOENT:
            text = (f"no packet {packet_id} is queued on queue {queue} (it already had its "
                    "verdict, its queue went away, or it never existed)")
        elif code == _errno.EPERM:
            owner = self._owner(queue)
            text = (f"verdict refused: queue {queue} is bound by "
                    f"{'port id ' + str(owner) if owner is not None else 'another socket'}, "
                    f"not by this socket (port id {self.portid})")
        elif code == _errno.ENODEV or code == _errno.ESRCH:
            text = f"queue {queue} does not exist"
        elif code == _errno.EINVAL:
            text = "the kernel refused the verdict value (EINVAL)"
        else:
            text = None
        return NetlinkError(code, op, seq, ext_msg=text)

    def _verdict_reply(self, msg: Message) -> bool:
        """An error answering one of our verdicts: decode, name, count.  False if not one."""
        em = parse_error(msg)
        if em.req_type not in (NFQNL_VERDICT_TYPE, NFQNL_VERDICT_BATCH_TYPE):
            return False
        if em.error == 0:
            return True  # an ACK someone asked for and nobody waits for
        # without NETLINK_CAP_ACK the whole verdict is echoed: nfgenmsg, NFQA_VERDICT_HDR
        base = msg.offset + 16 + 4 + 16
        queue = pid = -1
        if not em.capped and msg.len >= 20 + 16 + 4 + 12:
            queue = int.from_bytes(msg.buf[base + 2:base + 4], "big")
            pid = int(_be32.unpack_from(msg.buf, base + 12)[0])
        err = self._verdict_error(-em.error, queue, pid, em.req_seq)
        self.errors.append(err)
        self._stats.verdict_errors += 1
        return True

    # -- batch-wide verdicts and the policy verdict --------------------------------------
    def _complete_batch(self, batch: PacketBatch, verdict: int, mark: int | None) -> None:
        if batch._done:
            return
        batch._done = True
        b = self.batcher
        if b.needs_flush():
            self._flush(force=False)
        if batch.queues is None:
            st = b.queues.get(batch.queue)
            if st is not None and not st.done:
                b.complete_many(batch.queue, batch.ids, verdict, mark)
            else:
                self._complete_each(batch.queue, batch.ids, verdict, mark)
        else:
            for q in set(batch.queues):
                ids = [i for i, qq in zip(batch.ids, batch.queues, strict=True) if qq == q]
                self._complete_each(q, ids, verdict, mark)
        if not b.in_flight:  # every packet received has its verdict: send them now
            self._flush(force=False)

    def _complete_each(self, queue: int, ids: Iterable[int], verdict: int,
                       mark: int | None) -> None:
        b = self.batcher
        st = b.queues.get(queue)
        if st is None:
            return
        for i in ids:
            if self._awaiting(st, i):
                if b.needs_flush():
                    self._flush(force=False)
                b.complete(queue, i, verdict, mark=mark)

    @staticmethod
    def _awaiting(st: QueueState, packet_id: int) -> bool:
        out = st.outstanding
        if not out or packet_id in st.done or st.last is None:
            return False
        return ((packet_id - out[0]) & 0xFFFFFFFF) <= ((st.last - out[0]) & 0xFFFFFFFF)

    def _apply_released(self) -> None:
        rel = self._released
        if not rel:
            return
        self._released = []
        b = self.batcher
        for queue, pid in rel:
            self._held.discard((queue, pid))
            st = b.queues.get(queue)
            if st is not None and self._awaiting(st, pid):
                if b.needs_flush():
                    self._flush(force=False)
                b.complete(queue, pid, self.policy)
                self._stats.released_without_verdict += 1

    def _release_current(self) -> None:
        """The batch handed out last is over: its packets without a verdict get the policy."""
        cur = self._current
        self._current = None
        if cur is None or cur._done:
            return
        cur._done = True
        b = self.batcher
        if cur.queues is None:
            groups: Iterable[tuple[int, Sequence[int]]] = [(cur.queue, cur.ids)]
        else:
            groups = [(q, [i for i, qq in zip(cur.ids, cur.queues, strict=True) if qq == q])
                      for q in set(cur.queues)]
        held = self._held
        for queue, ids in groups:
            st = b.queues.get(queue)
            if st is None:
                continue
            for i in ids:
                if self._awaiting(st, i) and not (held and (queue, i) in held):
                    if b.needs_flush():
                        self._flush(force=False)
                    b.complete(queue, i, self.policy)
                    self._stats.released_without_verdict += 1

    def _release_all(self) -> None:
        """Every packet still awaiting a verdict gets the policy verdict; then send."""
        self._release_current()
        self._apply_released()
        b = self.batcher
        for queue, st in list(b.queues.items()):
            for i in list(st.outstanding):
                if i not in st.done:
                    if b.needs_flush():
                        self._flush(force=False)
                    b.complete(queue, i, self.policy)
                    self._stats.released_without_verdict += 1
        self._held.clear()
        self._flush(force=True)

    def _enforce_window(self, room: int) -> None:
        """Make room for ``room`` more packets: the oldest waiting get the policy verdict."""
        b = self.batcher
        excess = b.in_flight + room - self.window
        if excess <= 0:
            return
        for queue, st in list(b.queues.items()):
            for i in list(st.outstanding):
                if excess <= 0:
                    return
                if i not in st.done:
                    if b.needs_flush():
                        self._flush(force=False)
                    self._held.discard((queue, i))
                    b.complete(queue, i, self.policy)
                    self._stats.released_without_verdict += 1
                    excess -= 1

    # -- sending -------------------------------------------------------------------------
    def flush(self, force: bool = True) -> None:
        """Send every verdict recorded so far (batch messages and waiting ones).

        Args:
            force: ``False`` sends only what is due: the batch messages of the
                completed prefixes and the completions that waited ``delay`` for an
                earlier packet; the others keep waiting for their prefix to close.
        """
        self._apply_released()
        self._flush(force=force)

    def _flush(self, force: bool) -> None:
        b = self.batcher
        w = self.writer
        while True:
            done = b.flush(force) if (b._dirty or b.waiting) else True
            if w.tail:
                conn = self.conn
                if conn.debug_log is None:
                    self._send(w.view())  # connected to the kernel: no address to pass
                else:
                    conn.sendmsg([w.view()])
                w.reset()
            if done:
                return


class PacketBatch:
    """The packets of one ``recvmmsg``, one queue's ids in arrival order.

    Nothing per packet is built unless asked for: :attr:`ids` were read at their
    fixed offset in one ``unpack``; ``batch[i]`` / iteration make
    :class:`~netring.subsystems.nfnetlink.queue.packet.Packet` views on demand,
    :meth:`payload` slices one payload.  **Valid until the next receive.**

    Verdicts: :meth:`accept` / :meth:`drop` / :meth:`verdict` give one verdict to
    every packet of the batch that has none yet (one ``VERDICT_BATCH`` when the
    whole batch is the queue's completed prefix), or per packet through the views.
    Packets left without a verdict when the next batch is received get the
    queue's policy verdict (counted).

    Attributes:
        queue: the queue number (``-1`` for a batch mixing queues: see :attr:`queues`).
        ids: packet ids, arrival order.
        queues: per packet its queue number (only for mixed batches; else ``None``).
    """

    __slots__ = ("_q", "queue", "ids", "queues", "_slots", "_done", "strided", "__weakref__")

    def __init__(self, q: QueueVerdicts, queue: int, ids: Sequence[int], slots: Sequence[memoryview],
                 queues: Sequence[int] | None = None,
                 strided: tuple[memoryview, int] | None = None) -> None:
        self._q = q
        self.queue = queue
        self.ids = ids
        self.queues = queues
        self._slots = slots
        self._done = False
        #: ``(buffer, stride)`` when packet ``i``'s message starts at ``buffer[i * stride]``
        #: (the socket's receive slots), for bulk copies (:mod:`netring.strided`); else
        #: ``None``.  Valid as long as the batch.
        self.strided = strided

    def __len__(self) -> int:
        return len(self.ids)

    def __bool__(self) -> bool:
        return bool(self.ids)

    def __getitem__(self, i: int) -> Packet:
        if not -len(self.ids) <= i < len(self.ids):
            raise IndexError(f"packet {i} of a batch of {len(self.ids)}")
        i %= len(self.ids)
        qs = self.queues
        return Packet._make(self._slots[i], 0, self._q, self.ids[i],
                            self.queue if qs is None else qs[i])

    def _packets(self) -> list[Packet]:
        """Every packet of the batch as a view, made in one pass (what iterating the
        batch gives; the views are valid until the next receive)."""
        n = len(self.ids)
        qs = self.queues
        if n == 1:  # a quiet queue's batch
            return [Packet._make(self._slots[0], 0, self._q, self.ids[0],
                                 self.queue if qs is None else qs[0])]
        return list(map(Packet._make, self._slots[:n], repeat(0, n), repeat(self._q, n),
                        self.ids, repeat(self.queue, n) if qs is None else qs))

    def __iter__(self) -> Iterator[Packet]:
        return iter(self._packets())

    def payload(self, i: int) -> memoryview:
        """Packet ``i``'s payload (zero copy; valid until the next receive)."""
        return self[i].payload

    def data(self, i: int) -> memoryview:
        """Packet ``i``'s whole netlink message (zero copy)."""
        s = self._slots[i]
        return s[:int.from_bytes(s[0:4], "little")]

    def lengths(self) -> list[int]:
        """Every packet's ``nlmsg_len``, in batch order (one strided read when the
        packets lie in the receive slots)."""
        n = len(self.ids)
        st = self.strided
        if st is not None and not st[1] % 4 and not len(st[0]) % 4:
            buf, stride = st
            return buf.cast("I")[0 : n * (stride >> 2) : stride >> 2].tolist()
        from ....codec.structs import u32  # nlmsg_len, host order

        return [u32.unpack_from(s)[0] for s in self._slots[:n]]

    def messages(self) -> list[memoryview]:
        """Every packet's whole netlink message, in batch order (what :meth:`data` gives,
        for the whole batch in one pass; zero copy, valid until the next receive)."""
        from ....codec.structs import u32  # nlmsg_len, host order

        slots = self._slots[:len(self.ids)]
        return [s[:n] for s, (n,) in zip(slots, map(u32.unpack_from, slots), strict=True)]

    def verdict(self, verdict: int = NF.ACCEPT, *, mark: int | None = None) -> None:
        """Give ``verdict`` (and ``mark``) to every packet of the batch that has none yet."""
        self._q._complete_batch(self, int(verdict), mark)

    def accept(self, *, mark: int | None = None) -> None:
        """Accept every packet of the batch that has no verdict yet."""
        self._q._complete_batch(self, NF.ACCEPT, mark)

    def drop(self) -> None:
        """Drop every packet of the batch that has no verdict yet."""
        self._q._complete_batch(self, NF.DROP, None)

    # -- for owners that give the verdicts later (the NetfilterQueue drop-in, the pool) --
    def hold(self) -> None:
        """Its packets get their verdicts one by one, whenever their owner decides: the
        next receive does not give the policy verdict to those still without one (the
        window and :meth:`Queue.close` still do).  Batch-wide verdicts are off after it."""
        self._done = True

    def __repr__(self) -> str:
        return f"<PacketBatch queue={self.queue} {len(self.ids)} packets>"
