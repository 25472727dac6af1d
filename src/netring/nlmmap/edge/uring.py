"""The io_uring RX ring: the kernel writes netlink datagrams straight into ring frames.

OS edge module.  Linux 6.0 and later can fill user memory for any socket: a
multishot ``IORING_OP_RECVMSG`` with ``IOSQE_BUFFER_SELECT`` takes one buffer of a
provided-buffer ring per datagram and posts one completion for it.  Each frame
of an ordinary netlink ring (the 4.5 layout) is such a buffer, so the kernel
fills frames in user memory while user space walks completions without a system
call, as the 4.5 kernel filled ``NETLINK_RX_RING``::

    netlink socket --multishot RECVMSG (MSG_TRUNC)--> frame + 24: recvmsg_out, sockaddr_nl,
        (io_uring, in this task's context)              PKTINFO + CREDENTIALS cmsgs, datagram
                                                  |  CQE {bid = frame, res}
                                                  v
    completion walk (pure: nlmmap.uring_cursor) --> nm_len, nm_group, nm_pid/uid/gid, VALID
    consumer (RxConsumer, the common API)       <-- frames in order, no syscall while VALID
    released frames --------------------------------> buffer-ring tail (entries rewritten
                                                      only when a kept frame shifted them)

What stops the multishot request, and what follows (it is re-armed each time):

    res -ENOBUFS, socket drop counter unchanged   every buffer was taken: no loss, the
                                                  datagrams wait in the socket (ring_full)
    res -ENOBUFS, drop counter moved              the kernel dropped datagrams: Overrun,
                                                  raised once, as on every backend
    a completion with data and no F_MORE          CQ full or a zero-length datagram
    res -EINVAL on the first request              no multishot RECVMSG (before 6.0):
                                                  NotSupportedError

A datagram larger than a frame's capacity (``frame_size - 24 - prefix``) is cut by
the kernel; the frame is published empty, counted (``truncated``) and reported in
stream order with :class:`~netring.errors.TruncatedError` (see
:mod:`netring.nlmmap.uring_cursor`).  Size frames for the largest datagram:
dumps adapt to the buffer offered, up to 32 KiB.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import functools
import mmap
import os
import socket
import time
from array import array

from ..._sys import uring as _u
from ..._sys.cmsg import (
    CMSG_HDRLEN,
    NETLINK_CMSG_SPACE,
    SCM_CREDENTIALS,
    SOL_SOCKET,
    cmsg_space,
    decode_netlink_cmsgs,
    parse_cmsgs,
)
from ..._sys.libc import MSG_CTRUNC, MSG_TRUNC, SIZE_T, fileno, msghdr
from ..._sys.mapping import PAGE_SIZE, address, pin
from ...codec.constants import NETLINK, NETLINK_PKTINFO, NLMSG, SOL_NETLINK
from ...codec.structs import nl_pktinfo, nlmsghdr, sockaddr_nl
from ...codec.types import TYPE_CHECKING
from ...errors import NotSupportedError, RingError, TruncatedError
from ..base import FlushResult, RingBase
from ..cursor import Frame, RxConsumer
from ..geometry import MappingLayout, RingGeometry
from ..uring_abi import (
    IO_URING_OP_SUPPORTED,
    IORING_ENTER,
    IORING_FEAT,
    IORING_OFF_CQ_RING,
    IORING_OFF_SQ_RING,
    IORING_OFF_SQES,
    IORING_OP,
    IORING_RECV_MULTISHOT,
    IORING_REGISTER,
    IORING_SETUP,
    IORING_SQ,
    IORING_UNREGISTER,
    IOSQE,
    PARAMS_CQ_OFF,
    PARAMS_SQ_OFF,
    io_cqring_offsets,
    io_sqring_offsets,
    io_uring_buf,
    io_uring_buf_reg,
    io_uring_getevents_arg,
    io_uring_params,
    io_uring_probe,
    io_uring_probe_op,
    io_uring_sqe,
    kernel_timespec,
)
from ..uring_cursor import (
    BufferRing,
    CompletionQueue,
    ControlLayout,
    RecvmsgLayout,
    UringProducer,
    UringRxConsumer,
    pow2_at_least,
)
from .tx import TxRing, flush_frames

if TYPE_CHECKING:
    from typing import Any

__all__ = ["UringRing", "probe", "support", "control_layout", "REQUIRED_FEATURES"]

BGID = 0  # the one buffer group of a ring
CANCEL_UD = 0  # user_data of our cancel requests; receive requests count from 1
SQ_ENTRIES = 4  # a receive and a cancel at most are in flight at once
FULL_WAIT = 0.05  # seconds to sleep while the consumer holds every frame
CANCEL_TIMEOUT = 1.0  # seconds close() waits for the receive request to end
#: features a ring needs: EXT_ARG (waits with a timeout), NODROP (no lost completions)
REQUIRED_FEATURES = IORING_FEAT.EXT_ARG | IORING_FEAT.NODROP


def control_layout() -> ControlLayout:
    """Where NETLINK_PKTINFO then SCM_CREDENTIALS land in a control area (``netlink_recvmsg``
    puts them in that order), in 32-bit words, for this machine's ``size_t``."""
    lvl = SIZE_T // 4  # cmsg_level follows the size_t cmsg_len
    creds_at = cmsg_space(nl_pktinfo.size) // 4
    return ControlLayout(
        size=NETLINK_CMSG_SPACE,
        checks=((lvl, SOL_NETLINK), (lvl + 1, NETLINK_PKTINFO),
                (creds_at + lvl, SOL_SOCKET), (creds_at + lvl + 1, SCM_CREDENTIALS)),
        group=CMSG_HDRLEN // 4,
        creds=creds_at + CMSG_HDRLEN // 4,
    )


def _decode(raw: bytes) -> tuple[int, tuple[int, int, int] | None]:
    return decode_netlink_cmsgs(parse_cmsgs(raw))


class UringRing(RingBase):
    """A netlink RX ring the kernel fills through io_uring, read through the common API.

    Args:
        sock: a bound netlink socket (``socket.socket`` or anything with ``fileno()``).
        rx: the RX geometry (at most 32768 frames; the data area of a frame holds
            ``frame_size - 24 - prefix`` bytes of a datagram, :attr:`capacity`).
        tx: an optional TX geometry: frames built in place, sent with one ``sendmsg``.
        meta: ask for NETLINK_PKTINFO and SO_PASSCRED and fill ``nm_group`` and
            ``nm_pid``/``nm_uid``/``nm_gid`` (else they stay 0).
        reason: why this backend was chosen (shown in the repr).
        setup_flags: extra ``IORING_SETUP_*`` flags for the ring (default none: the
            kernel runs the receive as task work that interrupts this thread, so
            frames fill while it computes; ``DEFER_TASKRUN`` would receive only
            inside ``io_uring_enter``).
        cooperative: for a consumer that makes system calls often anyway (nfqueue:
            a verdict per batch): ``IORING_SETUP_COOP_TASKRUN | TASKRUN_FLAG``, so
            the receive runs when this thread next enters the kernel instead of
            interrupting it (many datagrams per run); a look that finds nothing while
            the kernel says work waits (``IORING_SQ_TASKRUN``) runs it with one
            ``io_uring_enter``.  A kernel without the flags (before 5.19) gets none.

    One thread uses a ring at a time: its completion walk runs inside the
    consumer's calls (recv, data, messages), never on its own.

    Raises:
        NotSupportedError: io_uring is missing or refused (the message says which:
            ENOSYS, EPERM from ``kernel.io_uring_disabled`` or seccomp, a missing
            feature or register opcode).
        RingError: a geometry io_uring cannot fill (too many frames, frames too small).
    """

    backend = "uring"

    def __init__(self, sock: Any, rx: RingGeometry, tx: RingGeometry | None = None, *,
                 meta: bool = True, reason: str = "", setup_flags: int = 0,
                 cooperative: bool = False) -> None:
        self.reason = reason or "io_uring multishot receive into a provided-buffer ring"
        self._setup_flags = setup_flags
        self.cooperative = cooperative
        self._closed = True  # until everything below exists
        self.sock = sock
        self.fd = fileno(sock)
        ctl = control_layout() if meta else None
        self.layout = RecvmsgLayout(rx, sockaddr_nl.size, ctl)
        self.layout.check()
        self._dsock = sock if isinstance(sock, socket.socket) else socket.socket(
            fileno=os.dup(self.fd))
        self._own_dsock = self._dsock is not sock
        self._views: list[memoryview] = []
        self._maps: list[mmap.mmap] = []
        self.ring_fd = -1
        try:
            self._setup(rx, tx, meta)
        except BaseException:
            self._teardown()
            raise
        self._closed = False

    # -- set-up --------------------------------------------------------------------------
    def _setup(self, rx: RingGeometry, tx: RingGeometry | None, meta: bool) -> None:
        n = rx.frame_nr
        params = bytearray(io_uring_params.size)
        cq_want = pow2_at_least(2 * n + 8)  # every buffer's completion fits: no CQ overflow
        flags = int(IORING_SETUP.CQSIZE | IORING_SETUP.CLAMP) | self._setup_flags
        coop = int(IORING_SETUP.COOP_TASKRUN | IORING_SETUP.TASKRUN_FLAG)
        while True:
            io_uring_params.pack_into(params, 0, 0, cq_want,
                                      flags | (coop if self.cooperative else 0), *([0] * 25))
            try:
                self.ring_fd = _u.io_uring_setup(SQ_ENTRIES, params)
                break
            except OSError as exc:
                if self.cooperative and exc.errno == _errno.EINVAL:
                    self.cooperative = False  # a kernel before 5.19: the default mode
                    continue
                raise NotSupportedError(_u.refusal(exc)) from None
        fields = io_uring_params.unpack_from(params)
        sq_entries, cq_entries, self.features = fields[0], fields[1], fields[5]
        missing = REQUIRED_FEATURES & ~self.features
        if missing:
            raise NotSupportedError(f"io_uring lacks {IORING_FEAT(missing)!r} "
                                    f"(features {self.features:#x})")
        sq = io_sqring_offsets.unpack_from(params, PARAMS_SQ_OFF)
        cq = io_cqring_offsets.unpack_from(params, PARAMS_CQ_OFF)
        sq_size = sq[6] + sq_entries * 4
        cq_size = cq[5] + cq_entries * 16
        if self.features & IORING_FEAT.SINGLE_MMAP:
            sqmm = cqmm = self._map(self.ring_fd, max(sq_size, cq_size), IORING_OFF_SQ_RING)
        else:
            sqmm = self._map(self.ring_fd, sq_size, IORING_OFF_SQ_RING)
            cqmm = self._map(self.ring_fd, cq_size, IORING_OFF_CQ_RING)
        self._sqes = self._map(self.ring_fd, sq_entries * io_uring_sqe.size, IORING_OFF_SQES)
        self._sqw = self._view(memoryview(sqmm)[: len(sqmm) & ~3].cast("I"))
        self._sq_tail_w, self._sq_flags_w, self._sq_array_w = sq[1] // 4, sq[4] // 4, sq[6] // 4
        self._sq_mask = int(self._sqw[sq[2] // 4])
        self.cq = CompletionQueue(cqmm, cq[0], cq[1], cq[2], cq[3], cq[5])
        self._views.append(self.cq.words)

        # frames (RX, then TX) in one anonymous mapping; buffer i is frame i's data area
        lay = MappingLayout(rx, tx)
        self.mapping = lay
        self.mm = mmap.mmap(-1, lay.size)
        self._maps.append(self.mm)
        self._pin_frames: Any = pin(self.mm)
        base = address(self._pin_frames)
        entries = pow2_at_least(n)
        self._brmm = mmap.mmap(-1, max(entries * io_uring_buf.size, PAGE_SIZE))
        self._maps.append(self._brmm)
        self._pin_br: Any = pin(self._brmm)
        reg = bytearray(io_uring_buf_reg.pack(address(self._pin_br), entries, BGID, 0, 0, 0, 0))
        try:
            _u.io_uring_register(self.ring_fd, IORING_REGISTER.PBUF_RING, reg, 1)
        except OSError as exc:
            name = _errno.errorcode.get(exc.errno or 0, str(exc.errno))
            raise NotSupportedError(f"io_uring refused IORING_REGISTER_PBUF_RING: {name} "
                                    f"(provided-buffer rings need Linux 5.19)") from None
        self._registered = True
        buffers = BufferRing(self._brmm, entries,
                             [base + off + 24 for off in rx.offsets], rx.data_size)
        self._buffers = buffers

        if meta:  # the group and credentials cmsgs of every datagram
            self._dsock.setsockopt(SOL_NETLINK, NETLINK_PKTINFO, 1)
            self._dsock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._commit = memoryview(array("Q", [0]))
        producer: UringProducer | None = None

        def published() -> int:
            return producer.position if producer is not None else 0

        rxc = UringRxConsumer(self.mm, self.layout, 0, producer_position=published,
                              commit_slot=(self._commit, 0))
        self.rx = self._urx = rxc
        self.producer = producer = UringProducer(
            self.mm, self.layout, 0, buffers=buffers, cq=self.cq,
            committed=lambda: int(self._commit[0]), consumed=lambda: rxc.position,
            msg_trunc=MSG_TRUNC, msg_ctrunc=MSG_CTRUNC, decode=_decode if meta else None)
        rxc.producer = producer  # data()/messages() read ordinary completions in place
        self.txring: TxRing | None = None
        if tx is not None:
            self.txring = TxRing(self.mm, tx, lay.tx_offset)
            self.tx = self.txring.producer

        # the multishot request: a msghdr read once, at submission
        self._msg = msghdr()
        self._msg.msg_namelen = sockaddr_nl.size
        self._msg.msg_controllen = self.layout.controllen
        self._msg_addr = ctypes.addressof(self._msg)
        self._wait_buf = bytearray(io_uring_getevents_arg.size + kernel_timespec.size)
        self._pin_wait: Any = pin(self._wait_buf)
        io_uring_getevents_arg.pack_into(self._wait_buf, 0, 0, 0, 0,
                                         address(self._pin_wait) + io_uring_getevents_arg.size)
        self._wait_arg = memoryview(self._wait_buf)[: io_uring_getevents_arg.size]
        self._ud = CANCEL_UD
        self._armed = False
        self.arms = 0
        self.enters = 0
        self.waits = 0
        self.ring_full = 0
        self.overruns = 0
        self.data_ends = 0
        self.cq_flushes = 0
        self.refill_batch = max(1, n // 8)
        self.rearm_batch = max(1, n // 2)
        self._drops = self._drop_count()
        self.producer.refill()
        self._arm()

    def _map(self, fd: int, size: int, offset: int) -> mmap.mmap:
        m = _u.map_ring(fd, size, offset)
        self._maps.append(m)
        return m

    def _view(self, v: memoryview) -> memoryview:
        self._views.append(v)
        return v

    # -- the kernel ---------------------------------------------------------------------
    def _drop_count(self) -> int | None:
        from ...socket import socket_drops

        return socket_drops(self._dsock)

    def _submit(self, sqe: bytes) -> None:
        w = self._sqw
        tail = int(w[self._sq_tail_w])
        idx = tail & self._sq_mask
        self._sqes[idx * io_uring_sqe.size : (idx + 1) * io_uring_sqe.size] = sqe
        w[self._sq_array_w + idx] = idx
        w[self._sq_tail_w] = (tail + 1) & 0xFFFFFFFF
        self.enters += 1
        while True:
            try:
                _u.io_uring_enter(self.ring_fd, 1, 0, 0)
                return
            except OSError as exc:
                if exc.errno not in (_errno.EINTR, _errno.EAGAIN):
                    raise

    def _arm(self) -> bool:
        """Submit the multishot receive when it is not running and buffers are out."""
        if self._armed or self.producer.outstanding == 0:
            return False
        self._ud += 1
        self.producer.user_data = self._ud
        self._submit(io_uring_sqe.pack(
            IORING_OP.RECVMSG, IOSQE.BUFFER_SELECT, IORING_RECV_MULTISHOT, self.fd, 0,
            self._msg_addr, 1, MSG_TRUNC, self._ud, BGID, 0, 0, 0, 0))
        self._armed = True
        self.arms += 1
        return True

    def _enter_wait(self, timeout: float | None) -> None:
        """One ``io_uring_enter(GETEVENTS)`` for at least one completion, or the timeout."""
        self.enters += 1
        self.waits += 1
        try:
            if timeout is None:
                _u.io_uring_enter(self.ring_fd, 0, 1, IORING_ENTER.GETEVENTS)
            else:
                sec = max(0.0, timeout)
                kernel_timespec.pack_into(self._wait_buf, io_uring_getevents_arg.size,
                                          int(sec), int((sec - int(sec)) * 1e9))
                _u.io_uring_enter(self.ring_fd, 0, 1,
                                  IORING_ENTER.GETEVENTS | IORING_ENTER.EXT_ARG, self._wait_arg)
        except OSError as exc:
            if exc.errno not in (_errno.ETIME, _errno.EINTR):
                raise

    def _flush_overflow(self) -> None:
        """Completions the kernel kept past a full CQ come in with one GETEVENTS."""
        if self._sqw[self._sq_flags_w] & IORING_SQ.CQ_OVERFLOW:
            self.cq_flushes += 1
            self.enters += 1
            _u.io_uring_enter(self.ring_fd, 0, 0, IORING_ENTER.GETEVENTS)

    def _harvest(self, raise_errors: bool = True) -> bool:
        """Walk the completions; True when something happened (frames, an end, a cut)."""
        h = self.producer.harvest(self._ud)
        err: BaseException | None = None
        if h.ended:
            self._armed = False
            err = self._ended(h.end_res)
        if raise_errors:
            if err is not None:
                raise err
            if h.truncation is not None:
                raise TruncatedError("io_uring ring frame", h.truncation[0], h.truncation[1])
        return bool(h)

    def _ended(self, res: int) -> BaseException | None:
        """The multishot request ended with ``res``: count it; an error to raise, or None."""
        if res == -_errno.ENOBUFS:
            drops = self._drop_count()
            if drops is not None and self._drops is not None and drops != self._drops:
                self.overruns += 1  # the kernel dropped datagrams: messages were lost
            else:
                self.ring_full += 1  # every buffer was taken; the datagrams wait
            self._drops = drops
            return None
        if res >= 0 or res in (-_errno.EINTR, -_errno.ECANCELED, -_errno.EAGAIN):
            if res >= 0:
                self.data_ends += 1
            return None
        name = _errno.errorcode.get(-res, str(-res))
        if res == -_errno.EINVAL and self.arms == 1:
            return NotSupportedError("io_uring refused multishot IORING_OP_RECVMSG with "
                                     "IOSQE_BUFFER_SELECT: EINVAL (needs Linux 6.0)")
        return OSError(-res, f"io_uring multishot recvmsg: {name} ({os.strerror(-res)})")

    # -- RingBase ----------------------------------------------------------------------
    def _overruns(self) -> int:
        return self.overruns

    def _room(self) -> None:
        p = self.producer
        if p.room() >= self.refill_batch:
            p.refill()
        if not self._armed and p.outstanding >= self.rearm_batch:
            self._arm()

    def _wait(self, timeout: float | None) -> bool:
        if self._closed:
            raise RingError("the io_uring ring is closed")
        if self._look():
            return True
        self.producer.refill()
        if self._arm() and self._look():  # the submission received what was queued
            return True
        self._flush_overflow()
        if self._look():
            return True
        if not self._armed:  # the consumer holds every frame: nothing can arrive
            if timeout is None or timeout > 0:
                time.sleep(FULL_WAIT if timeout is None else min(timeout, FULL_WAIT))
            return False
        if timeout is not None and timeout <= 0:
            return False
        self._enter_wait(timeout)
        return self._look()

    def _look(self) -> bool:
        """True when completions wait: ordinary ones at the CQ head are left where they
        are (the consumer reads them in place, or publishes them itself); anything else
        at the head (an end, a cut datagram) is walked here (:meth:`_harvest`)."""
        p = self.producer
        if p.head_ordinary():
            return True
        if not p.cq.pending():
            if not (self.cooperative and self._sqw[self._sq_flags_w] & IORING_SQ.TASKRUN):
                return False
            self.enters += 1  # the receive waits as task work: run it
            _u.io_uring_enter(self.ring_fd, 0, 0, IORING_ENTER.GETEVENTS)
            if p.head_ordinary():
                return True
            if not p.cq.pending():
                return False
        return self._harvest()

    def _rx(self) -> RxConsumer:
        """The consumer; a closed ring's memory is gone, so it refuses (RingError)."""
        if self.rx is None or self._closed:
            raise RingError(f"{self!r} is closed")
        return self.rx

    def _take_run(self, limit: int) -> tuple[Any, list[int], list[int]] | None:
        """The common case of :meth:`data`: datagrams read where the kernel put them,
        straight from the completions: no frame header is written for them and no
        status word changes (:meth:`UringRxConsumer.take_run`).  Published frames,
        kept frames and everything unusual go through the common consumer."""
        run = self._urx.take_run(limit)
        return None if run is None else (self.producer.buf, run[0], run[1])

    def _take_views(self, limit: int) -> list[memoryview] | None:
        """:meth:`_take_run` as views; a frame's view is made again only when its
        datagram's length changed (:meth:`UringProducer.take_views`)."""
        return self._urx.take_views(limit)

    def _settle_run(self, taken: int) -> None:
        """``taken`` datagrams of the last run were delivered
        (:meth:`UringRxConsumer.settle_run`)."""
        self._urx.settle_run(taken)

    def _run_positions(self) -> tuple[int, int]:
        """The consumer's position and the producer's (published frames move it)."""
        return self._urx.position, self.producer.prod.position

    def fileno(self) -> int:
        """The io_uring descriptor: readable (POLLIN) when completions wait."""
        return self.ring_fd

    def sender(self, frame: Frame) -> int:
        """The sender's port id of a delivered frame (``sockaddr_nl.nl_pid``)."""
        d = self.producer.prod.ring.data[frame.index] + 16
        return int(sockaddr_nl.unpack_from(self.mm, d)[2])

    def truncated_head(self, size: int = 64) -> bytes | None:
        """The first ``size`` bytes of the datagram the last :class:`TruncatedError` reported
        (its frame is published empty, but the kernel copied :attr:`capacity` bytes of it),
        or ``None`` when nothing was cut.  Read it before the next receive: the frame goes
        back to the kernel then.  A consumer that must answer every message (an nfqueue
        packet needs its verdict) finds the message's header and id here."""
        i = self.producer.cut_frame
        if i < 0 or self._closed:
            return None
        d = self.producer.prod.ring.data[i] + self.layout.prefix
        return bytes(self.mm[d : d + min(size, self.layout.capacity)])

    @property
    def capacity(self) -> int:
        """The largest datagram a frame holds whole."""
        return self.layout.capacity

    def flush(self, portid: int = 0, groups: int = 0) -> FlushResult:
        """Send all VALID TX frames in ring order with one ``sendmsg``, then release them."""
        if self.txring is None:
            raise RingError(f"{self!r} has no TX ring")
        return flush_frames(self.sock, self.txring.sender, portid, groups)

    def stats(self) -> dict[str, int]:
        """Counters: the kernel calls made, how the receive ended, what was delivered."""
        out = self.producer.stats()
        out.update({"frames": self.layout.geometry.frame_nr, "capacity": self.layout.capacity,
                    "enters": self.enters, "waits": self.waits, "arms": self.arms,
                    "ring_full": self.ring_full, "enobufs": self.overruns,
                    "data_ends": self.data_ends, "cq_flushes": self.cq_flushes,
                    "cooperative": int(self.cooperative)})
        rx = self.rx
        if rx is not None:
            out["delivered"] = rx.delivered
            out["empty_released"] = rx.empty_released
        return out

    # -- teardown ----------------------------------------------------------------------
    def close(self) -> None:
        """Stop the receive, then unmap the ring (frames and views become invalid)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._armed:
                self._submit(io_uring_sqe.pack(IORING_OP.ASYNC_CANCEL, 0, 0, -1, 0, self._ud,
                                               0, 0, CANCEL_UD, 0, 0, 0, 0, 0))
                deadline = time.monotonic() + CANCEL_TIMEOUT
                while self._armed and time.monotonic() < deadline:
                    if not self._harvest(raise_errors=False):
                        self._enter_wait(max(0.001, deadline - time.monotonic()))
        finally:
            self._teardown()

    def _teardown(self) -> None:
        if getattr(self, "_registered", False):
            reg = bytearray(io_uring_buf_reg.pack(0, 0, BGID, 0, 0, 0, 0))
            try:
                _u.io_uring_register(self.ring_fd, IORING_UNREGISTER.PBUF_RING, reg, 1)
            except OSError:
                pass  # the ring's close below frees the group as well
            self._registered = False
        if self.ring_fd >= 0:
            os.close(self.ring_fd)  # no request is left: the receive ended above
            self.ring_fd = -1
        rx = self.rx
        if rx is not None:
            rx.ring.words.release()
            rx.ring.buf.release()
        producer = getattr(self, "producer", None)
        if producer is not None:
            producer.release()
        tx = getattr(self, "txring", None)
        if tx is not None:
            for c in (tx.producer, tx.sender):
                c.ring.words.release()
                c.ring.buf.release()
        b = getattr(self, "_buffers", None)
        if b is not None:
            b.release()
        for v in self._views:
            v.release()
        self._views.clear()
        wa = getattr(self, "_wait_arg", None)
        if wa is not None:
            wa.release()
        self._pin_frames = None
        self._pin_br = None
        for m in self._maps:
            try:
                m.close()
            except BufferError:
                # a frame view the program still holds: the kernel is done with the
                # memory (its ring is closed), so the mapping goes when the view does
                pass
        self._maps.clear()
        if self._own_dsock:
            self._dsock.close()

    def __repr__(self) -> str:
        g = self.layout.geometry
        return (f"<UringRing backend=uring frames={g.frame_nr}x{g.frame_size} "
                f"capacity={self.layout.capacity} armed={self._armed} "
                f"{'cooperative ' if self.cooperative else ''}"
                f"reason={self.reason!r}>")


# -- what the kernel allows ------------------------------------------------------------
def _opcodes(ring_fd: int) -> set[int]:
    """Opcodes ``IORING_REGISTER_PROBE`` calls supported."""
    nops = 64
    buf = bytearray(io_uring_probe.size + nops * io_uring_probe_op.size)
    _u.io_uring_register(ring_fd, IORING_REGISTER.PROBE, buf, nops)
    last, ops_len = io_uring_probe.unpack_from(buf)[:2]
    out = set()
    for k in range(min(ops_len, nops)):
        op, _r, flags, _r2 = io_uring_probe_op.unpack_from(
            buf, io_uring_probe.size + k * io_uring_probe_op.size)
        if flags & IO_URING_OP_SUPPORTED:
            out.add(op)
    del last
    return out


def probe(protocol: int = NETLINK.USERSOCK) -> dict[str, Any]:
    """Try the io_uring backend end to end on this kernel.

    Sets up a ring, asks which opcodes it has, then opens a one-frame-per-buffer
    :class:`UringRing` on a fresh ``protocol`` socket, sends that socket one
    message and reads it back from a frame (group and credentials included).

    Returns:
        ``{"available": bool, "reason": str, "features": "0x..." | None,
        "io_uring_disabled": int | None}``: ``reason`` says why not, or what works.
    """
    out: dict[str, Any] = {"available": False, "reason": "", "features": None,
                           "io_uring_disabled": _u.io_uring_disabled()}
    params = bytearray(io_uring_params.size)
    try:
        fd = _u.io_uring_setup(2, params)
    except OSError as exc:
        out["reason"] = _u.refusal(exc)
        return out
    try:
        features = io_uring_params.unpack_from(params)[5]
        out["features"] = f"{features:#x}"
        missing = REQUIRED_FEATURES & ~features
        if missing:
            out["reason"] = f"io_uring lacks {IORING_FEAT(missing)!r}"
            return out
        try:
            ops = _opcodes(fd)
        except OSError as exc:
            out["reason"] = f"IORING_REGISTER_PROBE: {_errno.errorcode.get(exc.errno or 0)}"
            return out
        for op in (IORING_OP.RECVMSG, IORING_OP.ASYNC_CANCEL):
            if op not in ops:
                out["reason"] = f"io_uring has no IORING_OP_{op.name}"
                return out
    finally:
        os.close(fd)
    try:
        out["reason"] = _roundtrip(protocol)
        out["available"] = True
    except NotSupportedError as exc:
        out["reason"] = str(exc)
    except (OSError, RingError) as exc:
        out["reason"] = f"multishot receive failed: {type(exc).__name__}: {exc}"
    return out


def _roundtrip(protocol: int) -> str:
    """One message through a small ring; what worked, in words (raises otherwise)."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, protocol) as s:
        s.bind((0, 0))
        portid = s.getsockname()[0]
        msg = nlmsghdr.pack(20, NLMSG.MIN_TYPE, 0, 7, portid) + b"ping"
        ring = UringRing(s, RingGeometry.for_frames(512, 4, page_size=PAGE_SIZE))
        try:
            s.sendto(msg, (portid, 0))
            f = ring.recv(timeout=1.0)
            if f is None:
                raise RingError("nothing arrived within 1 s")
            got, pid = bytes(f.data), f.pid
            ring.release(f)
            f.data.release()
            if got != msg or pid != os.getpid():
                raise RingError(f"the frame does not hold the message sent ({got!r}, pid {pid})")
        finally:
            ring.close()
    return "multishot IORING_OP_RECVMSG into a provided-buffer ring works"


@functools.lru_cache(maxsize=1)
def support() -> dict[str, Any]:
    """:func:`probe`, once per process (what :func:`~netring.nlmmap.open_ring` consults)."""
    return probe()
