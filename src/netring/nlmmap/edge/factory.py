"""Opening a ring: the kernel's own where it still has one, then io_uring, else the
user-space engine.

OS edge module.  The choice, and the reason given for it::

    open_ring(sock, backend="auto")
      KernelRing(sock)         setsockopt(NETLINK_RX_RING) accepted (Linux 3.10 - 4.5)
      | NotSupportedError      e.g. ENOPROTOOPT on Linux >= 4.6
      v
      UringRing(sock)          io_uring multishot RECVMSG into frames (Linux 6.0+), where
      | probe says no          the probe found it permitted (uring.support())
      v
      SharedRing.create + RingFiller(sock) + UserRing   (ring.reason says why)

    ring_support()  -> what open_ring would pick here, with the probe result
"""

from __future__ import annotations

from ..._sys.mapping import PAGE_SIZE
from ...codec.constants import NETLINK
from ...codec.types import TYPE_CHECKING
from ...errors import EncodeError, NotSupportedError
from ..base import RingBase
from ..geometry import RingGeometry
from . import kernel, uring
from .filler import RingFiller
from .shm import SharedRing
from .user import UserRing

if TYPE_CHECKING:
    from typing import Any

__all__ = ["open_ring", "ring_support", "default_geometry"]


def default_geometry(frame_size: int = 4096, frame_nr: int = 1024) -> RingGeometry:
    """A ring geometry for this machine's page size."""
    return RingGeometry.for_frames(frame_size, frame_nr, page_size=PAGE_SIZE)


def ring_support(protocol: int = NETLINK.ROUTE) -> dict[str, Any]:
    """Which backend :func:`open_ring` would use here, and why."""
    p = kernel.probe(protocol)
    if p["rx"]:
        return {"backend": "kernel", "reason": "kernel accepted NETLINK_RX_RING", **p}
    u = uring.support()
    if u["available"]:
        return {"backend": "uring", "reason": f"kernel refused NETLINK_RX_RING: {p['error']}; "
                f"{URING_REASON}", **p, "uring": u}
    return {"backend": "user",
            "reason": f"kernel refused NETLINK_RX_RING: {p['error']}; io_uring: {u['reason']}; "
            "user-space engine", **p, "uring": u}


#: the reason an io_uring ring gives when the probe chose it
URING_REASON = "io_uring fills the frames (multishot RECVMSG into a provided-buffer ring)"


def open_ring(sock: Any, rx: RingGeometry | None = None, tx: RingGeometry | None = None, *,
              backend: str = "auto", batch: int = 64, spill: int = 256 << 10,
              meta: bool = True, cooperative: bool = False) -> RingBase:
    """A ring on ``sock``: the kernel's own where it has one, else the user-space engine.

    Args:
        sock: a bound netlink socket (``socket.socket`` or anything with ``fileno()``).
        rx, tx: geometries (default: 1024 frames of 4 KiB each, RX and TX).
        backend: ``"auto"``, ``"kernel"``, ``"uring"`` or ``"user"`` (auto: kernel, then
            io_uring where :func:`netring.nlmmap.edge.uring.support` allows it and an RX
            ring is asked for, then user).
        meta: fill ``nm_group`` and ``nm_pid/uid/gid`` (PKTINFO and PASSCRED cmsgs).
        cooperative: the consumer makes system calls often anyway: io_uring's receive
            then runs at those calls (:class:`~netring.nlmmap.edge.uring.UringRing`).

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
    elif backend not in ("user", "uring"):
        raise EncodeError(f"backend must be 'auto', 'kernel', 'uring' or 'user', not {backend!r}")
    else:
        reason = "user-space engine requested"
    # -- io_uring backend (edge/uring.py) --
    if backend == "uring" or (backend == "auto" and rx is not None):
        if rx is None:
            raise EncodeError("the io_uring backend fills an RX ring: give an rx geometry")
        if backend == "uring":
            return uring.UringRing(sock, rx, tx, meta=meta, reason="io_uring backend requested",
                                   cooperative=cooperative)
        u = uring.support()
        if u["available"]:
            return uring.UringRing(sock, rx, tx, meta=meta,
                                   reason=reason.replace("user-space engine", URING_REASON),
                                   cooperative=cooperative)
        reason = reason.replace("; user-space engine", f"; io_uring: {u['reason']}; "
                                "user-space engine")
    shared = SharedRing.create(rx, tx)
    filler = RingFiller(sock, shared, batch=batch, spill=spill, meta=meta,
                        notify=False) if rx is not None else None
    return UserRing(shared, sock=sock, filler=filler, reason=reason)


