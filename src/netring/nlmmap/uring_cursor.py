"""Pure cursors of the io_uring RX ring: frames handed to the kernel, completions walked.

The kernel fills the frames of a netlink RX ring (the 3.10-4.5 layout of
:mod:`netring.nlmmap.abi`) through io_uring: every frame's data area is a
provided buffer, one multishot ``IORING_OP_RECVMSG`` writes one datagram into
one buffer, and user space turns each completion into a frame header.  Nothing
here makes a system call; the edge (:mod:`netring.nlmmap.edge.uring`) maps the
rings and enters the kernel.

A frame of this ring, and what io_uring writes into it::

    frame + 0            + 24                        + 24 + prefix              + frame_size
    +--------------------+---------------------------+--------------------------------+
    | nl_mmap_hdr        | io_uring_recvmsg_out (16) | data: the datagram, nm_len     |
    | (user space only:  | sockaddr_nl (12)          | bytes (capacity = frame_size   |
    |  status, nm_len,   | control: PKTINFO + CREDS  |  - 24 - prefix)                |
    |  group, creds)     |   (56 on 64-bit)          |                                |
    +--------------------+---------------------------+--------------------------------+
                         ^ provided buffer: addr = frame + 24, len = frame_size - 24

The kernel never writes a frame header, so the consumer
(:class:`UringRxConsumer`, the ordinary :class:`~netring.nlmmap.cursor.RxConsumer`
with its data areas moved past the prefix) reads statuses exactly as on any
other ring.

Positions, as in :mod:`netring.nlmmap.cursor` (they never wrap; the frame index
is ``position % frame_nr``)::

    refill position R ------------------------------>   frames handed to the kernel
    producer position P ------------------------>        frames published (or stepped over)
    consumer position C ------------------->             C <= P <= R <= C + frame_nr
    ring: [VALID][VALID][SKIP][VALID][UNUSED: in the kernel][UNUSED: in the kernel][VALID: ours]
                  ^ C                 ^ P                                          ^ R

* Refill (:meth:`UringProducer.refill`): frames at ``R`` that are UNUSED go into
  the buffer ring (``bufs[tail & mask] = {addr, len, bid = index}``, then the
  tail); a run of SKIP frames (kept by the consumer) is stepped over only when
  an UNUSED frame follows it within the lap, as ``netlink_forward_ring()``
  stepped over them only to reserve a frame; anything else (a frame the
  consumer has not released) stops the refill: the ring is full there.  ``R``
  never reaches ``C + frame_nr``, so no frame is handed out twice.
* Completions (:meth:`UringProducer.harvest`): the kernel takes buffers in
  ring-tail order, so completions arrive in handed-out order; the buffer id of
  each must be the frame handed out next (else :class:`RingError`: the kernel
  broke the contract).  Each completion is checked against the geometry
  (``res``, ``payloadlen``, ``namelen``, ``controllen``), then ``nm_len``,
  ``nm_group`` (NETLINK_PKTINFO) and ``nm_pid/nm_uid/nm_gid`` (SCM_CREDENTIALS)
  are stored, VALID last (:meth:`~netring.nlmmap.cursor.RxProducer.publish`).
  A run of completions is read with strided slices, no Python loop per
  message.
* Releasing buffers in ring order is advancing the tail only: while frame
  ``i`` still sits in buffer-ring slot ``i`` (frame_nr a power of two, no SKIP
  stepped over) no entry is rewritten.

Truncation: a datagram larger than the capacity arrives cut (``MSG_TRUNC`` in
``io_uring_recvmsg_out.flags``; ``payloadlen`` is its real length because the
request carries ``MSG_TRUNC``).  Its tail is gone, so the frame is published
empty (``nm_len`` 0, released unseen like the kernel's dropped-message frame),
counted (``truncated``), and reported in order: the walk stops before it until
the consumer has read every frame published before it, then reports it
(:attr:`Harvest.truncation`) and stops right after it.
"""

from __future__ import annotations

from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

from array import array
from collections.abc import Callable, Generator
from dataclasses import dataclass
from operator import length_hint

from ..errors import RingError
from ..strided import gather_checked
from .abi import NL_MMAP_HDRLEN, NL_MMAP_STATUS, NM_GID, NM_GROUP, NM_LEN, NM_PID, NM_UID
from .cursor import Frame, RxConsumer, RxProducer
from .geometry import RingGeometry
from .uring_abi import (
    IORING_CQE_BUFFER_SHIFT,
    IORING_CQE_F,
    PBUF_RING_MAX_ENTRIES,
    PBUF_RING_TAIL_OFFSET,
    io_uring_buf,
    io_uring_buf_fields,
    io_uring_cqe,
    io_uring_recvmsg_out,
)

__all__ = [
    "ControlLayout",
    "RecvmsgLayout",
    "BufferRing",
    "CompletionQueue",
    "Harvest",
    "UringProducer",
    "UringRxConsumer",
    "pow2_at_least",
]

UNUSED = int(NL_MMAP_STATUS.UNUSED)
VALID = int(NL_MMAP_STATUS.VALID)
SKIP = int(NL_MMAP_STATUS.SKIP)
F_BUFFER = int(IORING_CQE_F.BUFFER)
F_MORE = int(IORING_CQE_F.MORE)
_U32 = 0xFFFFFFFF
SLOW_STEPS = 32  # completions walked one by one after the fast path refused a run

# word offsets inside a frame (from nm_status): io_uring_recvmsg_out follows the header
_OUT_W = NL_MMAP_HDRLEN // 4
_NAMELEN_W = _OUT_W + 0
_CONTROLLEN_W = _OUT_W + 1
_PAYLOADLEN_W = _OUT_W + 2
_FLAGS_W = _OUT_W + 3


def pow2_at_least(n: int) -> int:
    """The smallest power of two ``>= n`` (1 for ``n <= 1``)."""
    return 1 << max(0, (n - 1).bit_length())


@dataclass(frozen=True)
class ControlLayout:
    """Where ``netlink_recvmsg`` puts NETLINK_PKTINFO, then SCM_CREDENTIALS, in a
    control area, in 32-bit words from the area's start (the edge computes it
    from :mod:`netring._sys.cmsg`; it depends on ``sizeof(size_t)``).

    Attributes:
        size: control bytes reserved per datagram (both cmsgs; 56 on 64-bit).
        checks: ``(word, value)`` pairs every datagram of the fast path must hold
            (each cmsg's level and type).
        group: word of ``nl_pktinfo.group``.
        creds: word of ``ucred.pid`` (``uid``, ``gid`` follow).
    """

    size: int
    checks: tuple[tuple[int, int], ...]
    group: int
    creds: int


@dataclass(frozen=True)
class RecvmsgLayout:
    """The frames of an io_uring RX ring: geometry plus the per-datagram prefix.

    Attributes:
        geometry: the ring (checked as ``netlink_set_ring()`` would).
        namelen: bytes for the sender address (``sizeof(struct sockaddr_nl)``).
        control: the control layout, or ``None`` (no group, no credentials).
        prefix: ``io_uring_recvmsg_out`` + name + control bytes before the data.
        capacity: the largest datagram a frame holds whole.
    """

    geometry: RingGeometry
    namelen: int
    control: ControlLayout | None

    @property
    def controllen(self) -> int:
        return self.control.size if self.control is not None else 0

    @property
    def prefix(self) -> int:
        return io_uring_recvmsg_out.size + self.namelen + self.controllen

    @property
    def capacity(self) -> int:
        return self.geometry.data_size - self.prefix

    def check(self) -> None:
        """Raise :class:`RingError` for a ring io_uring cannot fill."""
        g = self.geometry
        if g.frame_nr > PBUF_RING_MAX_ENTRIES:
            raise RingError(f"an io_uring buffer ring holds at most {PBUF_RING_MAX_ENTRIES} "
                            f"buffers, not {g.frame_nr} frames")
        if self.prefix % 4 or self.namelen % 4:
            raise RingError(f"io_uring prefix of {self.prefix} bytes is not 4-byte aligned")
        if self.capacity < 16:
            raise RingError(f"frame_size {g.frame_size} leaves {self.capacity} bytes per "
                            f"datagram after the {NL_MMAP_HDRLEN}-byte header and the "
                            f"{self.prefix}-byte io_uring prefix (need at least 16)")


class UringRxConsumer(RxConsumer):
    """The ordinary ring consumer over an io_uring ring: data areas start after the prefix.

    The VALID/SKIP/UNUSED rules, kept frames, :meth:`next`, :meth:`release` and
    :meth:`skip` are :class:`~netring.nlmmap.cursor.RxConsumer` unchanged.
    :meth:`iter_data` takes runs of VALID frames in bulk: the views of a run are
    made in one list, and the run is released with one strided store of UNUSED.
    That store may be a slice here, unlike on a shared ring, because this ring's
    producer (the completion walk) runs in the consumer's own thread, between its
    calls, and the kernel never reads a frame header: nobody can see a status
    half stored.  Anything else (a frame in hand, an empty or oversized frame,
    SKIP) goes through the shared consumer one frame at a time.
    """

    def __init__(self, buf: Any, layout: RecvmsgLayout, base: int = 0, **kw: Any) -> None:
        super().__init__(buf, layout.geometry, base, **kw)
        ring = self.ring
        ring.data = [d + layout.prefix for d in ring.data]
        ring.data_size = layout.capacity
        self._valid = memoryview(array("I", [VALID]) * ring.n)
        self._unused = memoryview(array("I", [UNUSED]) * ring.n)
        #: the ring's producer: when this consumer has read every published frame,
        #: :meth:`iter_data` reads ordinary completions in place (UringProducer.take)
        self.producer: UringProducer | None = None

    def iter_data(self, limit: int) -> Generator[memoryview, None, int]:
        """Yield up to ``limit`` ready messages as views, in ring order (as
        :meth:`RxConsumer.iter_data`: a view is valid until the next step; returns
        how many were yielded)."""
        ring = self.ring
        words, hdrs, datas, buf, n = ring.words, ring.hdr, ring.data, ring.buf, ring.n
        ds = ring.data_size
        g = ring.geometry
        stride = g.frame_size >> 2
        uniform, fpb = g.uniform, g.frames_per_block
        valid, unused = self._valid, self._unused
        yielded = 0
        while yielded < limit:
            i = self.position % n
            w0 = hdrs[i]
            k = min(limit - yielded, n - i)
            if not uniform:
                k = min(k, fpb - i % fpb)
            sts = words[w0 : w0 + k * stride : stride]
            if self._in_hand or sts[0] != VALID:
                run = self.take_run(limit - yielded)
                if run is not None:
                    starts, lens = run
                    taken = len(starts)
                    li = iter(lens)
                    try:
                        for d, ln in zip(starts, li):  # noqa: B905 (li's length tells the count)
                            yield buf[d : d + ln]
                    finally:
                        taken -= length_hint(li)  # the view out at a close was taken
                        self.settle_run(taken)
                    yielded += taken
                    continue
                got = yield from RxConsumer.iter_data(self, 1)  # the shared rules
                if not got:
                    return yielded
                yielded += got
                continue
            if sts != valid[:k]:
                stl = sts.tolist()
                k = next(j for j, st in enumerate(stl) if st != VALID)
            lens = words[w0 + 1 : w0 + 1 + k * stride : stride].tolist()
            if max(lens) > ds or min(lens) == 0:
                k = next(j for j, ln in enumerate(lens) if ln > ds or ln == 0)
                if k == 0:
                    got = yield from RxConsumer.iter_data(self, 1)  # released or dropped there
                    yielded += got
                    if not got:
                        return yielded
                    continue
                del lens[k:]
            it = iter([buf[d : d + ln] for d, ln in zip(datas[i : i + k], lens, strict=True)])
            base = self.position
            try:
                yield from it
            finally:
                # the frame whose view was out when the iterator closed counts as taken
                taken = k - length_hint(it)
                del it
                if taken:
                    words[w0 : w0 + taken * stride : stride] = unused[:taken]
                self.position = base + taken
                self.delivered += taken
                self._store(base + taken)
            yielded += k
        return yielded

    def take_run(self, limit: int) -> tuple[list[int], list[int]] | None:
        """``(starts, lengths)`` of up to ``limit`` datagrams to read in place, straight
        from ordinary completions (:meth:`UringProducer.take`), when no frame is in
        hand and every published frame is read; else ``None``.  Each view
        ``buf[start : start + length]`` is valid until the next one is made; call
        :meth:`settle_run` with how many were taken."""
        p = self.producer
        if p is None or self._in_hand:
            return None
        return p.take(limit)

    def take_views(self, limit: int) -> list[memoryview] | None:
        """:meth:`take_run` as views (:meth:`UringProducer.take_views`)."""
        p = self.producer
        if p is None or self._in_hand:
            return None
        return p.take_views(limit)

    def settle_run(self, taken: int) -> None:
        """``taken`` datagrams of the last :meth:`take_run` were delivered."""
        if taken:
            p = self.producer
            assert p is not None
            p.settle(taken)
            self.position += taken
            self.delivered += taken
            self._store(self.position)

    def next(self) -> Frame | None:
        """:meth:`RxConsumer.next`; when nothing is published, the ordinary completions
        waiting in the CQ are published first (:meth:`UringProducer.harvest`)."""
        f = super().next()
        p = self.producer
        if f is None and p is not None and p.head_ordinary():
            p.harvest(p.user_data, ordinary_only=True)
            f = super().next()
        return f

    def release_views(self) -> None:
        """Drop the constant columns (before the ring's mapping closes)."""
        self._valid.release()
        self._unused.release()


def _length(view: memoryview) -> int:
    """``len(view)``, or -1 once the program released it."""
    try:
        return len(view)
    except ValueError:
        return -1


class BufferRing:
    """The user half of a provided-buffer ring (``struct io_uring_buf_ring``).

    Buffer ``bid`` is always ``(addrs[bid], length)``.  :meth:`put_run` appends
    entries at the tail (not yet visible), :meth:`publish` stores the u16 tail
    with one 2-byte store, after the entries.  A shadow of each slot's buffer id
    lets an entry that already holds the right buffer stay untouched.

    Args:
        buf: writable memory of ``entries * 16`` bytes (page aligned for the kernel).
        entries: slots, a power of two up to 32768.
        addrs: address of each buffer, by buffer id.
        length: length of every buffer.
    """

    def __init__(self, buf: Any, entries: int, addrs: list[int], length: int) -> None:
        if entries <= 0 or entries & (entries - 1) or entries > PBUF_RING_MAX_ENTRIES:
            raise RingError(f"buffer ring entries {entries} is not a power of two up to "
                            f"{PBUF_RING_MAX_ENTRIES}")
        if len(addrs) > entries:
            raise RingError(f"{len(addrs)} buffers do not fit a {entries}-entry buffer ring")
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        mv = mv.cast("B") if mv.format != "B" else mv
        if len(mv) < entries * io_uring_buf.size or mv.readonly:
            raise RingError(f"a {entries}-entry buffer ring needs {entries * io_uring_buf.size} "
                            f"writable bytes, not {len(mv)}")
        self.mv = mv
        self.entries = entries
        self.mask = entries - 1
        self.addrs = addrs
        self.length = length
        self.tail = 0  # free running; the kernel sees it modulo 2**16
        self._tail = mv[PBUF_RING_TAIL_OFFSET : PBUF_RING_TAIL_OFFSET + 2].cast("H")
        self._bid: list[int] = [-1] * entries
        self._iota = list(range(len(addrs)))
        self.written = 0  # entries (re)written, for statistics

    def put_run(self, first: int, count: int) -> None:
        """Append buffers ``first .. first+count-1`` (``first + count <= len(addrs)``)."""
        t = self.tail
        bids, iota = self._bid, self._iota
        while count:
            s = t & self.mask
            c = min(count, self.entries - s)
            if bids[s : s + c] != iota[first : first + c]:
                for j in range(c):
                    b = first + j
                    io_uring_buf_fields.pack_into(self.mv, (s + j) * io_uring_buf.size,
                                                  self.addrs[b], self.length, b)
                    bids[s + j] = b
                self.written += c
            t += c
            first += c
            count -= c
        self.tail = t

    def publish(self) -> None:
        """Make every appended entry visible to the kernel (the u16 tail store)."""
        self._tail[0] = self.tail & 0xFFFF

    def release(self) -> None:
        """Drop the views into the buffer (before its mapping closes)."""
        self._tail.release()
        self.mv.release()


class CompletionQueue:
    """The user half of a CQ ring: read ``[head, tail)``, then store the head.

    Args:
        buf: the mapped CQ ring (or any writable buffer laid out like it).
        head, tail, ring_mask, ring_entries, cqes: byte offsets from
            ``io_cqring_offsets`` (offsets of those words, not their values).
    """

    def __init__(self, buf: Any, head: int, tail: int, ring_mask: int, ring_entries: int,
                 cqes: int) -> None:
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        mv = mv.cast("B") if mv.format != "B" else mv
        for name, off in (("head", head), ("tail", tail), ("ring_mask", ring_mask),
                          ("ring_entries", ring_entries), ("cqes", cqes)):
            if off % 4 or off + 4 > len(mv):
                raise RingError(f"CQ ring offset {name}={off} outside the {len(mv)}-byte ring")
        self.words = mv[: len(mv) & ~3].cast("I")
        self.entries = int(self.words[ring_entries // 4])
        self.mask = int(self.words[ring_mask // 4])
        if self.entries == 0 or self.mask != self.entries - 1 or self.entries & self.mask:
            raise RingError(f"CQ ring of {self.entries} entries with mask {self.mask:#x}")
        if cqes + self.entries * io_uring_cqe.size > len(mv):
            raise RingError(f"{self.entries} cqes at {cqes} overrun the {len(mv)}-byte ring")
        self.head_w = head // 4
        self.tail_w = tail // 4
        self.cqe_w = cqes // 4
        self.head = int(self.words[self.head_w])

    def tail(self) -> int:
        """The kernel's tail (a load; x86 keeps it ordered before the cqe reads)."""
        return int(self.words[self.tail_w])

    def pending(self) -> int:
        """Completions waiting (checked: never more than the ring holds)."""
        n = (self.tail() - self.head) & _U32
        if n > self.entries:
            raise RingError(f"CQ ring tail {self.tail()} is {n} entries past head {self.head} "
                            f"in a {self.entries}-entry ring")
        return n

    def advance(self, head: int) -> None:
        """Hand the slots before ``head`` back to the kernel (one 4-byte store)."""
        self.head = head & _U32
        self.words[self.head_w] = self.head

    def release(self) -> None:
        self.words.release()


class Harvest:
    """What one :meth:`UringProducer.harvest` did.

    Attributes:
        published: frames published (VALID), empty ones included.
        ended: the multishot request ended (a completion without ``F_MORE``).
        end_res: that completion's ``res`` (negative errno, or a byte count when it
            also carried data).
        truncation: ``(real size, capacity)`` of a datagram cut by the buffer,
            reported in order (see the module docstring), else ``None``.
        stopped: the walk stopped before the end of the completions (they wait).
        other: completions of other requests (a cancel's own answer).
    """

    __slots__ = ("published", "ended", "end_res", "truncation", "stopped", "other")

    def __init__(self) -> None:
        self.published = 0
        self.ended = False
        self.end_res = 0
        self.truncation: tuple[int, int] | None = None
        self.stopped = False
        self.other = 0

    def __bool__(self) -> bool:
        return bool(self.published or self.ended or self.truncation)

    def __repr__(self) -> str:
        return (f"<Harvest published={self.published} ended={self.ended} "
                f"end_res={self.end_res} truncation={self.truncation} stopped={self.stopped}>")


class UringProducer:
    """The producer half of an io_uring RX ring: refill the buffer ring, walk completions.

    Args:
        buf, layout, base: where the frames are (the consumer's buffer).
        buffers: the :class:`BufferRing` whose buffer ``i`` is frame ``i``'s
            ``frame + 24 .. frame + frame_size``.
        cq: the :class:`CompletionQueue`.
        committed: the consumer's committed position (the lap bound).
        consumed: the consumer's position (how far it has read).
        msg_trunc, msg_ctrunc: the recvmsg flags ``MSG_TRUNC`` / ``MSG_CTRUNC``.
        decode: the slow path for a control area: ``bytes -> (group, (pid, uid, gid)
            or None)`` (the edge passes the shared cmsg decoder).
    """

    def __init__(self, buf: Any, layout: RecvmsgLayout, base: int, *, buffers: BufferRing,
                 cq: CompletionQueue, committed: Callable[[], int], consumed: Callable[[], int],
                 msg_trunc: int, msg_ctrunc: int,
                 decode: Callable[[bytes], tuple[int, tuple[int, int, int] | None]] | None = None
                 ) -> None:
        layout.check()
        g = layout.geometry
        self.layout = layout
        self.prod = RxProducer(buf, g, base)
        ring = self.prod.ring
        self.words = ring.words
        self.buf = ring.buf
        self.hdr = ring.hdr
        self.n = g.frame_nr
        self.stride = g.frame_size >> 2
        self.buffers = buffers
        self.cq = cq
        self.committed = committed
        self.consumed = consumed
        self.msg_trunc = msg_trunc
        self.msg_ctrunc = msg_ctrunc
        self.decode = decode
        self.prefix = layout.prefix
        self.capacity = layout.capacity
        self.data_area = g.data_size
        self.refill_position = 0  # R
        self._fifo: list[int] = []  # positions handed out, in buffer-ring order
        self._fh = 0  # first position of _fifo still in the kernel
        self._expect = memoryview(array("I", [(i << IORING_CQE_BUFFER_SHIFT) | F_BUFFER | F_MORE
                                              for i in range(self.n)]))
        self.user_data = 0  # the request whose completions take() delivers (the edge sets it)
        self.delivered_in_place = 0
        self._ctl_w = (NL_MMAP_HDRLEN + io_uring_recvmsg_out.size + layout.namelen) // 4
        self._datas = [d + layout.prefix for d in ring.data]
        #: each frame's last view (:meth:`take_views`); a 0-length one until then
        self._vcache: list[memoryview] = [self.buf[0:0]] * self.n
        self.views_held = 0  # views still exported at release (their mapping stays)
        values = {0, UNUSED, VALID, layout.namelen, layout.controllen}
        if layout.control is not None:
            values.update(v for _w, v in layout.control.checks)
        #: a column of frame_nr copies of each value a fast-path check compares with
        self._const = {v: memoryview(array("I", [v]) * self.n) for v in values}
        # what _columns checks in every frame of a run: ours and untouched since handed
        # out (UNUSED), no MSG_TRUNC/MSG_CTRUNC, the whole sockaddr_nl, and (when control
        # data is offered: else the kernel writes none) its length and fixed words
        c = layout.control
        want = [(0, UNUSED), (_FLAGS_W, 0), (_NAMELEN_W, layout.namelen)]
        if c is not None:
            want.append((_CONTROLLEN_W, layout.controllen))
            want.extend((self._ctl_w + word, value) for word, value in c.checks)
        self._checks = tuple((x << 2, v) for x, v in want)  # (byte in the frame, u32)
        self.handed = 0
        self.truncated = 0
        self.cut_frame = -1  # frame of the last datagram cut (its head stays until refilled)
        self.ctrunc = 0
        self.corrupt = 0
        self.empty = 0
        self.last_error: str | None = None

    # -- positions ---------------------------------------------------------------------
    @property
    def position(self) -> int:
        """The producer position ``P``: every frame before it is published or stepped over."""
        return self.prod.position

    @property
    def outstanding(self) -> int:
        """Frames in the kernel's hands (handed out, no completion yet)."""
        return len(self._fifo) - self._fh

    def room(self) -> int:
        """Frames the refill may still hand out or step over this lap."""
        return self.committed() + self.n - self.refill_position

    # -- refill ------------------------------------------------------------------------
    def refill(self) -> int:
        """Hand every free frame at ``R`` to the kernel; returns how many (0: none free)."""
        words, hdr, n, stride = self.words, self.hdr, self.n, self.stride
        g = self.layout.geometry
        uniform, fpb = g.uniform, g.frames_per_block
        limit = self.committed() + n
        r = self.refill_position
        handed = 0
        while r < limit:
            i = r % n
            k = min(limit - r, n - i)
            if not uniform:
                k = min(k, fpb - i % fpb)
            w0 = hdr[i]
            sts = words[w0 : w0 + k * stride : stride]
            run = k
            first = UNUSED
            if sts != self._const[UNUSED][:k]:
                stl = sts.tolist()
                run = next(j for j, st in enumerate(stl) if st != UNUSED)
                first = stl[run]
            if run:
                self._fifo.extend(range(r, r + run))
                self.buffers.put_run(i, run)
                r += run
                handed += run
                continue
            if first != SKIP:
                break  # a frame the consumer has not released: the ring is full here
            j = r + 1  # a run of kept frames: step over it only to hand out the next one
            while j < limit and words[hdr[j % n]] == SKIP:
                j += 1
            if j >= limit or words[hdr[j % n]] != UNUSED:
                break
            r = j
        self.refill_position = r
        if handed:
            self.buffers.publish()
            self.handed += handed
            if self._fh > n:  # keep the fifo short
                del self._fifo[: self._fh]
                self._fh = 0
        return handed

    # -- completions -------------------------------------------------------------------
    def harvest(self, user_data: int, ordinary_only: bool = False) -> Harvest:
        """Walk the waiting completions of request ``user_data``; publish their frames.

        ``ordinary_only``: stop at the first completion that is not ordinary (an
        end, a cut datagram, another request's): the edge walks those, since they
        change what it does next.

        Raises:
            RingError: a completion names a buffer other than the frame handed out
                next, or completes more buffers than were handed out.
        """
        out = Harvest()
        cq = self.cq
        pending = cq.pending()
        if not pending:
            return out
        head = cq.head
        end = head + pending
        words = cq.words
        entries = cq.entries
        try:
            while head < end and not out.stopped:
                slot = head & cq.mask
                k = min(end - head, entries - slot)
                w0 = cq.cqe_w + slot * 4
                uds = words[w0 : w0 + 4 * k : 4]
                res = words[w0 + 2 : w0 + 4 * k : 4]
                fls = words[w0 + 3 : w0 + 4 * k : 4]
                j = 0
                while j < k and not out.stopped:
                    m = self._fast(uds, res, fls, j, k - j, user_data, out)
                    j += m
                    head += m
                    if m:
                        continue  # a frame-ring wrap or a stepped-over run ended it: again
                    if ordinary_only:
                        out.stopped = True
                        break
                    # the first needs a close look; after a refused run, the next few too
                    for _ in range(min(k - j, SLOW_STEPS)):
                        if not self._slow(int(uds[j]), int(res[j]), int(fls[j]), user_data, out):
                            break
                        j += 1
                        head += 1
                        if out.stopped:
                            break
                    else:
                        continue
                    break
        finally:
            cq.advance(head)
        return out

    def _ordinary(self, uds: memoryview, res: memoryview, fls: memoryview, at: int, count: int,
                  user_data: int) -> tuple[int, int, list[tuple[int, int, int, int]], list[int]]:
        """How many completions from ``at`` (up to ``count``) are ordinary, checked column
        by column with strided slices (memoryview comparisons run in C, no Python step
        per completion).  Returns ``(k, first position, segments, payload lengths)``.

        Ordinary: ``flags`` is ``bid << 16 | F_BUFFER | F_MORE`` with ``bid`` the frame
        handed out next, the frame is untouched since (UNUSED), ``io_uring_recvmsg_out``
        shows no MSG_TRUNC/MSG_CTRUNC, the whole sockaddr_nl and both cmsgs are in
        place, every ``payloadlen`` fits the capacity and the ``res`` add up.
        """
        fifo, fh, n = self._fifo, self._fh, self.n
        k = min(count, len(fifo) - fh)
        if k == 0:
            return 0, 0, [], []
        p0 = fifo[fh]
        i0 = p0 % n
        k = min(k, n - i0)
        if fifo[fh + k - 1] - p0 != k - 1:  # a stepped-over run inside: take up to it
            k = next(j for j in range(1, k) if fifo[fh + j] != p0 + j)
        fl = fls[at : at + k]
        exp = self._expect[i0 : i0 + k]
        if fl != exp:
            # usually only the last one differs: the completion that ends the request
            if k > 1 and fl[: k - 1] == exp[: k - 1]:
                k -= 1
            else:
                fll, expl = fl.tolist(), exp.tolist()
                k = next(j for j in range(k) if fll[j] != expl[j])
            if k == 0:
                return 0, 0, [], []
        # one request runs at a time: the user_data of a run is checked at its ends
        if uds[at] != user_data or uds[at + k - 1] != user_data:
            return 0, 0, [], []
        got = self._columns(i0, k, res, at)
        if got is None:  # a frame in the run is not ordinary: the longest good prefix
            lo, hi = 0, k - 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if self._columns(i0, mid, res, at) is not None:
                    lo = mid
                else:
                    hi = mid - 1
            k = lo
            got = self._columns(i0, k, res, at) if k else None
            if got is None:
                return 0, 0, [], []
        segs, pays = got
        return k, p0, segs, pays

    def _columns(self, i0: int, k: int, res: memoryview, at: int
                 ) -> tuple[list[tuple[int, int, int, int]], list[int]] | None:
        """``(segments, payload lengths)`` when frames ``i0 .. i0+k-1`` all hold ordinary
        datagrams (see :meth:`_ordinary`), else ``None``."""
        words, checks, cap = self.words, self._checks, self.capacity
        segs = list(self.prod.ring.segments(i0, k))
        pays: list[int] = []
        for _first, cnt, w, st in segs:
            # every frame holds what an ordinary datagram leaves, and its payload length
            # fits (one pass over the headers, netring.strided.gather_checked)
            got = gather_checked(words, w << 2, st << 2, cnt, checks, _PAYLOADLEN_W << 2, cap)
            if got is None:
                return None
            pays += got
        if sum(res[at : at + k].tolist()) != k * self.prefix + sum(pays):
            return None  # some length is off
        return segs, pays

    def _fast(self, uds: memoryview, res: memoryview, fls: memoryview, at: int, count: int,
              user_data: int, out: Harvest) -> int:
        """Publish the run of ordinary completions at ``at`` (:meth:`_ordinary`); returns
        how many it took (0: the first needs the slow path)."""
        k, p0, segs, pays = self._ordinary(uds, res, fls, at, count, user_data)
        if k == 0:
            return 0
        if min(pays) == 0:
            self.empty += pays.count(0)
        # publish: nm_len (and group, creds), then VALID, each field one strided store.
        # The producer and the consumer of this ring are the same thread and the
        # kernel never touches a header, so nobody sees a status store half done
        # (the single-word rule of netring.nlmmap.cursor guards shared rings).
        words, c, ctl_w = self.words, self.layout.control, self._ctl_w
        valid = self._const[VALID]
        for _first, cnt, w, st in segs:
            e = w + cnt * st
            words[w + NM_LEN : e + NM_LEN : st] = words[w + _PAYLOADLEN_W : e : st]
            if c is not None:
                g = ctl_w + c.group
                words[w + NM_GROUP : e + NM_GROUP : st] = words[w + g : e + g : st]
                pw = ctl_w + c.creds
                words[w + NM_PID : e + NM_PID : st] = words[w + pw : e + pw : st]
                words[w + NM_UID : e + NM_UID : st] = words[w + pw + 1 : e + pw + 1 : st]
                words[w + NM_GID : e + NM_GID : st] = words[w + pw + 2 : e + pw + 2 : st]
            words[w : e : st] = valid[:cnt]
        prod = self.prod
        prod.position = p0 + k
        prod.published += k
        self._fh += k
        out.published += k
        return k

    def head_ordinary(self) -> bool:
        """True when the completion at the CQ head is ordinary (:meth:`_ordinary`): the
        consumer can read it (in place, or published by :meth:`harvest` with
        ``ordinary_only``) without the edge looking at it."""
        cq = self.cq
        if not cq.pending():
            return False
        slot = cq.head & cq.mask
        w0 = cq.cqe_w + slot * 4
        words = cq.words
        k = self._ordinary(words[w0 : w0 + 4 : 4], words[w0 + 2 : w0 + 4 : 4],
                           words[w0 + 3 : w0 + 4 : 4], 0, 1, self.user_data)[0]
        return k == 1

    # -- delivery straight from completions ------------------------------------------
    def take(self, limit: int) -> tuple[list[int], list[int]] | None:
        """Where the datagrams of up to ``limit`` ordinary completions at the CQ head lie
        (``(starts, lengths)``: byte offsets and sizes), for a consumer that has read every
        published frame (else, or when the head is anything but ordinary, ``None``).
        Nothing is published: the frames stay UNUSED and are read in place;
        :meth:`settle` then accounts for the ones taken.  Their positions lie at and
        after the consumer's committed one, so no refill can hand them out again
        before the consumer commits past them.
        """
        prod = self.prod
        fh = self._fh
        if (self.consumed() != prod.position or fh >= len(self._fifo)
                or self._fifo[fh] != prod.position):
            return None
        cq = self.cq
        pending = cq.pending()
        if not pending:
            return None
        slot = cq.head & cq.mask
        k = min(pending, cq.entries - slot, limit)
        words = cq.words
        w0 = cq.cqe_w + slot * 4
        k, p0, _segs, pays = self._ordinary(words[w0 : w0 + 4 * k : 4],
                                            words[w0 + 2 : w0 + 4 * k : 4],
                                            words[w0 + 3 : w0 + 4 * k : 4], 0, k, self.user_data)
        if k and min(pays) == 0:  # an empty datagram: published, released unseen
            k = pays.index(0)
            del pays[k:]
        if k == 0:
            return None
        i0 = p0 % self.n
        return self._datas[i0 : i0 + k], pays

    def take_views(self, limit: int) -> list[memoryview] | None:
        """:meth:`take` as views, one per datagram (``buf[start : start + length]``).

        A frame's view is kept and handed out again while the frame's next datagram
        has the same length (a stream of alike messages makes no view at all): the
        same memory, so a view is valid exactly as long as one made afresh, until
        the datagram after it is read.  A view the program released (``with view:``)
        is made again.  :meth:`release` drops them all.
        """
        run = self.take(limit)
        if run is None:
            return None
        starts, pays = run
        k = len(pays)
        i0 = self.prod.position % self.n
        views = self._vcache[i0 : i0 + k]
        try:
            have = list(map(len, views))  # one C loop; a released view raises
        except ValueError:
            have = [_length(v) for v in views]
        if have != pays:
            buf = self.buf
            for j, (h, ln) in enumerate(zip(have, pays)):  # noqa: B905
                if h != ln:
                    d = starts[j]
                    views[j] = buf[d : d + ln]
            self._vcache[i0 : i0 + k] = views
        return views

    def settle(self, taken: int) -> None:
        """``taken`` completions of the last :meth:`take` were delivered."""
        if taken:
            self.cq.advance(self.cq.head + taken)
            self._fh += taken
            self.prod.position += taken
            self.prod.published += taken
            self.delivered_in_place += taken

    def _slow(self, ud: int, res_u: int, fl: int, user_data: int, out: Harvest) -> bool:
        """One completion, checked field by field.  False: stop before it (it waits)."""
        if ud != user_data:
            out.other += 1
            return True
        res = res_u - (1 << 32) if res_u & 0x80000000 else res_u
        if fl & F_BUFFER:
            if self._fh >= len(self._fifo):
                raise RingError(f"completion for buffer {fl >> IORING_CQE_BUFFER_SHIFT} "
                                f"while no buffer was handed to the kernel")
            pos = self._fifo[self._fh]
            i = pos % self.n
            bid = fl >> IORING_CQE_BUFFER_SHIFT
            if bid != i:
                raise RingError(f"completion for buffer {bid}, expected frame {i} "
                                f"(position {pos}): buffers are taken in ring order")
            nm_len, group, creds, trunc, ctrunc = self._frame(i, res)
            if trunc is not None:
                if out.published or self.consumed() < self.prod.position:
                    out.stopped = True  # report it once everything before it is read
                    return False
                self.truncated += 1
                self.cut_frame = i
                out.truncation = trunc
                out.stopped = True  # stop right after it
            if ctrunc:
                self.ctrunc += 1  # more control messages than offered (group/creds may be missing)
            self._fh += 1
            self.prod.position = pos
            self.prod.publish_one(nm_len, VALID, group, creds)
            out.published += 1
        if not fl & F_MORE:
            out.ended = True
            out.end_res = res
        return True

    def _frame(self, i: int, res: int
               ) -> tuple[int, int, tuple[int, int, int] | None, tuple[int, int] | None, bool]:
        """``(nm_len, group, creds, truncation, ctrunc)`` of frame ``i`` completed with ``res``
        (a frame the kernel's answer does not fit is dropped here: ``nm_len`` 0, counted)."""
        lay = self.layout
        w = self.hdr[i]
        words = self.words
        namelen, controllen, payloadlen, flags = (int(x) for x in words[w + _OUT_W : w + _OUT_W + 4])
        group = 0
        creds: tuple[int, int, int] | None = None
        if not self.prefix <= res <= self.data_area:
            self._bad(f"frame {i}: cqe res {res} outside {self.prefix}..{self.data_area}")
            return 0, 0, None, None, False
        copied = res - self.prefix
        if namelen > 128 or controllen > lay.controllen:
            self._bad(f"frame {i}: namelen {namelen} / controllen {controllen} beyond the "
                      f"{lay.namelen}/{lay.controllen} bytes offered")
            return 0, 0, None, None, False
        if controllen and self.decode is not None:
            c0 = self.prod.ring.data[i] + io_uring_recvmsg_out.size + lay.namelen
            group, creds = self.decode(bytes(self.buf[c0 : c0 + controllen]))
            if creds is not None:
                creds = (creds[0] & _U32, creds[1] & _U32, creds[2] & _U32)
        ctrunc = bool(flags & self.msg_ctrunc)
        if flags & self.msg_trunc:
            return 0, group, creds, (payloadlen, self.capacity), ctrunc
        if payloadlen != copied:
            self._bad(f"frame {i}: payloadlen {payloadlen} but {copied} bytes copied")
            return 0, 0, None, None, False
        if copied == 0:
            self.empty += 1
        return copied, group, creds, None, ctrunc

    def _bad(self, what: str) -> None:
        self.corrupt += 1
        self.last_error = what

    def stats(self) -> dict[str, int]:
        """Counters of this producer."""
        return {"handed": self.handed, "published": self.prod.published,
                "outstanding": self.outstanding, "truncated": self.truncated,
                "ctrunc": self.ctrunc, "corrupt": self.corrupt, "empty": self.empty,
                "delivered_in_place": self.delivered_in_place,
                "entries_written": self.buffers.written}

    def release(self) -> None:
        """Drop the views into the frames (before their mapping closes); a view the
        program still holds and exported elsewhere stays, and the mapping with it."""
        for v in {id(v): v for v in self._vcache}.values():
            try:
                v.release()
            except BufferError:
                self.views_held += 1
        self._vcache.clear()
        self._expect.release()
        for v in self._const.values():
            v.release()
        self.prod.ring.words.release()
        self.prod.ring.buf.release()
