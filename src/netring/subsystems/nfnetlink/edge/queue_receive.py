"""A queue's receive path: :class:`QueueReceive`, a part of :class:`~.queue.Queue`;
what one receive hands out is a :class:`~.queue_verdicts.PacketBatch`.

One ``recvmmsg`` fills up to ``batch`` slots of one arena (fixed stride, set up
once); one big-endian ``unpack`` of the whole arena reads every slot's
``nlmsg_type``, queue (``res_id``) and packet id at their fixed offsets, so a
batch of whole packets from one queue costs no per-packet Python at all::

    arena:  | slot 0 | slot 1 | ... |    stride: copy range + headroom, 64-aligned

    a slot: 0         4           6        16        18       20       24          28
            | nlmsg_len | nlmsg_type | ...  | nfgenmsg  | res_id | nlattr | packet_id | ...
                        '--- H ----'         (fam,ver) '-- H --'         '--- I ----'
            read as "4xH12xH4xI", padded to the stride, repeated per slot

    all NFQNL_MSG_PACKET, none filling its slot  -> PacketBatch(queue, ids, slots)  (_take)
    one datagram (batch 1, or a quiet queue)     -> the same, read with one small
                                                    unpack (_take_one; batch 1, and the
                                                    receive after a sleep, use recv_into,
                                                    MSG_TRUNC telling a cut)
    anything else (cut, several per datagram,    -> one message at a time over the
      an error answering a verdict)                 connection's primitives   (_take_slow)

The slow path keeps the one reply rule (:func:`~netring.codec.reply.classify`):
with no request pending, a kernel message with a sequence number is a stale
reply -- here, the error answering a verdict
(:meth:`~.queue_verdicts.QueueVerdicts._verdict_reply`).  Packets that arrived while a
request waited were kept by the connection and come first (:meth:`_take_kept`).
Ids are followed per queue: a skipped id is a packet the kernel failed to send
(counted: ``id_gaps``).

Lifetimes: a :class:`PacketBatch` and its packets view the slots: **valid until
the next receive**.

The ring receive path (``Queue(ring="uring")``, :meth:`QueueReceive._recv_ring`)
reads the datagrams from netlink RX ring frames instead (io_uring fills them
without a system call per datagram; :func:`~netring.nlmmap.edge.factory.open_ring`
picks the backend).  A run of one queue's whole packets in consecutive frames is
read there and copied into the slots with one strided copy (then it is a slots
batch, :meth:`QueueReceive._take_ring_run`); every other datagram goes through
the same per-datagram path (:meth:`QueueReceive._dispatch`), so verdict errors,
stale replies and notifications are handled as on the slow path; frames read one
by one are held until the next receive, then released (the same lifetime as the
slots)::

    ring frame: | nl_mmap_hdr | io_uring_recvmsg_out | sockaddr_nl | datagram ... |
                 <--------------- RING_PREFIX ----------------------> <- slot ->

The receive path is methods of the one ``Queue`` class (no per-packet call
through another object); this module only keeps it apart from the verdict
bookkeeping (:mod:`.queue_verdicts`) and the configuration (:mod:`.queue_config`).
"""

from __future__ import annotations

import errno as _errno
import struct
import sys
import time
from itertools import repeat
from operator import add as _add

from .... import _sys
from ...._sys.poll import Readable
from ...._sys.sigstop import SignalStop, StopOnSignal, wait_or_stop
from ....codec import NLMSG, Message
from ....codec.reply import classify
from ....codec.structs import be32 as _be32
from ....codec.types import TYPE_CHECKING
from ....conn import Chunk
from ....errors import DecodeError, EncodeError, NetlinkError, Overrun, TruncatedError
from ....strided import copy_strided
from ..queue.constants import NFQNL_COPY, NFQNL_QMAX_DEFAULT
from ..queue.packet import NFQNL_PACKET_TYPE, PACKET_ID_OFFSET
from .queue_verdicts import PacketBatch, QueueVerdicts

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ....nlmmap.base import RingBase
    from ....nlmmap.cursor import Frame
    from ....nlmmap.edge.transport import RingTransport
    from ....nlmmap.geometry import RingGeometry

__all__ = ["QueueReceive", "ring_geometry", "open_queue_ring", "RING_AHEAD", "RING_BACKENDS",
           "RING_FRAMES"]

#: slot bytes beyond the copy range: the nfnetlink header and metadata attributes
#: (conntrack nest, secctx, L2 header ...)
_SLOT_HEADROOM = 1024

_NLMSG_ERROR = int(NLMSG.ERROR)
_PACKET = int(NFQNL_PACKET_TYPE)
#: a packet's nlmsg_type (host order) read as a big-endian u16
_PACKET_BE = int.from_bytes(_PACKET.to_bytes(2, sys.byteorder), "big")
_NO_REQUEST = -1  # a sequence number no message carries: "no request is pending"
#: seconds: how often a ring wait looks for a stop request (stop_on_signal)
STOP_SLICE = 0.05
#: one datagram's nlmsg_type (host order, read big-endian), res_id and packet id
_ONE = struct.Struct("!4xH12xH4xI")
#: a one-datagram receive: never blocks, and returns the datagram's whole length
_RECV_ONE_FLAGS = _sys.MSG_DONTWAIT | _sys.MSG_TRUNC
#: a ring run's datagram: nlmsg_len and nlmsg_type (host order) ...
_RUN_HEAD = struct.Struct("=IH")
#: ... and, 18 bytes in, nfgenmsg's res_id (the queue) and the packet id (big-endian)
_RUN_QID = struct.Struct("!H4xI")

#: what ``Queue(ring=...)`` takes (:func:`~netring.nlmmap.edge.factory.open_ring`'s backends)
RING_BACKENDS = ("auto", "kernel", "uring", "user")
#: bytes the largest ring prefix puts before a datagram in a frame: ``nl_mmap_hdr`` (24),
#: then, for io_uring, ``io_uring_recvmsg_out`` (16) and the ``sockaddr_nl`` name (12)
RING_PREFIX = 24 + 16 + 12


def _qid_reader(cache: dict[int, struct.Struct], n: int, stride: int) -> struct.Struct:
    """One big-endian unpack of ``n`` datagrams ``stride`` bytes apart: each one's
    nlmsg_type (host order, so a packet's reads as ``_PACKET_BE`` on this host), res_id
    (the queue) and packet_id; made once per ``n`` (a quiet queue brings one at a time:
    it reads one datagram, not the whole run)."""
    reader = cache.get(n)
    if reader is None:
        reader = cache[n] = struct.Struct(
            "!" + f"4xH12xH4xI{stride - 28}x" * (n - 1) + "4xH12xH4xI")
    return reader


class _Peek:
    """A run of one queue's packets read ahead from a ring: all copied into the receive
    slots, ``next`` onwards still unsettled in the ring, whose consumer and producer
    stood at ``position`` when the last part was handed out."""

    __slots__ = ("queue", "ids", "lens", "next", "position")

    def __init__(self, queue: int, ids: Sequence[int], lens: list[int], nxt: int) -> None:
        self.queue = queue
        self.ids = ids
        self.lens = lens
        self.next = nxt
        self.position = -1


def slot_size(copy_mode: int, copy_range: int) -> int:
    """Bytes one datagram may take: the copy range (PACKET mode) plus the headroom for
    the nfnetlink header and metadata attributes, 64-aligned (a receive slot; a larger
    datagram is cut)."""
    full = copy_range if copy_mode == NFQNL_COPY.PACKET else 0
    return (full + _SLOT_HEADROOM + 63) & ~63


#: Fewest frames of a queue's ring: every packet a kernel queue of the default length
#: (``NFQNL_QMAX_DEFAULT``) holds.  A consumer that falls behind by that much still
#: finds a free frame for each datagram: with 128 frames io_uring's multishot receive
#: ran out of buffers every ~128 packets under a 512-packet load (an
#: ``io_uring_enter`` to re-arm it each time, 4.8-5.5 us of CPU a verdict against
#: 3.5-4.0 with 1024).  Frames are as large as a ``copy_range`` packet, but the
#: mapping is backed only where datagrams were written: about one page per frame
#: for small packets.
RING_FRAMES = NFQNL_QMAX_DEFAULT
#: Datagrams a ring receive reads at once, whatever the batch (the rest of the run is
#: handed out by the next receives, from its copies in the receive slots): a small
#: batch then pays the ring's per-run checks once per run, not once per batch
RING_AHEAD = 64


def ring_geometry(slot: int, batch: int, page_size: int) -> RingGeometry:
    """The RX ring geometry of a queue: frames that hold a ``slot``-byte datagram behind
    any backend's prefix (:data:`RING_PREFIX`), whole pages each, and room for two
    batches and for a whole default-length kernel queue (:data:`RING_FRAMES`; a power
    of two: io_uring's buffer ring never rewrites an entry then)."""
    from ....nlmmap.geometry import RingGeometry

    frame = -(-(slot + RING_PREFIX) // page_size) * page_size
    n = 1 << max(0, (max(2 * batch, RING_FRAMES) - 1).bit_length())
    return RingGeometry.for_frames(frame, n, page_size=page_size)


def open_queue_ring(sock: Any, backend: str, slot: int, batch: int) -> RingBase:
    """A netlink RX ring on the queue's socket (no TX ring: verdicts go out with
    ``sendmsg``; no group or credential cmsgs: the socket is connected to the kernel).

    Raises:
        EncodeError: ``backend`` is not one of :data:`RING_BACKENDS`.
        NotSupportedError: the backend asked for cannot be opened here (``"auto"``
            falls back as :func:`~netring.nlmmap.edge.factory.open_ring` does).
    """
    if backend not in RING_BACKENDS:
        raise EncodeError(f"ring must be None or one of {RING_BACKENDS}, not {backend!r}")
    from ...._sys.mapping import PAGE_SIZE
    from ....nlmmap.edge.factory import open_ring

    # cooperative: a verdict goes out after every batch, and io_uring's receive runs
    # at those calls instead of interrupting the consumer per datagram
    return open_ring(sock, ring_geometry(slot, batch, PAGE_SIZE), None, backend=backend,
                     meta=False, cooperative=True)


class QueueReceive(QueueVerdicts, StopOnSignal):
    """The receive hot path of a :class:`~.queue.Queue` (a mixin: the state it reads
    is set up by ``Queue.__init__``; its receive slots by :meth:`_make_slots`).

    Built on :class:`~.queue_verdicts.QueueVerdicts`: a receive first settles the
    verdicts of what it handed out before (sends them, gives the policy verdict to
    the packets left without one, keeps the window), and its batches give their
    verdicts there.
    """

    _last_id: dict[int, int]
    _fd: int
    #: the socket's recv_into (a one-datagram receive)
    _recv_into: Any
    _poll: Readable
    _mb: Any
    #: while :meth:`stop_on_signal` is active: a poll over the socket and the wake pipe
    _stop_poll: Readable | None = None

    _ring: RingBase | None
    _rt: RingTransport | None
    _frames: list[Frame]
    #: a run read ahead from the ring, handed out over the next receives
    _peek: _Peek | None = None
    #: bytes between a ring's frames when they lie one stride apart (0: they do not,
    #: and runs are copied out one by one), and _qid_reader's structs for them
    _run_stride = 0
    _run_qids: dict[int, struct.Struct]

    def _make_slots(self, copy_mode: int, copy_range: int, batch: int,
                    ring: bool = False) -> None:
        """The receive slots: one arena, fixed stride (``Queue.__init__`` calls it; a
        ring receive copies the common case of its runs there too, and has at least
        :data:`RING_AHEAD` slots to read ahead into).  Pages of the arena are backed
        as datagrams land in them."""
        self._slot = slot_size(copy_mode, copy_range)
        self._n = batch
        self._run_qids = {}
        n = max(batch, RING_AHEAD) if ring else batch
        self._arena = bytearray(self._slot * n)
        arena = memoryview(self._arena)
        self._regions = [arena[i * self._slot:(i + 1) * self._slot] for i in range(n)]
        self._strided = (arena, self._slot)  # what a batch of whole slots tells copies
        self._qids: dict[int, struct.Struct] = {}  # _qid_reader's, by datagram count

    # -- receiving -----------------------------------------------------------------------
    def _batch(self) -> Any:
        mb = self._mb
        if mb is None:
            raise EncodeError("the queue is closed")
        return mb

    def recv_batch(self, timeout: float | None = None, *, block: bool = True,
                   limit: int | None = None) -> PacketBatch:
        """Receive up to ``batch`` packets with one ``recvmmsg`` (the hot path).

        Verdicts recorded so far are sent first; packets of the previous batch without
        a verdict get the policy verdict (counted).

        Args:
            timeout: seconds to wait for the first packet (``None``: forever).
            block: ``False``: return at once (possibly an empty batch).
            limit: receive at most this many packets.

        Returns:
            A :class:`PacketBatch` (empty after ``timeout``), valid until the next receive.
        """
        if self._current is not None:
            self._release_current()
        if self._frames:
            self._release_frames()
        if self._released:
            self._apply_released()
        b = self.batcher
        room = min(self._n, self.window, self._n if limit is None else max(1, limit))
        if b.in_flight + room > self.window:
            self._enforce_window(room)
        if self.conn.pending:
            kept = self._take_kept()
            if kept is not None:
                self._flush(force=False)
                return kept
        self._flush(force=False)
        if self._ring is not None:
            return self._recv_ring(self._ring, timeout, block, room)
        mb = self._batch()
        fd = self._fd
        one = room == 1  # one datagram: recv_into (no recvmmsg header set to restore)
        got = 0
        try:
            got = self._recv_one() if one else mb.recv(fd, _sys.MSG_DONTWAIT, room)
            if not got and block:
                self._flush(force=True)  # nothing may wait while we sleep
                deadline = None if timeout is None else time.monotonic() + timeout
                # woken from a sleep, the queue was quiet: most likely one packet came,
                # and it is handed out at once (a burst's others: the next receive)
                one = True
                while not got:
                    left = None if deadline is None else deadline - time.monotonic()
                    if (left is not None and left <= 0) or not self._sleep(left):
                        break
                    got = self._recv_one()
        except OSError as exc:
            if exc.errno != _errno.ENOBUFS:
                raise
            self.conn.overrun()  # counted (stats().enobufs): packets were lost or failed open
            got = 0
        if not got:
            return PacketBatch(self, -1, (), ())
        if one:
            return self._take_one(got, got > self._slot)
        return self._take(mb, got)

    def _recv_one(self) -> int:
        """One datagram into the first slot; its whole length (``MSG_TRUNC``: beyond
        the slot when it was cut), 0 when none waits."""
        try:
            return int(self._recv_into(self._regions[0], self._slot, _RECV_ONE_FLAGS))
        except BlockingIOError:
            return 0

    def _ring_opened(self, ring: RingBase) -> None:
        """The receive now reads ``ring``: note the stride of its frames."""
        rx = ring.rx
        g = rx.ring.geometry if rx is not None else None
        self._run_stride = g.frame_size if g is not None and g.uniform else 0

    def _stopping(self, stop: SignalStop | None) -> None:
        self._stop_poll = None if stop is None else Readable(self._fd, stop.fd)

    def _sleep(self, timeout: float | None) -> bool:
        """Wait for the socket: false at the timeout, or at once when a stop was
        requested (:meth:`stop_on_signal`; a request made just before the sleep
        wakes it through the signal's wake pipe)."""
        stop = self._stop
        if stop is None:
            return self._poll.wait(timeout)
        return wait_or_stop(self._fd, timeout, stop, self._stop_poll)

    def _ring_sleep(self, ring: RingBase, timeout: float | None) -> bool:
        """The ring's wait, in slices of :data:`STOP_SLICE` while a stop can be
        requested (the ring's own wait does not watch the wake pipe)."""
        stop = self._stop
        if stop is None:
            return ring._wait(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not stop.requested:
            left = STOP_SLICE if deadline is None else min(
                STOP_SLICE, max(0.0, deadline - time.monotonic()))
            if ring._wait(left):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return False

    def _take(self, mb: Any, got: int) -> PacketBatch:
        if got == 1:  # a quiet queue's receive
            return self._take_one(mb.lengths[0], mb.truncated(0))
        st = self._stats
        st.batches += 1
        qids = _qid_reader(self._qids, got, self._slot).unpack_from(self._arena)
        lens = mb.lengths[:got]
        # the socket is connected to the kernel (only it can send to us); a datagram
        # that filled its slot may have been cut (MSG_TRUNC): the slow path looks
        if qids[0:3 * got:3].count(_PACKET_BE) == got and max(lens) < self._slot:
            qs = qids[1:3 * got:3]
            ids = qids[2:3 * got:3]
            slots = self._regions  # whole slots: a packet view reads within nlmsg_len
            st.bytes += sum(lens)
            q = qs[0]
            if qs.count(q) == got:
                return self._one_queue(q, ids, slots, self._strided)
            st.packets += got
            for q, i in zip(qs, ids, strict=True):
                self._gaps(q, i, i, 1)
                self.batcher.received(q, i)
            batch = PacketBatch(self, -1, ids, slots, qs, strided=self._strided)
            self._current = batch
            return batch
        return self._take_slow(mb, got)

    def _one_queue(self, q: int, ids: Sequence[int], slots: Sequence[memoryview],
                   strided: tuple[memoryview, int] | None) -> PacketBatch:
        """Whole packets of queue ``q``, ids in arrival order: the bookkeeping in bulk
        (a gap check on the ends only, one ``received_many``); the current batch."""
        got = len(ids)
        self._stats.packets += got
        prev = self._last_id.get(q)
        last = ids[-1]
        if prev is not None and last - prev != got:  # else: no id was skipped
            self._gaps(q, ids[0], last, got)
        else:
            self._last_id[q] = last
        self.batcher.received_many(q, ids)
        batch = PacketBatch(self, q, ids, slots, strided=strided)
        self._current = batch
        return batch

    def _gaps(self, queue: int, first: int, last: int, n: int) -> None:
        prev = self._last_id.get(queue)
        if prev is not None:
            d = (first - prev) & 0xFFFFFFFF
            if 0 < d < 0x80000000:
                self._stats.id_gaps += d - 1
        self._stats.id_gaps += ((last - first) & 0xFFFFFFFF) - (n - 1)
        self._last_id[queue] = last

    def _take_one(self, n: int, cut: bool) -> PacketBatch:
        """The one datagram of ``n`` bytes in the first slot (``cut``: it did not fit).
        One whole packet takes the batch path's steps with no per-batch struct or
        columns; anything else goes the slow way."""
        st = self._stats
        st.batches += 1
        if n < self._slot:
            kind, q, pid = _ONE.unpack_from(self._arena)
            if kind == _PACKET_BE:
                st.bytes += n
                return self._one_queue(q, (pid,), self._regions, self._strided)
        return self._take_datagrams([(self._regions[0][:min(n, self._slot)], cut)])

    def _take_slow(self, mb: Any, got: int) -> PacketBatch:
        """A batch holding something other than whole packets from the kernel."""
        return self._take_datagrams([(mb.view(i), mb.truncated(i)) for i in range(got)])

    def _take_datagrams(self, datagrams: Sequence[tuple[memoryview, bool]]) -> PacketBatch:
        """Datagrams (each a view and whether it was cut) one at a time: cut ones
        counted and given the policy verdict, the rest through :meth:`_dispatch`."""
        ids: list[int] = []
        qs: list[int] = []
        slots: list[memoryview] = []
        for view, cut in datagrams:
            if cut:
                self._cut(view)
                continue
            self._dispatch_datagram(view, ids, qs, slots)
        if not ids:
            self._apply_released()
            return PacketBatch(self, -1, (), ())
        return self._hand_out(ids, qs, slots)

    def _cut(self, head: Any) -> None:
        """A datagram larger than its slot or frame (MSG_TRUNC): counted; a packet (its
        header and id are in ``head``, the datagram's first bytes) cannot be shown whole,
        so it gets the policy verdict.  The socket is connected to the kernel: nobody
        else reaches it, so a packet message is the kernel's."""
        self._stats.truncated += 1
        if (head is not None and len(head) >= PACKET_ID_OFFSET + 4
                and int.from_bytes(head[4:6], sys.byteorder) == _PACKET):
            q = int.from_bytes(head[18:20], "big")
            pid = int(_be32.unpack_from(head, PACKET_ID_OFFSET)[0])
            self._gaps(q, pid, pid, 1)
            self.batcher.received(q, pid)
            self._stats.packets += 1
            self._released.append((q, pid))

    # -- the ring receive path ---------------------------------------------------------
    def _recv_ring(self, ring: RingBase, timeout: float | None, block: bool,
                   room: int) -> PacketBatch:
        """Up to ``room`` datagrams from the ring's frames, each through :meth:`_dispatch`.

        The frames stay held (the batch's packets view them) until the next receive
        releases them (:meth:`_release_frames`).  A ring overrun (the kernel dropped
        datagrams: ENOBUFS) is counted as the socket's (``stats().enobufs``); a cut
        datagram is counted and its packet given the policy verdict (:meth:`_cut`).
        """
        rt = self._rt
        if rt is not None:
            rt.release()  # the frame of the last reply a request read (else it stalls the ring)
        held = self._frames
        st = self._stats
        ids: list[int] = []
        qs: list[int] = []
        slots: list[memoryview] = []
        got = 0
        wait: float | None = 0.0  # a look first; the timeout only after sending verdicts
        slept = False
        rx = ring._rx()
        if self._peek is not None:
            peeked = self._from_peek(ring, room)
            if peeked is not None:
                return peeked
        ahead = max(room, len(self._regions))  # a run beyond room: read ahead (_peek)
        run = ring._take_run(ahead)
        if run is None and block and not rx.ready():
            # nothing published: wait for the kernel, then take what came in place (a
            # look that found the receive ended re-arms it and waits once more)
            self._flush(force=True)  # nothing may wait while we sleep
            deadline = None if timeout is None else time.monotonic() + timeout
            for _ in range(3):
                ring._room()
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    woke = self._ring_sleep(ring, left)
                except TruncatedError:  # found on the way (as ring.recv would raise it)
                    head = getattr(ring, "truncated_head", None)
                    self._cut(head() if head is not None else None)
                    got = 1
                    break
                run = ring._take_run(ahead)
                if run is not None or not woke or rx.ready():
                    break
            slept = True
        if run is not None:
            return self._take_ring_run(ring, run, room)
        if ring.backend == "user" and rx.ready():
            return self._take_ring_frames(ring, rx, room)
        while got < room:
            if got and not rx.ready():
                break  # the published frames are read: what follows is taken in place next
            try:
                f = ring.recv(wait)
            except TruncatedError:
                head = getattr(ring, "truncated_head", None)
                self._cut(head() if head is not None else None)
                got += 1
                wait = 0.0
                continue
            except Overrun:
                self.conn.overrun()  # counted (stats().enobufs); the ring stays usable
                break
            if f is None:
                if got or not block or slept:
                    break
                self._flush(force=True)  # nothing may wait while we sleep
                wait, slept = timeout, True
                continue
            held.append(f)
            got += 1
            wait = 0.0  # the rest of the batch: only what is there already
            data = f.data
            st.bytes += len(data)
            self._dispatch_datagram(data, ids, qs, slots)
        if got:
            st.batches += 1
        if not ids:
            if held:
                self._release_frames()
            self._apply_released()
            return PacketBatch(self, -1, (), ())
        return self._hand_out(ids, qs, slots)

    def _take_ring_run(self, ring: RingBase, run: tuple[Any, list[int], list[int]],
                       room: int) -> PacketBatch:
        """Up to ``room`` datagrams of a run the ring hands out in place (io_uring:
        straight from the completions, :meth:`~netring.nlmmap.base.RingBase._take_run`),
        copied out and settled at once, so their frames go back to the kernel now and
        a request that reads its reply from the ring meanwhile finds the ring
        consistent.

        The common case (consecutive frames one stride apart, each one whole packet of
        one queue that fits a receive slot) is read where it lies and copied into the
        receive slots with one strided copy of the frames' used bytes, the whole run
        at once: the batch is the slots', as a ``recvmmsg``'s is (valid until the next
        receive), and what lies beyond ``room`` stays unsettled in the ring, its copy
        kept for the next receives (:meth:`_from_peek`).  Anything else is copied
        datagram by datagram (the copies are the batch's slots, valid as long as they
        are referenced): :meth:`_take_copies`.
        """
        buf, starts, lens = run
        got = len(starts)
        stride = self._run_stride
        s0 = starts[0]
        if (stride and got <= len(self._regions) and starts[-1] - s0 == (got - 1) * stride
                and max(lens) < self._slot and min(lens) >= PACKET_ID_OFFSET + 4):
            qids = _qid_reader(self._run_qids, got, stride).unpack_from(buf, s0)
            qs = qids[1:3 * got:3]
            if qids[0:3 * got:3].count(_PACKET_BE) == got and qs.count(qs[0]) == got:
                arena, slot = self._strided
                copy_strided(arena, 0, slot, buf, s0, stride, max(lens), got)
                ids = qids[2:3 * got:3]
                if got > room:
                    self._peek = _Peek(qs[0], ids, lens, room)
                return self._hand_run(ring, qs[0], ids, lens, 0, min(room, got))
        got = min(got, room)
        copies = list(map(bytes, map(buf.__getitem__,
                                     map(slice, starts[:got], map(_add, starts, lens)))))
        self._settle_ring_run(ring, got)
        return self._take_copies(copies, lens[:got])

    def _from_peek(self, ring: RingBase, room: int) -> PacketBatch | None:
        """The next datagrams of the run read ahead (:meth:`_take_ring_run`), from
        their copies in the slots, when the ring is where that run left it; ``None``
        when something else read the ring meanwhile (a request's reply, a frame by
        frame receive: those datagrams went that way, and the copies are forgotten)."""
        pk = self._peek
        self._peek = None
        if pk is None or ring._run_positions() != (pk.position, pk.position):
            return None
        i = pk.next
        k = min(room, len(pk.ids) - i)
        if i + k < len(pk.ids):
            pk.next = i + k
            self._peek = pk
        return self._hand_run(ring, pk.queue, pk.ids[i:i + k], pk.lens, i, k)

    def _hand_run(self, ring: RingBase, q: int, ids: Sequence[int], lens: list[int],
                  first: int, k: int) -> PacketBatch:
        """Slots ``first .. first+k`` (copies of the run's next ``k`` datagrams, the
        packets ``ids[:k]`` of queue ``q``) as the batch: the datagrams settled in the
        ring, then the slots batch."""
        self._settle_ring_run(ring, k)
        if self._peek is not None:
            at = ring._run_positions()
            self._peek.position = at[0] if at is not None and at[0] == at[1] else -1
        st = self._stats
        st.batches += 1
        st.bytes += sum(lens[first:first + k])
        arena, slot = self._strided
        return self._one_queue(q, ids[:k], self._regions[first:first + k],
                               (arena[first * slot:], slot) if first else self._strided)

    def _settle_ring_run(self, ring: RingBase, got: int) -> None:
        """The run's ``got`` datagrams are out: settled, the buffers back to the kernel
        (the receive re-armed if it ended), an overrun seen meanwhile counted."""
        ring._settle_run(got)
        ring._room()
        self._ring_overrun(ring)

    def _take_ring_frames(self, ring: RingBase, rx: Any, room: int) -> PacketBatch:
        """The published frames of the user-space engine's ring (the recvmmsg filler),
        up to ``room``, copied out and released as they are read (the consumer's
        ``iter_data``), then :meth:`_take_copies`; an overrun the filler saw is counted
        after them (:meth:`_ring_overrun`)."""
        copies = [bytes(v) for v in rx.iter_data(room)]
        ring._room()  # the filler may refill the frames now
        self._ring_overrun(ring)
        if not copies:
            self._apply_released()
            return PacketBatch(self, -1, (), ())
        return self._take_copies(copies, list(map(len, copies)))

    def _ring_overrun(self, ring: RingBase) -> None:
        """An overrun the ring saw since the last look (the kernel dropped datagrams:
        ENOBUFS) is counted as the socket's (``stats().enobufs``), as ``ring.recv``
        reports it on the per-frame path; receiving goes on."""
        try:
            ring._check_overrun()
        except Overrun:
            self.conn.overrun()

    def _take_copies(self, copies: list[bytes], lens: list[int]) -> PacketBatch:
        """The packets of datagrams copied out of a ring: a run of single whole packet
        messages from one queue takes the bulk bookkeeping (:meth:`_one_queue`);
        anything else goes through :meth:`_dispatch` one datagram at a time."""
        st = self._stats
        st.batches += 1
        st.bytes += sum(lens)
        heads = list(map(_RUN_HEAD.unpack_from, copies))  # (nlmsg_len, nlmsg_type)
        got = len(copies)
        if [h[1] for h in heads].count(_PACKET) == got and [h[0] for h in heads] == lens \
                and min(lens) >= PACKET_ID_OFFSET + 4:
            qi = list(map(_RUN_QID.unpack_from, copies, repeat(18)))  # (res_id, packet id)
            q = qi[0][0]
            if [x[0] for x in qi].count(q) == got:
                return self._one_queue(q, [x[1] for x in qi],
                                       [memoryview(c) for c in copies], None)
        ids_: list[int] = []
        qs: list[int] = []
        slots: list[memoryview] = []
        for c in copies:
            self._dispatch_datagram(memoryview(c), ids_, qs, slots)
        if not ids_:
            self._apply_released()
            return PacketBatch(self, -1, (), ())
        return self._hand_out(ids_, qs, slots)

    def _release_frames(self) -> None:
        """Give the ring back the frames of the last ring receive (their views end)."""
        ring = self._ring
        frames = self._frames
        self._frames = []
        if ring is not None:
            for f in frames:
                ring.release(f)

    def _hand_out(self, ids: list[int], qs: list[int], slots: list[memoryview]
                  ) -> PacketBatch:
        """The batch of the packets taken (of one queue or several), now the current one."""
        if qs.count(qs[0]) == len(qs):
            batch = PacketBatch(self, qs[0], ids, slots)
        else:
            batch = PacketBatch(self, -1, ids, slots, qs)
        self._current = batch
        return batch

    def _dispatch_datagram(self, view: memoryview, ids: list[int], qs: list[int],
                           slots: list[memoryview]) -> None:
        """One datagram through :meth:`_dispatch`; broken framing is recorded as an
        EBADMSG error (``errors``) and counted as stale, and receiving goes on."""
        try:
            self._dispatch(Chunk(view, 0, 0, None), ids, qs, slots)
        except DecodeError as exc:
            self.errors.append(NetlinkError(_errno.EBADMSG, "receive", 0, ext_msg=str(exc)))
            self.conn.stale += 1

    def _dispatch(self, chunk: Chunk, ids: list[int], qs: list[int],
                  slots: list[memoryview]) -> None:
        conn = self.conn
        sender, group = chunk.sender, chunk.group
        for msg in conn.chunk_messages(chunk):
            if msg.type == _PACKET and sender == 0 and not group:
                self._add_packet(msg, ids, qs, slots)
                continue
            v = classify(msg.seq, msg.portid, sender, group, _NO_REQUEST, conn.portid, 0)
            if msg.type == _NLMSG_ERROR and sender == 0 and not group and msg.seq:
                if self._verdict_reply(msg):
                    continue
            conn.route(msg, v)

    def _add_packet(self, msg: Message, ids: list[int], qs: list[int],
                    slots: list[memoryview]) -> None:
        if msg.len < PACKET_ID_OFFSET + 4:
            raise DecodeError(f"packet message of {msg.len} bytes has no packet id", msg.offset)
        data = msg.data
        q = int.from_bytes(data[18:20], "big")
        pid = int(_be32.unpack_from(data, PACKET_ID_OFFSET)[0])
        self._gaps(q, pid, pid, 1)
        self.batcher.received(q, pid)
        self._stats.packets += 1
        ids.append(pid)
        qs.append(q)
        slots.append(data)

    def _take_kept(self) -> PacketBatch | None:
        """Packets the connection kept while a request waited (copies), oldest first."""
        conn = self.conn
        if not conn.pending:
            return None
        ids: list[int] = []
        qs: list[int] = []
        slots: list[memoryview] = []
        for msg in conn.take_pending():
            if msg.type == _PACKET:
                self._add_packet(msg, ids, qs, slots)
            elif msg.type == _NLMSG_ERROR and msg.seq and self._verdict_reply(msg):
                continue
            else:
                conn.stale += 1  # nothing else is expected on a queue socket
        if not ids:
            return None
        return self._hand_out(ids, qs, slots)

    # -- for callers that read the socket themselves (NetfilterQueue's run_socket) ---------
    def feed(self, datagram: Any) -> PacketBatch:
        """The packets of one datagram the caller read from this queue's socket itself
        (``socket.recv`` of an object an event library patched, say), as
        :meth:`recv_batch` would hand them out: verdicts recorded so far are sent first,
        the previous batch is released, and anything that is not a packet (a refused
        verdict) goes the receive path's way.  The batch views ``datagram``.
        """
        if self._current is not None:
            self._release_current()
        if self._released:
            self._apply_released()
        self._flush(force=False)
        ids: list[int] = []
        qs: list[int] = []
        slots: list[memoryview] = []
        self._stats.batches += 1
        self._stats.bytes += len(datagram)
        self._dispatch_datagram(memoryview(datagram), ids, qs, slots)
        if not ids:
            return PacketBatch(self, -1, (), ())
        return self._hand_out(ids, qs, slots)
