"""Run code inside another network namespace without moving the caller.

A socket belongs to the network namespace it was *created* in, for life.  So to
get a socket in namespace X we only need one short-lived thread that enters X,
creates the socket, and exits::

    caller thread (namespace A)          helper thread (new, exits at the end)
    ---------------------------          --------------------------------------
    run_in_netns("/run/netns/X", fn) ->  open(path); setns(fd, CLONE_NEWNET)
           waits (join)                  result = fn()        # e.g. socket.socket(...)
    <- result (or fn's exception)        thread exits: its namespace goes with it

``setns(2)`` changes only the calling thread, so neither the caller nor the
process's other threads ever leave their namespace.  Works for any namespace
file: ``/run/netns/NAME`` (``ip netns``), ``/proc/PID/ns/net``, or a bare name
(looked up under ``/run/netns``).  Needs CAP_SYS_ADMIN (``EPERM`` otherwise).

API::

    netns_path(name_or_path) -> str
    run_in_netns(path_or_fd, fn, *args, **kwargs) -> T
    socket_in(path_or_fd_or_None, family, type, proto=0) -> socket.socket
    current_netns() -> str          # e.g. "net:[4026531840]" for this thread
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from . import _sys

__all__ = ["netns_path", "run_in_netns", "socket_in", "current_netns"]

T = TypeVar("T")

NETNS_RUN_DIR = "/run/netns"


def netns_path(netns: str | os.PathLike[str]) -> str:
    """Resolve a namespace name (``"blue"``) or path to the file to open."""
    s = os.fspath(netns)
    if "/" in s:
        return s
    return os.path.join(NETNS_RUN_DIR, s)


def current_netns() -> str:
    """The calling thread's network namespace identity (``net:[inode]``)."""
    return os.readlink("/proc/thread-self/ns/net")


def run_in_netns(
    netns: str | os.PathLike[str] | int, fn: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    """Call ``fn(*args, **kwargs)`` in a helper thread inside namespace ``netns``.

    ``netns`` is a name (``/run/netns/NAME``), a path (``/proc/PID/ns/net``) or an
    open namespace file descriptor (left open).

    The helper thread enters the namespace with ``setns(CLONE_NEWNET)``, runs
    ``fn``, and exits; the calling thread and every other thread stay where they
    are.  ``fn``'s return value is returned and its exception re-raised here.
    Anything ``fn`` creates that is bound to a namespace at creation (sockets)
    stays in ``netns``.

    Raises:
        FileNotFoundError: no such namespace file.
        OSError: ``setns`` failed (``EPERM``: needs CAP_SYS_ADMIN; ``EINVAL``: not a
            network namespace file).
    """
    if isinstance(netns, int):
        fd, path, owned = netns, f"fd {netns}", False
    else:
        path = netns_path(netns)
        fd, owned = os.open(path, os.O_RDONLY | os.O_CLOEXEC), True
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            _sys.setns(fd, _sys.CLONE_NEWNET)
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    try:
        t = threading.Thread(target=body, name=f"netring-netns:{path}", daemon=True)
        t.start()
        t.join()
    finally:
        if owned:
            os.close(fd)
    if "error" in box:
        err: BaseException = box["error"]
        raise err
    result: T = box["result"]
    return result


def socket_in(
    netns: str | os.PathLike[str] | int | None, family: int, type: int, proto: int = 0
) -> socket.socket:
    """Create ``socket.socket(family, type, proto)`` inside ``netns`` (``None``: here).

    The socket keeps its namespace for life; use it from any thread.
    """
    if netns is None:
        return socket.socket(family, type, proto)
    return run_in_netns(netns, socket.socket, family, type, proto)
