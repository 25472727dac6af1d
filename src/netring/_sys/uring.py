"""The io_uring system calls, their mappings, and what may forbid them.

OS edge module (``ctypes``, ``mmap``).  ``syscall(2)`` is bound here on the one
C library of :mod:`netring._sys.libc` (glibc has no io_uring wrappers)::

    fd = io_uring_setup(entries, params)             params: a 120-byte io_uring_params,
                                                     filled in by the kernel
    n  = io_uring_enter(fd, to_submit, min_complete, flags, arg=None)
    n  = io_uring_register(fd, opcode, arg, nr_args)
    mm = map_ring(fd, size, offset)                  IORING_OFF_SQ_RING / _CQ_RING / _SQES

Failures raise :class:`OSError` with the errno and the call named.  Who may
refuse io_uring, and how it shows (:func:`refusal` names it):

    ENOSYS   no CONFIG_IO_URING, or a seccomp filter answering ENOSYS
    EPERM    kernel.io_uring_disabled = 2 (nobody), = 1 (only kernel.io_uring_group
             members and CAP_SYS_ADMIN), or a seccomp filter / LSM (Docker's default
             profile refuses io_uring_setup with EPERM)
"""

from __future__ import annotations

import ctypes
import errno as _errno
import mmap
import os
import platform

from ..codec.types import TYPE_CHECKING
from . import libc as _libc

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "SYSCALLS",
    "syscall_numbers",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "map_ring",
    "io_uring_disabled",
    "seccomp_mode",
    "refusal",
]

# __NR_io_uring_setup / _enter / _register: 425 / 426 / 427 in the unified syscall
# table every architecture but alpha, ia64 and mips shares since Linux 5.1
# (include/uapi/asm-generic/unistd.h, arch/x86/entry/syscalls/syscall_64.tbl)
SYSCALLS = (425, 426, 427)
_UNIFIED = ("x86_64", "i386", "i486", "i586", "i686", "aarch64", "arm64", "armv6l", "armv7l",
            "armv8l", "riscv64", "ppc64", "ppc64le", "ppc", "s390x", "loongarch64")


def syscall_numbers(machine: str | None = None) -> tuple[int, int, int] | None:
    """``(setup, enter, register)`` syscall numbers for ``machine`` (default: this
    one), or ``None`` where netring does not know them."""
    m = platform.machine() if machine is None else machine
    return SYSCALLS if m in _UNIFIED else None


# syscall(long number, ...): variadic, but every Linux ABI netring runs on passes
# integer and pointer arguments to a variadic function as it passes them to a fixed
# one, so it is bound with seven longs (the number and six arguments)
_syscall: Any = _libc._libc["syscall"]  # the one CDLL (netring._sys.libc), a private binding
_syscall.argtypes = [ctypes.c_long] * 7
_syscall.restype = ctypes.c_long


def _addr(buf: Any) -> tuple[Any, int]:
    """A C view of a writable buffer (keeps it alive) and its address; (None, 0) for None."""
    if buf is None:
        return None, 0
    arr = (ctypes.c_char * len(buf)).from_buffer(buf)
    return arr, ctypes.addressof(arr)


def _call(name: str, nr: int | None, *args: int) -> int:
    if nr is None:
        raise OSError(_errno.ENOSYS, f"{name}: no io_uring syscall numbers known for "
                                     f"{platform.machine()}")
    padded = list(args) + [0] * (6 - len(args))
    r = int(_syscall(nr, *padded))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{name}: {os.strerror(e)}")
    return r


_NR = syscall_numbers()


def io_uring_setup(entries: int, params: bytearray) -> int:
    """``io_uring_setup(entries, &params)``: a new ring's descriptor (``params`` filled in)."""
    keep, a = _addr(params)
    try:
        return _call("io_uring_setup", _NR and _NR[0], entries, a)
    finally:
        del keep


def io_uring_enter(fd: int, to_submit: int, min_complete: int, flags: int,
                   arg: bytearray | memoryview | None = None) -> int:
    """``io_uring_enter(fd, to_submit, min_complete, flags, arg, sizeof arg)``
    (``arg``: a writable buffer, e.g. an ``io_uring_getevents_arg`` with EXT_ARG).

    Returns SQEs consumed.  ``EINTR`` (a signal) and ``ETIME`` (the timeout in
    ``arg`` passed) raise :class:`OSError` like any other errno.
    """
    keep, a = _addr(arg)
    try:
        return _call("io_uring_enter", _NR and _NR[1], fd, to_submit, min_complete, flags, a,
                     len(arg) if arg is not None else 0)
    finally:
        del keep


def io_uring_register(fd: int, opcode: int, arg: bytearray | None, nr_args: int) -> int:
    """``io_uring_register(fd, opcode, arg, nr_args)``."""
    keep, a = _addr(arg)
    try:
        return _call("io_uring_register", _NR and _NR[2], fd, opcode, a, nr_args)
    finally:
        del keep


def map_ring(fd: int, size: int, offset: int) -> mmap.mmap:
    """``mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_POPULATE, fd, offset)``."""
    flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
    return mmap.mmap(fd, size, flags, mmap.PROT_READ | mmap.PROT_WRITE, offset=offset)


def io_uring_disabled() -> int | None:
    """``/proc/sys/kernel/io_uring_disabled`` (0, 1, 2), or ``None`` when the kernel has
    no such sysctl (before 6.6) or it cannot be read."""
    try:
        with open("/proc/sys/kernel/io_uring_disabled") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def seccomp_mode() -> int | None:
    """``Seccomp:`` of ``/proc/self/status`` (0 none, 1 strict, 2 filter), or ``None``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Seccomp:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def refusal(exc: OSError) -> str:
    """Why ``io_uring_setup`` failed, in words (the errno and its likely cause)."""
    code = exc.errno or 0
    name = _errno.errorcode.get(code, str(code))
    if code == _errno.ENOSYS:
        if _NR is None:
            return f"ENOSYS: no io_uring syscall numbers known for {platform.machine()}"
        sc = seccomp_mode()
        why = ("a seccomp filter answers ENOSYS" if sc == 2
               else "the kernel is built without CONFIG_IO_URING")
        return f"io_uring_setup: ENOSYS ({why})"
    if code == _errno.EPERM:
        dis = io_uring_disabled()
        if dis == 2:
            return "io_uring_setup: EPERM (sysctl kernel.io_uring_disabled = 2: io_uring is off)"
        if dis == 1:
            return ("io_uring_setup: EPERM (sysctl kernel.io_uring_disabled = 1: only members of "
                    "kernel.io_uring_group and CAP_SYS_ADMIN may use io_uring)")
        sc = seccomp_mode()
        who = "a seccomp filter" if sc == 2 else "a security module (LSM)"
        return f"io_uring_setup: EPERM ({who} refuses io_uring; io_uring_disabled = {dis})"
    return f"io_uring_setup: {name} ({os.strerror(code)})"
