"""A worker pool behind one queue socket: :class:`QueuePool`.

OS edge module (``os``, ``mmap``, ``select``, ``signal``).  One process, the
owner, holds the :class:`~.queue.Queue` (the ``NETLINK_NETFILTER`` socket, the
binding, the verdict batcher); W worker processes run the callback::

                      packet ring 0 (RingWriter.frame/commit -> UserRing.attach)
    kernel --recvmmsg--> owner ----------------------------------------> worker 0 callback(pkt)
      ^                  | fanout: flow hash % W, or round-robin           |
      |                  | <------------------- verdict ring 0 ------------'
      |                  |      (NFQNL_MSG_VERDICT records; RingWriter in the worker,
      |                  |       UserRing.attach in the owner)
      '--VERDICT_BATCH---+  the Queue's Batcher: the contiguous completed prefix as one
         + VERDICT          batch message, every other verdict alone and first, the
                            waiting ones alone after ``delay`` (no packet waits for a gap)

* **Frames** (:mod:`..queue.pool`): a packet frame holds the kernel's
  ``NFQNL_MSG_PACKET`` messages byte for byte, as many as fit, back to back; a
  verdict frame holds the worker's ``NFQNL_MSG_VERDICT`` messages.  The owner
  checks every record and every id against what it gave that worker, and hands
  a round's verdicts to the batcher merged in id order.
* **Flow control**: a worker holds at most ``depth`` packets without a verdict;
  the owner writes a ring without waiting (what does not fit waits in the owner,
  in the queue's receive slots: no copy) and receives from the socket only what
  the window and the workers can take, so it never blocks on a worker.  A worker's
  verdict ring has as many frames as it can have packets, so a worker never waits
  for the owner either.
* **Waking**: a worker sends its verdicts when its ring is empty, after
  ``flush_every`` verdicts, or when the oldest waited :data:`COMMIT_AFTER`; it
  writes the owner's eventfd only when the owner announced that it sleeps.  While
  every worker holds half its depth the owner does not ask to be woken and takes
  verdicts every :data:`TICK` (fewer, larger rounds).
* **Deaths**: the owner watches each worker with a pidfd.  When one exits (killed,
  crashed, or a callback raised ``SystemExit``) the owner reads what its verdict
  ring still holds, gives every packet the worker had no verdict for the policy
  verdict (counted: ``dead_worker_verdicts``), and starts a new worker in the slot
  (``restart``; at most ``max_restarts`` times per slot).  A worker holding packets
  without progress for ``worker_timeout`` seconds is killed the same way; so is
  one that writes a malformed or foreign verdict.
* **The callback** runs in the worker with a :class:`~..queue.packet.Packet` over
  the packet frame: the payload is a zero-copy view of the shared ring, **valid
  until the callback returns** (``pkt.copy()`` keeps it and gives the verdict
  later, from the same worker).  It gives a verdict with the packet's methods
  (``accept``/``drop``/``verdict(v, mark=, connmark=, labels=, payload=)``: a
  replacement payload is supported up to the frame size, checksums fixed in the
  worker) or returns one (an ``NF`` verdict word, or ``(verdict, mark)``); without
  either, or when it raises, the packet gets the policy verdict (counted).
* **Processes** are made with ``fork`` when the pool starts: the callback may be
  any callable (nothing is pickled).  Start the pool from a process without other
  threads.  Workers close the queue socket (only the owner speaks to the kernel;
  a queue outlives no owner), ignore SIGINT, and exit when the owner goes away.

Not thread-safe: one thread drives a pool (and its queue).

``QueuePool`` is one class made of parts, one module each::

    pool.py           QueuePool: the constructor, start/close, the loop (run), stats
    pool_slots.py     PoolSlots: the workers' processes: spawn, watch, reap, restart;
                      _Slot, the owner's view of one slot
    pool_dispatch.py  PoolDispatch: packets to the workers (fanout, flow control),
                      verdicts from them (checked, merged, to the queue's batcher)
    pool_worker.py    _Worker: what runs in a worker process
"""

from __future__ import annotations

import mmap
import os
import select
import signal
import time
from collections.abc import Callable

from .... import nlmmap
from ...._sys import eventfd
from ....codec.types import TYPE_CHECKING
from ....errors import EncodeError, NetringError
from ..constants import NF
from ..queue.constants import NFQNL_COPY
from ..queue.flow import MessageFlows
from ..queue.packet import Packet
from ..queue.pool import (
    END_MESSAGE,
    FANOUTS,
    CtlWord,
    PoolStats,
    WorkerStats,
    ctl_size,
    frame_bytes,
)
from .pool_dispatch import COLLECT_FRAMES as COLLECT_FRAMES
from .pool_slot import _geometry, _Slot
from .pool_slots import PoolSlots
from .pool_worker import COMMIT_AFTER as COMMIT_AFTER
from .pool_worker import IDLE_SLICE as IDLE_SLICE
from .pool_worker import VERDICT_TIMEOUT as VERDICT_TIMEOUT
from .pool_worker import _Worker as _Worker
from .queue import Queue

if TYPE_CHECKING:
    from typing import Any

__all__ = ["QueuePool", "DEFAULT_DEPTH", "DEFAULT_WORKER_TIMEOUT"]

#: packets a worker may hold without a verdict (its ring's frames)
DEFAULT_DEPTH = 128
#: seconds a worker holding packets may go without giving a verdict before it is killed
DEFAULT_WORKER_TIMEOUT = 10.0
#: verdicts a worker collects before it sends them (also when its ring is empty, and
#: when the oldest has waited COMMIT_AFTER)
DEFAULT_FLUSH_EVERY = 64
#: seconds the owner sleeps at most per wait (liveness and stuck workers are checked)
SLICE = 0.05
#: seconds the owner sleeps at most per wait while workers hold packets
TICK = 0.002
#: seconds between the owner's liveness checks while it is busy
CHECK_EVERY = 0.02
#: seconds close() waits for workers to finish their packets and exit
STOP_TIMEOUT = 5.0


class QueuePool(PoolSlots):
    """W worker processes behind one :class:`~.queue.Queue` (see the module docstring).

    ::

        with Queue(1, fail_open=True) as q, QueuePool(q, check, workers=2) as pool:
            pool.run(timeout=60)        # callback(pkt) runs in the workers
            print(pool.stats())

    Args:
        queue: the bound queue; the pool drives it (do not receive from it meanwhile)
            and leaves it open.
        callback: ``callback(pkt)`` in a worker, for every packet.
        workers: worker processes (1..64).
        fanout: ``"flow"`` (both directions of a flow to one worker: a symmetric
            hash of the 5-tuple, :mod:`..queue.flow`), ``"rr"`` (round-robin,
            skipping full workers), or a function of the packet message (a
            ``memoryview``) whose value modulo the workers alive picks one.
        depth: packets a worker may hold without a verdict.
        policy: the verdict for packets no callback decided (default the queue's).
        restart: start a new worker when one exits unasked.
        max_restarts: restarts per slot before it is left empty.
        worker_timeout: seconds a worker holding packets may go without a verdict
            before it is killed (``None``: never).
        flush_every: verdicts a worker collects before sending them.
        init: ``init(slot)`` in each worker before its first packet.

    Raises:
        EncodeError: a bad argument.
    """

    def __init__(self, queue: Queue, callback: Callable[[Packet], object], *,
                 workers: int = 2, fanout: str | Callable[[memoryview], int] = "flow",
                 depth: int = DEFAULT_DEPTH, policy: int | None = None, restart: bool = True,
                 max_restarts: int = 10,
                 worker_timeout: float | None = DEFAULT_WORKER_TIMEOUT,
                 flush_every: int = DEFAULT_FLUSH_EVERY,
                 init: Callable[[int], object] | None = None) -> None:
        if not 1 <= workers <= 64:
            raise EncodeError(f"workers {workers} outside 1..64")
        if not callable(fanout) and fanout not in FANOUTS:
            raise EncodeError(f"fanout {fanout!r}: 'flow', 'rr' or a function")
        if not 1 <= depth <= 65536:
            raise EncodeError(f"depth {depth} outside 1..65536")
        if not 1 <= flush_every <= 4096:
            raise EncodeError(f"flush_every {flush_every} outside 1..4096")
        pol = queue.policy if policy is None else int(policy)
        if pol not in (NF.ACCEPT, NF.DROP):
            raise EncodeError(f"policy must be NF.ACCEPT or NF.DROP, not {policy!r}")
        self.queue = queue
        self.callback = callback
        self.workers = workers
        self.fanout = fanout if isinstance(fanout, str) else "custom"
        self._key = None if isinstance(fanout, str) else fanout
        self.depth = depth
        self.policy = pol
        self.restart = restart
        self.max_restarts = max_restarts
        self.worker_timeout = worker_timeout
        self.flush_every = flush_every
        self.init = init
        data = frame_bytes(queue.copy_mode == NFQNL_COPY.PACKET, queue.copy_range)
        # a worker releases the frames of a run of up to flush_every packets together,
        # possibly after their verdicts: room for those beyond the depth.  One verdict
        # record per packet at most: as many verdict frames, so a worker never waits.
        self._rx_geometry = _geometry(data, depth + flush_every)
        self._v_geometry = _geometry(data, depth + 1)
        self._frame_data = self._rx_geometry.data_size
        self._slots = [_Slot(i) for i in range(workers)]
        self._flows = MessageFlows()
        self._started = False
        self._closed = False
        self._owner = os.getpid()
        self._ctl: mmap.mmap | None = None
        self._words: memoryview | None = None
        self._wake = -1
        self._poll = select.poll()
        self._queue_polled = False
        self._by_pidfd: dict[int, _Slot] = {}
        # the batch being handed out (its packets view the queue's receive slots)
        self._msgs: list[memoryview] | None = None
        self._batch: Any = None  # the receive batch whose packets are being handed out
        self._keys: list[int] = []
        self._hashes: list[int] = []
        self._strided: tuple[memoryview, int] | None = None  # see PoolDispatch._take
        self._alike = 0
        self._rr_pending: list[int] = []
        self._pending = 0
        self._rr = 0
        self._next_check = 0.0
        self._stop = False
        #: true when SIGTERM ended the last :meth:`run`
        self.terminated = False
        self._can_receive = False
        self._low = max(1, min(64, depth * workers // 2))
        st = self._stats = PoolStats()
        st.fanout = self.fanout
        st.policy = pol
        st.workers = [s.stats for s in self._slots]

    # -- lifetime --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the workers (:meth:`run` does it on first use)."""
        if self._closed:
            raise NetringError("this pool is closed")
        if self._started:
            return
        size = -(-ctl_size(self.workers) // mmap.PAGESIZE) * mmap.PAGESIZE
        self._ctl = mmap.mmap(-1, size)  # MAP_SHARED | MAP_ANONYMOUS: inherited by fork
        self._words = memoryview(self._ctl).cast("Q")
        self._wake = eventfd.create()
        self._poll.register(self._wake, select.POLLIN)
        self._started = True
        try:
            for s in self._slots:
                self._spawn(s)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> QueuePool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        alive = sum(s.alive for s in self._slots)
        return (f"<QueuePool queues={self.queue.bound} workers={alive}/{self.workers} "
                f"fanout={self.fanout} depth={self.depth}>")

    def close(self) -> None:
        """Finish: every worker gets an end frame and finishes its packets (at most
        :data:`STOP_TIMEOUT` seconds, then it is killed and its packets get the policy
        verdict); verdicts are sent.  The queue stays open.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        if not self._started:
            return
        try:
            self._stop_workers(STOP_TIMEOUT)
        finally:
            for s in self._slots:
                if s.alive:
                    self._kill(s)
            self._policy_pending()
            if not self.queue.closed:
                self.queue.flush()
            if self._wake >= 0:
                os.close(self._wake)
                self._wake = -1
            if self._words is not None:
                self._words.release()
                self._words = None
            if self._ctl is not None:
                self._ctl.close()
                self._ctl = None

    # -- the loop --------------------------------------------------------------------------
    def _step(self, receive: int) -> bool:
        """One round: verdicts in, pending packets out, a batch received if
        ``receive`` > 0 packets may be; verdicts sent.  True if anything moved."""
        did = self._collect() > 0
        self._can_receive = False
        if self._pending:
            did = self._dispatch() > 0 or did
        elif receive > 0:
            q = self.queue
            room = min(receive, q.window - q.batcher.in_flight, self._capacity())
            # whole batches: wait until the workers can take one, unless they hold
            # nothing (or this is all the run still wants)
            self._can_receive = room > 0 and (room >= self._low or room == receive
                                              or not self._in_flight())
            if self._can_receive:
                batch = q.recv_batch(block=False, limit=room)
                if batch:
                    self._take(batch)
                    did = True
        b = self.queue.batcher
        if did or (b.waiting and b.due()):
            self.queue.flush(force=False)
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + CHECK_EVERY
            self._check()
        return did

    def _sleep(self, want_packets: bool, deadline: float | None) -> None:
        """Wait for verdicts, packets (``want_packets``), a worker's exit, the batcher's
        delay or ``deadline``.  Workers write the wake eventfd only while
        ``SLEEPING`` is set; a wake-up missed in the store/load race between the
        two sides costs at most :data:`TICK` while workers hold packets."""
        words = self._words
        assert words is not None
        if self._busy():
            # every worker has work for a while: verdicts are taken every TICK, with
            # no wake-up per verdict frame (fewer, larger rounds)
            self._wait(want_packets, deadline, TICK)
            return
        words[CtlWord.SLEEPING] = 1
        eventfd.drain(self._wake)  # a syscall: the store above is seen before we look
        for s in self._slots:
            if s.v_ring is not None and s.v_ring.rx.ready():
                words[CtlWord.SLEEPING] = 0
                return
        try:
            self._wait(want_packets, deadline, TICK if self._in_flight() else SLICE)
        finally:
            words[CtlWord.SLEEPING] = 0

    def _busy(self) -> bool:
        """True while every live worker holds at least half its depth."""
        half = self.depth // 2
        live = [s for s in self._slots if s.alive and not s.ending]
        return bool(live) and all(len(s.inflight) >= half for s in live) and half > 0

    def _wait(self, want_packets: bool, deadline: float | None, timeout: float) -> None:
        fd = self.queue.fileno()
        if want_packets != self._queue_polled:
            if want_packets:
                self._poll.register(fd, select.POLLIN)
            else:
                self._poll.unregister(fd)
            self._queue_polled = want_packets
        b = self.queue.batcher
        if b.waiting:
            timeout = min(timeout, b.delay)
        if deadline is not None:
            timeout = max(0.0, min(timeout, deadline - time.monotonic()))
        ready = self._poll.poll(max(0, int(timeout * 1000 + 0.999)))
        for rfd, _ev in ready:
            if rfd == self._wake:
                eventfd.drain(self._wake)
            else:
                s = self._by_pidfd.get(rfd)
                if s is not None:
                    self._exited(s)

    def _in_flight(self) -> int:
        return sum(len(s.inflight) for s in self._slots)

    def run(self, count: int | None = None, timeout: float | None = None, *,
            handle_signals: bool = True) -> int:
        """Hand packets to the workers until ``count`` packets were received or
        ``timeout`` seconds passed, then wait for their verdicts; returns how many
        packets were received (every one has its verdict when this returns).

        With ``handle_signals`` (main thread only) SIGTERM ends the run the same
        way (then :attr:`terminated` is true).  On any exception (SIGINT's ``KeyboardInterrupt`` included) the pool is
        closed: the workers finish what they hold, then the exception goes on.

        Raises:
            NetringError: no worker is left (every slot exceeded ``max_restarts``);
                every packet got the policy verdict first.
        """
        self.start()
        if self._closed:
            raise NetringError("this pool is closed")
        deadline = None if timeout is None else time.monotonic() + timeout
        received_at_start = self._stats.packets
        self._stop = False
        self.terminated = False
        old: Any = None
        if handle_signals:
            import threading

            if threading.current_thread() is threading.main_thread():
                def on_term(signum: int, frame: object) -> None:
                    self._stop = self.terminated = True
                old = signal.signal(signal.SIGTERM, on_term)
        try:
            while True:
                got = self._stats.packets - received_at_start
                receiving = not self._stop and (count is None or got < count) and (
                    deadline is None or time.monotonic() < deadline)
                want = (count - got if count is not None else 1 << 30) if receiving else 0
                did = self._step(want)
                if not any(s.alive for s in self._slots):
                    self._policy_pending()
                    errors = "; ".join(s.stats.last_error for s in self._slots
                                       if s.stats.last_error)
                    raise NetringError("every worker of the pool exited (restarts used up)"
                                       + (f": {errors}" if errors else ""))
                if not receiving and not self._pending and not self._in_flight():
                    break
                if not did:
                    self._sleep(self._can_receive, deadline)
            self.queue.flush()
        except BaseException:
            self.close()
            raise
        finally:
            if old is not None:
                signal.signal(signal.SIGTERM, old)
        return self._stats.packets - received_at_start

    def _stop_workers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._collect()
            if self._pending:
                self._dispatch()
            for s in self._slots:
                if s.alive and not s.ending and not self._pending:
                    try:
                        s.rx_writer.send_many([END_MESSAGE], timeout=0)
                        s.ending = True
                    except nlmmap.RingTimeout:
                        continue  # its ring is full: the next round tries again
            self.queue.flush(force=False)
            if not any(s.alive for s in self._slots):
                return
            if time.monotonic() >= deadline:
                return
            self._sleep(False, deadline)
            self._check()

    # -- statistics ----------------------------------------------------------------------
    def stats(self, *, kernel: bool = True) -> PoolStats:
        """A snapshot of every count (:class:`~..queue.pool.PoolStats`), with the
        queue's own statistics (``kernel``: its /proc counters too)."""
        out = PoolStats()
        src = self._stats
        for name in PoolStats.__slots__:
            if name not in ("workers", "queue"):
                setattr(out, name, getattr(src, name))
        for s in self._slots:
            if s.alive:
                self._read_worker_counts(s)
            w = WorkerStats(s.index)
            for name in WorkerStats.__slots__:
                setattr(w, name, getattr(s.stats, name))
            w.in_flight = len(s.inflight)
            out.workers.append(w)
        if not self.queue.closed:
            qs = self.queue.stats(kernel=kernel)
            out.queue = qs
            out.batch_messages = qs.batch_messages
            out.single_messages = qs.single_messages
        return out
