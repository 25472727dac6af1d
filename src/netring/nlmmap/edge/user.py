"""The user-space ring backend: netlink_mmap semantics on kernels without it.

OS edge module.  :class:`UserRing` is the consumer side of a
:class:`~netring.nlmmap.edge.shm.SharedRing`, read through the common API of
:class:`~netring.nlmmap.base.RingBase`::

    in-process (open_ring):  consumer waits -> RingFiller.fill() (recvmmsg) -> frames
    attached (attach):       another process fills (Feeder, RingWriter, a 4.5 peer
                             program mapping the memfd); the consumer waits for the
                             frame at its head to become VALID (or COPY)

    TX: messages built in place in TX frames; flush() hands every VALID frame to
        the kernel with one sendmsg (netring.nlmmap.edge.tx.flush_frames), or, on
        an attached ring without a socket, leaves them to the peer that drains
        the TX ring as the 4.5 kernel did

Waking up (attached consumers).  Readiness is what the kernel's ``netlink_poll``
reported: the frame at the head is VALID (or COPY), read from the frame itself,
so any producer wakes the consumer, whatever it publishes elsewhere::

    look at the head frame: spin a few microseconds (no syscall)
    -> announce q[WAITING], drain the data eventfd
    -> sleep 20 us, 40 us, ... up to 0.5 ms, looking at the head frame after each;
       a netring producer that sees WAITING writes the data eventfd: woken at once
"""

from __future__ import annotations

import os
import socket
import time

from ..._sys import eventfd
from ..._sys.poll import MAX_SLEEP, Backoff, Readable, deadline_after
from ...codec.types import TYPE_CHECKING
from ...errors import RingError
from ..abi import NL_MMAP_STATUS
from ..base import FlushResult, RingBase
from ..cursor import MAX_MESSAGE, CorruptFrame, Frame, RxConsumer, RxProducer
from .filler import RingFiller
from .shm import HeaderWord, SharedRing
from .tx import TxRing, flush_frames

if TYPE_CHECKING:
    from typing import Any

__all__ = ["UserRing", "COPY_WAIT", "REAP_INTERVAL"]

FULL_WAIT = 0.05  # seconds a consumer whose held frames fill the ring sleeps per wait
COPY_WAIT = 30.0  # seconds a COPY frame may wait for its bytes before it is dropped
REAP_INTERVAL = 0.005  # seconds between producer-liveness checks at a RESERVED head
_RESERVED = int(NL_MMAP_STATUS.RESERVED)


class UserRing(RingBase):
    """A ring run by the user-space engine, read through the common API.

    Made by :func:`open_ring` (this process fills it from the socket while the
    consumer waits) or by :meth:`attach` (another process fills it; this one only
    consumes).

    Args:
        shared: the ring.
        sock: the socket TX frames are flushed to (and that the filler reads).
        filler: the in-process filler, if this process fills the ring.
        reason: why this backend (shown in the repr).
        tx: use the TX ring (if the ring has one).
        max_message: the largest COPY message accepted (``nm_len``); larger ones
            are dropped and counted.
        copy_wait: seconds a COPY frame may wait for its bytes without any
            arriving before it is dropped and counted.
        max_sleep: the longest single sleep of an attached consumer waiting for
            frames (the wake-up latency when nothing signals it).
    """

    backend = "user"

    def __init__(self, shared: SharedRing, *, sock: Any = None, filler: RingFiller | None = None,
                 reason: str = "", tx: bool = True, max_message: int = MAX_MESSAGE,
                 copy_wait: float = COPY_WAIT, max_sleep: float = MAX_SLEEP) -> None:
        self.shared = shared
        self.sock = sock
        self.filler = filler
        self.reason = reason
        self.copy_wait = copy_wait
        q = shared.q
        rx = shared.layout.rx
        self._copy_sock = socket.socket(fileno=os.dup(shared.copy_fd)) if rx else None
        if self._copy_sock is not None:
            self._copy_sock.setblocking(False)
        self._pending: list[Any] | None = None  # [position, buffer, bytes got, deadline]
        if rx is not None:
            self.rx = RxConsumer(shared.mm, rx, shared.rx_base, fetch=self._fetch,
                                 producer_position=self._producer_position,
                                 position=int(q[HeaderWord.RX_CONS]),
                                 commit_slot=(q, HeaderWord.RX_CONS), max_message=max_message)
        txg = shared.layout.tx
        if tx and txg is not None:
            self.txring: TxRing | None = TxRing(shared.mm, txg, shared.tx_base)
            self.tx = self.txring.producer
        else:
            self.txring = None
        self._readable = Readable(filler.fd if filler is not None else shared.data_efd)
        self._backoff = Backoff(shared.data_efd, max_sleep=max_sleep)
        self._backoff_copy = Backoff(shared.data_efd, shared.copy_fd, max_sleep=max_sleep)
        self._next_reap = 0.0
        self._handed_over = 0
        self.producer_deaths = 0

    @classmethod
    def attach(cls, shared: SharedRing, *, drop_orphans: bool = False, tx: bool = False,
               **options: Any) -> UserRing:
        """Consume a ring another process fills.  Continues at the committed position:
        a frame the previous consumer held but never released is delivered again;
        frames it kept (SKIP) are released when ``drop_orphans`` is true.

        Args:
            tx: also produce into the TX ring; with no socket, :meth:`flush` leaves
                VALID frames to the peer that drains the TX ring (a 4.5 peer).
            options: ``max_message``, ``copy_wait``, ``max_sleep`` (see the class).
        """
        r = cls(shared, reason="attached to a shared user-space ring", tx=tx, **options)
        if r.rx is not None:
            r.rx.recover(r.rx.producer_hint())
            if drop_orphans:
                r.rx.drop_orphans()
        return r

    def _producer_position(self) -> int:
        """The published producer position, if a netring producer ever ran this
        ring (-1 otherwise: a 4.5 peer publishes none)."""
        q = self.shared.q
        return int(q[HeaderWord.RX_PROD]) if q[HeaderWord.CLAIMS] else -1

    # -- COPY frames -----------------------------------------------------------------
    def _fetch(self, frame: Frame) -> bytes | None:
        """The COPY message of ``frame`` from the COPY stream, without blocking:
        ``None`` while its bytes have not all come (the next call goes on)."""
        n = int(frame.len)
        s = self._copy_sock
        if s is None:
            raise CorruptFrame("no COPY stream")
        pend = self._pending
        if pend is None or pend[0] != frame.position:
            pend = self._pending = [frame.position, bytearray(n), 0,
                                    time.monotonic() + self.copy_wait]
        buf, got = pend[1], pend[2]
        mv = memoryview(buf)
        while got < n:
            try:
                k = s.recv_into(mv[got:], n - got)
            except (BlockingIOError, InterruptedError):
                break
            if k == 0:
                self._pending = None
                raise CorruptFrame(f"the COPY stream closed after {got} of {n} bytes")
            got += k
            pend[3] = time.monotonic() + self.copy_wait
        mv.release()
        pend[2] = got
        if got < n:
            if time.monotonic() >= pend[3]:
                self._pending = None
                raise CorruptFrame(f"{got} of {n} bytes came, then none for {self.copy_wait:g} s "
                                   f"(the COPY stream is out of step now)")
            return None
        self._pending = None
        return bytes(buf)

    def _copy_due(self) -> bool:
        pend = self._pending
        return pend is not None and time.monotonic() >= pend[3]

    # -- a producer that died holding a frame ----------------------------------------
    def _reap_dead_producer(self) -> bool:
        """At a RESERVED head: if the netring producer that reserved it is gone (no
        one holds the producer lock), drop the frame the way a new producer would
        (VALID, ``nm_len`` 0), holding the producer role meanwhile.  True if dropped."""
        rx = self.rx
        shared = self.shared
        q = shared.q
        if rx is None or not q[HeaderWord.CLAIMS] or shared.is_producer:
            return False
        if rx.ring.status(rx.head) != _RESERVED:
            return False
        now = time.monotonic()
        if now < self._next_reap:
            return False
        self._next_reap = now + REAP_INTERVAL
        if shared.producer_alive():
            return False
        dropped: list[bool] = []

        def drop() -> None:
            prod = RxProducer(shared.mm, rx.ring.geometry, shared.rx_base, position=rx.position,
                              publish_position=lambda p: q.__setitem__(HeaderWord.RX_PROD, p))
            try:
                dropped.append(prod.drop_reserved())
            finally:
                prod.ring.words.release()
                prod.ring.buf.release()

        if not shared.take_over(drop) or not dropped or not dropped[0]:
            return False
        q[HeaderWord.PRODUCER_DEATHS] += 1
        self.producer_deaths += 1
        return True

    # -- waiting ---------------------------------------------------------------------
    def _overruns(self) -> int:
        return int(self.shared.q[HeaderWord.ENOBUFS])

    def _room(self) -> None:
        q = self.shared.q
        if self.filler is None and q[HeaderWord.PAUSED]:
            q[HeaderWord.PAUSED] = 0  # one wake-up per pause, not one per released frame
            eventfd.signal(self.shared.space_efd)

    def _wait(self, timeout: float | None) -> bool:
        f = self.filler
        if f is not None:
            got = f.fill()
            if got > 0:
                return True
            if got < 0:
                # every free frame is taken by frames this consumer still holds
                # (in hand or kept): no message can arrive until it releases some
                time.sleep(FULL_WAIT if timeout is None else min(timeout, FULL_WAIT))
                return False
            if not self._readable.wait(timeout):
                return False
            f.fill()
            return True
        return self._sleep(timeout)

    def _progress(self) -> bool:
        rx = self.rx
        return rx is not None and (rx.ready() or self._copy_due() or self._reap_dead_producer())

    def _sleep(self, timeout: float | None) -> bool:
        """Attached consumer: wait until the head frame is ready (module docstring).

        A :class:`~netring.nlmmap.edge.writer.RingWriter` writes the data eventfd
        only while ``q[HeaderWord.WAITING]`` is set (no syscall per message); a socket
        filler writes it after every batch; a 4.5 peer writes nothing, and is seen
        within one sleep.  x86 may let the writer's load of ``WAITING`` pass its
        store of the frame status (and the consumer has no fence between setting
        ``WAITING`` and its next look), so a wake-up can be missed: it then costs
        one sleep, never a hang.
        """
        q = self.shared.q
        rx = self.rx
        efd = self.shared.data_efd
        copy_fd = self.shared.copy_fd

        def announce() -> None:
            q[HeaderWord.WAITING] = 1
            eventfd.drain(efd)

        def woken(fd: int) -> bool:
            if fd == efd:
                eventfd.drain(efd)
                return rx is not None and rx.ready()
            return fd == copy_fd

        waiter = self._backoff_copy if rx is not None and rx.copy_waiting else self._backoff
        try:
            return waiter.wait(self._progress, deadline_after(timeout), before_sleep=announce,
                               woken=woken)
        finally:
            q[HeaderWord.WAITING] = 0

    def _wait_tx(self, deadline: float | None) -> bool:
        if self.sock is not None or self.tx is None:
            return False  # flush() frees TX frames here, nothing else does
        return self._backoff.wait(self.tx.ready, deadline)  # a peer drains the TX ring

    def fill(self) -> int:
        """Fill from the socket now (in-process rings); see :meth:`RingFiller.fill`."""
        if self.filler is None:
            raise RingError("this ring is filled by another process")
        return self.filler.fill()

    def flush(self, portid: int = 0, groups: int = 0) -> FlushResult:
        """Send all VALID TX frames in ring order with one ``sendmsg``, then release them.

        On a ring without a socket (attached with ``tx=True``) the frames are left
        VALID for the peer process that drains the TX ring (it stores UNUSED when
        it has taken one, as the 4.5 kernel did): the result counts the frames
        committed since the last flush, with no system call.
        """
        if self.txring is None:
            raise RingError(f"{self!r} has no TX ring")
        if self.sock is None:
            n = self.txring.producer.committed
            res = FlushResult(n - self._handed_over, 0, 0)
            self._handed_over = n
            return res
        return flush_frames(self.sock, self.txring.sender, portid, groups)

    def stats(self) -> dict[str, Any]:
        """Shared counters and the producer's identity, plus this consumer's:
        ``delivered``, ``empty_released``, ``copies_fetched``, ``corrupt`` and
        ``last_error`` (frames the other side broke), ``deferred`` (released kept
        frames not handed back yet); ``producer_deaths`` counts the RESERVED frames
        of dead producers that consumers dropped."""
        out = self.shared.stats()
        if self.rx is not None:
            out.update(self.rx_stats())
        return out

    def close(self) -> None:
        """Release the mapping and descriptors (frames in hand become invalid)."""
        if self.filler is not None:
            self.filler.close()
            self.filler = None
        for cur in (self.rx, self.tx, self.txring.sender if self.txring else None):
            if cur is not None:
                cur.ring.words.release()
                cur.ring.buf.release()
        if self._copy_sock is not None:
            self._copy_sock.close()
        self.shared.close()

    def __repr__(self) -> str:
        lay = self.shared.layout
        g = lay.rx or lay.tx
        assert g is not None
        return (f"<UserRing backend=user frames={g.frame_nr}x{g.frame_size} "
                f"filler={'in-process' if self.filler else 'other process'} "
                f"reason={self.reason!r}>")
