"""The ring filler: drains a netlink socket straight into a shared RX ring.

OS edge module.  The filler's iovecs point at the frames' data areas, so one
``recvmmsg`` makes the kernel copy each datagram exactly once, into the frame a
consumer reads::

    netlink socket --recvmmsg(N)--> frame data areas (memfd ring, RX)
                                    | nm_len, nm_group, nm_pid/uid/gid, then VALID
                                    v
    consumer(s)  <-- walk frames in order, no syscall while VALID frames wait

    message > frame data area:  iovec 2 of the slot catches the rest ("spill");
    the frame becomes COPY, the whole message goes down a unix stream (in order),
    the consumer takes it with exactly one recv of nm_len bytes.

    ring full: the filler stops reading (messages wait in the socket; counted as
    ring_full); a dump continues only as the ring drains, so it never overruns.

``recvmmsg`` and the ``mmsghdr`` layout come from :mod:`netring._sys.libc`; the
filler builds its own ``mmsghdr`` array (not an :class:`~netring._sys.MMsgBatch`)
because it needs one entry per ring frame with two iovecs (frame data + spill),
started at any frame.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import mmap
import os
import socket
from array import array

from ..._sys import eventfd
from ..._sys.cmsg import (
    CMSG_HDRLEN,
    NETLINK_CMSG_SPACE,
    SCM_CREDENTIALS,
    SOL_SOCKET,
    cmsg_space,
    decode_netlink_cmsgs,
    parse_cmsgs,
)
from ..._sys.libc import (
    MSG_DONTWAIT,
    MSG_TRUNC,
    MSG_WAITFORONE,
    SIZE_T,
    fileno,
    have_recvmmsg,
    iovec,
    mmsghdr,
    recvmmsg_raw,
)
from ..._sys.mapping import address, pin
from ...codec.constants import NETLINK_PKTINFO, SOL_NETLINK
from ...codec.structs import nl_pktinfo
from ...codec.types import TYPE_CHECKING
from ...errors import NotSupportedError, RingError
from ..cursor import RxProducer
from ..geometry import RingGeometry
from .shm import HeaderWord, SharedRing

if TYPE_CHECKING:
    from typing import Any

__all__ = ["RingFiller", "CONTROL_SPACE"]

_MMSGHDR_SIZE = ctypes.sizeof(mmsghdr)
_MMSGHDR_WORDS = _MMSGHDR_SIZE // 4  # mmsghdr size in u32 words
_MSG_LEN_WORD = mmsghdr.msg_len.offset // 4
_IOVEC_SIZE = ctypes.sizeof(iovec)

#: control bytes per slot: NETLINK_PKTINFO plus SCM_CREDENTIALS
CONTROL_SPACE = NETLINK_CMSG_SPACE
_CONTROL_WORDS = CONTROL_SPACE // 4

# Fast path, a specialisation of decode_netlink_cmsgs: when every slot of a batch
# holds PKTINFO then CREDENTIALS at the places netlink_recvmsg writes them (the
# usual case), groups and credentials are read for the whole batch with one strided
# slice per field instead of parsing each slot's cmsgs (a batch of 64: about 0.2 us
# per message against 2.8 us with the shared decoder).  Word indexes from the start
# of a slot's control area:
_PKTINFO_LEVEL_WORD = SIZE_T // 4  # cmsghdr.cmsg_level after the size_t cmsg_len
_PKTINFO_TYPE_WORD = _PKTINFO_LEVEL_WORD + 1
_PKTINFO_GROUP_WORD = CMSG_HDRLEN // 4  # nl_pktinfo.group
_CREDS_CMSG_WORD = cmsg_space(nl_pktinfo.size) // 4  # the second cmsg starts here
_CREDS_LEVEL_WORD = _CREDS_CMSG_WORD + _PKTINFO_LEVEL_WORD
_CREDS_TYPE_WORD = _CREDS_LEVEL_WORD + 1
_CREDS_PID_WORD = _CREDS_CMSG_WORD + CMSG_HDRLEN // 4  # ucred.pid, then uid, gid


class RingFiller:
    """Drains one netlink socket into one shared RX ring with ``recvmmsg``.

    Args:
        sock: the netlink socket (anything with ``fileno()``, or an fd).
        ring: the :class:`SharedRing` to fill (created in this process: the COPY
            stream's producer end lives here).
        batch: frames offered to one ``recvmmsg``.
        spill: bytes per slot for the part of a message that does not fit a frame
            (such messages become COPY frames); larger messages are counted as
            ``truncated`` and delivered as empty frames.
        meta: ask for ``NETLINK_PKTINFO`` and ``SO_PASSCRED`` and fill
            ``nm_group`` and ``nm_pid/nm_uid/nm_gid`` (else they stay 0).
        notify: write the ring's data eventfd after publishing (needed when the
            consumer is another process).
    """

    def __init__(self, sock: Any, ring: SharedRing, *, batch: int = 64, spill: int = 256 << 10,
                 meta: bool = True, notify: bool = True) -> None:
        if not have_recvmmsg():
            raise NotSupportedError("recvmmsg is not available in this C library")
        rx = ring.layout.rx
        if rx is None:
            raise RingError("the shared ring has no RX ring to fill")
        if ring.copy_sock is None:
            raise RingError("fill a ring from the process that created it (COPY stream end)")
        ring.claim_producer(1)  # one producer per ring: a RingWriter on it is refused
        try:
            self._setup(sock, ring, rx, batch, spill, meta, notify)
        except BaseException:
            ring.release_producer()
            raise

    def _setup(self, sock: Any, ring: SharedRing, rx: RingGeometry, batch: int, spill: int,
               meta: bool, notify: bool) -> None:
        self.sock = sock
        self.fd = fileno(sock)
        self.ring = ring
        self.geometry = rx
        self.batch = max(1, min(batch, rx.frame_nr))
        self.spill_size = spill
        self.meta = meta
        self.notify = notify
        q = ring.q
        self.prod = RxProducer(ring.mm, rx, ring.rx_base, position=int(q[HeaderWord.RX_PROD]),
                               publish_position=self._publish_position,
                               consumer_position=self._consumer_position)
        if meta:
            s = socket.socket(fileno=os.dup(self.fd))
            try:
                s.setsockopt(SOL_NETLINK, NETLINK_PKTINFO, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            finally:
                s.close()
        n = rx.frame_nr
        # spill slots: virtual memory, touched only by messages larger than a frame
        self._spill = mmap.mmap(
            -1, self.batch * spill,
            flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_NORESERVE", 0),
        ) if spill else None
        self._pin_ring = pin(ring.mm)
        base = address(self._pin_ring)
        if self._spill is not None:
            self._pin_spill: Any = pin(self._spill)
            spill_base = address(self._pin_spill)
        else:
            self._pin_spill = None
            spill_base = 0
        self._hdrs = (mmsghdr * n)()
        self._iovs = (iovec * (2 * n))()
        self._ctrl = (ctypes.c_char * (CONTROL_SPACE * n))() if meta else None
        ctrl_base = ctypes.addressof(self._ctrl) if self._ctrl is not None else 0
        iov_base = ctypes.addressof(self._iovs)
        offs = self.prod.ring.data
        ds = rx.data_size
        for i in range(n):
            iv = self._iovs[2 * i]
            iv.iov_base = base + offs[i]
            iv.iov_len = ds
            h = self._hdrs[i].msg_hdr
            h.msg_iov = ctypes.cast(iov_base + 2 * i * _IOVEC_SIZE, ctypes.POINTER(iovec))
            if spill:
                sv = self._iovs[2 * i + 1]
                sv.iov_base = spill_base + (i % self.batch) * spill
                sv.iov_len = spill
                h.msg_iovlen = 2
            else:
                h.msg_iovlen = 1
            if meta:
                h.msg_control = ctrl_base + i * CONTROL_SPACE
                h.msg_controllen = CONTROL_SPACE
        self._tmpl = ctypes.create_string_buffer(bytes(memoryview(self._hdrs).cast("B")))
        self._hdrs_addr = ctypes.addressof(self._hdrs)
        self._tmpl_addr = ctypes.addressof(self._tmpl)
        self._ptrs = [ctypes.cast(self._hdrs_addr + i * _MMSGHDR_SIZE, ctypes.POINTER(mmsghdr))
                      for i in range(n)]
        self._hw = memoryview(self._hdrs).cast("B").cast("I")
        self._cw = memoryview(self._ctrl).cast("B").cast("I") if self._ctrl is not None else None
        self._spill_mv = memoryview(self._spill) if self._spill is not None else None
        self._efd = ring.data_efd
        self.enobufs = 0
        self.ring_full = 0
        self.truncated = 0
        self.messages = 0
        self.fills = 0
        self._ctrl_addr = ctrl_base

    def _publish_position(self, pos: int) -> None:
        self.ring.q[HeaderWord.RX_PROD] = pos

    def _consumer_position(self) -> int:
        return int(self.ring.q[HeaderWord.RX_CONS])

    def fileno(self) -> int:
        """The socket's descriptor (poll it for POLLIN)."""
        return self.fd

    def fill(self, block: bool = False) -> int:
        """One ``recvmmsg`` into the free frames at the head.

        Returns:
            Messages published (> 0); 0 when the socket had nothing; -1 when the
            ring has no free frame (nothing was read: the messages wait in the socket).
        """
        start, cnt = self.prod.reserve(self.batch)
        q = self.ring.q
        if cnt == 0:
            self.ring_full += 1
            q[HeaderWord.RING_FULL] += 1
            return -1
        off = start * _MMSGHDR_SIZE
        ctypes.memmove(self._hdrs_addr + off, self._tmpl_addr + off, cnt * _MMSGHDR_SIZE)
        if self._ctrl_addr:  # no stale cmsgs from the last lap
            ctypes.memset(self._ctrl_addr + start * CONTROL_SPACE, 0, cnt * CONTROL_SPACE)
        flags = MSG_TRUNC | (MSG_WAITFORONE if block else MSG_DONTWAIT)
        while True:
            got = int(recvmmsg_raw(self.fd, self._ptrs[start], cnt, flags, None))
            if got >= 0:
                break
            e = ctypes.get_errno()
            if e == _errno.EINTR:
                continue
            if e in (_errno.EAGAIN, _errno.EWOULDBLOCK):
                return 0
            if e == _errno.ENOBUFS:
                self.enobufs += 1
                q[HeaderWord.ENOBUFS] += 1
                return 0
            raise OSError(e, f"recvmmsg: {os.strerror(e)}")
        if got == 0:
            return 0
        hw = self._hw
        a = start * _MMSGHDR_WORDS + _MSG_LEN_WORD
        lengths: Any = hw[a : a + got * _MMSGHDR_WORDS : _MMSGHDR_WORDS]
        ds = self.geometry.data_size
        big = max(lengths) > ds
        if big:
            lengths = array("I", lengths)
            for k in range(got):
                if lengths[k] > ds + self.spill_size:
                    lengths[k] = 0  # cannot be delivered whole: an empty frame, counted
                    self.truncated += 1
                    q[HeaderWord.TRUNCATED] += 1
        groups: Any = None
        pids: Any = None
        uids: Any = None
        gids: Any = None
        cw = self._cw
        if cw is not None:
            c0 = start * _CONTROL_WORDS
            c1 = c0 + got * _CONTROL_WORDS
            if self._meta_layout(c0, c1):  # the fast path (see _PKTINFO_LEVEL_WORD)
                groups = cw[c0 + _PKTINFO_GROUP_WORD : c1 : _CONTROL_WORDS]
                p0 = c0 + _CREDS_PID_WORD
                pids = cw[p0 : c1 : _CONTROL_WORDS]
                uids = cw[p0 + 1 : c1 : _CONTROL_WORDS]
                gids = cw[p0 + 2 : c1 : _CONTROL_WORDS]
            else:
                groups, pids, uids, gids = self._meta_slow(start, got)
        copies0 = self.prod.copies
        self.prod.publish(start, lengths, groups=groups, pids=pids, uids=uids, gids=gids)
        if big:
            q[HeaderWord.COPIES] += self.prod.copies - copies0
            self._send_copies(start, got, lengths)
        self.messages += got
        self.fills += 1
        q[HeaderWord.BYTES] += sum(lengths)
        q[HeaderWord.MESSAGES] += got
        q[HeaderWord.FILLS] += 1
        if self.notify:
            eventfd.signal(self._efd)
        return got

    def _meta_layout(self, c0: int, c1: int) -> bool:
        """True when every slot holds PKTINFO then CREDENTIALS at the fixed places."""
        cw = self._cw
        assert cw is not None
        lv = cw[c0 + _PKTINFO_LEVEL_WORD : c1 : _CONTROL_WORDS]
        ty = cw[c0 + _PKTINFO_TYPE_WORD : c1 : _CONTROL_WORDS]
        lv2 = cw[c0 + _CREDS_LEVEL_WORD : c1 : _CONTROL_WORDS]
        ty2 = cw[c0 + _CREDS_TYPE_WORD : c1 : _CONTROL_WORDS]
        return (min(lv) == max(lv) == SOL_NETLINK and min(ty) == max(ty) == NETLINK_PKTINFO
                and min(lv2) == max(lv2) == SOL_SOCKET
                and min(ty2) == max(ty2) == SCM_CREDENTIALS)

    def _meta_slow(self, start: int, got: int) -> tuple[array[int], ...]:
        """Groups and credentials slot by slot, with the shared cmsg decoder."""
        groups, pids, uids, gids = (array("I", bytes(4 * got)) for _ in range(4))
        assert self._ctrl is not None
        raw = bytes(self._ctrl)
        for k in range(got):
            h = self._hdrs[start + k].msg_hdr
            at = (start + k) * CONTROL_SPACE
            group, creds = decode_netlink_cmsgs(parse_cmsgs(raw[at : at + h.msg_controllen]))
            groups[k] = group
            if creds is not None:
                pids[k], uids[k], gids[k] = (c & 0xFFFFFFFF for c in creds)
        return groups, pids, uids, gids

    def _send_copies(self, start: int, got: int, lengths: Any) -> None:
        """Stream the bytes of this batch's COPY frames, in frame order (published first,
        so a consumer already blocks in its one recv while we write)."""
        sock = self.ring.copy_sock
        assert sock is not None
        ds = self.geometry.data_size
        mv = self.prod.ring.buf
        spill = self._spill_mv
        datas = self.prod.ring.data
        for k in range(got):
            ln = lengths[k]
            if ln <= ds:
                continue
            i = start + k
            d = datas[i]
            parts = [mv[d : d + ds]]
            if spill is not None:
                s = (i % self.batch) * self.spill_size
                parts.append(spill[s : s + ln - ds])
            for p in parts:
                sock.sendall(p)

    def close(self) -> None:
        """Drop every pointer into the ring and the spill area; give up the producer role."""
        self.ring.release_producer()
        self._hw.release()
        if self._cw is not None:
            self._cw.release()
        if self._spill_mv is not None:
            self._spill_mv.release()
        self._ptrs = []
        self._pin_ring = None
        self._pin_spill = None
        self.prod.ring.words.release()
        self.prod.ring.buf.release()
        if self._spill is not None:
            self._spill.close()

    def stats(self) -> dict[str, int]:
        """Counters of this filler."""
        return {"messages": self.messages, "fills": self.fills, "ring_full": self.ring_full,
                "enobufs": self.enobufs, "truncated": self.truncated,
                "copies": self.prod.copies}


