"""Run a function in a forked child inside a brand-new, private network namespace.

Used by ``netring demo`` and the benchmarks: the namespace exists only as long as
the child (no ``/run/netns`` entry is made), so nothing is left behind even if the
run is interrupted.  Needs root (``unshare(CLONE_NEWNET)``).

::

    parent ──fork──> child: unshare(CLONE_NEWNET) ─ lo up ─ fn(*args) ─ pickle result ─> pipe ─ _exit
       └──────────────────── reads the pipe, waits, returns the result or re-raises ───────┘
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
import traceback
from collections.abc import Callable

from ..codec.types import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from typing import Any

from .._sys import libc
from ..errors import NotSupportedError

__all__ = ["run_in_new_netns", "unshare_netns", "set_lo_up"]

T = TypeVar("T")
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def unshare_netns() -> None:
    """Move the *calling process* into a new network namespace (only for children)."""
    try:
        libc.unshare(libc.CLONE_NEWNET)
    except OSError as exc:
        raise NotSupportedError(
            f"cannot create a network namespace: unshare(CLONE_NEWNET) failed with "
            f"{os.strerror(exc.errno or 0)} (root / CAP_SYS_ADMIN needed)"
        ) from None


def set_lo_up() -> None:
    """Bring ``lo`` up in the current namespace (ioctl, no iproute2 needed)."""
    import fcntl

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack_from("16sH", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s.fileno(), _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


def run_in_new_netns(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)`` in a forked child inside a new network namespace.

    The result (or the exception) is pickled back to the caller.  The child's
    namespace vanishes when the child exits.

    Raises:
        NotSupportedError: namespaces cannot be created here.
        Exception: whatever ``fn`` raised, re-raised in the parent.
    """
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        payload: bytes
        try:
            unshare_netns()
            set_lo_up()
            payload = pickle.dumps(("ok", fn(*args, **kwargs)))
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
            try:
                payload = pickle.dumps(("err", exc))
            except Exception:
                payload = pickle.dumps(("err", RuntimeError(traceback.format_exc())))
        try:
            with os.fdopen(wfd, "wb") as w:
                w.write(payload)
        finally:
            os._exit(0)
    os.close(wfd)
    chunks = []
    with os.fdopen(rfd, "rb") as r:
        while True:
            chunk = r.read(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    if not chunks:
        raise RuntimeError("namespace child exited without a result")
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "err":
        raise value
    result: T = value
    return result
