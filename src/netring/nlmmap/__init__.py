"""Memory-mapped netlink rings: the 3.10-4.5 ABI, kept exact, on today's kernels.

Pure parts: :mod:`.abi` (structs, statuses), :mod:`.geometry` (validation as
``netlink_set_ring``), :mod:`.states` (the transition table), :mod:`.cursor`
(RX/TX cursors over any buffer), :mod:`.base` (the common consumer API).
Edge parts: :mod:`.kernel` (the kernel's rings, where they exist),
:mod:`.shm` (rings in a memfd), :mod:`.engine` (the user-space engine),
:mod:`.writer` (a peer process writing messages straight into a ring).

Quick use::

    ring = netring.ring.open_ring(sock)      # kernel ring or user-space engine
    print(ring)                              # says which, and why
    for msg in ring.messages(timeout=1):
        ...
"""

from __future__ import annotations

from typing import Any

from .abi import NL_MMAP_HDRLEN, NL_MMAP_MSG_ALIGNMENT, NL_MMAP_STATUS, nl_mmap_hdr, nl_mmap_req
from .base import FlushResult, RingBase
from .cursor import BadFrame, Frame, RxConsumer, RxProducer, TxProducer, TxSender
from .geometry import GeometryError, MappingLayout, RingGeometry
from .states import TRANSITIONS, Transition

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
    "demo_stream",
    "UserRing",
    "Feeder",
    "SharedRing",
    "KernelRing",
    "RingWriter",
    "RingTimeout",
]

# edge classes, imported on first use so that ``import netring.ring`` stays pure
_LAZY = {
    "UserRing": "engine",
    "Feeder": "engine",
    "RingFiller": "engine",
    "FrameSender": "engine",
    "SharedRing": "shm",
    "KernelRing": "kernel",
    "RingWriter": "writer",
    "RingTimeout": "writer",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'netring.ring' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{mod}"), name)


def probe() -> dict[str, Any]:
    """``{"rx": bool, "tx": bool, "error": "ENOPROTOOPT (...)" | None}`` for this kernel."""
    from .kernel import probe as _probe

    return _probe()


def ring_support() -> dict[str, Any]:
    """The backend :func:`open_ring` picks here and why (probe result included)."""
    from .engine import ring_support as _rs

    return _rs()


def open_ring(sock: Any, rx: RingGeometry | None = None, tx: RingGeometry | None = None,
              **kw: Any) -> RingBase:
    """Open a ring on a bound netlink socket; see :func:`netring.ring.engine.open_ring`."""
    from .engine import open_ring as _open

    return _open(sock, rx, tx, **kw)


def demo_stream(netns_path: str | None = None, count: int = 100_000) -> dict[str, Any]:
    """Stream ``count`` USERSOCK messages from a child process through a ring.

    Returns figures: backend, reason, messages, seconds, msgs_per_s, copies,
    ring_full, in_order.  See :func:`netring.ring.engine.demo_stream`.
    """
    from .engine import demo_stream as _demo

    return _demo(netns_path, count)
