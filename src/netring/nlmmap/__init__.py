"""Memory-mapped netlink rings: the 3.10-4.5 ABI, kept exact, on today's kernels.

Pure modules, here (they import no OS module)::

    abi        struct nl_mmap_req / nl_mmap_hdr, NL_MMAP_STATUS
    geometry   RingGeometry, MappingLayout: validation as netlink_set_ring()
    states     TRANSITIONS: the frame-state table code, tests and docs share
    cursor     RxConsumer, RxProducer, TxProducer, TxSender over any buffer
    base       RingBase: the one consumer API of every backend

OS modules, in :mod:`.edge`: ``kernel`` (the kernel's rings, where they exist),
``shm`` (rings in a memfd), ``filler`` and ``fanout`` (a socket into rings),
``tx`` (sending frames), ``user`` (the user-space backend), ``factory``
(:func:`open_ring`), ``writer`` (a peer process writing frames directly).
They load on first use of their names, so ``import netring.nlmmap`` loads no
ctypes, mmap or socket.

Quick use::

    ring = netring.nlmmap.open_ring(sock)    # kernel ring or user-space engine
    print(ring)                              # says which, and why
    for msg in ring.messages(timeout=1):
        ...
"""

from __future__ import annotations

from ..codec.types import TYPE_CHECKING
from ..lazy import lazy_names
from .abi import NL_MMAP_HDRLEN, NL_MMAP_MSG_ALIGNMENT, NL_MMAP_STATUS, nl_mmap_hdr, nl_mmap_req
from .base import FlushResult, RingBase
from .cursor import BadFrame, Frame, RxConsumer, RxProducer, TxProducer, TxSender
from .geometry import GeometryError, MappingLayout, RingGeometry
from .states import TRANSITIONS, Transition

if TYPE_CHECKING:
    from typing import Any

    from .edge.fanout import Feeder
    from .edge.filler import RingFiller
    from .edge.kernel import KernelRing
    from .edge.shm import SharedRing
    from .edge.transport import RingTransport
    from .edge.tx import FrameSender
    from .edge.user import UserRing
    from .edge.writer import RingTimeout, RingWriter

__all__ = [
    "NL_MMAP_HDRLEN",
    "NL_MMAP_MSG_ALIGNMENT",
    "NL_MMAP_STATUS",
    "nl_mmap_hdr",
    "nl_mmap_req",
    "FlushResult",
    "RingBase",
    "BadFrame",
    "Frame",
    "RxConsumer",
    "RxProducer",
    "TxProducer",
    "TxSender",
    "GeometryError",
    "MappingLayout",
    "RingGeometry",
    "TRANSITIONS",
    "Transition",
    "probe",
    "ring_support",
    "open_ring",
    "UserRing",
    "Feeder",
    "SharedRing",
    "KernelRing",
    "RingWriter",
    "RingTimeout",
    "RingTransport",
    "RingFiller",
    "FrameSender",
]

# edge classes, imported on first use so that ``import netring.nlmmap`` stays pure
_LAZY = {
    "UserRing": "edge.user",
    "Feeder": "edge.fanout",
    "RingFiller": "edge.filler",
    "FrameSender": "edge.tx",
    "SharedRing": "edge.shm",
    "KernelRing": "edge.kernel",
    "RingWriter": "edge.writer",
    "RingTimeout": "edge.writer",
    "RingTransport": "edge.transport",
}




__getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY)


def probe() -> dict[str, Any]:
    """``{"rx": bool, "tx": bool, "error": "ENOPROTOOPT (...)" | None}`` for this kernel."""
    from .edge.kernel import probe as _probe

    return _probe()


def ring_support() -> dict[str, Any]:
    """The backend :func:`open_ring` picks here and why (probe result included)."""
    from .edge.factory import ring_support as _rs

    return _rs()


def open_ring(sock: Any, rx: RingGeometry | None = None, tx: RingGeometry | None = None,
              **kw: Any) -> RingBase:
    """Open a ring on a bound netlink socket; see :func:`netring.nlmmap.edge.factory.open_ring`."""
    from .edge.factory import open_ring as _open

    return _open(sock, rx, tx, **kw)

