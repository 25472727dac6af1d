"""The user-space ring engine: netlink_mmap semantics on kernels without it.

OS edge module.  A *filler* drains a netlink socket straight into the frames of
a shared ring with ``recvmmsg``: the iovecs point at the frames' data areas, so
the kernel copies each datagram exactly once, into the frame a consumer reads::

    netlink socket --recvmmsg(N)--> frame data areas (memfd ring, RX)
                                    | nm_len, nm_group, nm_pid/uid/gid, then VALID
                                    v
    consumer(s)  <-- walk frames in order, no syscall while VALID frames wait

    message > frame data area:  iovec 2 of the slot catches the rest ("spill");
    the frame becomes COPY, the whole message goes down a unix stream (in order),
    the consumer takes it with exactly one recv of nm_len bytes.

    ring full: the filler stops reading (messages wait in the socket; counted as
    ring_full); a dump continues only as the ring drains, so it never overruns.

TX: messages are built in place in TX frames and :meth:`UserRing.flush` hands
all VALID frames to the kernel with one ``sendmsg`` (one iovec per frame).  The
kernel copies the bytes into its own buffer before it parses them, so nothing
is validated on memory the program can still change.

Fanout (:class:`Feeder`): one socket drained into K rings, consumed by K worker
processes; round-robin by batch (zero copy) or by a key function over each
message (one copy, the message goes to ring ``key(data) % K``).  Order within a
ring is socket order.

``recvmmsg`` comes from :mod:`netring._sys` (its ctypes binding and structs);
the filler builds its own ``mmsghdr`` array because it needs one entry per ring
frame with two iovecs (frame data + spill), started at any frame.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import math
import mmap
import os
import select
import socket
import time
from array import array
from collections.abc import Callable, Sequence
from typing import Any

from .. import _sys
from ..errors import NotSupportedError, RingError
from .base import FlushResult, RingBase
from .cursor import RxConsumer, RxProducer, TxProducer, TxSender
from .geometry import RingGeometry
from .shm import COPY_TIMEOUT, PAGE_SIZE, C, SharedRing

__all__ = [
    "RingFiller",
    "Feeder",
    "UserRing",
    "TxRing",
    "flush_frames",
    "open_ring",
    "ring_support",
    "default_geometry",
]

SOL_NETLINK = 270
NETLINK_PKTINFO = 3
SO_PASSCRED = socket.SO_PASSCRED
MSG_TRUNC = _sys.MSG_TRUNC
MSG_DONTWAIT = _sys.MSG_DONTWAIT
IOV_MAX = _sys.IOV_MAX
_MSZ = ctypes.sizeof(_sys.mmsghdr)
_W = _MSZ // 4  # mmsghdr size in u32 words
_LEN_W = _sys.mmsghdr.msg_len.offset // 4
_CTRL = 64  # control bytes per slot: NETLINK_PKTINFO (24) + SCM_CREDENTIALS (32)
_CW = _CTRL // 4
_SZT = ctypes.sizeof(ctypes.c_size_t) // 4  # cmsg_len in words
# control layout of one slot as the kernel writes it (netlink_recvmsg: PKTINFO first,
# then scm_recv's SCM_CREDENTIALS), in u32 words: level, type, data of each cmsg
_LV1, _TY1, _GROUP = _SZT, _SZT + 1, _SZT + 2
_S1 = _sys.cmsg_space(4) // 4
_LV2, _TY2, _CRED = _S1 + _SZT, _S1 + _SZT + 1, _S1 + _SZT + 2


WAKE_SLICE_MS = 20  # an attached consumer re-checks the ring at least this often (ms)
WAKE_SLICE = WAKE_SLICE_MS / 1000


def default_geometry(frame_size: int = 4096, frame_nr: int = 1024) -> RingGeometry:
    """A ring geometry for this machine's page size."""
    return RingGeometry.for_frames(frame_size, frame_nr, page_size=PAGE_SIZE)


def _fd(sock: Any) -> int:
    return sock if isinstance(sock, int) else int(sock.fileno())


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
        if not _sys.have_recvmmsg():
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
        self.fd = _fd(sock)
        self.ring = ring
        self.geometry = rx
        self.batch = max(1, min(batch, rx.frame_nr))
        self.spill_size = spill
        self.meta = meta
        self.notify = notify
        q = ring.q
        self.prod = RxProducer(ring.mm, rx, ring.rx_base, position=int(q[C.RX_PROD]),
                               publish_position=self._publish_position,
                               consumer_position=self._consumer_position)
        if meta:
            s = socket.socket(fileno=os.dup(self.fd))
            try:
                s.setsockopt(SOL_NETLINK, NETLINK_PKTINFO, 1)
                s.setsockopt(socket.SOL_SOCKET, SO_PASSCRED, 1)
            finally:
                s.close()
        n = rx.frame_nr
        # spill slots: virtual memory, touched only by messages larger than a frame
        self._spill = mmap.mmap(
            -1, self.batch * spill,
            flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_NORESERVE", 0),
        ) if spill else None
        self._pin_ring = (ctypes.c_char * len(ring.mm)).from_buffer(ring.mm)
        base = ctypes.addressof(self._pin_ring)
        if self._spill is not None:
            self._pin_spill: Any = (ctypes.c_char * len(self._spill)).from_buffer(self._spill)
            spill_base = ctypes.addressof(self._pin_spill)
        else:
            self._pin_spill = None
            spill_base = 0
        self._hdrs = (_sys.mmsghdr * n)()
        self._iovs = (_sys.iovec * (2 * n))()
        self._ctrl = (ctypes.c_char * (_CTRL * n))() if meta else None
        ctrl_base = ctypes.addressof(self._ctrl) if self._ctrl is not None else 0
        iov_base = ctypes.addressof(self._iovs)
        iov_sz = ctypes.sizeof(_sys.iovec)
        offs = self.prod.ring.data
        ds = rx.data_size
        for i in range(n):
            iv = self._iovs[2 * i]
            iv.iov_base = base + offs[i]
            iv.iov_len = ds
            h = self._hdrs[i].msg_hdr
            h.msg_iov = ctypes.cast(iov_base + 2 * i * iov_sz, ctypes.POINTER(_sys.iovec))
            if spill:
                sv = self._iovs[2 * i + 1]
                sv.iov_base = spill_base + (i % self.batch) * spill
                sv.iov_len = spill
                h.msg_iovlen = 2
            else:
                h.msg_iovlen = 1
            if meta:
                h.msg_control = ctrl_base + i * _CTRL
                h.msg_controllen = _CTRL
        self._tmpl = ctypes.create_string_buffer(bytes(memoryview(self._hdrs).cast("B")))
        self._hdrs_addr = ctypes.addressof(self._hdrs)
        self._tmpl_addr = ctypes.addressof(self._tmpl)
        self._ptrs = [ctypes.cast(self._hdrs_addr + i * _MSZ, ctypes.POINTER(_sys.mmsghdr))
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
        self.ring.q[C.RX_PROD] = pos

    def _consumer_position(self) -> int:
        return int(self.ring.q[C.RX_CONS])

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
            q[C.RING_FULL] += 1
            return -1
        off = start * _MSZ
        ctypes.memmove(self._hdrs_addr + off, self._tmpl_addr + off, cnt * _MSZ)
        if self._ctrl_addr:  # no stale cmsgs from the last lap
            ctypes.memset(self._ctrl_addr + start * _CTRL, 0, cnt * _CTRL)
        flags = MSG_TRUNC | (_sys.MSG_WAITFORONE if block else MSG_DONTWAIT)
        while True:
            got = int(_sys.recvmmsg_raw(self.fd, self._ptrs[start], cnt, flags, None))
            if got >= 0:
                break
            e = ctypes.get_errno()
            if e == _errno.EINTR:
                continue
            if e in (_errno.EAGAIN, _errno.EWOULDBLOCK):
                return 0
            if e == _errno.ENOBUFS:
                self.enobufs += 1
                q[C.ENOBUFS] += 1
                return 0
            raise OSError(e, f"recvmmsg: {os.strerror(e)}")
        if got == 0:
            return 0
        hw = self._hw
        a = start * _W + _LEN_W
        lengths: Any = hw[a : a + got * _W : _W]
        ds = self.geometry.data_size
        big = max(lengths) > ds
        if big:
            lengths = array("I", lengths)
            for k in range(got):
                if lengths[k] > ds + self.spill_size:
                    lengths[k] = 0  # cannot be delivered whole: an empty frame, counted
                    self.truncated += 1
                    q[C.TRUNCATED] += 1
        groups: Any = None
        pids: Any = None
        uids: Any = None
        gids: Any = None
        cw = self._cw
        if cw is not None:
            c0 = start * _CW
            c1 = c0 + got * _CW
            if self._meta_layout(c0, c1):
                groups = cw[c0 + _GROUP : c1 : _CW]
                p0 = c0 + _CRED
                pids = cw[p0 : c1 : _CW]
                uids = cw[p0 + 1 : c1 : _CW]
                gids = cw[p0 + 2 : c1 : _CW]
            else:
                groups, pids, uids, gids = self._meta_slow(start, got)
        copies0 = self.prod.copies
        self.prod.publish(start, lengths, groups=groups, pids=pids, uids=uids, gids=gids)
        if big:
            q[C.COPIES] += self.prod.copies - copies0
            self._send_copies(start, got, lengths)
        self.messages += got
        self.fills += 1
        q[C.BYTES] += sum(lengths)
        q[C.MESSAGES] += got
        q[C.FILLS] += 1
        if self.notify:
            os.eventfd_write(self._efd, 1)
        return got

    def _meta_layout(self, c0: int, c1: int) -> bool:
        """True when every slot holds PKTINFO then CREDENTIALS at the fixed places."""
        cw = self._cw
        assert cw is not None
        lv = cw[c0 + _LV1 : c1 : _CW]
        ty = cw[c0 + _TY1 : c1 : _CW]
        lv2 = cw[c0 + _LV2 : c1 : _CW]
        ty2 = cw[c0 + _TY2 : c1 : _CW]
        return (min(lv) == max(lv) == SOL_NETLINK and min(ty) == max(ty) == NETLINK_PKTINFO
                and min(lv2) == max(lv2) == socket.SOL_SOCKET
                and min(ty2) == max(ty2) == socket.SCM_CREDENTIALS)

    def _meta_slow(self, start: int, got: int) -> tuple[array[int], ...]:
        groups, pids, uids, gids = (array("I", bytes(4 * got)) for _ in range(4))
        assert self._ctrl is not None
        raw = bytes(self._ctrl)
        for k in range(got):
            h = self._hdrs[start + k].msg_hdr
            ctl = raw[(start + k) * _CTRL : (start + k) * _CTRL + h.msg_controllen]
            for level, ctype, data in _sys.parse_cmsgs(ctl):
                if level == SOL_NETLINK and ctype == NETLINK_PKTINFO and len(data) >= 4:
                    groups[k] = array("I", data[:4])[0]
                elif level == socket.SOL_SOCKET and ctype == socket.SCM_CREDENTIALS:
                    p, u, g = array("I", data[:12])
                    pids[k], uids[k], gids[k] = p, u, g
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
        self._pin_ring = None  # type: ignore[assignment]
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


class Feeder:
    """Drains one socket into K shared rings (fanout), in the feeder process.

    Args:
        sock: the netlink socket.
        rings: K :class:`SharedRing` objects created in this process.
        key: ``None`` for round-robin by batch (zero copy: each ``recvmmsg``
            fills one ring, the next batch the next ring); or a function of a
            message's bytes whose value ``% K`` picks the ring (one copy per message).
        batch, spill, meta: as for :class:`RingFiller`.
    """

    def __init__(self, sock: Any, rings: Sequence[SharedRing], *,
                 key: Callable[[memoryview], int] | None = None, batch: int = 64,
                 spill: int = 256 << 10, meta: bool = True) -> None:
        if not rings:
            raise RingError("a feeder needs at least one ring")
        self.sock = sock
        self.fd = _fd(sock)
        self.rings = list(rings)
        self.key = key
        self.meta = meta
        self.fillers = [RingFiller(sock, r, batch=batch, spill=spill if key is None else 0,
                                   meta=meta) for r in self.rings]
        self._rr = 0
        self.messages = 0
        self.per_ring = [0] * len(self.rings)
        self._stage: Any = None
        if key is not None:
            ds = max(r.layout.rx.data_size for r in self.rings if r.layout.rx)
            self._stage_bufs = [bytearray(max(ds, 16384) + spill) for _ in range(batch)]
            self._stage = _sys.MMsgBatch(self._stage_bufs, name=False,
                                         control=_CTRL if meta else 0)

    def step(self, block: bool = False) -> int:
        """Move one batch from the socket into the rings; -1 when the target rings are full."""
        if self.key is None:
            k = len(self.fillers)
            full = 0
            for t in range(k):
                idx = (self._rr + t) % k
                got = self.fillers[idx].fill(block=block)
                if got > 0:
                    self._rr = (idx + 1) % k
                    self.messages += got
                    self.per_ring[idx] += got
                    return got
                if got == 0:
                    return 0
                full += 1
            return -1
        return self._step_keyed(block)

    def _step_keyed(self, block: bool) -> int:
        fillers = self.fillers
        k = len(fillers)
        # room check: a message may go to any ring, so read only as many as every ring holds
        room = min(f.prod.reserve(len(self._stage_bufs))[1] for f in fillers)
        if room == 0:
            return -1
        got: int = self._stage.recv(self.fd, MSG_DONTWAIT if not block else _sys.MSG_WAITFORONE,
                                    n=room)
        key = self.key
        assert key is not None
        for m in range(got):
            view = self._stage.view(m)
            idx = key(view) % k
            f = fillers[idx]
            start, cnt = f.prod.reserve(1)
            if cnt == 0:  # cannot happen: every ring had `room` free frames in a row
                raise RingError(f"ring {idx} unexpectedly full")
            ln = len(view)
            if self._stage.truncated(m):  # larger than a staging slot: cannot be whole
                f.truncated += 1
                f.ring.q[C.TRUNCATED] += 1
                ln = 0
            group, creds = 0, None
            if self.meta:
                group = self._stage.group(m)
                creds = self._stage.creds(m)
            if ln <= f.geometry.data_size:
                f.prod.data_view(start)[:ln] = view[:ln]
                f.prod.publish_one(ln, group=group, creds=creds)
            else:  # COPY: the bytes follow on the stream
                f.prod.publish_one(ln, status=3, group=group, creds=creds)
                assert f.ring.copy_sock is not None
                f.ring.copy_sock.sendall(view)
            f.ring.q[C.MESSAGES] += 1
            self.per_ring[idx] += 1
        if got:
            for f in fillers:
                os.eventfd_write(f.ring.data_efd, 1)
        self.messages += got
        return got

    def run(self, *, count: int | None = None, duration: float | None = None,
            idle: float | None = None, stop: Callable[[], bool] | None = None) -> int:
        """Feed until ``count`` messages, ``duration`` seconds, ``idle`` seconds with
        no message, or ``stop()`` is true.  Returns messages fed.
        """
        p = select.poll()  # waiting for messages
        p.register(self.fd, select.POLLIN)
        room = select.poll()  # waiting for room (the socket stays readable meanwhile)
        for r in self.rings:
            room.register(r.space_efd, select.POLLIN)
        t0 = time.monotonic()
        last = t0
        start_count = self.messages
        while True:
            if count is not None and self.messages - start_count >= count:
                break
            now = time.monotonic()
            if duration is not None and now - t0 >= duration:
                break
            if idle is not None and now - last >= idle:
                break
            if stop is not None and stop():
                break
            got = self.step()
            if got > 0:
                last = now
                continue
            if got < 0:
                for r in self.rings:
                    r.q[C.PAUSED] = 1
                if self.step() != -1:  # re-check after announcing the pause
                    for r in self.rings:
                        r.q[C.PAUSED] = 0
                    continue
                room.poll(50)  # a consumer writes space_efd when it releases frames
                for r in self.rings:
                    r.q[C.PAUSED] = 0
                    _drain_efd(r.space_efd)
                last = time.monotonic()  # a paused feeder is not idle
                continue
            p.poll(100 if idle is None else max(1, min(100, int(idle * 1000))))
        return self.messages - start_count

    def close(self) -> None:
        """Release the fillers (the rings stay open)."""
        for f in self.fillers:
            f.close()
        if self._stage is not None:
            self._stage.close()


def _drain_efd(fd: int) -> None:
    try:
        os.eventfd_read(fd)
    except BlockingIOError:
        pass


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
    fd = _fd(sock)
    s = sock if isinstance(sock, socket.socket) else socket.socket(fileno=os.dup(fd))
    try:
        limit = s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) - 32
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


class UserRing(RingBase):
    """A ring run by the user-space engine, read through the common API.

    Made by :func:`open_ring` (this process fills it from the socket while the
    consumer waits) or by :meth:`attach` (another process -- a :class:`Feeder` --
    fills it; this one only consumes).
    """

    backend = "user"

    def __init__(self, shared: SharedRing, *, sock: Any = None, filler: RingFiller | None = None,
                 reason: str = "", tx: bool = True) -> None:
        self.shared = shared
        self.sock = sock
        self.filler = filler
        self.reason = reason
        q = shared.q
        rx = shared.layout.rx
        self._copy_sock = socket.socket(fileno=os.dup(shared.copy_fd)) if rx else None
        if self._copy_sock is not None:
            self._copy_sock.settimeout(COPY_TIMEOUT)
        if rx is not None:
            self.rx = RxConsumer(shared.mm, rx, shared.rx_base, fetch=self._fetch,
                                 producer_position=self._producer_position,
                                 position=int(q[C.RX_CONS]), commit_slot=(q, C.RX_CONS))
        txg = shared.layout.tx
        if tx and txg is not None:
            self.txring: TxRing | None = TxRing(shared.mm, txg, shared.tx_base)
            self.tx = self.txring.producer
        else:
            self.txring = None
        self._poll = select.poll()
        if filler is not None:
            self._poll.register(filler.fd, select.POLLIN)
        else:
            self._poll.register(shared.data_efd, select.POLLIN)
        self._released_since = 0

    @classmethod
    def attach(cls, shared: SharedRing, *, drop_orphans: bool = False) -> UserRing:
        """Consume a ring another process fills.  Continues at the committed position:
        a frame the previous consumer held but never released is delivered again;
        frames it kept (SKIP) are released when ``drop_orphans`` is true.
        """
        r = cls(shared, reason="attached to a shared user-space ring", tx=False)
        if r.rx is not None:
            r.rx.recover(int(shared.q[C.RX_PROD]))
            if drop_orphans:
                r.rx.drop_orphans()
        return r

    def _producer_position(self) -> int:
        return int(self.shared.q[C.RX_PROD])

    def _fetch(self, frame: Any) -> bytes:
        n = int(frame.len)
        s = self._copy_sock
        assert s is not None
        buf = bytearray(n)
        mv = memoryview(buf)
        got = s.recv_into(mv, n, socket.MSG_WAITALL)  # one recv of the whole message
        while got < n:  # only after a signal interrupted MSG_WAITALL
            got += s.recv_into(mv[got:], n - got, socket.MSG_WAITALL)
        return bytes(buf)

    def _overruns(self) -> int:
        return int(self.shared.q[C.ENOBUFS])

    def _room(self) -> None:
        q = self.shared.q
        if self.filler is None and q[C.PAUSED]:
            q[C.PAUSED] = 0  # one wake-up per pause, not one per released frame
            os.eventfd_write(self.shared.space_efd, 1)

    def _wait(self, timeout: float | None) -> bool:
        ms = -1 if timeout is None else max(0, int(timeout * 1000))
        f = self.filler
        if f is not None:
            got = f.fill()
            if got > 0:
                return True
            if got < 0:
                # every free frame is taken by frames this consumer still holds
                # (in hand or kept): no message can arrive until it releases some
                time.sleep(0.05 if timeout is None else min(timeout, 0.05))
                return False
            if not self._poll.poll(ms):
                return False
            f.fill()
            return True
        return self._sleep(timeout)

    def _sleep(self, timeout: float | None) -> bool:
        """Attached consumer: announce the wait, re-check, sleep on the data eventfd.

        A :class:`~netring.ring.writer.RingWriter` writes the data eventfd only
        while ``q[C.WAITING]`` is set (no syscall per message); a socket filler
        writes it after every batch.  The writer stores a frame's status and the
        producer position, then loads ``WAITING``; this consumer stores
        ``WAITING``, then loads the producer position.  x86 may let a load pass an
        earlier store to another address (store buffer), so without a fence on
        both sides each can miss the other's store and the wake-up is lost.  The
        eventfd read below is a syscall (the kernel takes a lock: a full fence on
        this side), and the poll runs in slices of :data:`WAKE_SLICE` seconds,
        re-checking the producer position, so a missed wake-up costs at most one
        slice, never a hang.
        """
        q = self.shared.q
        rx = self.rx
        efd = self.shared.data_efd
        deadline = None if timeout is None else time.monotonic() + timeout
        q[C.WAITING] = 1
        try:
            _drain_efd(efd)
            while True:
                if rx is not None and int(q[C.RX_PROD]) > rx.position:
                    return True  # published (or stepped over) since we last looked
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                ms = WAKE_SLICE_MS if left is None else min(WAKE_SLICE_MS, math.ceil(left * 1000))
                if self._poll.poll(ms):
                    _drain_efd(efd)
                    return True
        finally:
            q[C.WAITING] = 0

    def fill(self) -> int:
        """Fill from the socket now (in-process rings); see :meth:`RingFiller.fill`."""
        if self.filler is None:
            raise RingError("this ring is filled by another process")
        return self.filler.fill()

    def flush(self, portid: int = 0, groups: int = 0) -> FlushResult:
        """Send all VALID TX frames in ring order with one ``sendmsg``, then release them."""
        if self.txring is None:
            raise RingError(f"{self!r} has no TX ring")
        if self.sock is None:
            raise RingError("this ring has no socket to send on")
        return flush_frames(self.sock, self.txring.sender, portid, groups)

    def stats(self) -> dict[str, int]:
        """Shared counters plus this consumer's."""
        out = self.shared.stats()
        if self.rx is not None:
            out["delivered"] = self.rx.delivered
            out["empty_released"] = self.rx.empty_released
            out["copies_fetched"] = self.rx.copies
        return out

    def close(self) -> None:
        """Release the mapping and descriptors (frames in hand become invalid)."""
        if self.filler is not None:
            self.filler.close()
            self.filler = None
        for cur in (self.rx, self.tx, self.txring.sender if self.txring else None):
            if cur is not None:
                cur.ring.words.release()
                cur.ring.buf.release()
        if self._copy_sock is not None:
            self._copy_sock.close()
        self.shared.close()

    def __repr__(self) -> str:
        lay = self.shared.layout
        g = lay.rx or lay.tx
        assert g is not None
        return (f"<UserRing backend=user frames={g.frame_nr}x{g.frame_size} "
                f"filler={'in-process' if self.filler else 'other process'} "
                f"reason={self.reason!r}>")


def ring_support(protocol: int = 0) -> dict[str, Any]:
    """Which backend :func:`open_ring` would use here, and why."""
    from . import kernel

    p = kernel.probe(protocol)
    if p["rx"]:
        return {"backend": "kernel", "reason": "kernel accepted NETLINK_RX_RING", **p}
    return {"backend": "user",
            "reason": f"kernel refused NETLINK_RX_RING: {p['error']}; user-space engine", **p}


def open_ring(sock: Any, rx: RingGeometry | None = None, tx: RingGeometry | None = None, *,
              backend: str = "auto", batch: int = 64, spill: int = 256 << 10,
              meta: bool = True) -> RingBase:
    """A ring on ``sock``: the kernel's own where it has one, else the user-space engine.

    Args:
        sock: a bound netlink socket (``socket.socket`` or anything with ``fileno()``).
        rx, tx: geometries (default: 1024 frames of 4 KiB each, RX and TX).
        backend: ``"auto"``, ``"kernel"`` or ``"user"``.

    Returns:
        A :class:`~netring.ring.base.RingBase`: ``ring.backend`` and ``ring.reason``
        (and its repr) say which one and why.
    """
    from . import kernel

    if rx is None and tx is None:
        rx = default_geometry()
        tx = default_geometry(4096, 256)
    reason = ""
    if backend in ("auto", "kernel"):
        try:
            return kernel.KernelRing(sock, rx, tx)
        except NotSupportedError as exc:
            if backend == "kernel":
                raise
            reason = f"{exc}; user-space engine"
    elif backend != "user":
        raise ValueError(f"backend must be 'auto', 'kernel' or 'user', not {backend!r}")
    else:
        reason = "user-space engine requested"
    shared = SharedRing.create(rx, tx)
    filler = RingFiller(sock, shared, batch=batch, spill=spill, meta=meta,
                        notify=False) if rx is not None else None
    return UserRing(shared, sock=sock, filler=filler, reason=reason)


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
        self._pin = (ctypes.c_char * len(self.view.buf)).from_buffer(self.view.buf)
        addr0 = ctypes.addressof(self._pin)
        self._hdrs = (_sys.mmsghdr * n)()
        self._iovs = (_sys.iovec * n)()
        self._name = None
        if dest_portid is not None:
            raw = int(socket.AF_NETLINK).to_bytes(2, "little") + bytes(2)
            raw += array("I", [dest_portid, dest_groups]).tobytes()
            self._name = ctypes.create_string_buffer(raw, 12)
        iov_sz = ctypes.sizeof(_sys.iovec)
        iov0 = ctypes.addressof(self._iovs)
        for i in range(n):
            self._iovs[i].iov_base = addr0 + self.view.data[i]
            h = self._hdrs[i].msg_hdr
            h.msg_iov = ctypes.cast(iov0 + i * iov_sz, ctypes.POINTER(_sys.iovec))
            h.msg_iovlen = 1
            if self._name is not None:
                h.msg_name = ctypes.addressof(self._name)
                h.msg_namelen = 12
        self._lens = memoryview(self._iovs).cast("B").cast("Q")[1::2]
        a0 = ctypes.addressof(self._hdrs)
        self._ptrs = [ctypes.cast(a0 + i * _MSZ, ctypes.POINTER(_sys.mmsghdr)) for i in range(n)]

    def send(self, fd: int, start: int, lengths: Any, flags: int = 0) -> int:
        """Send frames ``start .. start+len(lengths)-1`` (``lengths``: ``array('Q')`` or
        ints); returns datagrams sent (all of them unless a non-blocking socket filled)."""
        k = len(lengths)
        if not isinstance(lengths, array) or lengths.typecode != "Q":
            lengths = array("Q", lengths)
        self._lens[start : start + k] = lengths
        sent = 0
        while sent < k:
            r = _sys.sendmmsg_raw(fd, self._ptrs[start + sent], k - sent, flags)
            if r <= 0:
                break
            sent += r
        return sent

    def close(self) -> None:
        """Drop the pointers into the buffer."""
        self._lens.release()
        self._ptrs = []
        self._pin = None  # type: ignore[assignment]
        self.view.words.release()
        self.view.buf.release()


def demo_stream(netns_path: str | None = None, count: int = 100_000,
                size: int = 64) -> dict[str, Any]:
    """Stream ``count`` USERSOCK messages from a child process through a ring.

    The child sends ``size``-byte messages (``nlmsg_seq`` = 0, 1, 2, ...) with
    ``sendmmsg``; this process reads them through :func:`open_ring`.

    Returns:
        ``{"backend", "reason", "messages", "seconds", "msgs_per_s", "in_order",
        "copies", "ring_full", "enobufs"}``
    """
    from ..netns import socket_in

    recv = socket_in(netns_path, socket.AF_NETLINK, socket.SOCK_RAW, 2)
    recv.bind((0, 0))
    try:
        recv.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
    except OSError:
        recv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    portid = recv.getsockname()[0]
    ring = open_ring(recv, default_geometry(256, 4096), None, meta=False)
    pid = os.fork()
    if pid == 0:  # child: the sender
        code = 0
        try:
            send_sequence(netns_path, portid, count, size)
        except BaseException:
            code = 1
        os._exit(code)
    t0 = time.perf_counter()
    got = 0
    expect = 0
    in_order = True
    for v in ring.data(timeout=5.0, count=count):
        if (v[8] | v[9] << 8 | v[10] << 16 | v[11] << 24) != expect & 0xFFFFFFFF:
            in_order = False
        expect += 1
        got += 1
    dt = time.perf_counter() - t0
    os.waitpid(pid, 0)
    st = ring.stats() if isinstance(ring, UserRing) else {}
    out = {
        "backend": ring.backend, "reason": ring.reason, "messages": got,
        "seconds": round(dt, 4), "msgs_per_s": round(got / dt) if dt else 0,
        "in_order": in_order and got == count, "copies": st.get("copies", 0),
        "ring_full": st.get("ring_full", 0), "enobufs": st.get("enobufs", 0),
    }
    close = getattr(ring, "close", None)
    if close is not None:
        close()
    recv.close()
    return out


def send_sequence(netns_path: str | None, portid: int, count: int, size: int = 64,
                  batch: int = 256, first_seq: int = 0) -> int:
    """Send ``count`` ``size``-byte USERSOCK messages to ``portid``, ``nlmsg_seq``
    counting up from ``first_seq``, ``batch`` per ``sendmmsg``.  Returns messages sent."""
    from ..netns import socket_in

    s = socket_in(netns_path, socket.AF_NETLINK, socket.SOCK_RAW, 2)
    s.bind((0, 0))
    g = RingGeometry.for_frames(max(size, 16) + 24, batch, page_size=PAGE_SIZE)
    buf = bytearray(g.size)
    tx = TxProducer(buf, g)
    words = tx.ring.words
    for i in range(g.frame_nr):
        d = tx.ring.data[i]
        buf[d : d + 16] = array("I", [size, 0x10, 0, 0]).tobytes()  # len, type 16, seq, pid
    seq_w = [(d + 8) >> 2 for d in tx.ring.data]
    sender = FrameSender(buf, g, dest_portid=portid)
    lens = array("Q", [size]) * batch
    uniform = g.uniform
    stride = g.frame_size >> 2
    sent = 0
    seq = first_seq
    try:
        while sent < count:
            k = min(batch, count - sent, g.frame_nr)
            if uniform:
                words[seq_w[0] : seq_w[0] + k * stride : stride] = array("I", range(seq, seq + k))
            else:
                for j in range(k):
                    words[seq_w[j]] = (seq + j) & 0xFFFFFFFF
            n = sender.send(s.fileno(), 0, lens[:k])
            sent += n
            seq += n
            if n < k:
                break
    finally:
        sender.close()
        del words
        tx.ring.words.release()
        tx.ring.buf.release()
        s.close()
    return sent
