"""Open file description locks: a role held by a process, gone when it dies.

OS edge module (``os``, ``fcntl``).  A shared ring's producer role is an
``F_OFD_SETLK`` write lock on one byte of the ring file, taken through an open
file description of the producer's own::

    producer                                  anyone else holding the file
    --------                                  ----------------------------
    lfd = private_description(fd)             held_by_other(fd, off)  -> True
       (open /proc/self/fd/N: a new open          F_OFD_GETLK on its own description
        file description of the same file)     ... producer SIGKILLed: the kernel
    try_lock(lfd, off)  F_OFD_SETLK F_WRLCK       closes lfd, the lock goes with it
                                              held_by_other(fd, off)  -> False

Why OFD locks on a description of its own: POSIX record locks (``lockf``,
``F_SETLK``) belong to a process and vanish when *any* of its descriptors of the
file closes; OFD locks belong to an open file description, and a memfd passed
by ``fork`` or ``SCM_RIGHTS`` is *one* description shared by every holder, so a
lock on it would neither conflict between holders nor go away with the producer.
Opening ``/proc/self/fd/N`` makes a new description only the producer holds.
No pid is read or trusted anywhere: a dead producer's pid may already belong to
another process, the lock is released by the kernel when the producer dies.
"""

from __future__ import annotations

import errno as _errno
import fcntl
import os
import struct

__all__ = ["flock", "private_description", "try_lock", "unlock", "held_by_other"]

# struct flock { short l_type; short l_whence; off_t l_start; off_t l_len; pid_t l_pid; };
#                                     include/uapi/asm-generic/fcntl.h (LP64: off_t is 64-bit)
flock = struct.Struct("=hh4xqqi4x")
assert flock.size == 32

# include/uapi/asm-generic/fcntl.h (Linux >= 3.15)
F_OFD_GETLK = 36
F_OFD_SETLK = 37
F_WRLCK = 1
F_UNLCK = 2
assert (fcntl.F_OFD_GETLK, fcntl.F_OFD_SETLK, fcntl.F_WRLCK, fcntl.F_UNLCK) == (
    F_OFD_GETLK, F_OFD_SETLK, F_WRLCK, F_UNLCK)


def private_description(fd: int) -> int:
    """A new open file description of the file ``fd`` refers to (``O_RDWR``, close-on-exec)."""
    return os.open(f"/proc/self/fd/{fd}", os.O_RDWR | os.O_CLOEXEC)


def try_lock(fd: int, start: int, length: int = 1) -> bool:
    """``F_OFD_SETLK`` a write lock on ``[start, start+length)``; False when another
    description holds a conflicting lock."""
    try:
        fcntl.fcntl(fd, F_OFD_SETLK, flock.pack(F_WRLCK, os.SEEK_SET, start, length, 0))
    except OSError as exc:
        if exc.errno in (_errno.EAGAIN, _errno.EACCES):
            return False
        raise
    return True


def unlock(fd: int, start: int, length: int = 1) -> None:
    """Drop this description's lock on ``[start, start+length)``."""
    fcntl.fcntl(fd, F_OFD_SETLK, flock.pack(F_UNLCK, os.SEEK_SET, start, length, 0))


def held_by_other(fd: int, start: int, length: int = 1) -> bool:
    """True when a description other than ``fd``'s holds a lock on the range."""
    got = fcntl.fcntl(fd, F_OFD_GETLK, flock.pack(F_WRLCK, os.SEEK_SET, start, length, 0))
    return int(flock.unpack(got)[0]) != F_UNLCK
