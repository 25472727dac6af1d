"""The worker processes of a :class:`~.pool.QueuePool`: :class:`PoolSlots`, a part of
``QueuePool`` (the owner's view of one worker slot, ``_Slot``, is in :mod:`.pool_slot`).

A slot's life, seen from the owner::

    _spawn: two shared rings (packets, verdicts), fork --> the child becomes a
            _Worker (pool_worker.py); the owner keeps a pidfd, polled
    _check: a pidfd readable: the worker exited --> _reaped; a worker holding
            packets without progress for worker_timeout --> _kill (SIGKILL on the
            pidfd: the process, never a reused pid) --> _reaped
    _reaped: its counts and last verdicts read, the packets it had no verdict
             for get the policy (dead_worker_verdicts), its rings closed; then
             a new worker in the slot (restart, at most max_restarts), or the
             slot left empty and its pending packets moved to the live slots

Reaping builds on the data path (:class:`~.pool_dispatch.PoolDispatch`): the last
verdicts a dead worker wrote are collected like any others.
"""

from __future__ import annotations

import mmap
import os
import select
import signal
import time

from .... import nlmmap
from ....codec.types import TYPE_CHECKING
from ....errors import EncodeError
from ..queue.pool import ERROR_BYTES, CtlWord, error_offset, error_text
from .pool_dispatch import PoolDispatch
from .pool_slot import _Slot
from .pool_worker import _Worker

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ..queue.packet import Packet

__all__ = ["PoolSlots"]


class PoolSlots(PoolDispatch):
    """Spawning, watching, reaping and restarting the workers of a :class:`~.pool.QueuePool`
    (a mixin: the state it reads is set up by ``QueuePool.__init__``).  The
    attributes a :class:`~.pool_worker._Worker` reads from its pool are declared here."""

    callback: Callable[[Packet], object]
    workers: int
    restart: bool
    max_restarts: int
    worker_timeout: float | None
    flush_every: int
    init: Callable[[int], object] | None
    _rx_geometry: Any
    _v_geometry: Any
    _closed: bool
    _owner: int
    _ctl: mmap.mmap | None
    _words: memoryview | None
    _wake: int
    _poll: select.poll
    _by_pidfd: dict[int, _Slot]

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
