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

Every failure is a :class:`~netring.errors.NamespaceError` naming the path and
what is wrong::

    ""                   NotANamespace             empty network namespace name
    no such file/name    NamespaceNotFound         (also a FileNotFoundError)
    /tmp, /etc/passwd    NotANamespace             is a directory / not a namespace file
    /proc/self/ns/uts    NotANamespace             is a uts namespace, not a network one
    EPERM / EACCES       NamespacePermissionError  (also a PermissionError)

API::

    netns_path(name_or_path) -> str
    run_in_netns(path_or_fd, fn, *args, **kwargs) -> T
    socket_in(path_or_fd_or_None, family, type, proto=0) -> socket.socket
    current_netns() -> str          # e.g. "net:[4026531840]" for this thread
    socket_netns(sock) -> (dev, ino) | None   # the namespace a socket lives in
    netns_id(path_or_fd_or_None) -> (dev, ino) | None   # what a name names now

A namespace lives as long as something holds it (a bind mount under
``/run/netns``, a process, a socket), so a socket outlives ``ip netns del``:
compare :func:`socket_netns` with :func:`netns_id` of its path to tell.
"""

from __future__ import annotations

import _socket
import errno as _errno
import os
import stat
from collections.abc import Callable

from . import _sys
from .codec.types import TYPE_CHECKING, TypeVar
from .errors import NamespaceError, NamespaceNotFound, NamespacePermissionError, NotANamespace

if TYPE_CHECKING:
    import socket
    from typing import Any

__all__ = ["netns_path", "run_in_netns", "socket_in", "current_netns", "socket_netns",
           "netns_id"]

T = TypeVar("T")

NETNS_RUN_DIR = "/run/netns"

#: ioctl(fd, NS_GET_NSTYPE) (uapi/linux/nsfs.h, _IO(0xb7, 0x3)): the CLONE_NEW* type
NS_GET_NSTYPE = 0xB703
#: ioctl(sock, SIOCGSKNS) (uapi/linux/sockios.h): a new fd of the socket's network namespace
SIOCGSKNS = 0x894C
#: CLONE_NEW* flags (uapi/linux/sched.h) -> the names /proc/PID/ns uses
_NS_NAMES = {
    0x00020000: "mnt", 0x02000000: "cgroup", 0x04000000: "uts", 0x08000000: "ipc",
    0x10000000: "user", 0x20000000: "pid", 0x40000000: "net", 0x00000080: "time",
}


def netns_path(netns: str | os.PathLike[str]) -> str:
    """Resolve a namespace name (``"blue"``) or path to the file to open.

    Raises:
        NotANamespace: an empty name, or a name that is not a single file name
            under ``/run/netns`` (``"."``, ``".."``).
    """
    s = os.fspath(netns)
    if "/" in s:
        return s
    if not s.strip():
        raise NotANamespace(repr(s), f"empty network namespace name {s!r}")
    if s in (".", ".."):
        raise NotANamespace(s, f"{s!r} is not a network namespace name")
    return os.path.join(NETNS_RUN_DIR, s)


def _open(path: str) -> int:
    """Open the namespace file ``path``."""
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        if os.path.dirname(path) == NETNS_RUN_DIR:
            name = os.path.basename(path)
            raise NamespaceNotFound(
                path, f"no network namespace named {name!r} ({path} does not exist)") from None
        raise NamespaceNotFound(path, f"{path}: no such network namespace file") from None
    except PermissionError as exc:
        raise NamespacePermissionError(
            path, f"open {path}: {os.strerror(exc.errno or _errno.EACCES)}",
            exc.errno or _errno.EACCES) from None
    except OSError as exc:
        raise NamespaceError(path, f"open {path}: {os.strerror(exc.errno or 0)}",
                             exc.errno or _errno.EINVAL) from None


def _what_is(fd: int) -> str:
    """Why ``fd`` cannot be a network namespace, in words (after setns said EINVAL)."""
    try:
        st = os.fstat(fd)
    except OSError:
        return "is not a network namespace"
    if stat.S_ISDIR(st.st_mode):
        return "is a directory, not a network namespace"
    import fcntl

    try:
        nstype = fcntl.ioctl(fd, NS_GET_NSTYPE)
    except OSError:
        return "is not a network namespace"
    name = _NS_NAMES.get(nstype)
    return f"is a {name} namespace, not a network namespace" if name else "is not a network namespace"


def _setns_error(path: str, fd: int, exc: OSError) -> NamespaceError:
    code = exc.errno or 0
    name = _errno.errorcode.get(code, str(code))
    if code == _errno.EINVAL:
        return NotANamespace(path, f"{path} {_what_is(fd)} (setns: {name})")
    if code in (_errno.EPERM, _errno.EACCES):
        return NamespacePermissionError(path, f"setns into {path}: {os.strerror(code)}", code)
    if code == _errno.EBADF:
        return NamespaceError(path, f"{path} is not an open file descriptor (setns: EBADF)", code)
    return NamespaceError(path, f"setns into {path}: {os.strerror(code)} ({name})", code)


def socket_netns(sock: _socket.socket) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of the network namespace ``sock`` lives in (``SIOCGSKNS``),
    or ``None`` when the kernel refuses to say (it needs CAP_NET_ADMIN there)."""
    import fcntl

    try:
        fd = fcntl.ioctl(sock.fileno(), SIOCGSKNS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        return st.st_dev, st.st_ino
    finally:
        os.close(fd)


def netns_id(netns: str | os.PathLike[str] | int | None) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of the namespace a name, path or fd refers to now
    (``None``: the calling thread's), or ``None`` when the name is gone."""
    try:
        if netns is None:
            st = os.stat("/proc/thread-self/ns/net")
        elif isinstance(netns, int):
            st = os.fstat(netns)
        else:
            st = os.stat(netns_path(netns))
    except OSError:
        return None
    return st.st_dev, st.st_ino


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
        NamespaceNotFound: no such namespace file or name (a ``FileNotFoundError``).
        NotANamespace: the name is empty, or the file is not a network namespace
            (a directory, an ordinary file, another kind of namespace).
        NamespacePermissionError: ``setns`` or ``open`` was refused (``EPERM``:
            needs CAP_SYS_ADMIN); a ``PermissionError``.
        NamespaceError: any other failure to enter it.  Each is an ``OSError``.
    """
    if isinstance(netns, int):
        fd, path, owned = netns, f"fd {netns}", False
    else:
        path = netns_path(netns)
        fd, owned = _open(path), True
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            _sys.setns(fd, _sys.CLONE_NEWNET)
        except OSError as exc:
            box["setns"] = exc
            return
        except BaseException as exc:  # not an OS refusal: handed to the caller as it is
            box["error"] = exc
            return
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    import threading  # only a namespace switch needs a thread

    try:
        t = threading.Thread(target=body, name=f"netring-netns:{path}", daemon=True)
        t.start()
        t.join()
        if "setns" in box:
            raise _setns_error(path, fd, box["setns"]) from None
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
    import socket  # here: the socket module's set-up is start-up time commands may not need

    if netns is None:
        return socket.socket(family, type, proto)
    return run_in_netns(netns, socket.socket, family, type, proto)
