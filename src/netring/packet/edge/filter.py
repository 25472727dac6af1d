"""Classic BPF on sockets: compile a tcpdump expression with libpcap, attach, lock, detach.

OS edge module (the pure side is :mod:`netring.packet.bpf`)::

    compile_filter(expr, linktype=1, snaplen=262144, *, optimize=True, netmask=0xffffffff)
                                   -> Program   through libpcap, or bytecode text as is
    attach_filter(fd, program, lock=False)      SO_ATTACH_FILTER (+ SO_LOCK_FILTER)
    lock_filter(fd)                             SO_LOCK_FILTER
    detach_filter(fd) -> bool                   SO_DETACH_FILTER (False: there was none)
    describe_source(program) -> str             one line for the CLI: which path made it
    libpcap_version() -> str | None
    pack_fprog(program) -> (bytes, buffer)      struct sock_fprog (also for PACKET_FANOUT_DATA)

Two ways to a program::

    "tcp port 53"  --libpcap-->  pcap_open_dead(linktype, snaplen)      no root, no interface
                                 pcap_compile(p, &bpf_program, expr, optimize, netmask)
                                 (-1: pcap_geterr(p) is the reason)
                                 copy bf_insns[0..bf_len) ; pcap_freecode ; pcap_close
    "4\\n40 0 0 12\\n..."  --parse_ddd-->  Program      tcpdump -ddd / -dd text, no libpcap

libpcap (``libpcap.so.0.8``, Debian's libpcap0.8, which tcpdump depends on) is found
with ``ctypes.util.find_library("pcap")`` and loaded on first use with its own
``ctypes.CDLL``.  ``NETRING_LIBPCAP`` overrides that: a library name or path to load,
or ``none`` to act as if libpcap were absent.  libpcap resolves host names in an
expression (``host example.com``) through the system resolver, so such a compile can
wait on DNS.

Attach errors, by the kernel's errno::

    EINVAL  the kernel's checker refused the program: EncodeError naming the rule
            (netring.packet.bpf.validate mirrors bpf_check_classic)
    EPERM   the filter is locked: FilterLocked
    ENOMEM  the program does not fit the socket's option memory (net.core.optmem_max)
"""

from __future__ import annotations

import array
import errno as _errno
import os
import socket
import threading

from ...codec.constants import SO
from ...codec.types import TYPE_CHECKING, Protocol
from ...errors import EncodeError, FilterLocked, NotSupportedError
from ..bpf import Program, looks_like_bytecode, parse_ddd, sock_filter, sock_fprog, validate

if TYPE_CHECKING:
    import ctypes
    from typing import Any

__all__ = [
    "compile_filter",
    "attach_filter",
    "lock_filter",
    "detach_filter",
    "describe_source",
    "libpcap_version",
    "pack_fprog",
    "LIBPCAP_ENV",
]

#: environment variable naming the libpcap to load (``none``: act as if it were absent)
LIBPCAP_ENV = "NETRING_LIBPCAP"
_DISABLED = ("none", "off", "no", "0")


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


# -- libpcap ---------------------------------------------------------------------------------------
class _Libpcap:
    """The bound libpcap calls and the two ctypes structs they take, made once per library."""

    def __init__(self, name: str) -> None:
        import ctypes

        class bpf_insn(ctypes.Structure):
            """``struct bpf_insn { u_short code; u_char jt; u_char jf; bpf_u_int32 k; }``
            (pcap/bpf.h): the same 8 bytes as the kernel's ``struct sock_filter``."""

            _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte),
                        ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]

        class bpf_program(ctypes.Structure):
            """``struct bpf_program { u_int bf_len; struct bpf_insn *bf_insns; }`` (pcap/bpf.h)."""

            _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(bpf_insn))]

        assert ctypes.sizeof(bpf_insn) == sock_filter.size
        self.ctypes = ctypes
        self.bpf_program = bpf_program
        self.name = name
        lib = ctypes.CDLL(name)
        p = ctypes.c_void_p
        self.open_dead = _fn(lib, "pcap_open_dead", [ctypes.c_int, ctypes.c_int], p)
        self.compile = _fn(lib, "pcap_compile", [p, ctypes.POINTER(bpf_program), ctypes.c_char_p,
                                                 ctypes.c_int, ctypes.c_uint32], ctypes.c_int)
        self.geterr = _fn(lib, "pcap_geterr", [p], ctypes.c_char_p)
        self.freecode = _fn(lib, "pcap_freecode", [ctypes.POINTER(bpf_program)], None)
        self.close = _fn(lib, "pcap_close", [p], None)
        version = _fn(lib, "pcap_lib_version", [], ctypes.c_char_p)()
        self.version = version.decode(errors="replace") if version else "libpcap"


def _fn(lib: ctypes.CDLL, name: str, argtypes: list[Any], restype: Any) -> Any:
    fn = getattr(lib, name)  # AttributeError: not a libpcap
    fn.argtypes = argtypes
    fn.restype = restype
    return fn


_libs: dict[str, _Libpcap | str] = {}  # NETRING_LIBPCAP setting -> library, or why there is none
_lock = threading.Lock()  # libpcap's compiler is not reentrant before 1.8


def _libpcap() -> _Libpcap | str:
    """The libpcap to compile with, or a sentence saying why there is none."""
    setting = os.environ.get(LIBPCAP_ENV, "").strip()
    with _lock:
        found = _libs.get(setting)
        if found is None:
            found = _libs[setting] = _load(setting)
        return found


def _load(setting: str) -> _Libpcap | str:
    if setting.lower() in _DISABLED:
        return f"libpcap disabled by {LIBPCAP_ENV}={setting}"
    if setting:
        name = setting
    else:
        import ctypes.util

        name = ctypes.util.find_library("pcap") or ""
        if not name:
            return "libpcap0.8 not found: ctypes.util.find_library('pcap') found no libpcap.so"
    try:
        return _Libpcap(name)
    except OSError as exc:
        return f"could not load {name} (from {LIBPCAP_ENV}): {exc}" if setting else \
            f"could not load {name}: {exc}"
    except AttributeError as exc:
        return f"{name} is not a usable libpcap: {exc}"


def libpcap_version() -> str | None:
    """libpcap's ``pcap_lib_version()`` text, or ``None`` when libpcap is not available."""
    lib = _libpcap()
    return None if isinstance(lib, str) else lib.version


def compile_filter(expr: str, linktype: int = 1, snaplen: int = 262144, *, optimize: bool = True,
                   netmask: int = 0xFFFFFFFF) -> Program:
    """Compile a tcpdump expression to classic BPF, or take bytecode text as it is.

    Text that looks like bytecode (``tcpdump -ddd`` or ``-dd`` output, see
    :func:`~netring.packet.bpf.looks_like_bytecode`) is parsed with
    :func:`~netring.packet.bpf.parse_ddd` (``source="bytecode"``), with or without
    libpcap.  Anything else goes through libpcap (``source="libpcap"``), as
    ``tcpdump -ddd -y LINKTYPE -s SNAPLEN EXPR`` would compile it.  Either way the
    result has passed :func:`~netring.packet.bpf.validate`.

    Args:
        expr: a tcpdump (pcap-filter) expression, or bytecode text.
        linktype: the ``DLT_*`` link type the packets start with (1: Ethernet).
        snaplen: what an accepting ``ret`` returns.
        optimize: run libpcap's optimizer (tcpdump does, unless ``-O``).
        netmask: the IPv4 netmask for ``ip broadcast``; ``0xffffffff`` is libpcap's
            ``PCAP_NETMASK_UNKNOWN`` (what tcpdump passes without an interface).

    Raises:
        EncodeError: libpcap refused the expression (its reason and the expression), or
            the bytecode is malformed or breaks a kernel rule.
        NotSupportedError: a tcpdump expression but no libpcap (says which path was
            tried and that ``tcpdump -ddd`` bytecode works without it).
    """
    if looks_like_bytecode(expr):
        program = parse_ddd(expr)
        validate(program)
        return program
    lib = _libpcap()
    if isinstance(lib, str):
        raise NotSupportedError(
            f"tcpdump-syntax filters need libpcap ({lib}); pass bytecode in `tcpdump -ddd` "
            "format instead (for example the output of `tcpdump -ddd 'tcp port 80'`)")
    if "\x00" in expr:
        raise EncodeError(f"tcpdump expression {expr!r}: a NUL character at offset {expr.index(chr(0))}")
    program = Program(_compile(lib, expr, linktype, snaplen, optimize, netmask), "libpcap", expr)
    validate(program)
    return program


def _compile(lib: _Libpcap, expr: str, linktype: int, snaplen: int, optimize: bool,
             netmask: int) -> tuple[tuple[int, int, int, int], ...]:
    ctypes = lib.ctypes
    with _lock:
        p = lib.open_dead(linktype, snaplen)
        if not p:
            raise EncodeError(f"libpcap refused link type {linktype} / snaplen {snaplen} "
                              "(pcap_open_dead returned NULL)")
        try:
            prog = lib.bpf_program()
            rc = lib.compile(p, ctypes.byref(prog), expr.encode(), int(optimize),
                             netmask & 0xFFFFFFFF)
            if rc != 0:
                why = (lib.geterr(p) or b"unknown error").decode(errors="replace")
                raise EncodeError(f"tcpdump expression {expr!r}: libpcap: {why} "
                                  f"(link type {linktype})")
            try:
                raw = ctypes.string_at(prog.bf_insns, prog.bf_len * sock_filter.size)
            finally:
                lib.freecode(ctypes.byref(prog))
        finally:
            lib.close(p)
    return Program.from_bytes(raw).instructions


def describe_source(program: Program) -> str:
    """One line for the CLI saying which path made ``program``.

    ``filter 'tcp port 53': 20 BPF instructions compiled by libpcap version 1.10.3``, or
    ``filter: 4 BPF instructions from bytecode (tcpdump -ddd/-dd text; libpcap not used)``.
    """
    n = len(program)
    if program.source == "libpcap":
        version = libpcap_version() or "libpcap"
        return f"filter {program.expression!r}: {n} BPF instructions compiled by {version}"
    return f"filter: {n} BPF instructions from bytecode (tcpdump -ddd/-dd text; libpcap not used)"


# -- socket options --------------------------------------------------------------------------------
def _socket(fd: int | _HasFileno) -> socket.socket:
    """A socket object over a duplicate of ``fd`` (options set on it apply to the original)."""
    return socket.socket(fileno=os.dup(fd if isinstance(fd, int) else fd.fileno()))


def attach_filter(fd: int | _HasFileno, program: Program, lock: bool = False) -> None:
    """Attach ``program`` to a socket (``SO_ATTACH_FILTER``), replacing its filter.

    Works on any socket (packet, netlink, inet, ...).  The kernel checks the program;
    its refusal is explained by :func:`~netring.packet.bpf.validate`'s rules.

    Args:
        fd: the socket, or its descriptor.
        program: what to attach.
        lock: also ``SO_LOCK_FILTER``: the filter can then not be replaced or removed
            while the socket lives.

    Raises:
        EncodeError: EINVAL, the kernel's checker refused the program (the rule is named;
            the kernel's ``OSError`` is the ``__cause__``).
        FilterLocked: EPERM, the socket's filter is locked.
        OSError: ENOMEM (the program exceeds ``net.core.optmem_max``) and other errnos.
    """
    fprog, keepalive = pack_fprog(program)  # keepalive holds the instructions fprog points to
    with _socket(fd) as s:
        try:
            s.setsockopt(socket.SOL_SOCKET, SO.ATTACH_FILTER, fprog)
        except OSError as exc:
            raise _attach_error(exc, program) from exc
        if lock:
            _lock_filter(s)


def pack_fprog(program: Program) -> tuple[bytes, array.array[int]]:
    """The ``struct sock_fprog`` for ``program`` and the buffer it points into.

    For ``SO_ATTACH_FILTER`` and ``PACKET_FANOUT_DATA`` alike: keep the buffer alive
    until the ``setsockopt`` that takes the bytes has returned.

    Raises:
        EncodeError: more instructions than ``sock_fprog.len`` (16 bits) holds.
    """
    if len(program) > 0xFFFF:  # the kernel's own limit, BPF_MAXINSNS, is lower
        validate(program)
    code = array.array("B", program.to_bytes())
    return sock_fprog.pack(len(program), code.buffer_info()[0] if len(program) else 0), code


def _attach_error(exc: OSError, program: Program) -> Exception:
    if exc.errno == _errno.EPERM:
        return FilterLocked("SO_ATTACH_FILTER")
    if exc.errno == _errno.EINVAL:
        try:
            validate(program)
        except EncodeError as why:
            return EncodeError(f"SO_ATTACH_FILTER: the kernel refused the program (EINVAL): {why}")
        return EncodeError(
            f"SO_ATTACH_FILTER: the kernel refused a {len(program)}-instruction program (EINVAL) "
            "that passes every bpf_check_classic rule netring checks; the kernel also refuses "
            "one whose conversion to eBPF fails (a converted jump beyond 32767 instructions)")
    if exc.errno == _errno.ENOMEM:
        return OSError(exc.errno, f"SO_ATTACH_FILTER: a {len(program)}-instruction program does "
                       "not fit the socket's option memory (sysctl net.core.optmem_max) (ENOMEM)")
    return exc


def _lock_filter(s: socket.socket) -> None:
    try:
        s.setsockopt(socket.SOL_SOCKET, SO.LOCK_FILTER, 1)
    except PermissionError:
        raise FilterLocked("SO_LOCK_FILTER") from None


def lock_filter(fd: int | _HasFileno) -> None:
    """Lock the socket's filter (``SO_LOCK_FILTER``): no replacing, no removing, no unlocking.

    Locking a socket without a filter is allowed (nothing can be attached afterwards).
    """
    with _socket(fd) as s:
        _lock_filter(s)


def detach_filter(fd: int | _HasFileno) -> bool:
    """Remove the socket's filter (``SO_DETACH_FILTER``).

    Returns:
        True if a filter was removed, False if the socket had none (the kernel's ENOENT).

    Raises:
        FilterLocked: EPERM, the filter is locked.
    """
    with _socket(fd) as s:
        try:
            s.setsockopt(socket.SOL_SOCKET, SO.DETACH_FILTER, 0)
        except PermissionError:
            raise FilterLocked("SO_DETACH_FILTER") from None
        except FileNotFoundError:
            return False
    return True
