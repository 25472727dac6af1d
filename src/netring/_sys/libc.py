"""The one C library binding: ``ctypes.CDLL(None)`` and the raw calls netring makes.

OS edge module.  Every ctypes function netring calls is bound here, once, with
its argument and result types; nothing else in the package opens the C library::

    recvmmsg_raw(fd, POINTER(mmsghdr), vlen, flags, timeout) -> int   (None: libc lacks it)
    sendmmsg_raw(fd, POINTER(mmsghdr), vlen, flags) -> int            EINTR retried, OSError
    sendmsg_raw(fd, POINTER(msghdr), flags) -> int                    EINTR retried, OSError
    sendto_raw(fd, buf, len, flags, addr, addrlen) -> int             -1 + get_errno() on failure
    getsockopt_raw(fd, level, opt, value, POINTER(socklen_t)) -> int  value is read AND written
                                                                      (PACKET_HDRLEN takes input)
    setns(fd, nstype=CLONE_NEWNET)                                    the calling *thread* only
    unshare(flags)                                                    the calling process
    set_dumpable(flag) / get_dumpable() -> bool                       prctl(PR_{SET,GET}_DUMPABLE)
    gettid() -> int

The ``struct iovec``/``msghdr``/``mmsghdr`` ctypes layouts the calls take live
here too (``<sys/uio.h>``, ``<sys/socket.h>``, glibc layout).
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os
import threading

from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "iovec",
    "msghdr",
    "mmsghdr",
    "recvmmsg_raw",
    "sendmmsg_raw",
    "sendmsg_raw",
    "sendto_raw",
    "getsockopt_raw",
    "have_recvmmsg",
    "setns",
    "unshare",
    "set_dumpable",
    "get_dumpable",
    "gettid",
    "errno_error",
    "fileno",
    "MSG_PEEK",
    "MSG_CTRUNC",
    "MSG_TRUNC",
    "MSG_DONTWAIT",
    "MSG_WAITFORONE",
    "CLONE_NEWNET",
    "IOV_MAX",
    "SIZE_T",
    "SIZE_FMT",
]

# <bits/socket.h>, <linux/socket.h>
MSG_PEEK = 0x2
MSG_CTRUNC = 0x8
MSG_TRUNC = 0x20
MSG_DONTWAIT = 0x40
MSG_WAITFORONE = 0x10000
CLONE_NEWNET = 0x40000000  # include/uapi/linux/sched.h
IOV_MAX = 1024  # <limits.h> UIO_MAXIOV
PR_GET_DUMPABLE = 3  # include/uapi/linux/prctl.h
PR_SET_DUMPABLE = 4

from .sizes import SIZE_FMT, SIZE_T  # noqa: E402  (one home: struct's native size_t)

assert ctypes.sizeof(ctypes.c_size_t) == SIZE_T

_libc = ctypes.CDLL(None, use_errno=True)


class iovec(ctypes.Structure):
    """``struct iovec`` (``<sys/uio.h>``)."""

    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class msghdr(ctypes.Structure):
    """``struct msghdr`` (``<sys/socket.h>``, glibc layout)."""

    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(iovec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class mmsghdr(ctypes.Structure):
    """``struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; }`` (``<sys/socket.h>``)."""

    _fields_ = [("msg_hdr", msghdr), ("msg_len", ctypes.c_uint)]


assert ctypes.sizeof(iovec) == 2 * ctypes.sizeof(ctypes.c_void_p)
assert ctypes.sizeof(msghdr) in (28, 56)  # 32-bit / 64-bit


def _bind(name: str, argtypes: list[Any], restype: Any) -> Any:
    fn = getattr(_libc, name, None)
    if fn is not None:
        fn.argtypes = argtypes
        fn.restype = restype
    return fn


# ``recvmmsg_raw(fd, POINTER(mmsghdr), vlen, flags, timeout) -> int``: the C function
# itself (-1 and ``ctypes.get_errno()`` on failure), or None when the C library lacks
# it.  For callers that build their own ``mmsghdr`` arrays (MMsgBatch, the ring filler).
recvmmsg_raw: Any = _bind("recvmmsg", [ctypes.c_int, ctypes.POINTER(mmsghdr), ctypes.c_uint,
                                       ctypes.c_int, ctypes.c_void_p], ctypes.c_int)
_sendmmsg: Any = _bind("sendmmsg", [ctypes.c_int, ctypes.POINTER(mmsghdr), ctypes.c_uint,
                                    ctypes.c_int], ctypes.c_int)
_sendmsg: Any = _bind("sendmsg", [ctypes.c_int, ctypes.POINTER(msghdr), ctypes.c_int],
                      ctypes.c_ssize_t)
# ``sendto_raw(fd, buf, len, flags, addr, addrlen) -> int``: the C function itself.
sendto_raw: Any = _bind("sendto", [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                                   ctypes.c_void_p, ctypes.c_uint32], ctypes.c_ssize_t)
# ``getsockopt_raw(fd, level, opt, value_ptr, len_ptr) -> int``: the C function itself,
# for options whose value is also an input (Python's getsockopt cannot pass one).
getsockopt_raw: Any = _bind("getsockopt", [ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                           ctypes.c_void_p, ctypes.c_void_p], ctypes.c_int)
_setns: Any = _bind("setns", [ctypes.c_int, ctypes.c_int], ctypes.c_int)
_unshare: Any = _bind("unshare", [ctypes.c_int], ctypes.c_int)
_prctl: Any = _bind("prctl", [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                              ctypes.c_ulong], ctypes.c_int)


def have_recvmmsg() -> bool:
    """True when the C library exports ``recvmmsg`` and ``sendmmsg``."""
    return recvmmsg_raw is not None and _sendmmsg is not None


def errno_error(what: str, code: int | None = None) -> OSError:
    """An :class:`OSError` for ``code`` (default: the C ``errno`` of the last call)."""
    e = ctypes.get_errno() if code is None else code
    return OSError(e, f"{what}: {os.strerror(e)}")


def _missing(what: str) -> OSError:
    return OSError(_errno.ENOSYS, f"{what} is not available in this C library")


def sendmmsg_raw(fd: int, hdrs: Any, vlen: int, flags: int) -> int:
    """``sendmmsg`` over a caller-built ``mmsghdr`` array; returns datagrams sent.

    ``EINTR`` is retried; any other failure raises :class:`OSError`.
    """
    if _sendmmsg is None:
        raise _missing("sendmmsg")
    while True:
        sent = int(_sendmmsg(fd, hdrs, vlen, flags))
        if sent >= 0:
            return sent
        e = ctypes.get_errno()
        if e != _errno.EINTR:
            raise errno_error("sendmmsg", e)


def sendmsg_raw(fd: int, hdr: Any, flags: int) -> int:
    """``sendmsg`` of one caller-built ``msghdr`` (passed by reference); returns bytes sent.

    ``EINTR`` is retried; any other failure raises :class:`OSError`.
    """
    while True:
        sent = int(_sendmsg(fd, hdr, flags))
        if sent >= 0:
            return sent
        e = ctypes.get_errno()
        if e != _errno.EINTR:
            raise errno_error("sendmsg", e)


def setns(fd: int, nstype: int = CLONE_NEWNET) -> None:
    """``setns(2)``: move the calling *thread* into the namespace ``fd`` refers to.

    Raises:
        OSError: with the errno (``EPERM`` without CAP_SYS_ADMIN, ``EINVAL`` for a
            file that is not a namespace of ``nstype``).
    """
    if _setns is None:
        raise _missing("setns")
    if int(_setns(fd, nstype)) != 0:
        raise errno_error("setns")


def unshare(flags: int) -> None:
    """``unshare(2)``: move the calling process into new namespaces (``CLONE_NEW*`` flags).

    Raises:
        OSError: with the errno (``EPERM`` without CAP_SYS_ADMIN).
    """
    if _unshare is None:
        raise _missing("unshare")
    if int(_unshare(flags)) != 0:
        raise errno_error("unshare")


def set_dumpable(flag: bool) -> None:
    """``prctl(PR_SET_DUMPABLE, flag)`` for the whole calling process.

    Not dumpable: no core dumps, no ``ptrace`` attach by other processes of the
    same uid, and ``/proc/PID/*`` (``fd/``, ``mem``, ``map_files/``) owned by root,
    so only processes with CAP_SYS_PTRACE can open this process's descriptors
    through ``/proc/PID/fd``.  ``execve`` of an ordinary program makes the
    process dumpable again.
    """
    if _prctl is None:
        raise _missing("prctl")
    if int(_prctl(PR_SET_DUMPABLE, 1 if flag else 0, 0, 0, 0)) != 0:
        raise errno_error("prctl(PR_SET_DUMPABLE)")


def get_dumpable() -> bool:
    """``prctl(PR_GET_DUMPABLE) == SUID_DUMP_USER``: True when processes of the same uid
    may ptrace this one and open its ``/proc/PID/fd`` entries."""
    if _prctl is None:
        raise _missing("prctl")
    r = int(_prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
    if r < 0:
        raise errno_error("prctl(PR_GET_DUMPABLE)")
    return r == 1


def gettid() -> int:
    """The calling thread's kernel thread id."""
    return threading.get_native_id()


def fileno(sock: Any) -> int:
    """The descriptor of ``sock``: an int as is, else ``sock.fileno()``."""
    return sock if isinstance(sock, int) else int(sock.fileno())
