"""Batched socket system calls through ctypes: ``recvmmsg``, ``sendmmsg``, ``sendmsg``, ``setns``.

This is an OS edge module (it imports :mod:`ctypes`); nothing here knows netlink
semantics beyond decoding the sender address and the two control messages the
netlink socket edge asks for.

The central object is :class:`MMsgBatch`: N ``struct mmsghdr`` prepared once, each
with one iovec pointing at a caller-provided *writable* buffer region::

    regions (any writable buffers: bytearray, mmap, memoryview slices of an mmap)
      region 0  [..................]   <- iovec 0 of mmsghdr 0
      region 1  [..................]   <- iovec 0 of mmsghdr 1
      ...
    per message i, owned by the batch:
      name[i]     128-byte sockaddr storage  (sender: sockaddr_nl / sockaddr_ll ...)
      control[i]  ``control`` bytes for cmsgs (NETLINK_PKTINFO, SCM_CREDENTIALS, ...)

    one recvmmsg(fd, mmsghdr[0..n), n, flags) fills up to n regions per syscall;
    afterwards lengths[i], msg_flags[i], portid(i), groups(i), group(i), creds(i)
    describe message i (valid for i < the returned count).

API::

    batch = MMsgBatch(regions, name=True, control=64)
    n = batch.recv(fd, flags=MSG_WAITFORONE, n=None)   # -> messages received (0: EAGAIN)
    batch.lengths[i]      bytes of message i (msg_len)
    batch.msg_flags[i]    msg_flags (MSG_TRUNC: message cut to the region's size)
    batch.truncated(i)    bool(msg_flags[i] & MSG_TRUNC)
    batch.view(i)         memoryview of region i cut to lengths[i] (zero copy)
    batch.name(i)         raw sender address bytes (msg_namelen of them)
    batch.portid(i)       sockaddr_nl.nl_pid of the sender (0: the kernel)
    batch.nl_address(i)   (nl_pid, nl_groups) of the sender in one call
    batch.groups(i)       sockaddr_nl.nl_groups (1 << (group-1) for multicast, 0 unicast)
    batch.cmsgs(i)        [(level, type, data bytes), ...]
    batch.group(i)        NETLINK_PKTINFO group (0 when absent or unicast)
    batch.creds(i)        SCM_CREDENTIALS (pid, uid, gid) or None
    batch.send(fd, lengths=None, n=None, flags=0, dest_portid=0, dest_groups=0)
                          sendmmsg of regions[0..n) (each cut to lengths[i]) -> sent count
                          (headers built on first use and reused: no per-slot Python work)
    batch.close()         drop every pointer into the regions (required before
                          closing an mmap the regions live in)

    sendmmsg(fd, buffers, dest_portid=0, dest_groups=0, flags=0) -> int   one datagram per buffer
    sendmsg(fd, buffers, dest_portid=0, dest_groups=0, flags=0) -> int    one datagram, one iovec per buffer
    setns(fd, nstype=CLONE_NEWNET) -> None                                 the calling *thread* only
    gettid() -> int

Lifetime rule: the batch holds ctypes pointers into the regions (taken with
``ctypes.c_char.from_buffer``, which also pins them: a ``bytearray`` cannot be
resized and an ``mmap`` cannot be closed while the batch exists).  Keep the
regions alive and unresized for as long as the batch lives, and call
:meth:`MMsgBatch.close` before closing an mmap that holds them.

Errors: every call raises :class:`OSError` with the C ``errno`` on failure
(``EINTR`` is retried, as Python's own socket calls do), except that ``EAGAIN``
/``EWOULDBLOCK`` from :meth:`MMsgBatch.recv` returns 0 (non-blocking socket or
``MSG_DONTWAIT``).  ``recvmmsg`` without ``MSG_WAITFORONE`` blocks until *all*
n messages arrived; :meth:`MMsgBatch.recv` therefore defaults to
``MSG_WAITFORONE`` (wait for the first, then take only what is already queued).
"""

from __future__ import annotations

import array
import ctypes
import errno as _errno
import operator
import os
import struct
import threading
from collections.abc import Sequence
from typing import Any, Literal

__all__ = [
    "MMsgBatch",
    "recvmmsg_raw",
    "sendmmsg_raw",
    "parse_cmsgs",
    "sendmmsg",
    "sendmsg",
    "setns",
    "gettid",
    "have_recvmmsg",
    "cmsg_space",
    "MSG_PEEK",
    "MSG_TRUNC",
    "MSG_DONTWAIT",
    "MSG_CTRUNC",
    "MSG_WAITFORONE",
    "CLONE_NEWNET",
    "SOL_SOCKET",
    "SCM_CREDENTIALS",
    "SOL_NETLINK",
    "NETLINK_PKTINFO",
    "IOV_MAX",
]

# <bits/socket.h>, <linux/socket.h>
MSG_PEEK = 0x2
MSG_CTRUNC = 0x8
MSG_TRUNC = 0x20
MSG_DONTWAIT = 0x40
MSG_WAITFORONE = 0x10000
SOL_SOCKET = 1
SCM_CREDENTIALS = 2
SOL_NETLINK = 270
NETLINK_PKTINFO = 3
AF_NETLINK = 16
CLONE_NEWNET = 0x40000000  # <linux/sched.h>
IOV_MAX = 1024  # <limits.h> UIO_MAXIOV
_NAME_SIZE = 128  # sizeof(struct sockaddr_storage)

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

# struct sockaddr_nl { sa_family_t nl_family; u16 nl_pad; u32 nl_pid; u32 nl_groups; }  uapi/linux/netlink.h
_sockaddr_nl = struct.Struct("=HHII")
assert _sockaddr_nl.size == 12
# struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }  <bits/socket.h>
_SIZE_T = ctypes.sizeof(ctypes.c_size_t)
_cmsghdr = struct.Struct("=Qii" if _SIZE_T == 8 else "=Iii")
assert _cmsghdr.size == 2 * _SIZE_T
# struct ucred { pid_t pid; uid_t uid; gid_t gid; }  <linux/socket.h>
_ucred = struct.Struct("=iII")
assert _ucred.size == 12
_u32 = struct.Struct("=I")

_IOVEC_SIZE = ctypes.sizeof(iovec)
_MMSGHDR_SIZE = ctypes.sizeof(mmsghdr)
_SIZE_FMT: Literal["Q", "I"] = "Q" if _SIZE_T == 8 else "I"  # size_t as a struct/array/memoryview code
assert struct.calcsize(_SIZE_FMT) == _SIZE_T
_OFF_MSG_LEN = mmsghdr.msg_len.offset
_OFF_MSG_FLAGS = mmsghdr.msg_hdr.offset + msghdr.msg_flags.offset
_OFF_MSG_NAMELEN = mmsghdr.msg_hdr.offset + msghdr.msg_namelen.offset
_OFF_MSG_CONTROLLEN = mmsghdr.msg_hdr.offset + msghdr.msg_controllen.offset
_memmove = ctypes.memmove

_recvmmsg: Any = getattr(_libc, "recvmmsg", None)
if _recvmmsg is not None:
    _recvmmsg.argtypes = [
        ctypes.c_int, ctypes.POINTER(mmsghdr), ctypes.c_uint, ctypes.c_int, ctypes.c_void_p,
    ]
    _recvmmsg.restype = ctypes.c_int
# ``recvmmsg_raw(fd, POINTER(mmsghdr), vlen, flags, timeout) -> int``: the C function
# itself (-1 and ``ctypes.get_errno()`` on failure), or None when the C library lacks it.
# For callers that build their own ``mmsghdr`` arrays (the ring filler).
recvmmsg_raw: Any = _recvmmsg
_sendmmsg: Any = getattr(_libc, "sendmmsg", None)
if _sendmmsg is not None:
    _sendmmsg.argtypes = [ctypes.c_int, ctypes.POINTER(mmsghdr), ctypes.c_uint, ctypes.c_int]
    _sendmmsg.restype = ctypes.c_int
_sendmsg: Any = _libc.sendmsg
_sendmsg.argtypes = [ctypes.c_int, ctypes.POINTER(msghdr), ctypes.c_int]
_sendmsg.restype = ctypes.c_ssize_t
_setns: Any = getattr(_libc, "setns", None)
if _setns is not None:
    _setns.argtypes = [ctypes.c_int, ctypes.c_int]
    _setns.restype = ctypes.c_int


def have_recvmmsg() -> bool:
    """True when the C library exports ``recvmmsg`` and ``sendmmsg``."""
    return _recvmmsg is not None and _sendmmsg is not None


def _raise_errno(what: str) -> None:
    e = ctypes.get_errno()
    raise OSError(e, f"{what}: {os.strerror(e)}")


def _cmsg_align(n: int) -> int:
    return (n + _SIZE_T - 1) & ~(_SIZE_T - 1)


def cmsg_space(datalen: int) -> int:
    """``CMSG_SPACE(datalen)``: control bytes one cmsg of ``datalen`` bytes needs."""
    return _cmsghdr.size + _cmsg_align(datalen)


def _as_byte_view(buf: Any) -> memoryview:
    mv = memoryview(buf)  # always our own view: close() releases it, never the caller's
    if mv.ndim != 1 or mv.format not in ("B", "b", "c"):
        mv = mv.cast("B")
    return mv


def _pin(buf: Any) -> tuple[int, int, Any]:
    """Address, length and a keep-alive object for any buffer (no copy when possible).

    Writable buffers are pinned in place (``from_buffer``); ``bytes`` are used in
    place (CPython keeps them immutable and alive through the keep-alive); other
    read-only buffers are copied once.
    """
    if isinstance(buf, bytes):
        n = len(buf)
        keep: Any = ctypes.c_char_p(buf)
        return ctypes.cast(keep, ctypes.c_void_p).value or 0, n, keep
    mv = _as_byte_view(buf)
    n = len(mv)
    if n == 0:
        return 0, 0, None
    if mv.readonly:
        keep = (ctypes.c_char * n).from_buffer_copy(mv)
    else:
        keep = (ctypes.c_char * n).from_buffer(mv)
    return ctypes.addressof(keep), n, keep


def parse_cmsgs(raw: bytes) -> list[tuple[int, int, bytes]]:
    """``[(cmsg_level, cmsg_type, data), ...]`` of a control buffer (a truncated
    trailing cmsg is dropped, never an exception)."""
    out: list[tuple[int, int, bytes]] = []
    off = 0
    hlen = _cmsghdr.size
    while off + hlen <= len(raw):
        clen, level, ctype = _cmsghdr.unpack_from(raw, off)
        if clen < hlen or off + clen > len(raw):
            break
        out.append((level, ctype, raw[off + hlen : off + clen]))
        off += _cmsg_align(clen)
    return out


_parse_cmsgs = parse_cmsgs  # old private name, kept for existing callers


class MMsgBatch:
    """N ``mmsghdr`` whose iovecs point at caller-provided writable regions.

    Every per-call cost is O(1) Python work: :meth:`recv` restores the headers the
    kernel rewrote with one ``memmove`` from a pristine copy, :meth:`send` reuses
    headers built on first use (the destination is rewritten only when it
    changes; explicit ``lengths`` are copied into the iovecs with one slice
    assignment), and the per-slot accessors read the header array through
    memoryviews instead of ctypes attribute access.

    Args:
        regions: writable buffers (``bytearray``, ``mmap``, ``memoryview`` slices of
            either), one per message slot; message ``i`` is received into
            ``regions[i]`` and sent from it.  Must stay alive and unresized while
            the batch exists (see the module docstring).
        name: keep a 128-byte sender-address buffer per slot.
        control: bytes of cmsg space per slot (0: none).  64 fits
            ``NETLINK_PKTINFO`` plus ``SCM_CREDENTIALS``.

    Attributes:
        size: number of slots.
        lengths: ``msg_len`` of each slot after the last :meth:`recv`
            (``lengths[i]``, no list is built).
        msg_flags: ``msg_flags`` of each slot after the last :meth:`recv`.
        count: messages received by the last :meth:`recv`.
    """

    def __init__(self, regions: Sequence[Any], *, name: bool = True, control: int = 64) -> None:
        if not regions:
            raise ValueError("MMsgBatch needs at least one region")
        n = len(regions)
        self.size = n
        self._hdrs = (mmsghdr * n)()
        self._iovs = (iovec * n)()
        self._keep: list[Any] = []
        self._caps: list[int] = []
        self._name_size = _NAME_SIZE if name else 0
        self._names = (ctypes.c_char * (_NAME_SIZE * n))() if name else None
        self._control_size = _cmsg_align(control) if control > 0 else 0
        self._controls = (
            (ctypes.c_char * (self._control_size * n))() if self._control_size else None
        )
        self._views: list[memoryview] = []
        names_addr = ctypes.addressof(self._names) if self._names is not None else 0
        ctrl_addr = ctypes.addressof(self._controls) if self._controls is not None else 0
        iovs_addr = ctypes.addressof(self._iovs)
        for i, region in enumerate(regions):
            mv = _as_byte_view(region)
            if mv.readonly:
                raise ValueError(f"region {i} is read-only; MMsgBatch needs writable buffers")
            if len(mv) == 0:
                raise ValueError(f"region {i} is empty")
            keep = (ctypes.c_char * len(mv)).from_buffer(mv)
            self._keep.append(keep)
            self._views.append(mv)
            self._caps.append(len(mv))
            self._iovs[i].iov_base = ctypes.addressof(keep)
            self._iovs[i].iov_len = len(mv)
            h = self._hdrs[i].msg_hdr
            h.msg_iov = ctypes.cast(iovs_addr + i * _IOVEC_SIZE, ctypes.POINTER(iovec))
            h.msg_iovlen = 1
            h.msg_namelen = self._name_size
            h.msg_controllen = self._control_size
            if self._names is not None:
                h.msg_name = names_addr + i * _NAME_SIZE
            if self._controls is not None:
                h.msg_control = ctrl_addr + i * self._control_size
        # pristine copy: recv() restores the slots the kernel rewrote with one memmove
        self._pristine = (mmsghdr * n)()
        ctypes.memmove(self._pristine, self._hdrs, n * _MMSGHDR_SIZE)
        self._dirty = 0
        self.count = 0
        self._lens = _field(self._hdrs, _OFF_MSG_LEN, "I")
        self._flags = _field(self._hdrs, _OFF_MSG_FLAGS, "i")
        self._namelens = _field(self._hdrs, _OFF_MSG_NAMELEN, "I")
        self._ctrllens = _field(self._hdrs, _OFF_MSG_CONTROLLEN, _SIZE_FMT)
        self.lengths = _FieldView(self._lens)
        self.msg_flags = _FieldView(self._flags)
        # send side, built on first send()
        self._send_hdrs: Any = None
        self._send_iovs: Any = None
        self._send_lens: memoryview | None = None  # iov_len of every send iovec
        self._send_addr = (ctypes.c_char * _sockaddr_nl.size)()
        self._send_dest: tuple[int, int] | None = None
        self._send_full = True  # the send iovecs hold the whole regions
        self._caps_arr = array.array(_SIZE_FMT, self._caps)
        self._uniform_cap = self._caps[0] if len(set(self._caps)) == 1 else -1
        self._closed = False

    # -- receiving ---------------------------------------------------------------------
    def recv(self, fd: int, flags: int = MSG_WAITFORONE, n: int | None = None) -> int:
        """Receive up to ``n`` (default: all slots) messages with one ``recvmmsg``.

        Args:
            fd: socket file descriptor.
            flags: ``recvmmsg`` flags; the default ``MSG_WAITFORONE`` blocks (on a
                blocking socket) only for the first message.  Add ``MSG_DONTWAIT``
                to never block.
            n: how many slots to offer (``1..size``).

        Returns:
            The number of messages received (their data is in ``regions[0..count)``);
            0 when nothing was queued on a non-blocking call (``EAGAIN``).

        Raises:
            OSError: with the errno of the failure (``ENOBUFS`` for a netlink overrun).
        """
        if self._closed:
            raise ValueError("MMsgBatch is closed")
        if _recvmmsg is None:
            raise OSError(_errno.ENOSYS, "recvmmsg is not available in this C library")
        vlen = self.size if n is None else n
        if not 1 <= vlen <= self.size:
            raise ValueError(f"n={vlen} outside 1..{self.size}")
        hdrs = self._hdrs
        # the kernel rewrote msg_namelen/msg_controllen (and msg_len/msg_flags) of
        # the slots it filled: restore those from the pristine copy in one memmove
        if self._dirty:
            _memmove(hdrs, self._pristine, self._dirty * _MMSGHDR_SIZE)
        self._dirty = vlen  # conservative until the call reports what it filled
        while True:
            got = int(_recvmmsg(fd, hdrs, vlen, flags, None))
            if got >= 0:
                self.count = got
                self._dirty = got
                return got
            e = ctypes.get_errno()
            if e == _errno.EINTR:
                continue
            self.count = 0
            if e in (_errno.EAGAIN, _errno.EWOULDBLOCK):
                return 0
            raise OSError(e, f"recvmmsg: {os.strerror(e)}")

    def length(self, i: int) -> int:
        """Bytes received into slot ``i`` (``msg_len``)."""
        return int(self._lens[i])

    def truncated(self, i: int) -> bool:
        """True when message ``i`` was longer than its region (``MSG_TRUNC``)."""
        return bool(self._flags[i] & MSG_TRUNC)

    def view(self, i: int) -> memoryview:
        """Region ``i`` cut to the received length (zero copy; valid until the next recv)."""
        return self._views[i][: min(int(self._lens[i]), self._caps[i])]

    def region(self, i: int) -> memoryview:
        """The whole region ``i`` as a byte memoryview."""
        return self._views[i]

    def name(self, i: int) -> bytes:
        """The raw sender address of message ``i`` (``msg_namelen`` bytes)."""
        if self._names is None:
            return b""
        ln = min(int(self._namelens[i]), _NAME_SIZE)
        start = i * _NAME_SIZE
        return bytes(memoryview(self._names)[start : start + ln])

    def nl_address(self, i: int) -> tuple[int, int]:
        """``(nl_pid, nl_groups)`` of message ``i``'s ``sockaddr_nl`` (``(0, 0)`` if none)."""
        if self._names is None or self._namelens[i] < 12:
            return 0, 0
        fam, _pad, portid, groups = _sockaddr_nl.unpack_from(self._names, i * _NAME_SIZE)
        if fam != AF_NETLINK:
            return 0, 0
        return int(portid), int(groups)

    def portid(self, i: int) -> int:
        """Sender port id of message ``i`` from its ``sockaddr_nl`` (0: the kernel)."""
        return self.nl_address(i)[0]

    def groups(self, i: int) -> int:
        """``nl_groups`` of message ``i``'s sender address (non-zero: multicast)."""
        return self.nl_address(i)[1]

    def cmsgs(self, i: int) -> list[tuple[int, int, bytes]]:
        """The control messages of message ``i`` as ``(level, type, data)``."""
        if self._controls is None:
            return []
        ln = min(int(self._ctrllens[i]), self._control_size)
        start = i * self._control_size
        return parse_cmsgs(bytes(memoryview(self._controls)[start : start + ln]))

    def group(self, i: int) -> int:
        """``NETLINK_PKTINFO`` destination group of message ``i`` (0: none/unicast)."""
        for level, ctype, data in self.cmsgs(i):
            if level == SOL_NETLINK and ctype == NETLINK_PKTINFO and len(data) >= 4:
                return int(_u32.unpack_from(data)[0])
        return 0

    def creds(self, i: int) -> tuple[int, int, int] | None:
        """``SCM_CREDENTIALS`` ``(pid, uid, gid)`` of message ``i``, or ``None``."""
        for level, ctype, data in self.cmsgs(i):
            if level == SOL_SOCKET and ctype == SCM_CREDENTIALS and len(data) >= 12:
                pid, uid, gid = _ucred.unpack_from(data)
                return int(pid), int(uid), int(gid)
        return None

    # -- sending ----------------------------------------------------------------------
    def _build_send(self) -> None:
        """The send headers: the receive ones point name/control at scratch space."""
        n = self.size
        self._send_hdrs = (mmsghdr * n)()
        self._send_iovs = (iovec * n)()
        ctypes.memmove(self._send_iovs, self._iovs, n * _IOVEC_SIZE)
        iovs_addr = ctypes.addressof(self._send_iovs)
        addr = ctypes.addressof(self._send_addr)
        for i in range(n):
            h = self._send_hdrs[i].msg_hdr
            h.msg_iov = ctypes.cast(iovs_addr + i * _IOVEC_SIZE, ctypes.POINTER(iovec))
            h.msg_iovlen = 1
            h.msg_name = addr
            h.msg_namelen = _sockaddr_nl.size
        self._send_lens = memoryview(self._send_iovs).cast("B").cast(_SIZE_FMT)[1::2]
        self._send_full = True

    def send(
        self,
        fd: int,
        lengths: Sequence[int] | None = None,
        n: int | None = None,
        flags: int = 0,
        dest_portid: int = 0,
        dest_groups: int = 0,
    ) -> int:
        """Send regions ``0..n`` as ``n`` datagrams with one ``sendmmsg``.

        The headers are built once; a call changes only what differs from the
        previous one (destination, lengths), so sending whole regions to the same
        destination costs no per-slot work at all.

        Args:
            lengths: bytes to send from each region (default: the whole region).
            n: number of slots to send (default ``len(lengths)`` or all).
            dest_portid, dest_groups: netlink destination (both 0: the kernel).

        Returns:
            Datagrams sent (may be fewer than ``n``; resend the rest).
        """
        if self._closed:
            raise ValueError("MMsgBatch is closed")
        if _sendmmsg is None:
            raise OSError(_errno.ENOSYS, "sendmmsg is not available in this C library")
        vlen = n if n is not None else (len(lengths) if lengths is not None else self.size)
        if not 1 <= vlen <= self.size:
            raise ValueError(f"n={vlen} outside 1..{self.size}")
        if self._send_hdrs is None:
            self._build_send()
        lens = self._send_lens
        assert lens is not None
        if lengths is None:
            if not self._send_full:
                lens[:] = self._caps_arr
                self._send_full = True
        else:
            self._set_send_lengths(lens, lengths, vlen)
        if self._send_dest != (dest_portid, dest_groups):
            _sockaddr_nl.pack_into(self._send_addr, 0, AF_NETLINK, 0, dest_portid, dest_groups)
            self._send_dest = (dest_portid, dest_groups)
        return sendmmsg_raw(fd, self._send_hdrs, vlen, flags)

    def _set_send_lengths(self, lens: memoryview, lengths: Sequence[int], vlen: int) -> None:
        if len(lengths) < vlen:
            raise ValueError(f"{len(lengths)} lengths for {vlen} slots")
        try:
            want = array.array(_SIZE_FMT, lengths[:vlen])
        except OverflowError:
            want = array.array(_SIZE_FMT, [0] * vlen)  # a negative length: report it below
            bad = next(i for i in range(vlen) if lengths[i] < 0)
            raise ValueError(
                f"length {lengths[bad]} of slot {bad} outside its region of {self._caps[bad]}"
            ) from None
        cap = self._uniform_cap
        if (max(want) > cap) if cap >= 0 else any(map(operator.gt, want, self._caps_arr)):
            bad = next(i for i in range(vlen) if want[i] > self._caps[i])
            raise ValueError(
                f"length {want[bad]} of slot {bad} outside its region of {self._caps[bad]}"
            )
        lens[:vlen] = want
        self._send_full = False

    def close(self) -> None:
        """Release every pointer into the regions (idempotent); the batch is unusable after."""
        if self._closed:
            return
        self._closed = True
        ctypes.memset(self._iovs, 0, self.size * _IOVEC_SIZE)
        if self._send_iovs is not None:
            ctypes.memset(self._send_iovs, 0, self.size * _IOVEC_SIZE)
        self._keep.clear()
        for v in self._views:
            try:
                v.release()
            except BufferError:  # a view(i) slice is still alive; it pins only itself
                pass
        self._views.clear()

    def __enter__(self) -> MMsgBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self.size


def _field(hdrs: Any, offset: int, fmt: Literal["I", "i", "Q"]) -> memoryview:
    """One field of every ``mmsghdr`` in ``hdrs`` as a 1-D memoryview (stride = header)."""
    itemsize = struct.calcsize(fmt)
    assert offset % itemsize == 0 and _MMSGHDR_SIZE % itemsize == 0
    words = memoryview(hdrs).cast("B").cast(fmt)
    return words[offset // itemsize :: _MMSGHDR_SIZE // itemsize]


class _FieldView(Sequence[int]):
    """Read-only per-slot view of ``msg_len`` or ``msg_flags`` (no list is built)."""

    __slots__ = ("_mv",)

    def __init__(self, mv: memoryview) -> None:
        self._mv = mv

    def __len__(self) -> int:
        return len(self._mv)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return self._mv[i].tolist()
        return self._mv[i]


def sendmmsg_raw(fd: int, hdrs: Any, vlen: int, flags: int) -> int:
    """``sendmmsg`` over a caller-built ``mmsghdr`` array; returns datagrams sent.

    ``EINTR`` is retried; any other failure raises :class:`OSError`.
    """
    while True:
        sent = int(_sendmmsg(fd, hdrs, vlen, flags))
        if sent >= 0:
            return sent
        e = ctypes.get_errno()
        if e != _errno.EINTR:
            raise OSError(e, f"sendmmsg: {os.strerror(e)}")


_call_sendmmsg = sendmmsg_raw  # old private name, kept for existing callers


def sendmmsg(
    fd: int,
    buffers: Sequence[Any],
    dest_portid: int = 0,
    dest_groups: int = 0,
    flags: int = 0,
) -> int:
    """Send each buffer as its own datagram with one ``sendmmsg`` call.

    Args:
        fd: socket file descriptor.
        buffers: any buffers (bytes, bytearray, memoryview, mmap); not copied
            unless read-only and not ``bytes``.
        dest_portid, dest_groups: netlink destination (both 0: the kernel).

    Returns:
        Datagrams sent (may be fewer than ``len(buffers)``).
    """
    if _sendmmsg is None:
        raise OSError(_errno.ENOSYS, "sendmmsg is not available in this C library")
    vlen = len(buffers)
    if vlen == 0:
        return 0
    addr = _sockaddr_nl.pack(AF_NETLINK, 0, dest_portid, dest_groups)
    abuf = ctypes.create_string_buffer(addr, len(addr))
    hdrs = (mmsghdr * vlen)()
    iovs = (iovec * vlen)()
    keep = []
    for i, b in enumerate(buffers):
        a, ln, k = _pin(b)
        keep.append(k)
        iovs[i].iov_base = a
        iovs[i].iov_len = ln
        h = hdrs[i].msg_hdr
        h.msg_iov = ctypes.pointer(iovs[i])
        h.msg_iovlen = 1
        h.msg_name = ctypes.addressof(abuf)
        h.msg_namelen = len(addr)
    sent = sendmmsg_raw(fd, hdrs, vlen, flags)
    del keep
    return sent


def sendmsg(
    fd: int,
    buffers: Sequence[Any],
    dest_portid: int = 0,
    dest_groups: int = 0,
    flags: int = 0,
) -> int:
    """Send the buffers as ONE datagram, one iovec per buffer (scatter-gather).

    For netlink, the concatenation must be whole messages; the kernel walks them
    in order and answers each (one skb per call).  At most :data:`IOV_MAX` buffers.

    Returns:
        Bytes sent.
    """
    if len(buffers) > IOV_MAX:
        raise ValueError(f"{len(buffers)} buffers exceed IOV_MAX ({IOV_MAX})")
    addr = _sockaddr_nl.pack(AF_NETLINK, 0, dest_portid, dest_groups)
    abuf = ctypes.create_string_buffer(addr, len(addr))
    iovs = (iovec * max(1, len(buffers)))()
    keep = []
    for i, b in enumerate(buffers):
        a, ln, k = _pin(b)
        keep.append(k)
        iovs[i].iov_base = a
        iovs[i].iov_len = ln
    hdr = msghdr()
    hdr.msg_name = ctypes.addressof(abuf)
    hdr.msg_namelen = len(addr)
    hdr.msg_iov = ctypes.cast(iovs, ctypes.POINTER(iovec))
    hdr.msg_iovlen = len(buffers)
    while True:
        sent = int(_sendmsg(fd, ctypes.byref(hdr), flags))
        if sent >= 0:
            del keep
            return sent
        e = ctypes.get_errno()
        if e != _errno.EINTR:
            raise OSError(e, f"sendmsg: {os.strerror(e)}")


def setns(fd: int, nstype: int = CLONE_NEWNET) -> None:
    """``setns(2)``: move the calling *thread* into the namespace ``fd`` refers to.

    Raises:
        OSError: with the errno (``EPERM`` without CAP_SYS_ADMIN, ``EINVAL`` for a
            file that is not a namespace of ``nstype``).
    """
    if _setns is None:
        raise OSError(_errno.ENOSYS, "setns is not available in this C library")
    if int(_setns(fd, nstype)) != 0:
        _raise_errno("setns")


def gettid() -> int:
    """The calling thread's kernel thread id."""
    return threading.get_native_id()
