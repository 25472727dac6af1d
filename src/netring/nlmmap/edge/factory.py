"""Opening a ring: the kernel's own where it still has one, else the user-space engine.

OS edge module.  The choice, and the reason given for it::

    open_ring(sock, backend="auto")
      KernelRing(sock)         setsockopt(NETLINK_RX_RING) accepted (Linux 3.10 - 4.5)
      | NotSupportedError      e.g. ENOPROTOOPT on Linux >= 4.6
      v
      SharedRing.create + RingFiller(sock) + UserRing   (ring.reason says why)

    ring_support()  -> what open_ring would pick here, with the probe result
"""

from __future__ import annotations

from typing import Any

from ..._sys.mapping import PAGE_SIZE
from ...codec.constants import NETLINK
from ...errors import EncodeError, NotSupportedError
from ..base import RingBase
from ..geometry import RingGeometry
from . import kernel
from .filler import RingFiller
from .shm import SharedRing
from .user import UserRing

__all__ = ["open_ring", "ring_support", "default_geometry"]


def default_geometry(frame_size: int = 4096, frame_nr: int = 1024) -> RingGeometry:
    """A ring geometry for this machine's page size."""
    return RingGeometry.for_frames(frame_size, frame_nr, page_size=PAGE_SIZE)


def ring_support(protocol: int = NETLINK.ROUTE) -> dict[str, Any]:
    """Which backend :func:`open_ring` would use here, and why."""
    p = kernel.probe(protocol)
    if p["rx"]:
        return {"backend": "kernel", "reason": "kernel accepted NETLINK_RX_RING", **p}
    return {"backend": "user",
            "reason": f"kernel refused NETLINK_RX_RING: {p['error']}; user-space engine", **p}


def open_ring(sock: Any, rx: RingGeometry | None = None, tx: RingGeometry | None = None, *,
              backend: str = "auto", batch: int = 64, spill: int = 256 << 10,
              meta: bool = True) -> RingBase:
    """A ring on ``sock``: the kernel's own where it has one, else the user-space engine.

    Args:
        sock: a bound netlink socket (``socket.socket`` or anything with ``fileno()``).
        rx, tx: geometries (default: 1024 frames of 4 KiB each, RX and TX).
        backend: ``"auto"``, ``"kernel"`` or ``"user"``.

    Returns:
        A :class:`~netring.nlmmap.base.RingBase`: ``ring.backend`` and ``ring.reason``
        (and its repr) say which one and why.
    """
    if rx is None and tx is None:
        rx = default_geometry()
        tx = default_geometry(4096, 256)
    reason = ""
    if backend in ("auto", "kernel"):
        try:
            return kernel.KernelRing(sock, rx, tx)
        except NotSupportedError as exc:
            if backend == "kernel":
                raise
            reason = f"{exc}; user-space engine"
    elif backend != "user":
        raise EncodeError(f"backend must be 'auto', 'kernel' or 'user', not {backend!r}")
    else:
        reason = "user-space engine requested"
    shared = SharedRing.create(rx, tx)
    filler = RingFiller(sock, shared, batch=batch, spill=spill, meta=meta,
                        notify=False) if rx is not None else None
    return UserRing(shared, sock=sock, filler=filler, reason=reason)


