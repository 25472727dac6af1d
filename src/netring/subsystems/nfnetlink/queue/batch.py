"""Out-of-order-safe verdict batching, pure.

``NFQNL_MSG_VERDICT_BATCH`` with id N gives its verdict to **every** packet still
queued whose id is not after N (32-bit serial arithmetic: ``(int32)(id - N) <= 0``;
the kernel walks its queue in id order and stops at the first id after N).  On a
socket, packets arrive in id order, so the only N that cannot hit a packet the
program has not finished with is the end of the *contiguous completed prefix*
of the ids received::

    received (arrival = id order)   41 42 43 44 45 46 47
    completed (plain accept)         x  x  x     x  x
    completed on their own (drop)                      D      <- sent first, as VERDICT
                                     '---- N = 43 ---'        <- one VERDICT_BATCH 43
    44 is still being worked on: 45..47 wait for it (at most ``delay`` seconds, then
    they go out on their own so no packet waits for a batch)

A completion that differs from the batch's verdict (another verdict, a mark other
than the batch's, a new payload, a connmark or labels) is written at once as its
own ``NFQNL_MSG_VERDICT``; it precedes any later batch message in the same send,
so the batch never overrides it (the kernel has already dequeued it).

Each queue number has its own id space (``struct nfqnl_instance.id_sequence``); an
id that is not after the last one received means the queue was made anew (its
ids restart at 1): what was outstanding belonged to the old queue, whose packets
the kernel already dropped, and is forgotten (counted in :attr:`Batcher.resets`).

The batcher writes messages into a :class:`~.requests.VerdictWriter`; the caller
sends ``writer.view()`` (one ``sendmsg``) and resets it after each :meth:`Batcher.flush`.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Iterable, Sequence

from ....codec.types import ReadableBuffer
from ....errors import EncodeError
from ..constants import NF
from .requests import (
    NFQNL_VERDICT_BATCH_TYPE,
    NFQNL_VERDICT_TYPE,
    PLAIN_VERDICT_SIZE,
    VerdictWriter,
)

__all__ = ["Batcher", "QueueState", "id_after", "BATCHED", "SENT"]

BATCHED = 1
"""Completion state: the batch's verdict, waiting for the prefix to reach it."""
SENT = 2
"""Completion state: its own verdict message has been written."""


def id_after(a: int, b: int) -> bool:
    """The kernel's ``nfq_id_after``: ``a`` comes after ``b`` in 32-bit serial arithmetic."""
    return 0 < ((a - b) & 0xFFFFFFFF) < 0x80000000


class QueueState:
    """One queue's outstanding ids (arrival order) and completions.

    Attributes:
        queue: the queue number.
        outstanding: ids received and not yet covered by a sent verdict, in order.
        done: completed ids still in :attr:`outstanding` -> ``BATCHED`` or ``SENT``.
        last: the last id received (``None`` before the first).
        waiting: completed ``BATCHED`` ids still in :attr:`outstanding`.
        upto: the end of the completed prefix a batch message still has to cover
            (written by :meth:`Batcher.flush`), or ``None``.
    """

    __slots__ = ("queue", "outstanding", "done", "last", "waiting", "upto")

    def __init__(self, queue: int) -> None:
        self.queue = queue
        self.outstanding: collections.deque[int] = collections.deque()
        self.done: dict[int, int] = {}
        self.last: int | None = None
        self.waiting = 0
        self.upto: int | None = None


class Batcher:
    """Verdicts for packets of any number of queues, batched where it is safe.

    Args:
        writer: where the messages go.
        next_seq: a source of ``nlmsg_seq`` values (the connection's ``next_seq``).
        verdict: the batch's verdict (plain completions with it are batched).
        mark: the batch's mark (``None``: none; a completion with another mark is sent
            on its own).
        delay: seconds a batchable completion may wait for a gap to close before
            :meth:`due` says to flush it on its own.
        clock: the time source (seconds, monotonic).

    Attributes:
        in_flight: ids received and not yet covered, over all queues.
        batch_messages, single_messages: messages written so far.
        resets: queues whose ids restarted (their outstanding ids were forgotten).
        by_verdict: completions per verdict word's low byte (``NF`` value).
    """

    __slots__ = ("writer", "next_seq", "verdict", "mark", "delay", "clock", "queues",
                 "in_flight", "batch_messages", "single_messages", "resets", "by_verdict",
                 "waiting", "_waits", "_fresh", "_room_floor", "_dirty")

    def __init__(self, writer: VerdictWriter, next_seq: Callable[[], int], *,
                 verdict: int = NF.ACCEPT, mark: int | None = None, delay: float = 0.001,
                 clock: Callable[[], float] | None = None) -> None:
        import time

        self.writer = writer
        self.next_seq = next_seq
        self.verdict = int(verdict)
        self.mark = mark
        self.delay = delay
        self.clock = clock or time.monotonic
        self.queues: dict[int, QueueState] = {}
        self.in_flight = 0
        self.batch_messages = 0
        self.single_messages = 0
        self.resets = 0
        self.waiting = 0
        self.by_verdict = [0] * 6
        #: (since, queue state, id): the oldest completions still waiting first; one
        #: is still waiting while the queue's prefix has not passed its id
        self._waits: collections.deque[tuple[float, QueueState, int]] = collections.deque()
        #: completions that began to wait since the last look (:meth:`due` stamps them)
        self._fresh: list[tuple[QueueState, int]] = []
        self._dirty: list[QueueState] = []  # queues whose upto awaits a batch message
        self._room_floor = PLAIN_VERDICT_SIZE + 8

    # -- receiving ------------------------------------------------------------------
    def _state(self, queue: int) -> QueueState:
        st = self.queues.get(queue)
        if st is None:
            st = self.queues[queue] = QueueState(queue)
        return st

    def received(self, queue: int, packet_id: int) -> None:
        """Register one received packet (call in arrival order)."""
        st = self.queues.get(queue) or self._state(queue)
        last = st.last
        if last is not None and not 0 < ((packet_id - last) & 0xFFFFFFFF) < 0x80000000:
            self._reset(st)
        st.last = packet_id
        st.outstanding.append(packet_id)
        self.in_flight += 1

    def received_many(self, queue: int, ids: Sequence[int]) -> None:
        """Register packets of one queue received in this order (one ``deque.extend``).

        ``ids`` must be in arrival order; only the first is checked against the last
        one before it (the kernel numbers a queue's packets in arrival order).
        """
        if not ids:
            return
        st = self.queues.get(queue) or self._state(queue)
        last = st.last
        if last is not None and not 0 < ((ids[0] - last) & 0xFFFFFFFF) < 0x80000000:
            self._reset(st)
        st.last = ids[-1]
        st.outstanding.extend(ids)
        self.in_flight += len(ids)

    def _reset(self, st: QueueState) -> None:
        self.in_flight -= len(st.outstanding)
        st.outstanding.clear()
        st.done.clear()
        self.waiting -= st.waiting
        st.waiting = 0
        self.resets += 1

    def forget(self, queue: int) -> int:
        """Drop a queue's state (it was unbound: the kernel dropped what it held);
        returns how many ids were still outstanding."""
        st = self.queues.pop(queue, None)
        if st is None:
            return 0
        st.upto = None
        n = len(st.outstanding)
        self.in_flight -= n
        self.waiting -= st.waiting
        return n

    def outstanding(self, queue: int | None = None) -> list[int]:
        """Ids not yet given a verdict (of one queue, or of all)."""
        states: Iterable[QueueState] = (
            self.queues.values() if queue is None else
            ([self.queues[queue]] if queue in self.queues else []))
        return [i for st in states for i in st.outstanding if i not in st.done]

    # -- completing ---------------------------------------------------------------------
    def sent(self, queue: int, packet_id: int) -> bool:
        """A verdict for this packet left by another way (``verdict_now``): the batcher
        must not cover it again.  False when the packet was not awaiting a verdict."""
        st = self.queues.get(queue)
        if st is None or not st.outstanding or packet_id in st.done or st.last is None:
            return False
        out = st.outstanding
        if ((packet_id - out[0]) & 0xFFFFFFFF) > ((st.last - out[0]) & 0xFFFFFFFF):
            return False
        st.done[packet_id] = SENT
        if out[0] == packet_id:
            self._advance(st)
        return True

    def _room(self, need: int) -> None:
        if self.writer.room < need:
            raise EncodeError("verdict buffer full: flush() and send before adding more")

    def complete(self, queue: int, packet_id: int, verdict: int, *, mark: int | None = None,
                 connmark: int | None = None, labels: int | None = None,
                 payload: ReadableBuffer | None = None) -> None:
        """Record the verdict for one received packet.

        A plain completion with the batch's verdict and mark waits for the prefix;
        anything else is written now as its own ``NFQNL_MSG_VERDICT``.

        Raises:
            EncodeError: the packet is not awaiting a verdict (unknown, outside the
                queue's outstanding ids, or already done), or no room (flush and
                send first: :meth:`needs_flush`).
        """
        st = self.queues.get(queue)
        out = st.outstanding if st is not None else None
        if (st is None or not out or packet_id in st.done
                or ((packet_id - out[0]) & 0xFFFFFFFF) > ((st.last - out[0]) & 0xFFFFFFFF)):  # type: ignore[operator]
            raise EncodeError(f"packet {packet_id} of queue {queue} is not awaiting a verdict")
        low = verdict & 0xFF
        self.by_verdict[low if low < 6 else 0] += 1
        if (verdict == self.verdict and mark == self.mark and payload is None
                and connmark is None and labels is None):
            if out[0] == packet_id and not st.done:
                self._prefix_grows(st)
                return
            st.done[packet_id] = BATCHED
            st.waiting += 1
            self.waiting += 1
            if out[0] == packet_id:
                self._advance(st)
            else:
                self._fresh.append((st, packet_id))
            return
        if payload is None and connmark is None and labels is None:
            self._room(PLAIN_VERDICT_SIZE + 8)
            self.writer.plain(NFQNL_VERDICT_TYPE, queue, packet_id, verdict, self.next_seq(), mark)
        else:
            self.writer.full(queue, packet_id, verdict, self.next_seq(), mark=mark,
                             connmark=connmark, labels=labels, payload=payload)
        self.single_messages += 1
        st.done[packet_id] = SENT
        if out[0] == packet_id:
            self._advance(st)

    def complete_plain(self, queue: int, packet_id: int, verdict: int) -> None:
        """:meth:`complete` with the verdict word alone (``pkt.accept()``'s): the packet
        that extends its queue's completed prefix, with the batch's verdict and no mark,
        is recorded in a few steps; anything else is :meth:`complete`'s."""
        st = self.queues.get(queue)
        if st is not None and verdict == self.verdict and self.mark is None and not st.done:
            out = st.outstanding
            if out and out[0] == packet_id:
                low = verdict & 0xFF
                self.by_verdict[low if low < 6 else 0] += 1
                self._prefix_grows(st)
                return
        self.complete(queue, packet_id, verdict)

    def _prefix_grows(self, st: QueueState) -> None:
        """The oldest outstanding packet of ``st``, nothing done out of order before
        it, completed with the batch's verdict: the completed prefix grows by one."""
        if st.upto is None:
            self._dirty.append(st)  # a batch message for it at the next flush
        st.upto = st.outstanding.popleft()
        self.in_flight -= 1

    def complete_many(self, queue: int, ids: Sequence[int], verdict: int | None = None,
                      mark: int | None = None) -> None:
        """Record one plain verdict for several packets of one queue.

        When they are exactly the queue's outstanding ids and carry the batch's
        verdict, this is O(1): the outstanding list is cleared and one
        ``VERDICT_BATCH`` for the last id is written.
        """
        if not ids:
            return
        v = self.verdict if verdict is None else int(verdict)
        st = self.queues.get(queue)
        if st is None:
            raise EncodeError(f"queue {queue}: no packet is awaiting a verdict")
        out = st.outstanding
        if (v == self.verdict and mark == self.mark and not st.done and len(out) == len(ids)
                and out[0] == ids[0] and out[-1] == ids[-1]):
            if st.upto is None:
                self._dirty.append(st)
            st.upto = ids[-1]
            out.clear()
            self.in_flight -= len(ids)
            self.by_verdict[v & 0xFF if (v & 0xFF) < 6 else 0] += len(ids)
            return
        if v == self.verdict and mark == self.mark and self._complete_batched(st, ids):
            return
        for i in ids:
            self.complete(queue, i, v, mark=mark)

    def complete_batched(self, queue: int, ids: Sequence[int]) -> int:
        """The batch's verdict (and mark) for every id of ``ids`` of one queue, as
        :meth:`complete` for each in turn, in bulk where it can; an id not awaiting a
        verdict is skipped.  Returns how many were skipped."""
        st = self.queues.get(queue)
        if st is not None and self._complete_batched(st, ids):
            return 0
        skipped = 0
        for i in ids:
            try:  # with the batch's verdict and mark nothing is written: no room error
                self.complete(queue, i, self.verdict, mark=self.mark)
            except EncodeError:
                skipped += 1  # not awaiting a verdict
        return skipped

    def _complete_batched(self, st: QueueState, ids: Sequence[int]) -> bool:
        """:meth:`complete` with the batch's verdict for every id of ``ids`` in turn,
        in bulk (a handful of C-level list and set operations, not a Python step per
        id): the ids that extend the completed prefix are popped at once, the others
        wait for it.  False, with nothing recorded, when the ids are not all awaiting
        a verdict, or lie across the 32-bit wrap: :meth:`complete` then takes them one
        by one (and names the one that is wrong)."""
        out = st.outstanding
        done = st.done
        k = len(ids)
        if not out or st.last is None or len(set(ids)) != k or not done.keys().isdisjoint(ids):
            return False
        # the prefix: as long as ids and the outstanding ids agree from the start.  Ids
        # in id order that are all outstanding agree up to a point and no further, so
        # a binary search finds it; a prefix found is checked whole (any order of ids
        # is taken: a prefix found too short only leaves more to wait, and the
        # advance below takes them at once)
        p = min(k, len(out))
        if list(itertools.islice(out, p)) != list(ids[:p]):
            lo, hi = 0, p - 1  # ids[:lo] agree; ids[hi] does not
            while lo < hi:
                mid = (lo + hi) // 2
                if ids[mid] == out[mid]:
                    lo = mid + 1
                else:
                    hi = mid
            p = lo
            if p and list(itertools.islice(out, p)) != list(ids[:p]):
                p = next(j for j, (a, b) in enumerate(zip(ids, out)) if a != b)  # noqa: B905
        rest = ids[p:]
        if rest:
            first = out[0]
            span = (st.last - first) & 0xFFFFFFFF
            if p == len(out) or first + span > 0xFFFFFFFF:
                return False  # nothing left outstanding for them, or a window that wraps
            if min(rest) < first or max(rest) > first + span:
                return False
        for _ in range(p):
            out.popleft()
        if p:
            self.in_flight -= p
            if st.upto is None:
                self._dirty.append(st)
            st.upto = ids[p - 1]
        if rest:
            done.update(dict.fromkeys(rest, BATCHED))
            st.waiting += len(rest)
            self.waiting += len(rest)
            self._fresh.append((st, max(rest)))  # no wrap inside (checked above)
        if done and (not out or out[0] in done):
            self._advance(st)
        low = self.verdict & 0xFF
        self.by_verdict[low if low < 6 else 0] += k
        return True

    def _advance(self, st: QueueState) -> None:
        """Pop the completed prefix; write one batch message when it holds batched ids."""
        out = st.outstanding
        done = st.done
        n = 0
        last_batched = -1
        waited = 0
        while out and out[0] in done:
            i = out.popleft()
            if done.pop(i) == BATCHED:
                last_batched = i
                waited += 1
            n += 1
        if n:
            self.in_flight -= n
        if last_batched >= 0:
            if st.upto is None:
                self._dirty.append(st)
            st.upto = last_batched
        if not out and done:
            done.clear()  # verdicts for ids the kernel never queued (gaps) are not kept
            waited = st.waiting
        st.waiting -= waited
        self.waiting -= waited
        if not self.waiting:
            self._waits.clear()
            self._fresh.clear()

    # -- flushing -----------------------------------------------------------------------
    def due(self, now: float | None = None) -> bool:
        """True when a batchable completion still waiting has waited ``delay`` seconds
        for a gap (the oldest one decides: completions released since by the prefix
        no longer count, so steady out-of-order completions keep being batched).

        A completion's wait is counted from the first look after it began (each
        receive looks), so it may wait up to one receive longer than ``delay``."""
        now = self.clock() if now is None else now
        waits = self._waits
        fresh = self._fresh
        if fresh:
            waits.extend((now, st, i) for st, i in fresh)
            fresh.clear()
        while waits:
            since, st, i = waits[0]
            out = st.outstanding
            if (st.waiting and out and ((i - out[0]) & 0xFFFFFFFF) < 0x80000000
                    and self.queues.get(st.queue) is st):
                return now - since >= self.delay
            waits.popleft()  # the prefix passed it (or its queue restarted, or went)
        return False

    def flush(self, force: bool = False) -> bool:
        """Write the batch messages the completed prefixes need (one per queue), and,
        when ``force`` or :meth:`due`, the waiting completions on their own.

        Individual verdicts were written when they were given, so they precede the
        batch message that could otherwise cover them.  Returns True when everything
        due was written; False when the writer filled first (send it, reset it and
        call again).
        """
        w = self.writer
        dirty = self._dirty
        while dirty:
            st = dirty[-1]
            upto = st.upto
            if upto is not None:
                if w.room < PLAIN_VERDICT_SIZE + 8:
                    return False
                w.plain(NFQNL_VERDICT_BATCH_TYPE, st.queue, upto, self.verdict,
                        self.next_seq(), self.mark)
                self.batch_messages += 1
                st.upto = None
            dirty.pop()
        if self.waiting and (force or self.due()):
            self.flush_waiting()
            return not self.waiting
        return True

    def pending(self) -> bool:
        """True when a batch message or a waiting completion is not written yet."""
        return self.waiting > 0 or bool(self._dirty)

    def needs_flush(self) -> bool:
        """True when the writer is nearly full (send it before adding more)."""
        return self.writer.room < self._room_floor

    def flush_waiting(self) -> int:
        """Write the waiting batchable completions on their own (no packet waits any
        longer for a gap to close); returns how many."""
        n = 0
        for st in self.queues.values():
            if not st.waiting:
                continue
            for i in st.outstanding:
                if st.done.get(i) == BATCHED:
                    if self.writer.room < PLAIN_VERDICT_SIZE + 8:
                        return n  # the caller sends and calls again
                    self.writer.plain(NFQNL_VERDICT_TYPE, st.queue, i, self.verdict,
                                      self.next_seq(), self.mark)
                    self.single_messages += 1
                    st.done[i] = SENT
                    st.waiting -= 1
                    self.waiting -= 1
                    n += 1
        if not self.waiting:
            self._waits.clear()
            self._fresh.clear()
        return n
