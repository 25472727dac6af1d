"""Family-neutral batches of ``struct mmsghdr`` for ``recvmmsg``/``sendmmsg``.

OS edge module (``ctypes``).  Nothing here knows an address family: sender
addresses stay raw ``struct sockaddr`` bytes (decode them with the family's
helper, :func:`netring._sys.nladdr.nl_address` for netlink) and control
messages raw cmsgs (:mod:`netring._sys.cmsg` decodes them).

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
    afterwards lengths[i], msg_flags[i], name(i), cmsgs(i) describe message i
    (valid for i < the returned count).

API::

    batch = MMsgBatch(regions, name=True, control=64)
    n = batch.recv(fd, flags=MSG_WAITFORONE, n=None)   # -> messages received (0: EAGAIN)
    batch.lengths[i]      bytes of message i (msg_len)
    batch.msg_flags[i]    msg_flags (MSG_TRUNC: message cut to the region's size)
    batch.truncated(i)    bool(msg_flags[i] & MSG_TRUNC)
    batch.view(i)         memoryview of region i cut to lengths[i] (zero copy)
    batch.name(i)         raw sender address bytes (msg_namelen of them)
    batch.name_view(i)    the same, in place (zero copy)
    batch.cmsgs(i)        [(level, type, data bytes), ...]
    batch.send(fd, lengths=None, n=None, flags=0, name=None)
                          sendmmsg of regions[0..n) (each cut to lengths[i]) to the
                          raw address ``name`` -> sent count (headers built on first
                          use and reused: no per-slot Python work)
    batch.close()         drop every pointer into the regions (required before
                          closing an mmap the regions live in)

    sendmmsg_to(fd, buffers, name=None, flags=0) -> int   one datagram per buffer
    sendmsg_to(fd, buffers, name=None, flags=0) -> int    one datagram, one iovec per buffer

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
from collections.abc import Sequence

from ..codec.types import TYPE_CHECKING
from ..errors import EncodeError
from .cmsg import cmsg_align, parse_cmsgs
from .libc import (
    IOV_MAX,
    MSG_TRUNC,
    MSG_WAITFORONE,
    SIZE_FMT,
    iovec,
    mmsghdr,
    msghdr,
    recvmmsg_raw,
    sendmmsg_raw,
    sendmsg_raw,
)

if TYPE_CHECKING:
    from typing import Any, Literal

__all__ = ["MMsgBatch", "sendmmsg_to", "sendmsg_to", "pin_buffer", "NAME_SIZE"]

NAME_SIZE = 128  # sizeof(struct sockaddr_storage)

_IOVEC_SIZE = ctypes.sizeof(iovec)
_MMSGHDR_SIZE = ctypes.sizeof(mmsghdr)
_OFF_MSG_LEN = mmsghdr.msg_len.offset
_OFF_MSG_FLAGS = mmsghdr.msg_hdr.offset + msghdr.msg_flags.offset
_OFF_MSG_NAMELEN = mmsghdr.msg_hdr.offset + msghdr.msg_namelen.offset
_OFF_MSG_CONTROLLEN = mmsghdr.msg_hdr.offset + msghdr.msg_controllen.offset
_memmove = ctypes.memmove


def _as_byte_view(buf: Any) -> memoryview:
    mv = memoryview(buf)  # always our own view: close() releases it, never the caller's
    if mv.ndim != 1 or mv.format not in ("B", "b", "c"):
        mv = mv.cast("B")
    return mv


def pin_buffer(buf: Any) -> tuple[int, int, Any]:
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
            raise EncodeError("MMsgBatch needs at least one region")
        n = len(regions)
        self.size = n
        self._hdrs = (mmsghdr * n)()
        self._iovs = (iovec * n)()
        self._keep: list[Any] = []
        self._caps: list[int] = []
        self._name_size = NAME_SIZE if name else 0
        self._names = (ctypes.c_char * (NAME_SIZE * n))() if name else None
        self._control_size = cmsg_align(control) if control > 0 else 0
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
                raise EncodeError(f"region {i} is read-only; MMsgBatch needs writable buffers")
            if len(mv) == 0:
                raise EncodeError(f"region {i} is empty")
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
                h.msg_name = names_addr + i * NAME_SIZE
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
        self._ctrllens = _field(self._hdrs, _OFF_MSG_CONTROLLEN, SIZE_FMT)
        self.lengths = _FieldView(self._lens)
        self.msg_flags = _FieldView(self._flags)
        # send side, built on first send()
        self._send_hdrs: Any = None
        self._send_iovs: Any = None
        self._send_lens: memoryview | None = None  # iov_len of every send iovec
        self._send_addr = (ctypes.c_char * NAME_SIZE)()
        self._send_name: bytes | None = None  # destination the send headers point at
        self._send_full = True  # the send iovecs hold the whole regions
        self._caps_arr = array.array(SIZE_FMT, self._caps)
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
            raise EncodeError("MMsgBatch is closed")
        if recvmmsg_raw is None:
            raise OSError(_errno.ENOSYS, "recvmmsg is not available in this C library")
        vlen = self.size if n is None else n
        if not 1 <= vlen <= self.size:
            raise EncodeError(f"n={vlen} outside 1..{self.size}")
        hdrs = self._hdrs
        # the kernel rewrote msg_namelen/msg_controllen (and msg_len/msg_flags) of
        # the slots it filled: restore those from the pristine copy in one memmove
        if self._dirty:
            _memmove(hdrs, self._pristine, self._dirty * _MMSGHDR_SIZE)
        self._dirty = vlen  # conservative until the call reports what it filled
        while True:
            got = int(recvmmsg_raw(fd, hdrs, vlen, flags, None))
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
        return bytes(self.name_view(i))

    def name_view(self, i: int) -> memoryview:
        """The sender address of message ``i`` in place (zero copy; valid until the next
        recv).  Decode it with the family's helper, e.g. :func:`netring._sys.nladdr.nl_address`."""
        if self._names is None:
            return memoryview(b"")
        ln = min(int(self._namelens[i]), NAME_SIZE)
        start = i * NAME_SIZE
        return memoryview(self._names)[start : start + ln]

    def cmsgs(self, i: int) -> list[tuple[int, int, bytes]]:
        """The control messages of message ``i`` as ``(level, type, data)``."""
        if self._controls is None:
            return []
        ln = min(int(self._ctrllens[i]), self._control_size)
        start = i * self._control_size
        return parse_cmsgs(bytes(memoryview(self._controls)[start : start + ln]))

    # -- sending ----------------------------------------------------------------------
    def _build_send(self) -> None:
        """The send headers: the receive ones point name/control at scratch space."""
        n = self.size
        self._send_hdrs = (mmsghdr * n)()
        self._send_iovs = (iovec * n)()
        ctypes.memmove(self._send_iovs, self._iovs, n * _IOVEC_SIZE)
        iovs_addr = ctypes.addressof(self._send_iovs)
        for i in range(n):
            h = self._send_hdrs[i].msg_hdr
            h.msg_iov = ctypes.cast(iovs_addr + i * _IOVEC_SIZE, ctypes.POINTER(iovec))
            h.msg_iovlen = 1
        self._send_lens = memoryview(self._send_iovs).cast("B").cast(SIZE_FMT)[1::2]
        self._send_full = True

    def send(
        self,
        fd: int,
        lengths: Sequence[int] | None = None,
        n: int | None = None,
        flags: int = 0,
        name: bytes | None = None,
    ) -> int:
        """Send regions ``0..n`` as ``n`` datagrams with one ``sendmmsg``.

        The headers are built once; a call changes only what differs from the
        previous one (destination, lengths), so sending whole regions to the same
        destination costs no per-slot work at all.

        Args:
            lengths: bytes to send from each region (default: the whole region).
            n: number of slots to send (default ``len(lengths)`` or all).
            name: the destination address as raw ``struct sockaddr`` bytes (for
                netlink :func:`netring._sys.nladdr.sockaddr_nl_bytes`); ``None``:
                no address (a connected socket).

        Returns:
            Datagrams sent (may be fewer than ``n``; resend the rest).
        """
        if self._closed:
            raise EncodeError("MMsgBatch is closed")
        vlen = n if n is not None else (len(lengths) if lengths is not None else self.size)
        if not 1 <= vlen <= self.size:
            raise EncodeError(f"n={vlen} outside 1..{self.size}")
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
        if name != self._send_name:
            self._set_send_name(name)
        return sendmmsg_raw(fd, self._send_hdrs, vlen, flags)

    def _set_send_name(self, name: bytes | None) -> None:
        if name is not None and not 0 < len(name) <= NAME_SIZE:
            raise EncodeError(f"address of {len(name)} bytes outside 1..{NAME_SIZE}")
        addr = ctypes.addressof(self._send_addr) if name else None
        ln = len(name) if name else 0
        if name:
            ctypes.memmove(self._send_addr, name, ln)
        for i in range(self.size):
            h = self._send_hdrs[i].msg_hdr
            h.msg_name = addr
            h.msg_namelen = ln
        self._send_name = name

    def _set_send_lengths(self, lens: memoryview, lengths: Sequence[int], vlen: int) -> None:
        if len(lengths) < vlen:
            raise EncodeError(f"{len(lengths)} lengths for {vlen} slots")
        try:
            want = array.array(SIZE_FMT, lengths[:vlen])
        except OverflowError:
            want = array.array(SIZE_FMT, [0] * vlen)  # a negative length: report it below
            bad = next(i for i in range(vlen) if lengths[i] < 0)
            raise EncodeError(
                f"length {lengths[bad]} of slot {bad} outside its region of {self._caps[bad]}"
            ) from None
        cap = self._uniform_cap
        if (max(want) > cap) if cap >= 0 else any(map(operator.gt, want, self._caps_arr)):
            bad = next(i for i in range(vlen) if want[i] > self._caps[i])
            raise EncodeError(
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


def sendmmsg_to(
    fd: int,
    buffers: Sequence[Any],
    name: bytes | None = None,
    flags: int = 0,
) -> int:
    """Send each buffer as its own datagram with one ``sendmmsg`` call.

    Args:
        fd: socket file descriptor.
        buffers: any buffers (bytes, bytearray, memoryview, mmap); not copied
            unless read-only and not ``bytes``.
        name: destination address as raw ``struct sockaddr`` bytes (``None``: none).

    Returns:
        Datagrams sent (may be fewer than ``len(buffers)``).
    """
    vlen = len(buffers)
    if vlen == 0:
        return 0
    abuf = ctypes.create_string_buffer(name, len(name)) if name else None
    hdrs = (mmsghdr * vlen)()
    iovs = (iovec * vlen)()
    keep = []
    for i, b in enumerate(buffers):
        a, ln, k = pin_buffer(b)
        keep.append(k)
        iovs[i].iov_base = a
        iovs[i].iov_len = ln
        h = hdrs[i].msg_hdr
        h.msg_iov = ctypes.pointer(iovs[i])
        h.msg_iovlen = 1
        if abuf is not None:
            h.msg_name = ctypes.addressof(abuf)
            h.msg_namelen = len(abuf)
    sent = sendmmsg_raw(fd, hdrs, vlen, flags)
    del keep
    return sent


def sendmsg_to(
    fd: int,
    buffers: Sequence[Any],
    name: bytes | None = None,
    flags: int = 0,
) -> int:
    """Send the buffers as ONE datagram, one iovec per buffer (scatter-gather).

    For netlink, the concatenation must be whole messages; the kernel walks them
    in order and answers each (one skb per call).  At most :data:`IOV_MAX` buffers.

    Returns:
        Bytes sent.
    """
    if len(buffers) > IOV_MAX:
        raise EncodeError(f"{len(buffers)} buffers exceed IOV_MAX ({IOV_MAX})")
    abuf = ctypes.create_string_buffer(name, len(name)) if name else None
    iovs = (iovec * max(1, len(buffers)))()
    keep = []
    for i, b in enumerate(buffers):
        a, ln, k = pin_buffer(b)
        keep.append(k)
        iovs[i].iov_base = a
        iovs[i].iov_len = ln
    hdr = msghdr()
    if abuf is not None:
        hdr.msg_name = ctypes.addressof(abuf)
        hdr.msg_namelen = len(abuf)
    hdr.msg_iov = ctypes.cast(iovs, ctypes.POINTER(iovec))
    hdr.msg_iovlen = len(buffers)
    sent = sendmsg_raw(fd, ctypes.byref(hdr), flags)
    del keep
    return sent


