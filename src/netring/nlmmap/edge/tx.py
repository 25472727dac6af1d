"""TX: sending the frames of a ring, joined into one datagram or one datagram each.

OS edge module.  Two ways out of a TX ring (or any ring-shaped buffer)::

    flush_frames(sock, sender)   VALID frames at the head, in ring order
                                 -> ONE sendmsg, one iovec per frame (split past
                                    IOV_MAX or the send buffer) -> frames UNUSED
    FrameSender(buf, g).send()   frames start..start+k -> ONE sendmmsg, one datagram
                                 per frame (the kernel TX ring's delivery: every
                                 frame its own skb)

The kernel copies the bytes into its own buffer before it parses them, so
nothing is validated on memory the program can still change.
"""

from __future__ import annotations

import ctypes
import os
import socket
from array import array

from ..._sys.libc import IOV_MAX, SIZE_FMT, fileno, iovec, mmsghdr, sendmmsg_raw
from ..._sys.mapping import address, pin
from ..._sys.nladdr import sockaddr_nl_bytes
from ...codec.types import TYPE_CHECKING
from ..base import FlushResult
from ..cursor import TxProducer, TxSender
from ..geometry import RingGeometry

if TYPE_CHECKING:
    from typing import Any

__all__ = ["TxRing", "flush_frames", "FrameSender"]

_MMSGHDR_SIZE = ctypes.sizeof(mmsghdr)
_IOVEC_SIZE = ctypes.sizeof(iovec)
_SNDBUF_SLACK = 32  # bytes of the send buffer a chunk leaves unused


class TxRing:
    """A TX ring in any writable buffer, flushed with one ``sendmsg``.

    Args:
        buf, geometry, base: where the TX ring lives (a :class:`SharedRing`'s
            mapping at ``tx_base``, or a private ``bytearray``).
    """

    def __init__(self, buf: Any, geometry: RingGeometry, base: int = 0) -> None:
        self.producer = TxProducer(buf, geometry, base)
        self.sender = TxSender(buf, geometry, base)


def flush_frames(sock: Any, sender: TxSender, portid: int = 0, groups: int = 0,
                 flags: int = 0) -> FlushResult:
    """Send every VALID TX frame at the sender's head in ring order, then release them.

    One ``sendmsg`` with one iovec per frame (split only past IOV_MAX frames or
    the socket's send buffer).  Bad frames (``nm_len`` out of range, messages
    that do not add up) are released and reported, the others sent.
    """
    good, bad, walked = sender.pending()
    res = FlushResult(bad=list(bad))
    if not walked:
        return res
    fd = fileno(sock)
    s = sock if isinstance(sock, socket.socket) else socket.socket(fileno=os.dup(fd))
    try:
        limit = s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) - _SNDBUF_SLACK
        chunk: list[memoryview] = []
        size = 0
        for _i, v in good:
            if chunk and (len(chunk) >= IOV_MAX or size + len(v) > limit):
                res.bytes += _sendmsg_all(s, chunk, portid, groups, flags)
                res.syscalls += 1
                res.frames += len(chunk)
                chunk, size = [], 0
            chunk.append(v)
            size += len(v)
        if chunk:
            res.bytes += _sendmsg_all(s, chunk, portid, groups, flags)
            res.syscalls += 1
            res.frames += len(chunk)
    finally:
        for _i, v in good:
            v.release()
        if s is not sock:
            s.close()
    sender.complete(walked)
    return res


def _sendmsg_all(s: socket.socket, bufs: list[memoryview], portid: int, groups: int,
                 flags: int) -> int:
    sent: int = s.sendmsg(bufs, [], flags, (portid, groups))
    return sent


class FrameSender:
    """Send frames of a buffer as one datagram each, with one ``sendmmsg`` per call.

    This is the kernel TX ring's delivery (every frame its own skb) in one
    system call; :func:`flush_frames` instead joins frames into one datagram.
    The ``mmsghdr`` array is built once, one entry per frame, pointing at the
    frames' data areas; a call only sets the lengths.

    Args:
        buf, geometry, base: the frames (a TX ring, or any ring-shaped buffer).
        dest_portid, dest_groups: netlink destination; ``None`` sends without an
            address (a connected socket, e.g. a unix datagram pair).
    """

    def __init__(self, buf: Any, geometry: RingGeometry, base: int = 0,
                 dest_portid: int | None = 0, dest_groups: int = 0) -> None:
        self.view = TxProducer(buf, geometry, base).ring
        n = geometry.frame_nr
        self._pin = pin(self.view.buf)
        addr0 = address(self._pin)
        self._hdrs = (mmsghdr * n)()
        self._iovs = (iovec * n)()
        self._name = None
        if dest_portid is not None:
            raw = sockaddr_nl_bytes(dest_portid, dest_groups)
            self._name = ctypes.create_string_buffer(raw, len(raw))
        iov0 = ctypes.addressof(self._iovs)
        for i in range(n):
            self._iovs[i].iov_base = addr0 + self.view.data[i]
            h = self._hdrs[i].msg_hdr
            h.msg_iov = ctypes.cast(iov0 + i * _IOVEC_SIZE, ctypes.POINTER(iovec))
            h.msg_iovlen = 1
            if self._name is not None:
                h.msg_name = ctypes.addressof(self._name)
                h.msg_namelen = len(self._name)
        self._lens = memoryview(self._iovs).cast("B").cast(SIZE_FMT)[1::2]
        a0 = ctypes.addressof(self._hdrs)
        self._ptrs = [ctypes.cast(a0 + i * _MMSGHDR_SIZE, ctypes.POINTER(mmsghdr))
                      for i in range(n)]

    def send(self, fd: int, start: int, lengths: Any, flags: int = 0) -> int:
        """Send frames ``start .. start+len(lengths)-1`` (``lengths``: ``array(SIZE_FMT)``,
        i.e. ``array('Q')`` on 64-bit, or ints); returns datagrams sent (all of them
        unless a non-blocking socket filled)."""
        k = len(lengths)
        if not isinstance(lengths, array) or lengths.typecode != SIZE_FMT:
            lengths = array(SIZE_FMT, lengths)
        self._lens[start : start + k] = lengths
        sent = 0
        while sent < k:
            r = sendmmsg_raw(fd, self._ptrs[start + sent], k - sent, flags)
            if r <= 0:
                break
            sent += r
        return sent

    def close(self) -> None:
        """Drop the pointers into the buffer."""
        self._lens.release()
        self._ptrs = []
        self._pin = None
        self.view.words.release()
        self.view.buf.release()


