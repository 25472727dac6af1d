"""The worker side of a :class:`~.pool.QueuePool`: :class:`_Worker`, what runs in each
forked worker process.

::

    packet ring (UserRing.attach) --frames--> handle(view): per NFQNL_MSG_PACKET in the
                                              frame, Packet._make over the ring, callback(pkt)
                                                 |  pkt.accept()/drop()/verdict(...) or a
                                                 v  returned verdict; else the policy
    verdict ring (RingWriter) <--one frame-- commit(): the verdicts collected so far
                                              (every flush_every, when the ring runs dry,
                                              when the oldest waited COMMIT_AFTER)

The worker is its packets' verdict sink (:class:`~..queue.packet.Packet` hands it
its verdicts, as it would a :class:`~.queue.Queue`); it never speaks to the kernel.
Its counts go to its slot's words of the shared control block, written before the
verdict frame they include, and it writes the owner's eventfd only when the owner
announced that it sleeps (or, once per run of packets, when this worker ran dry).

This is the only code of the pool that runs outside the owner process; the
owner's side (:mod:`.pool`, :mod:`.pool_slots`, :mod:`.pool_dispatch`) never calls it.
"""

from __future__ import annotations

import os
import time

from .... import nlmmap
from ...._sys import eventfd
from ....codec.structs import u32
from ....codec.types import TYPE_CHECKING
from ....errors import EncodeError, RingError
from ..queue.checksum import fix_packet
from ..queue.packet import Packet
from ..queue.pool import (
    PACKET_HEADER,
    PACKET_TYPE_BE,
    CtlWord,
    VerdictRecords,
    check_verdict,
    is_end,
)
from ..queue.requests import NFQNL_VERDICT_TYPE

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol

    from .pool_slot import _Slot

    class _Owner(Protocol):
        """What a worker reads from its pool (set up by ``QueuePool`` before the fork)."""

        callback: Callable[[Packet], object]
        policy: int
        flush_every: int
        init: Callable[[int], object] | None
        _v_geometry: Any
        _owner: int
        _words: memoryview | None
        _wake: int

        def _record_error(self, slot: int, exc: BaseException) -> None: ...

__all__ = ["COMMIT_AFTER", "IDLE_SLICE", "VERDICT_TIMEOUT"]

_VERDICT = int(NFQNL_VERDICT_TYPE)
_PACKET_MIN = PACKET_HEADER.size
_nlmsg_len = u32  # the first word of a netlink message, host order
_FRAMES_PER_RUN = 16  # packet frames a worker reads before it looks at the ring again

#: seconds the oldest verdict a worker collected may wait to be sent
COMMIT_AFTER = 0.001
#: seconds an idle worker waits for a packet before it checks that the owner lives
IDLE_SLICE = 0.2
#: seconds a worker waits for room in its verdict ring (the owner is gone past that)
VERDICT_TIMEOUT = 10.0


class _Worker:
    """The worker side (runs in the forked process): read packet frames, call the
    callback, write verdict records.  It is the packets' verdict sink
    (:class:`~..queue.packet.Packet` hands its verdicts here)."""

    def __init__(self, pool: _Owner, s: _Slot) -> None:
        self.pool = pool
        self.slot = s.index
        self.callback = pool.callback
        self.policy = pool.policy
        self.flush_every = pool.flush_every
        words = pool._words
        assert words is not None
        self.words = words
        self.base = CtlWord.SLOT_BASE + s.index * CtlWord.SLOT_WORDS
        self.rx = nlmmap.UserRing.attach(s.rx_shared)
        self.writer = nlmmap.RingWriter(s.v_shared, timeout=VERDICT_TIMEOUT)
        self.records = VerdictRecords(pool._v_geometry.data_size)
        self.vw = self.records.writer
        self.room = pool._v_geometry.data_size
        self.wake = pool._wake
        self.owner = pool._owner
        self.first = 0.0
        self.handled = self.verdicts = self.no_verdict = self.errors = self.deferred = 0
        self.frames = 0
        self.wakeups = 0
        self.idle_at = 0  # packets handled when it last ran dry

    # -- the verdict sink ------------------------------------------------------------------
    def set_verdict(self, queue: int, packet_id: int, verdict: int, *, mark: int | None = None,
                    connmark: int | None = None, labels: int | None = None,
                    payload: Any = None, fix_checksums: bool = True) -> None:
        """Record a packet's verdict (sent with the next verdict frame)."""
        if (verdict == 1 or verdict == 0) and payload is None and connmark is None and (
                labels is None):  # accept or drop, perhaps with a mark: the hot path
            w = self.vw
            if w.tail + 40 > self.room:
                self.commit()
            if not w.count:
                self.first = time.monotonic()
            try:
                w.plain(_VERDICT, queue, packet_id, verdict, 0, mark)
            except EncodeError:
                self._give_policy(queue, packet_id)
                raise
            self.verdicts += 1
            return
        try:
            v = check_verdict(verdict)
            if payload is not None and fix_checksums:
                payload = bytearray(payload)
                fix_packet(payload)
            self._add(queue, packet_id, v, mark, connmark, labels, payload)
        except EncodeError:
            # the packet is marked decided: it must not go without one
            self._give_policy(queue, packet_id)
            raise

    def plain_verdict(self, queue: int, packet_id: int, verdict: int) -> None:
        """:meth:`set_verdict` with the verdict word alone."""
        self.set_verdict(queue, packet_id, verdict)

    def released(self, queue: int, packet_id: int) -> None:
        """A packet let go without a verdict: the policy verdict (counted)."""
        self._give_policy(queue, packet_id)

    def _give_policy(self, queue: int, packet_id: int) -> None:
        self._add(queue, packet_id, self.policy, None, None, None, None)
        self.no_verdict += 1

    def hold(self, queue: int, packet_id: int) -> None:
        """A packet was copied to get its verdict later (counted)."""
        self.deferred += 1

    def _add(self, queue: int, packet_id: int, verdict: int, mark: int | None,
             connmark: int | None, labels: int | None, payload: Any) -> None:
        rec = self.records
        if payload is None and connmark is None and labels is None:
            if rec.room < 40:
                self.commit()
            rec.add(queue, packet_id, verdict, mark=mark)
        else:
            if rec.room < VerdictRecords.size_of(mark, connmark, labels, payload):
                self.commit()
            rec.add(queue, packet_id, verdict, mark=mark, connmark=connmark, labels=labels,
                    payload=payload)
        if rec.count == 1:
            self.first = time.monotonic()
        self.verdicts += 1

    def commit(self, idle: bool = False) -> None:
        """Send the records collected so far as one verdict frame; wake the owner if it
        sleeps, or (``idle``: this worker's ring is empty) if it has packets to give."""
        rec = self.records
        w, b = self.words, self.base
        if rec.count:
            self.frames += 1
            # the counts first: an owner that has these verdicts sees counts including them
            w[b + CtlWord.PACKETS] = self.handled
            w[b + CtlWord.VERDICTS] = self.verdicts
            w[b + CtlWord.POLICY] = self.no_verdict
            w[b + CtlWord.ERRORS] = self.errors
            w[b + CtlWord.DEFERRED] = self.deferred
            w[b + CtlWord.FRAMES] = self.frames
            self.writer.send(rec.view())
            rec.reset()
        # a worker that ran dry wakes a busy owner (which takes verdicts only every TICK
        # while the workers hold enough): once per run of packets, not per idle look
        hungry = idle and self.handled != self.idle_at
        if w[CtlWord.SLEEPING] or hungry:
            w[CtlWord.SLEEPING] = 0  # one wake-up per sleep
            eventfd.signal(self.wake)
            self.wakeups += 1
            w[b + CtlWord.WAKEUPS] = self.wakeups
        if idle:
            self.idle_at = self.handled

    # -- packets ---------------------------------------------------------------------------
    def handle(self, view: memoryview) -> bool:
        """One packet frame: each packet through the callback; False for the end frame."""
        n = len(view)
        off = 0
        callback = self.callback
        vw = self.vw
        every = self.flush_every
        monotonic = time.monotonic
        while off < n:
            (ln,) = _nlmsg_len.unpack_from(view, off)
            if ln < _PACKET_MIN or off + ln > n:
                if is_end(view[off:]):
                    return False
                raise RingError(f"worker {self.slot}: a message of {ln} bytes at {off} in a "
                                f"packet frame of {n}")
            ty, queue, pid = PACKET_HEADER.unpack_from(view, off)
            if ty != PACKET_TYPE_BE:
                raise RingError(f"worker {self.slot}: a message that is not a packet "
                                f"({bytes(view[off:off + 16]).hex()})")
            pkt = Packet._make(view, off, self, pid, queue)
            off = (off + ln + 3) & ~3
            self.handled += 1
            r: Any
            try:
                r = callback(pkt)
            except Exception as exc:  # the callback's own error: counted, the packet decided
                self.errors += 1
                self.pool._record_error(self.slot, exc)
                if not pkt.has_verdict:
                    self._give_policy(queue, pid)
            else:
                if not pkt.has_verdict:
                    self._returned(pkt, r, queue, pid)
            if vw.count >= every or monotonic() - self.first >= COMMIT_AFTER:
                self.commit()
        return True

    def _returned(self, pkt: Packet, r: Any, queue: int, pid: int) -> None:
        """The callback returned without giving a verdict: take the one it returned."""
        if r is None:
            pkt.release()  # the policy verdict, counted
            return
        try:
            if isinstance(r, tuple):
                pkt.verdict(int(r[0]), mark=None if r[1] is None else int(r[1]))
            else:
                pkt.verdict(int(r))
        except (EncodeError, TypeError, ValueError, IndexError) as exc:
            self.errors += 1
            self.pool._record_error(self.slot, exc)
            if not pkt.has_verdict:
                self._give_policy(queue, pid)

    def run(self) -> int:
        """The worker's loop; its exit code."""
        w, b = self.words, self.base
        w[b + CtlWord.PID] = os.getpid()
        w[b + CtlWord.STATE] = 1
        # a slot's counts go on from the worker before it (which is gone)
        self.handled = int(w[b + CtlWord.PACKETS])
        self.verdicts = int(w[b + CtlWord.VERDICTS])
        self.no_verdict = int(w[b + CtlWord.POLICY])
        self.errors = int(w[b + CtlWord.ERRORS])
        self.deferred = int(w[b + CtlWord.DEFERRED])
        self.frames = int(w[b + CtlWord.FRAMES])
        self.wakeups = int(w[b + CtlWord.WAKEUPS])
        self.idle_at = self.handled
        if self.pool.init is not None:
            self.pool.init(self.slot)
        ring = self.rx
        rx = ring.rx
        assert rx is not None  # a packet ring has an RX ring
        handle = self.handle
        while True:
            got = True
            while got:  # the frames ready now, in runs (no system call)
                got = False
                for view in rx.iter_data(_FRAMES_PER_RUN):
                    got = True
                    if not handle(view):
                        return self._finish()
            self.commit(idle=True)
            f = ring.recv(timeout=IDLE_SLICE)
            if f is None:
                if os.getppid() != self.owner:
                    return 0  # the owner is gone (and the queue with it)
                continue
            try:
                if not handle(f.data):
                    return self._finish()
            finally:
                ring.release(f)

    def _finish(self) -> int:
        self.commit()
        self.words[self.base + CtlWord.STATE] = 2
        return 0
