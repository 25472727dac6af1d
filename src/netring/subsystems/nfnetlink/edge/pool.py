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
"""

from __future__ import annotations

import mmap
import os
import select
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any

from .... import nlmmap
from ...._sys import eventfd
from ....codec.structs import u32
from ....errors import DecodeError, EncodeError, NetringError, RingError
from ..constants import NF
from ..queue.checksum import fix_packet
from ..queue.constants import NFQNL_COPY
from ..queue.flow import MessageFlows
from ..queue.packet import Packet
from ..queue.pool import (
    END_MESSAGE,
    ERROR_BYTES,
    FANOUTS,
    PACKET_HEADER,
    PACKET_TYPE_BE,
    CtlWord,
    PoolStats,
    VerdictRecord,
    VerdictRecords,
    WorkerStats,
    check_verdict,
    ctl_size,
    decode_verdicts,
    error_offset,
    error_text,
    frame_bytes,
    is_end,
)
from ..queue.requests import NFQNL_VERDICT_TYPE
from .queue import Queue

__all__ = ["QueuePool", "DEFAULT_DEPTH", "DEFAULT_WORKER_TIMEOUT"]

_VERDICT = int(NFQNL_VERDICT_TYPE)
_PACKET_MIN = PACKET_HEADER.size
_nlmsg_len = u32  # the first word of a netlink message, host order
_FRAMES_PER_RUN = 16  # packet frames a worker reads before it looks at the ring again

#: packets a worker may hold without a verdict (its ring's frames)
DEFAULT_DEPTH = 128
#: seconds a worker holding packets may go without giving a verdict before it is killed
DEFAULT_WORKER_TIMEOUT = 10.0
#: verdicts a worker collects before it sends them (also when its ring is empty, and
#: when the oldest has waited COMMIT_AFTER)
DEFAULT_FLUSH_EVERY = 64
#: seconds the oldest verdict a worker collected may wait to be sent
COMMIT_AFTER = 0.001
#: seconds the owner sleeps at most per wait (liveness and stuck workers are checked)
SLICE = 0.05
#: verdict frames the owner reads from one worker per round
COLLECT_FRAMES = 64
#: seconds the owner sleeps at most per wait while workers hold packets
TICK = 0.002
#: seconds between the owner's liveness checks while it is busy
CHECK_EVERY = 0.02
#: seconds an idle worker waits for a packet before it checks that the owner lives
IDLE_SLICE = 0.2
#: seconds a worker waits for room in its verdict ring (the owner is gone past that)
VERDICT_TIMEOUT = 10.0
#: seconds close() waits for workers to finish their packets and exit
STOP_TIMEOUT = 5.0


def _geometry(data: int, frames: int) -> Any:
    """A ring of at least ``frames`` frames holding ``data`` bytes each, evenly spaced
    (no block tails, so the writer fills and the reader walks runs of frames with
    strided slices): a power of two up to a page, whole pages beyond."""
    page = mmap.PAGESIZE
    need = data + nlmmap.NL_MMAP_HDRLEN
    frame = page * -(-need // page) if need > page // 2 else 1 << (need - 1).bit_length()
    return nlmmap.RingGeometry.for_frames(frame, frames, page_size=page,
                                          block_size=max(frame, page))


class _Slot:
    """The owner's view of one worker slot: its process, rings and packets."""

    __slots__ = ("index", "pid", "pidfd", "rx_shared", "rx_writer", "v_shared", "v_ring",
                 "inflight", "pending", "stats", "progress", "alive", "ending")

    def __init__(self, index: int) -> None:
        self.index = index
        self.pid = 0
        self.pidfd = -1
        self.rx_shared: Any = None
        self.rx_writer: Any = None
        self.v_shared: Any = None
        self.v_ring: Any = None
        self.inflight: set[int] = set()  # queue << 32 | packet id
        self.pending: list[int] = []  # indices into the current batch (flow fanout)
        self.stats = WorkerStats(index)
        self.progress = 0.0
        self.alive = False
        self.ending = False  # the end frame is in its ring


class QueuePool:
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
        self._msgs: list[memoryview] = []
        self._keys: list[int] = []
        self._hashes: list[int] = []
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

    # -- workers -----------------------------------------------------------------------------
    def _spawn(self, s: _Slot) -> None:
        s.rx_shared = nlmmap.SharedRing.create(self._rx_geometry, name=f"netring-pool-rx{s.index}")
        s.v_shared = nlmmap.SharedRing.create(self._v_geometry, name=f"netring-pool-v{s.index}")
        try:
            s.rx_writer = nlmmap.RingWriter(s.rx_shared, timeout=0)
            s.v_ring = nlmmap.UserRing.attach(s.v_shared)
            words = self._words
            assert words is not None
            base = CtlWord.SLOT_BASE + s.index * CtlWord.SLOT_WORDS
            words[base + CtlWord.STATE] = 0
            pid = os.fork()
        except BaseException:
            self._close_rings(s)
            raise
        if pid == 0:  # the worker: never returns into the owner's code
            code = 70
            try:
                self._become_worker(s)
                code = _Worker(self, s).run()
            except BaseException as exc:
                self._record_error(s.index, exc)
                code = 1
            finally:
                os._exit(code)
        s.pid = pid
        s.pidfd = os.pidfd_open(pid)
        self._by_pidfd[s.pidfd] = s
        self._poll.register(s.pidfd, select.POLLIN)
        s.alive = True
        s.ending = False
        s.progress = time.monotonic()
        s.stats.pid = pid
        s.stats.alive = True

    def _become_worker(self, s: _Slot) -> None:
        """In the new worker: drop what belongs to the owner alone."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if not self.queue.closed:
            os.close(self.queue.fileno())  # the socket lives and dies with the owner
        for fd in self._by_pidfd:
            os.close(fd)

    def _record_error(self, slot: int, exc: BaseException) -> None:
        ctl = self._ctl
        if ctl is not None:
            at = error_offset(self.workers, slot)
            ctl[at:at + ERROR_BYTES] = error_text(exc)

    def _kill(self, s: _Slot) -> None:
        signal.pidfd_send_signal(s.pidfd, signal.SIGKILL)  # the process, not a reused pid
        self._reaped(s, os.waitpid(s.pid, 0)[1])

    def _check(self, timeout: float = 0.0) -> None:
        """Reap workers that exited; kill the ones stuck without progress."""
        poll = select.poll()
        for fd in self._by_pidfd:
            poll.register(fd, select.POLLIN)
        for fd, _ev in poll.poll(int(timeout * 1000)):
            s = self._by_pidfd.get(fd)
            if s is not None:
                self._exited(s)
        limit = self.worker_timeout
        if limit is not None:
            now = time.monotonic()
            for s in self._slots:
                if s.alive and s.inflight and now - s.progress > limit:
                    self._kill(s)

    def _exited(self, s: _Slot) -> None:
        done, status = os.waitpid(s.pid, os.WNOHANG)
        if done:
            self._reaped(s, status)

    def _reaped(self, s: _Slot, status: int) -> None:
        """A worker is gone: take its last verdicts, give the rest the policy, restart."""
        code = os.waitstatus_to_exitcode(status)
        s.alive = False
        s.stats.alive = False
        s.stats.exitcode = code
        self._poll.unregister(s.pidfd)
        del self._by_pidfd[s.pidfd]
        os.close(s.pidfd)
        s.pidfd = -1
        self._read_worker_counts(s)
        self._collect(s)
        self._orphans(s)
        self._close_rings(s)
        asked = s.ending or self._closed
        if not asked:
            s.stats.deaths += 1
            self._stats.worker_deaths += 1
        if asked or not self.restart or s.stats.restarts >= self.max_restarts:
            if not asked:
                self._remap(s)
            return
        s.stats.restarts += 1
        self._stats.restarts += 1
        self._spawn(s)

    @staticmethod
    def _close_rings(s: _Slot) -> None:
        for obj in (s.rx_writer, s.v_ring, s.rx_shared, s.v_shared):
            if obj is not None:
                obj.close()
        s.rx_writer = s.v_ring = s.rx_shared = s.v_shared = None

    def _orphans(self, s: _Slot) -> None:
        q = self.queue
        n = 0
        for k in s.inflight:
            try:
                q.set_verdict(k >> 32, k & 0xFFFFFFFF, self.policy)
                n += 1
            except EncodeError:
                self._stats.bad_verdicts += 1
        s.inflight.clear()
        s.stats.in_flight = 0
        self._stats.dead_worker_verdicts += n

    def _read_worker_counts(self, s: _Slot) -> None:
        words = self._words
        if words is None:
            return
        base = CtlWord.SLOT_BASE + s.index * CtlWord.SLOT_WORDS
        st = s.stats
        st.handled = int(words[base + CtlWord.PACKETS])
        st.policy = int(words[base + CtlWord.POLICY])
        st.callback_errors = int(words[base + CtlWord.ERRORS])
        st.deferred = int(words[base + CtlWord.DEFERRED])
        ctl = self._ctl
        assert ctl is not None
        at = error_offset(self.workers, s.index)
        st.last_error = bytes(ctl[at:at + ERROR_BYTES]).split(b"\0", 1)[0].decode(
            "utf-8", "replace")

    def _live(self) -> list[_Slot]:
        return [s for s in self._slots if s.alive and not s.ending]

    # -- verdicts from workers ------------------------------------------------------------
    def _collect(self, only: _Slot | None = None) -> int:
        """Every verdict the workers (or ``only``) have sent so far, checked, then
        handed to the queue's batcher in packet id order: the workers' streams merged,
        most of them extend the completed prefix at once (no system call: each ring's
        ready frames are read in runs and released together)."""
        got: list[VerdictRecord] = []
        for s in (self._slots if only is None else (only,)):
            if s.v_ring is not None:
                for view in s.v_ring.rx.iter_data(COLLECT_FRAMES):
                    self._check_records(s, view, got)
        if not got:
            return 0
        got.sort()  # (queue, id, ...): each queue's ids in order (a wrap at 2**32 only costs batching)
        q = self.queue
        if q.writer.room < 40 * len(got) + 256:
            q.flush(force=False)  # room for every record's message, if it goes alone
        complete = q.batcher.complete
        refused = 0
        for queue, pid, verdict, mark, extra in got:
            try:
                if extra is None:
                    if mark is None:
                        complete(queue, pid, verdict)
                    else:
                        complete(queue, pid, verdict, mark=mark)
                else:
                    q.set_verdict(queue, pid, verdict, mark=mark, connmark=extra.connmark,
                                  labels=extra.labels, payload=extra.payload,
                                  fix_checksums=False)
            except EncodeError:
                refused += 1  # the queue no longer waits for it (unbound meanwhile)
        if refused:
            self._stats.bad_verdicts += refused
        return len(got) - refused

    def _check_records(self, s: _Slot, data: memoryview, out: list[VerdictRecord]) -> None:
        """One verdict frame of worker ``s``: every record must be for a packet given to
        it and still without a verdict; the good ones go to ``out``."""
        try:
            recs = decode_verdicts(data)
        except DecodeError:
            self._stats.bad_verdicts += 1
            self._misbehaved(s)
            return
        inflight = s.inflight
        remove = inflight.remove
        foreign = 0
        for r in recs:
            try:
                remove(r[0] << 32 | r[1])
            except KeyError:
                foreign += 1  # not a packet this worker holds
                continue
            out.append(r)
        s.stats.verdicts += len(recs) - foreign
        s.progress = time.monotonic()
        if foreign:
            self._stats.bad_verdicts += foreign
            self._misbehaved(s)

    def _misbehaved(self, s: _Slot) -> None:
        """A worker wrote what no worker of this pool writes: stop it (its packets
        get the policy verdict when it is reaped)."""
        if s.alive:
            signal.pidfd_send_signal(s.pidfd, signal.SIGKILL)  # reaped by the next check

    # -- packets to workers ----------------------------------------------------------------
    def _capacity(self) -> int:
        depth = self.depth
        return sum(depth - len(s.inflight) for s in self._slots if s.alive and not s.ending)

    def _take(self, batch: Any) -> None:
        """Keep a received batch's packets for the workers and hand out what fits."""
        n = len(batch)
        ids = batch.ids
        qs = batch.queues
        batch.keep()  # their verdicts come from the workers
        if qs is None:
            base = batch.queue << 32
            keys = [base | i for i in ids]
        else:
            keys = [qq << 32 | i for qq, i in zip(qs, ids, strict=True)]
        msgs = batch.messages()
        self._stats.packets += n
        self._msgs = msgs
        self._keys = keys
        order: list[int] | range = range(n)
        ds = self._frame_data
        if max(map(len, msgs)) > ds:
            order = [i for i in order if len(msgs[i]) <= ds]
            for i in set(range(n)) - set(order):
                self._policy(keys[i])
                self._stats.oversize += 1
        live = self._live()
        if not live:
            for i in order:
                self._policy(keys[i])
            self._stats.no_worker += len(order)
            return
        self._pending = len(order)
        if self.fanout == "rr":
            self._rr_pending = list(order)
        else:
            nl = len(live)
            if nl == 1:
                live[0].pending.extend(order)
                self._hashes = []
            else:
                if self._key is not None:
                    hashes = list(map(self._key, msgs))
                else:
                    h = self._flows.hash
                    hashes = [h(m, len(m)) for m in msgs]
                self._hashes = hashes
                for i in order:
                    live[hashes[i] % nl].pending.append(i)
        self._dispatch()

    def _remap(self, dead: _Slot) -> None:
        """The pending packets of a slot left empty go to the slots still alive."""
        pend, dead.pending = dead.pending, []
        if not pend:
            return
        live = self._live()
        if not live:
            for i in pend:
                self._policy(self._keys[i])
            self._stats.no_worker += len(pend)
            self._pending -= len(pend)
            return
        hashes = self._hashes
        for i in pend:
            live[(hashes[i] if hashes else 0) % len(live)].pending.append(i)

    def _dispatch(self) -> int:
        """Write what fits of the pending packets into their workers' rings."""
        sent = 0
        depth = self.depth
        if self.fanout == "rr":
            pend = self._rr_pending
            live = self._live()
            nl = len(live)
            if not nl or not pend:
                return 0
            rooms = [depth - len(s.inflight) for s in live]
            k = len(pend)
            r = self._rr % nl
            lists: list[list[int]] = [[] for _ in live]
            if min(rooms) * nl >= k:  # every worker takes its share, one run of ids each
                size, extra = divmod(k, nl)
                at = 0
                for j in range(nl):
                    w = (r + j) % nl
                    take = size + (j < extra)
                    lists[w] = pend[at:at + take]
                    at += take
                self._rr = (r + extra) % nl
                rest: list[int] = []
            else:  # by turns, skipping the full ones
                left = sum(rooms)
                j = r
                taken = 0
                while taken < k and left:
                    w = j % nl
                    j += 1
                    if rooms[w]:
                        rooms[w] -= 1
                        left -= 1
                        lists[w].append(pend[taken])
                        taken += 1
                self._rr = j % nl
                rest = pend[taken:]
            unsent: list[int] = []
            for s, idx in zip(live, lists, strict=True):
                if idx:
                    got = self._send(s, idx)
                    sent += got
                    if got < len(idx):
                        unsent.extend(idx[got:])
            self._rr_pending = sorted(unsent + rest) if unsent else rest
        else:
            for s in self._slots:
                pend = s.pending
                if pend and s.alive and not s.ending:
                    room = depth - len(s.inflight)
                    if room > 0:
                        got = self._send(s, pend[:room] if room < len(pend) else pend)
                        if got:
                            del pend[:got]
                            sent += got
        self._pending -= sent
        return sent

    def _send(self, s: _Slot, idx: Sequence[int]) -> int:
        """Copy the packets ``idx`` into worker ``s``'s ring, as many per frame as fit
        (back to back, each at a 4-byte aligned offset); returns how many went in."""
        msgs = self._msgs
        keys = self._keys
        ds = self._frame_data
        writer = s.rx_writer
        n = len(idx)
        sent = 0
        while sent < n:
            view = writer.frame(wait=False)  # the next free frame's data area, reserved
            if view is None:  # frames it has not released yet
                self._stats.ring_full += 1
                break
            o = end = 0
            k = sent
            while k < n:
                m = msgs[idx[k]]
                ln = len(m)
                if o + ln > ds:
                    break
                view[o:o + ln] = m
                end = o + ln
                o = (end + 3) & ~3
                k += 1
            writer.commit(end)
            if not s.inflight:
                s.progress = time.monotonic()
            s.inflight.update([keys[i] for i in idx[sent:k]])
            sent = k
        if sent:
            s.stats.packets += sent
            self._stats.dispatched += sent
        return sent

    def _policy(self, key: int) -> None:
        try:
            self.queue.set_verdict(key >> 32, key & 0xFFFFFFFF, self.policy)
        except EncodeError:
            self._stats.bad_verdicts += 1

    def _policy_pending(self) -> None:
        """Packets still waiting in the owner (no worker took them): the policy."""
        if not self._pending:
            return
        idx = list(self._rr_pending)
        self._rr_pending = []
        for s in self._slots:
            idx.extend(s.pending)
            s.pending = []
        for i in idx:
            self._policy(self._keys[i])
        self._stats.no_worker += len(idx)
        self._pending = 0

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


class _Worker:
    """The worker side (runs in the forked process): read packet frames, call the
    callback, write verdict records.  It is the packets' verdict sink
    (:class:`~..queue.packet.Packet` hands its verdicts here)."""

    def __init__(self, pool: QueuePool, s: _Slot) -> None:
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
