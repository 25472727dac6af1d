"""The io_uring RX ring's pure cursors over synthetic buffers: a fake kernel takes
buffers from the buffer ring, writes recvmsg_out + sockaddr_nl + cmsgs + datagram
the way io_recvmsg_multishot() does, and posts completions."""

from __future__ import annotations

import errno
import struct
from array import array

import pytest

from netring._sys.cmsg import CMSG_HDRLEN, cmsg_space, cmsghdr
from netring.codec.constants import NETLINK_PKTINFO, SOL_NETLINK
from netring.errors import RingError
from netring.nlmmap.abi import NL_MMAP_HDRLEN, NL_MMAP_STATUS
from netring.nlmmap.edge.uring import control_layout
from netring.nlmmap.geometry import RingGeometry
from netring.nlmmap.uring_abi import (
    IORING_CQE_F,
    io_uring_buf,
    io_uring_cqe,
    io_uring_recvmsg_out,
)
from netring.nlmmap.uring_cursor import (
    BufferRing,
    CompletionQueue,
    RecvmsgLayout,
    UringProducer,
    UringRxConsumer,
    pow2_at_least,
)

MSG_TRUNC = 0x20
MSG_CTRUNC = 0x8
SOL_SOCKET = 1
SCM_CREDENTIALS = 2
UD = 1
CQ_ENTRIES = 4096
CQES = 64  # byte offset of the cqe array in the fake CQ ring


def message(seq: int, size: int = 32) -> bytes:
    return struct.pack("=IHHII", size, 0x10, 0, seq, 0) + bytes(size - 16)


class Rig:
    """Frames, a buffer ring, a CQ ring, the producer and the consumer over plain bytearrays."""

    def __init__(self, frame_nr: int = 8, meta: bool = True,
                 geometry: RingGeometry | None = None) -> None:
        g = geometry or RingGeometry.for_frames(4096 // frame_nr, frame_nr)  # one block
        assert g.frame_nr == frame_nr or geometry is not None
        self.layout = RecvmsgLayout(g, 12, control_layout() if meta else None)
        self.frames = bytearray(g.size)
        self.entries = pow2_at_least(g.frame_nr)
        self.br = bytearray(self.entries * io_uring_buf.size)
        # "addresses" are offsets into self.frames, so the fake kernel can write there
        self.buffers = BufferRing(self.br, self.entries, [o + NL_MMAP_HDRLEN for o in g.offsets],
                                  g.data_size)
        self.cqbuf = bytearray(CQES + CQ_ENTRIES * io_uring_cqe.size)
        struct.pack_into("=IIII", self.cqbuf, 0, 0, 0, CQ_ENTRIES - 1, CQ_ENTRIES)
        self.cq = CompletionQueue(self.cqbuf, 0, 4, 8, 12, CQES)
        self.commit = memoryview(array("Q", [0]))
        self.rx = UringRxConsumer(self.frames, self.layout, 0,
                                  producer_position=lambda: self.prod.position,
                                  commit_slot=(self.commit, 0))
        self.prod = UringProducer(
            self.frames, self.layout, 0, buffers=self.buffers, cq=self.cq,
            committed=lambda: int(self.commit[0]), consumed=lambda: self.rx.position,
            msg_trunc=MSG_TRUNC, msg_ctrunc=MSG_CTRUNC, decode=self._decode if meta else None)
        self.prod.user_data = UD
        self.khead = 0  # the fake kernel's buffer-ring head
        self.ktail = 0  # the fake kernel's CQ tail

    @staticmethod
    def _decode(raw: bytes) -> tuple[int, tuple[int, int, int] | None]:
        from netring._sys.cmsg import decode_netlink_cmsgs, parse_cmsgs

        return decode_netlink_cmsgs(parse_cmsgs(raw))

    # -- the fake kernel -----------------------------------------------------------
    def post(self, res: int, flags: int, ud: int = UD) -> None:
        slot = self.ktail & (CQ_ENTRIES - 1)
        io_uring_cqe.pack_into(self.cqbuf, CQES + slot * io_uring_cqe.size, ud, res, flags)
        self.ktail += 1
        struct.pack_into("=I", self.cqbuf, 4, self.ktail & 0xFFFFFFFF)

    def take(self) -> tuple[int, int, int] | None:
        tail = struct.unpack_from("=H", self.br, 14)[0]
        if self.khead & 0xFFFF == tail:
            return None
        addr, ln, bid = struct.unpack_from("=QIH", self.br,
                                           (self.khead & (self.entries - 1)) * io_uring_buf.size)
        self.khead += 1
        return addr, ln, bid

    def deliver(self, payload: bytes, group: int = 0, creds: tuple[int, int, int] = (7, 8, 9),
                more: bool = True, ud: int = UD, extra_cmsg: bool = False) -> bool:
        """One datagram into the next buffer; False when the buffer ring was empty."""
        b = self.take()
        if b is None:
            self.post(-errno.ENOBUFS, 0, ud)
            return False
        addr, ln, bid = b
        lay = self.layout
        cap = ln - lay.prefix
        copied = min(len(payload), cap)
        flags = MSG_TRUNC if len(payload) > cap else 0
        control = b""
        if lay.control is not None:
            pk = cmsghdr.pack(CMSG_HDRLEN + 4, SOL_NETLINK, NETLINK_PKTINFO) + struct.pack("=I", group)
            pk += bytes(cmsg_space(4) - len(pk))
            cr = cmsghdr.pack(CMSG_HDRLEN + 12, SOL_SOCKET, SCM_CREDENTIALS) + struct.pack("=iII", *creds)
            cr += bytes(cmsg_space(12) - len(cr))
            control = pk + cr
            if extra_cmsg:  # no room for a third one: the kernel sets MSG_CTRUNC
                flags |= MSG_CTRUNC
        io_uring_recvmsg_out.pack_into(self.frames, addr, 12, len(control), len(payload), flags)
        struct.pack_into("=HHII", self.frames, addr + 16, 16, 0, 4242, 0)
        self.frames[addr + 28 : addr + 28 + len(control)] = control
        self.frames[addr + lay.prefix : addr + lay.prefix + copied] = payload[:copied]
        f = (bid << 16) | IORING_CQE_F.BUFFER | (IORING_CQE_F.MORE if more else 0)
        self.post(lay.prefix + copied, f, ud)
        return True

    # -- helpers ---------------------------------------------------------------------
    def drain(self) -> list[bytes]:
        return [bytes(v) for v in self.rx.iter_data(1 << 20)]

    def in_place(self, on: bool = True) -> None:
        """Let the consumer read ordinary completions in place (the edge's wiring)."""
        self.rx.producer = self.prod if on else None

    def statuses(self) -> list[int]:
        return self.rx.ring.statuses()


def test_frames_carry_the_datagram_group_and_credentials() -> None:
    rig = Rig()
    assert rig.prod.refill() == 8
    for i in range(5):
        rig.deliver(message(i), group=i, creds=(100 + i, 1000, 2000))
    h = rig.prod.harvest(UD)
    assert h.published == 5 and not h.ended
    for i in range(5):
        f = rig.rx.next()
        assert f is not None
        assert bytes(f.data) == message(i)
        assert (f.len, f.group, f.pid, f.uid, f.gid) == (32, i, 100 + i, 1000, 2000)
        # the 4.5 header, written by user space only; the data after the io_uring prefix
        hdr = struct.unpack_from("=IIIIII", rig.frames, rig.layout.geometry.offsets[f.index])
        assert hdr == (NL_MMAP_STATUS.VALID, 32, i, 100 + i, 1000, 2000)
        assert f.data.obj is not None
        rig.rx.release(f)
    assert rig.rx.next() is None


def test_a_long_stream_keeps_order_and_releases_by_moving_the_tail_only() -> None:
    rig = Rig(frame_nr=8)
    rig.prod.refill()
    seq = got = 0
    for _ in range(50):  # 50 laps of the ring through fast and slow paths
        while rig.deliver(message(seq)):
            seq += 1
        assert rig.prod.harvest(UD).ended  # the buffer ring ran dry: -ENOBUFS ends it
        out = rig.drain()
        assert [struct.unpack_from("=I", m, 8)[0] for m in out] == list(range(got, got + len(out)))
        got += len(out)
        rig.prod.refill()
    assert got == seq == 400
    # in-order release: each slot kept its buffer, no entry written after the first lap
    assert rig.buffers.written == 8


def test_fast_and_slow_paths_publish_the_same_headers() -> None:
    a, b = Rig(), Rig()
    b.post(0, 0, ud=99)  # another request's completion first: b walks one by one
    for rig in (a, b):
        rig.prod.refill()
        for i in range(6):
            rig.deliver(message(i, 20 + 4 * i), group=3, creds=(1, 2, 3))
    assert a.prod.harvest(UD).published == 6
    h = b.prod.harvest(UD)
    assert h.published == 6 and h.other == 1
    assert a.statuses() == b.statuses()
    for i in range(6):
        oa, ob = (r.layout.geometry.offsets[i] for r in (a, b))
        assert a.frames[oa : oa + 24] == b.frames[ob : ob + 24]
    assert a.drain() == b.drain() == [message(i, 20 + 4 * i) for i in range(6)]


def test_slow_path_decodes_cmsgs_it_cannot_read_strided() -> None:
    rig = Rig()
    rig.prod.refill()
    rig.deliver(message(0), group=5, creds=(11, 12, 13), extra_cmsg=True)
    assert rig.prod.harvest(UD).published == 1
    f = rig.rx.next()
    assert f is not None and (f.group, f.pid, f.uid, f.gid) == (5, 11, 12, 13)
    assert rig.prod.ctrunc == 1


def test_a_truncated_datagram_is_an_empty_counted_frame_reported_in_order() -> None:
    rig = Rig()
    cap = rig.layout.capacity
    rig.prod.refill()
    rig.deliver(message(0))
    rig.deliver(message(1, cap + 40))  # does not fit: cut by the kernel
    rig.deliver(message(2))
    h = rig.prod.harvest(UD)
    # the walk stops before the cut one: the consumer has a frame to read first
    assert h.published == 1 and h.stopped and h.truncation is None
    assert rig.drain() == [message(0)]
    h = rig.prod.harvest(UD)
    assert h.truncation == (cap + 40, cap) and h.published == 1 and h.stopped
    assert rig.prod.truncated == 1
    assert rig.drain() == []  # the cut frame is released unseen (nm_len 0)
    assert rig.rx.empty_released == 1
    h = rig.prod.harvest(UD)
    assert h.published == 1 and h.truncation is None
    assert rig.drain() == [message(2)]


def test_a_completion_for_another_buffer_is_refused() -> None:
    rig = Rig()
    rig.prod.refill()
    rig.post(rig.layout.prefix + 32, (5 << 16) | IORING_CQE_F.BUFFER | IORING_CQE_F.MORE)
    with pytest.raises(RingError, match="buffer 5, expected frame 0"):
        rig.prod.harvest(UD)


def test_a_completion_with_no_buffer_handed_out_is_refused() -> None:
    rig = Rig()
    rig.post(rig.layout.prefix, IORING_CQE_F.BUFFER | IORING_CQE_F.MORE)
    with pytest.raises(RingError, match="no buffer was handed"):
        rig.prod.harvest(UD)


def test_bad_lengths_from_the_kernel_drop_the_frame_and_count_it() -> None:
    rig = Rig()
    rig.prod.refill()
    rig.deliver(message(0))
    rig.deliver(message(1))
    # forge the first completion's res: shorter than the prefix
    struct.pack_into("=i", rig.cqbuf, CQES + 8, 3)
    h = rig.prod.harvest(UD)
    assert h.published == 2 and rig.prod.corrupt == 1 and "res 3" in (rig.prod.last_error or "")
    assert rig.drain() == [message(1)]


def test_the_end_of_the_request_is_reported_with_its_result() -> None:
    rig = Rig(frame_nr=4)
    rig.prod.refill()
    for i in range(4):
        assert rig.deliver(message(i))
    assert not rig.deliver(message(4))  # no buffer left: -ENOBUFS, no F_MORE
    h = rig.prod.harvest(UD)
    assert h.published == 4 and h.ended and h.end_res == -errno.ENOBUFS
    assert rig.prod.outstanding == 0
    # a last completion that carries data and ends the request (CQ full)
    rig.drain()
    rig.prod.refill()
    rig.deliver(message(9), more=False)
    h = rig.prod.harvest(UD)
    assert h.published == 1 and h.ended and h.end_res == rig.layout.prefix + 32


def test_zero_length_datagram_is_released_unseen() -> None:
    rig = Rig()
    rig.prod.refill()
    rig.deliver(b"")
    rig.deliver(message(1))
    rig.prod.harvest(UD)
    assert rig.drain() == [message(1)]
    assert rig.rx.empty_released == 1 and rig.prod.empty == 1


def test_refill_never_hands_out_a_frame_twice_nor_laps_the_consumer() -> None:
    rig = Rig(frame_nr=4)
    assert rig.prod.refill() == 4
    assert rig.prod.refill() == 0  # all four are in the kernel: R == C + n
    for i in range(4):
        rig.deliver(message(i))
    rig.prod.harvest(UD)
    f = rig.rx.next()  # frame 0 in hand: C stays 0
    assert f is not None
    assert rig.prod.refill() == 0
    rig.rx.release(f)
    assert rig.prod.refill() == 1  # frame 0 again, one lap later
    assert rig.prod.outstanding == 1


def test_kept_frames_are_stepped_over_only_to_hand_out_the_next_free_one() -> None:
    rig = Rig(frame_nr=4)
    rig.prod.refill()
    for i in range(4):
        rig.deliver(message(i))
    rig.prod.harvest(UD)
    frames = [rig.rx.next() for _ in range(4)]
    assert all(f is not None for f in frames)
    rig.rx.skip(frames[1])  # keep the message of frame 1
    for f in (frames[0], frames[2], frames[3]):
        assert f is not None
        rig.rx.release(f)
    assert rig.prod.refill() == 3  # frames 0, 2, 3: the kept frame is stepped over
    assert rig.statuses()[1] == NL_MMAP_STATUS.SKIP
    for i in range(4, 7):
        rig.deliver(message(i))
    rig.prod.harvest(UD)
    out = rig.drain()
    assert out == [message(i) for i in range(4, 7)]
    assert frames[1] is not None and bytes(frames[1].data) == message(1)  # kept intact
    # the shift put buffers into other slots: those entries were written
    assert rig.buffers.written > 4
    rig.rx.release(frames[1])
    assert rig.prod.refill() >= 1


def test_a_trailing_run_of_kept_frames_is_not_stepped_over() -> None:
    rig = Rig(frame_nr=4)
    rig.prod.refill()
    for i in range(4):
        rig.deliver(message(i))
    rig.prod.harvest(UD)
    frames = [rig.rx.next() for _ in range(4)]
    for f in frames:
        assert f is not None
        rig.rx.skip(f)  # every frame kept: nothing can be handed out
    assert rig.prod.refill() == 0
    assert rig.prod.refill_position == 4  # resting where the consumer is
    for f in frames:
        assert f is not None
        rig.rx.release(f)
    assert rig.prod.refill() == 4


def test_the_buffer_ring_tail_lives_in_entry_zero_and_is_never_clobbered() -> None:
    br = bytearray(4 * 16)
    ring = BufferRing(br, 4, [0x1000, 0x2000, 0x3000], 512)
    ring.put_run(0, 3)
    assert struct.unpack_from("=H", br, 14)[0] == 0  # not visible before publish
    ring.publish()
    assert struct.unpack_from("=H", br, 14)[0] == 3
    assert struct.unpack_from("=QIH", br, 0) == (0x1000, 512, 0)
    ring.put_run(0, 3)  # wraps: slot 3, then 0 and 1 (entry 0 rewritten, the tail kept)
    ring.publish()
    assert struct.unpack_from("=QIH", br, 48) == (0x1000, 512, 0)
    assert struct.unpack_from("=QIH", br, 0) == (0x2000, 512, 1)
    assert struct.unpack_from("=H", br, 14)[0] == 6
    with pytest.raises(RingError):
        BufferRing(bytearray(48), 3, [], 1)


def test_cq_ring_offsets_and_tail_are_checked() -> None:
    buf = bytearray(CQES + 8 * 16)
    struct.pack_into("=IIII", buf, 0, 0, 0, 7, 8)
    cq = CompletionQueue(buf, 0, 4, 8, 12, CQES)
    struct.pack_into("=I", buf, 4, 9)  # nine completions in an eight-entry ring
    with pytest.raises(RingError, match="past head"):
        cq.pending()
    struct.pack_into("=II", buf, 8, 6, 8)
    with pytest.raises(RingError, match="mask"):
        CompletionQueue(buf, 0, 4, 8, 12, CQES)
    small = bytearray(CQES + 16)
    struct.pack_into("=II", small, 8, 7, 8)
    with pytest.raises(RingError, match="overrun"):
        CompletionQueue(small, 0, 4, 8, 12, CQES)


def test_geometry_limits() -> None:
    with pytest.raises(RingError, match="32768"):
        RecvmsgLayout(RingGeometry.for_frames(128, 65536), 12, control_layout()).check()
    with pytest.raises(RingError, match="leaves"):
        RecvmsgLayout(RingGeometry.for_frames(112, 4), 12, control_layout()).check()
    lay = RecvmsgLayout(RingGeometry.for_frames(4096, 4), 12, control_layout())
    assert lay.prefix == 16 + 12 + lay.controllen
    assert lay.capacity == 4096 - 24 - lay.prefix


def test_frames_in_blocks_with_tails_and_no_metadata() -> None:
    g = RingGeometry(4096, 3, 1200, 9)  # three frames per block, a 496-byte tail each
    assert not g.uniform
    rig = Rig(geometry=g, meta=False)
    rig.prod.refill()
    seq = 0
    for _ in range(5):
        while rig.deliver(message(seq, 64 + seq % 5 * 4)):
            seq += 1
        rig.prod.harvest(UD)
        rig.drain()
        rig.prod.refill()
    for k in range(6):
        rig.deliver(message(seq + k))
    rig.prod.harvest(UD)
    assert rig.drain() == [message(seq + k) for k in range(6)]
    f0 = rig.layout.geometry.offsets[0]
    assert struct.unpack_from("=III", rig.frames, f0 + 8) == (0, 0, 0)  # no group, no creds


def test_in_place_reading_writes_no_header_and_stops_before_a_cut_datagram() -> None:
    rig = Rig()
    rig.in_place()
    cap = rig.layout.capacity
    rig.prod.refill()
    rig.deliver(message(1))
    rig.deliver(message(2, cap + 8))
    rig.deliver(message(3))
    assert rig.drain() == [message(1)]  # read where the kernel put it ...
    hdr = struct.unpack_from("=II", rig.frames, rig.layout.geometry.offsets[0])
    assert hdr == (NL_MMAP_STATUS.UNUSED, 0)  # ... no header, no status written
    assert rig.prod.delivered_in_place == 1 and rig.rx.position == rig.prod.position == 1
    h = rig.prod.harvest(UD)  # the edge's walk meets the cut one, in order
    assert h.truncation == (cap + 8, cap) and h.published == 1
    assert rig.drain() == [message(3)]  # (published by the frame path on the way)
    assert rig.rx.empty_released == 1 and rig.rx.delivered == 2


def test_an_in_place_run_closed_early_leaves_the_rest_for_later() -> None:
    rig = Rig()
    rig.in_place()
    rig.prod.refill()
    for i in range(5):
        rig.deliver(message(i))
    it = rig.rx.iter_data(10)
    assert [bytes(next(it)), bytes(next(it))] == [message(0), message(1)]
    it.close()  # the second view was out: taken
    assert rig.rx.position == rig.prod.position == 2 and rig.cq.head == 2
    assert int(rig.commit[0]) == 2
    assert rig.drain() == [message(i) for i in range(2, 5)]


def test_the_frame_api_publishes_ordinary_completions_on_the_way() -> None:
    rig = Rig()
    rig.in_place()
    rig.prod.refill()
    rig.deliver(message(0), group=2, creds=(5, 6, 7))
    f = rig.rx.next()  # no harvest by the edge: next() publishes what is ordinary
    assert f is not None and (f.group, f.pid, f.uid, f.gid) == (2, 5, 6, 7)
    assert bytes(f.data) == message(0)
    rig.deliver(message(1))
    g = rig.rx.next()  # a frame in hand does not stop the next one
    assert g is not None and bytes(g.data) == message(1)
    rig.rx.release(f)
    rig.rx.release(g)
    assert rig.rx.next() is None


def test_the_longest_good_prefix_of_a_run_is_taken_in_one_step() -> None:
    rig = Rig(frame_nr=16)
    rig.prod.refill()
    for i in range(9):
        rig.deliver(message(i))
    struct.pack_into("=I", rig.frames, rig.layout.geometry.offsets[6] + 24, 0)  # namelen 0
    h = rig.prod.harvest(UD)
    assert h.published == 9
    assert rig.drain() == [message(i) for i in range(9)]


def test_refusals_name_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    from netring._sys import uring

    eperm = OSError(errno.EPERM, "io_uring_setup: Operation not permitted")
    for disabled, words in ((2, "io_uring_disabled = 2"), (1, "io_uring_group")):
        monkeypatch.setattr(uring, "io_uring_disabled", lambda d=disabled: d)
        assert words in uring.refusal(eperm)
    monkeypatch.setattr(uring, "io_uring_disabled", lambda: 0)
    monkeypatch.setattr(uring, "seccomp_mode", lambda: 2)
    assert "seccomp filter" in uring.refusal(eperm)
    monkeypatch.setattr(uring, "seccomp_mode", lambda: 0)
    assert "security module" in uring.refusal(eperm)
    enosys = OSError(errno.ENOSYS, "io_uring_setup: Function not implemented")
    assert "CONFIG_IO_URING" in uring.refusal(enosys)
    monkeypatch.setattr(uring, "seccomp_mode", lambda: 2)
    assert "seccomp" in uring.refusal(enosys)
    assert uring.syscall_numbers("x86_64") == (425, 426, 427)
    assert uring.syscall_numbers("alpha") is None


def test_probe_text_shows_the_io_uring_line() -> None:
    from netring.cli.probe import format_probe

    base = {"kernel": "6.18", "netlink_mmap": {"rx": False, "tx": False, "error": "ENOPROTOOPT"}}
    yes = format_probe({**base, "io_uring_ring": {"available": True, "reason": "works",
                                                  "features": "0x3ffff"}})
    assert "netring uses io_uring to fill its rings" in yes
    assert "io_uring ring       yes (works; features 0x3ffff)" in yes
    no = format_probe({**base, "io_uring_ring": {"available": False, "reason": "EPERM (x)"}})
    assert "user-space ring engine" in no and "io_uring ring       no (EPERM (x))" in no
