"""A ring over an existing mapping laid out exactly as Linux 4.5 mapped it.

OS edge module (``os``, ``mmap``, ``fcntl``).  No netring header, no eventfd, no position:
only the frames, as a program written against
``Documentation/networking/netlink_mmap.txt`` sees them::

    the file (a memfd, a tmpfs file, netring's own SharedRing.memfd, ...)
    offset 0              rx.size               rx.size + tx.size
    +---------------------+---------------------+ (anything after: not read)
    | RX ring             | TX ring             |
    +---------------------+---------------------+

    the peer plays the 4.5 kernel:
      RX  fills UNUSED frames (nm_len, nm_group, nm_pid/uid/gid, data, VALID last),
          steps over SKIP frames, leaves VALID frames with nm_len 0 for dropped ones
      TX  takes VALID frames in ring order and stores UNUSED

    this side: recv()/release()/skip(), data(), messages()   (RX, the consumer)
               tx_frame()/commit()/flush()                    (TX, the producer)

Readiness is ``netlink_poll``'s: the frame at the head is VALID.  With nothing
to signal it, a waiting consumer looks at the head frame, spins a few
microseconds, then sleeps 20 us, 40 us, ... up to ``max_sleep`` (0.5 ms) between
looks.  A COPY frame has no socket queue behind it here: it is dropped and
counted, as is any frame that breaks the protocol (``stats()["corrupt"]``).
SKIP follows the frames-only rules of :mod:`netring.nlmmap.cursor`.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import time

from ..._sys.mapping import PAGE_SIZE, seals
from ..._sys.poll import MAX_SLEEP, Backoff
from ...codec.types import TYPE_CHECKING
from ...errors import RingError
from ..base import FlushResult, RingBase
from ..cursor import MAX_MESSAGE, RxConsumer, TxProducer
from ..geometry import MappingLayout, RingGeometry

if TYPE_CHECKING:
    from typing import Any

__all__ = ["MappedRing", "open_mapped_ring"]



class MappedRing(RingBase):
    """The consumer (RX) and producer (TX) side of a 4.5-layout mapping.

    Args:
        file: a path, or an open descriptor (duplicated; the caller keeps its own).
        rx, tx: the ring geometries, as both sides agreed (the 4.5 ABI carries
            them out of band, in ``setsockopt``).
        max_sleep: the longest sleep between looks while waiting.
        require_sealed: refuse a file that is not sealed against shrinking (a
            peer that truncates it would kill this process with SIGBUS).
        max_message: accepted for symmetry with the other backends (a mapped
            ring has no COPY queue; COPY frames are dropped).

    Attributes:
        layout: the rings' :class:`MappingLayout` (RX at 0, TX at ``rx.size``).
        mm: the mapping.
    """

    backend = "mapped"

    def __init__(self, file: str | os.PathLike[str] | int, rx: RingGeometry | None,
                 tx: RingGeometry | None = None, *, max_sleep: float = MAX_SLEEP,
                 require_sealed: bool = False, max_message: int = MAX_MESSAGE) -> None:
        layout = MappingLayout(rx, tx)
        for g in (rx, tx):
            if g is not None and g.page_size != PAGE_SIZE:
                raise RingError(f"geometry page size {g.page_size} != this machine's {PAGE_SIZE}")
        if isinstance(file, int):
            fd, name = os.dup(file), f"fd {file}"
        else:
            name = os.fspath(file)
            fd = os.open(name, os.O_RDWR | os.O_CLOEXEC)
        try:
            size = os.fstat(fd).st_size
            if size < layout.size:
                raise RingError(f"{name} is {size} bytes; the rings need {layout.size} "
                                f"(RX {rx.size if rx else 0} + TX {tx.size if tx else 0})")
            have = seals(fd)
            sealed = have is not None and bool(have & fcntl.F_SEAL_SHRINK)
            if require_sealed and not sealed:
                raise RingError(f"{name} is not sealed against shrinking (F_SEAL_SHRINK)")
            self.mm = mmap.mmap(fd, layout.size, mmap.MAP_SHARED,
                                mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.name = name
        self.layout = layout
        self.reason = (f"4.5 layout mapping of {name} (RX at 0, TX at {layout.tx_offset})"
                       + ("" if sealed else "; not sealed against shrinking: a peer that "
                          "truncates the file kills this process (SIGBUS)"))
        if rx is not None:
            self.rx = RxConsumer(self.mm, rx, 0, max_message=max_message)
        if tx is not None:
            self.tx = TxProducer(self.mm, tx, layout.tx_offset)
        self._backoff = Backoff(max_sleep=max_sleep)
        self._handed_over = 0
        self._tx_bytes = 0
        self._flushed_bytes = 0

    # -- waiting -----------------------------------------------------------------------
    def _wait(self, timeout: float | None) -> bool:
        rx = self.rx
        assert rx is not None
        return self._backoff.wait(rx.ready, None if timeout is None
                                  else time.monotonic() + timeout)

    def _wait_tx(self, deadline: float | None) -> bool:
        return self._backoff.wait(self._tx().ready, deadline)

    # -- TX ----------------------------------------------------------------------------
    def commit(self, length: int) -> int:
        """Mark the frame from :meth:`tx_frame` VALID with ``nm_len = length``; the
        peer takes it when it walks the TX ring."""
        i = super().commit(length)
        self._tx_bytes += length
        return i

    def flush(self, portid: int = 0, groups: int = 0) -> FlushResult:
        """Nothing to send: the peer drains VALID TX frames itself, as the 4.5 kernel
        did on ``sendto(fd, NULL, 0)``.  Counts the frames and bytes committed since
        the last flush (no system call; ``portid``/``groups`` are not used)."""
        tx = self._tx()
        res = FlushResult(tx.committed - self._handed_over, self._tx_bytes - self._flushed_bytes,
                          0)
        self._handed_over = tx.committed
        self._flushed_bytes = self._tx_bytes
        return res

    # -- lifetime ----------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """The consumer's counters (:meth:`~netring.nlmmap.base.RingBase.rx_stats`),
        ``tx_committed`` and ``sleeps`` (waits that slept)."""
        out = self.rx_stats()
        if self.tx is not None:
            out["tx_committed"] = self.tx.committed
        out["sleeps"] = self._backoff.sleeps
        return out

    def close(self) -> None:
        """Unmap the rings and close this ring's descriptor (frames become invalid)."""
        if self._fd < 0:
            return
        for cur in (self.rx, self.tx):
            if cur is not None:
                cur.ring.words.release()
                cur.ring.buf.release()
        try:
            self.mm.close()
        except BufferError:
            pass  # a frame view is still alive somewhere; the mapping goes with it
        os.close(self._fd)
        self._fd = -1

    def __repr__(self) -> str:
        return f"<MappedRing backend=mapped {self.layout} reason={self.reason!r}>"


def open_mapped_ring(file: str | os.PathLike[str] | int, rx: RingGeometry | None,
                     tx: RingGeometry | None = None, **options: Any) -> MappedRing:
    """A ring over an existing mapping laid out as 4.5 mapped it (RX at 0, TX after).

    The peer on the other side plays the kernel (see the module docstring); this
    side uses the same consumer/producer API as every ring (``recv``/``release``/
    ``skip``, ``messages()``, ``tx_frame``/``commit``, ``stats()``).

    Args:
        file: a path or an open descriptor of the shared file.
        rx, tx: the geometries (:class:`~netring.nlmmap.geometry.RingGeometry`).
        options: ``max_sleep``, ``require_sealed``, ``max_message`` (see
            :class:`MappedRing`).
    """
    return MappedRing(file, rx, tx, **options)
