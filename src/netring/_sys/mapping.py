"""Shared mappings: a sealed memfd, its shared mmap, and pinning a buffer for C.

OS edge module (``os``, ``fcntl``, ``mmap``, ``ctypes``).  Rings that live in
shared memory (netlink mmap rings in user space; AF_PACKET rings map the
socket instead but pin the same way) use these three steps::

    fd = sealed_memfd(name, size)   memfd, mode 0600, F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL
    seals(fd) -> int | None         F_GET_SEALS (None: not a sealable memfd)
    mm = map_shared(fd, size)       MAP_SHARED, PROT_READ|PROT_WRITE
    arr = pin(mm)                   ctypes view of the whole buffer (address for
                                    iovecs); the mapping cannot close while it lives
"""

from __future__ import annotations

import ctypes
import fcntl
import mmap
import os

from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__all__ = ["PAGE_SIZE", "REQUIRED_SEALS", "sealed_memfd", "seals", "map_shared", "pin",
           "address"]

PAGE_SIZE = mmap.PAGESIZE

#: seals a shared ring file must carry: its size is fixed for good, so a holder
#: cannot truncate it under another process's mapping (SIGBUS there) nor lift the
#: seals (include/uapi/linux/fcntl.h: F_SEAL_SEAL 1, F_SEAL_SHRINK 2, F_SEAL_GROW 4)
REQUIRED_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL


def sealed_memfd(name: str, size: int) -> int:
    """A new memfd of ``size`` bytes, mode 0600, sealed against shrinking and growing
    and against any change of its seals (:data:`REQUIRED_SEALS`)."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, size)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, REQUIRED_SEALS)
    except BaseException:
        os.close(fd)
        raise
    return fd


def seals(fd: int) -> int | None:
    """The seals of ``fd`` (``F_GET_SEALS``), or ``None`` for a file that has none
    to show (not a memfd or shmem file: EINVAL)."""
    try:
        return int(fcntl.fcntl(fd, fcntl.F_GET_SEALS))
    except OSError:
        return None


def map_shared(fd: int, size: int) -> mmap.mmap:
    """``mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)``."""
    return mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)


def pin(buf: Any) -> Any:
    """A ``c_char`` array over the whole writable ``buf`` (no copy); it pins ``buf``
    (an mmap cannot close, a bytearray cannot resize) until dropped."""
    return (ctypes.c_char * len(buf)).from_buffer(buf)


def address(pinned: Any) -> int:
    """The address of a :func:`pin`-ned buffer."""
    return ctypes.addressof(pinned)
