"""One worker slot of a :class:`~.pool.QueuePool` as the owner sees it (:class:`_Slot`:
its process, rings and packets) and the geometry of the rings between them.

The owner's parts (:mod:`.pool_slots`, :mod:`.pool_dispatch`) and the worker
(:mod:`.pool_worker`) all use it, and it uses none of them.
"""

from __future__ import annotations

import mmap

from .... import nlmmap
from ....codec.types import TYPE_CHECKING
from ..queue.pool import WorkerStats

if TYPE_CHECKING:
    from typing import Any

__all__: list[str] = []


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
