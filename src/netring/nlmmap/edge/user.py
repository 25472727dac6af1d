"""The user-space ring backend: netlink_mmap semantics on kernels without it.

OS edge module.  :class:`UserRing` is the consumer side of a
:class:`~netring.nlmmap.edge.shm.SharedRing`, read through the common API of
:class:`~netring.nlmmap.base.RingBase`::

    in-process (open_ring):  consumer waits -> RingFiller.fill() (recvmmsg) -> frames
    attached (attach):       another process fills (Feeder, RingWriter); the consumer
                             sleeps on the data eventfd, announcing it in q[WAITING]

    TX: messages built in place in TX frames; flush() hands every VALID frame to
        the kernel with one sendmsg (netring.nlmmap.edge.tx.flush_frames)
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from ..._sys import eventfd
from ..._sys.poll import Readable, deadline_after, ms_left
from ...errors import RingError
from ..base import FlushResult, RingBase
from ..cursor import RxConsumer
from .filler import RingFiller
from .shm import COPY_TIMEOUT, HeaderWord, SharedRing
from .tx import TxRing, flush_frames

__all__ = ["UserRing", "WAKE_SLICE_MS", "WAKE_SLICE"]

WAKE_SLICE_MS = 20  # an attached consumer re-checks the ring at least this often (ms)
WAKE_SLICE = WAKE_SLICE_MS / 1000
FULL_WAIT = 0.05  # seconds a consumer whose held frames fill the ring sleeps per wait


class UserRing(RingBase):
    """A ring run by the user-space engine, read through the common API.

    Made by :func:`open_ring` (this process fills it from the socket while the
    consumer waits) or by :meth:`attach` (another process -- a :class:`Feeder` --
    fills it; this one only consumes).
    """

    backend = "user"

    def __init__(self, shared: SharedRing, *, sock: Any = None, filler: RingFiller | None = None,
                 reason: str = "", tx: bool = True) -> None:
        self.shared = shared
        self.sock = sock
        self.filler = filler
        self.reason = reason
        q = shared.q
        rx = shared.layout.rx
        self._copy_sock = socket.socket(fileno=os.dup(shared.copy_fd)) if rx else None
        if self._copy_sock is not None:
            self._copy_sock.settimeout(COPY_TIMEOUT)
        if rx is not None:
            self.rx = RxConsumer(shared.mm, rx, shared.rx_base, fetch=self._fetch,
                                 producer_position=self._producer_position,
                                 position=int(q[HeaderWord.RX_CONS]), commit_slot=(q, HeaderWord.RX_CONS))
        txg = shared.layout.tx
        if tx and txg is not None:
            self.txring: TxRing | None = TxRing(shared.mm, txg, shared.tx_base)
            self.tx = self.txring.producer
        else:
            self.txring = None
        self._readable = Readable(filler.fd if filler is not None else shared.data_efd)
        self._released_since = 0

    @classmethod
    def attach(cls, shared: SharedRing, *, drop_orphans: bool = False) -> UserRing:
        """Consume a ring another process fills.  Continues at the committed position:
        a frame the previous consumer held but never released is delivered again;
        frames it kept (SKIP) are released when ``drop_orphans`` is true.
        """
        r = cls(shared, reason="attached to a shared user-space ring", tx=False)
        if r.rx is not None:
            r.rx.recover(int(shared.q[HeaderWord.RX_PROD]))
            if drop_orphans:
                r.rx.drop_orphans()
        return r

    def _producer_position(self) -> int:
        return int(self.shared.q[HeaderWord.RX_PROD])

    def _fetch(self, frame: Any) -> bytes:
        n = int(frame.len)
        s = self._copy_sock
        assert s is not None
        buf = bytearray(n)
        mv = memoryview(buf)
        got = s.recv_into(mv, n, socket.MSG_WAITALL)  # one recv of the whole message
        while got < n:  # only after a signal interrupted MSG_WAITALL
            got += s.recv_into(mv[got:], n - got, socket.MSG_WAITALL)
        return bytes(buf)

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

    def _sleep(self, timeout: float | None) -> bool:
        """Attached consumer: announce the wait, re-check, sleep on the data eventfd.

        A :class:`~netring.nlmmap.edge.writer.RingWriter` writes the data eventfd only
        while ``q[HeaderWord.WAITING]`` is set (no syscall per message); a socket filler
        writes it after every batch.  The writer stores a frame's status and the
        producer position, then loads ``WAITING``; this consumer stores
        ``WAITING``, then loads the producer position.  x86 may let a load pass an
        earlier store to another address (store buffer), so without a fence on
        both sides each can miss the other's store and the wake-up is lost.  The
        eventfd read below is a syscall (the kernel takes a lock: a full fence on
        this side), and the poll runs in slices of :data:`WAKE_SLICE` seconds,
        re-checking the producer position, so a missed wake-up costs at most one
        slice, never a hang.
        """
        q = self.shared.q
        rx = self.rx
        efd = self.shared.data_efd
        deadline = deadline_after(timeout)
        q[HeaderWord.WAITING] = 1
        try:
            eventfd.drain(efd)
            while True:
                if rx is not None and int(q[HeaderWord.RX_PROD]) > rx.position:
                    return True  # published (or stepped over) since we last looked
                ms = ms_left(deadline, WAKE_SLICE_MS)
                if ms == 0:
                    return False
                if self._readable.wait_ms(ms):
                    eventfd.drain(efd)
                    return True
        finally:
            q[HeaderWord.WAITING] = 0

    def fill(self) -> int:
        """Fill from the socket now (in-process rings); see :meth:`RingFiller.fill`."""
        if self.filler is None:
            raise RingError("this ring is filled by another process")
        return self.filler.fill()

    def flush(self, portid: int = 0, groups: int = 0) -> FlushResult:
        """Send all VALID TX frames in ring order with one ``sendmsg``, then release them."""
        if self.txring is None:
            raise RingError(f"{self!r} has no TX ring")
        if self.sock is None:
            raise RingError("this ring has no socket to send on")
        return flush_frames(self.sock, self.txring.sender, portid, groups)

    def stats(self) -> dict[str, int]:
        """Shared counters plus this consumer's."""
        out = self.shared.stats()
        if self.rx is not None:
            out["delivered"] = self.rx.delivered
            out["empty_released"] = self.rx.empty_released
            out["copies_fetched"] = self.rx.copies
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


