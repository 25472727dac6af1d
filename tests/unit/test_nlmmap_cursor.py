"""Pure cursors: the RX consumer protocol, the filler, TX; and a stateful model."""

from __future__ import annotations

import struct
from collections import deque

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from netring.codec import Builder
from netring.errors import RingError
from netring.nlmmap.abi import NL_MMAP_STATUS as S
from netring.nlmmap.cursor import Frame, RxConsumer, RxProducer, TxProducer, TxSender
from netring.nlmmap.geometry import RingGeometry

ID = struct.Struct("=I")


def _pair(geom: RingGeometry, oracle: bool = True) -> tuple[bytearray, RxProducer, RxConsumer,
                                                            deque[bytes]]:
    buf = bytearray(geom.size)
    box = {"p": 0, "c": 0}
    side: deque[bytes] = deque()

    def fetch(f: Frame) -> bytes:
        data = side.popleft()
        assert len(data) == f.len
        return data

    prod = RxProducer(buf, geom, publish_position=lambda p: box.__setitem__("p", p),
                      consumer_position=(lambda: box["c"]) if oracle else None)
    cons = RxConsumer(buf, geom, fetch=fetch,
                      producer_position=(lambda: box["p"]) if oracle else None,
                      commit=lambda c: box.__setitem__("c", c))
    return buf, prod, cons, side


def _fill(prod: RxProducer, side: deque[bytes], payloads: list[bytes]) -> int:
    start, cnt = prod.reserve(len(payloads))
    lens = []
    for k in range(cnt):
        p = payloads[k]
        if len(p) <= prod.ring.data_size:
            prod.data_view(start + k)[: len(p)] = p
        else:
            side.append(p)
        lens.append(len(p))
    prod.publish(start, lens)
    return cnt


def test_valid_copy_empty_and_wait() -> None:
    g = RingGeometry(4096, 1, 1024, 4)
    buf, prod, cons, side = _pair(g)
    assert cons.next() is None  # UNUSED: wait
    big = b"B" * 3000
    assert _fill(prod, side, [b"a" * 8, big, b""]) == 3
    f = cons.next()
    assert f is not None and bytes(f.data) == b"a" * 8 and f.status == S.VALID
    cons.release(f)
    f = cons.next()
    assert f is not None and f.is_copy and bytes(f.data) == big and f.len == 3000
    cons.release(f)
    assert cons.next() is None  # the empty VALID frame was released on the way
    assert cons.empty_released == 1
    assert cons.ring.statuses() == [0, 0, 0, 0]
    with pytest.raises(RingError, match="twice"):
        cons.release(f)


def test_reserved_is_never_skipped() -> None:
    g = RingGeometry(4096, 1, 1024, 4)
    buf, prod, cons, side = _pair(g, oracle=False)
    _fill(prod, side, [b"x" * 4, b"y" * 4])
    cons.ring.words[cons.ring.hdr[0]] = S.RESERVED  # kernel still building frame 0
    assert cons.next() is None
    cons.ring.words[cons.ring.hdr[0]] = S.VALID
    f = cons.next()
    assert f is not None and bytes(f.data) == b"xxxx"


def test_skip_then_release_out_of_order() -> None:
    g = RingGeometry(4096, 1, 512, 8)
    buf, prod, cons, side = _pair(g)
    _fill(prod, side, [ID.pack(i) for i in range(8)])
    got = []
    kept = []
    for _ in range(8):
        f = cons.next()
        assert f is not None
        got.append(ID.unpack(f.data)[0])
        if f.index % 2:
            cons.skip(f)
            kept.append(f)
        else:
            cons.release(f)
    assert got == list(range(8))
    assert cons.ring.statuses() == [0, 4] * 4
    # the filler steps over kept frames
    assert _fill(prod, side, [ID.pack(i) for i in range(8, 12)]) == 1  # frame 0 only (1 is SKIP)
    for f in reversed(kept):
        cons.release(f)
    with pytest.raises(RingError):
        cons.skip(kept[0])


def test_illegal_transitions_raise_and_a_changed_word_is_counted() -> None:
    g = RingGeometry(4096, 1, 1024, 4)
    buf, prod, cons, side = _pair(g)
    _fill(prod, side, [b"abcd"])
    f = cons.next()
    assert f is not None
    cons.ring.words[cons.ring.hdr[f.index]] = S.RESERVED  # the other side changed the word
    cons.release(f)  # the program did nothing wrong: counted, the word is left alone
    assert cons.corrupt == 1 and "not VALID/COPY" in (cons.last_error or "")
    assert cons.ring.status(f.index) == S.RESERVED
    with pytest.raises(RingError, match="twice"):
        cons.release(f)  # the program's own misuse still raises
    start, cnt = prod.reserve(1)
    cons.ring.words[cons.ring.hdr[start]] = S.SKIP
    with pytest.raises(RingError, match="illegal"):
        prod.publish_one(4)


def test_iter_data_fast_path_and_commit() -> None:
    g = RingGeometry(4096, 2, 1024, 8)
    buf = bytearray(g.size)
    committed: list[int] = []
    box = {"p": 0}
    prod = RxProducer(buf, g, publish_position=lambda p: box.__setitem__("p", p))
    cons = RxConsumer(buf, g, producer_position=lambda: box["p"], commit=committed.append)
    _fill(prod, deque(), [ID.pack(i) * 3 for i in range(6)])
    out = [ID.unpack_from(v)[0] for v in cons.iter_data(100)]
    assert out == list(range(6)) and committed[-1] == 6
    assert cons.ring.statuses() == [0] * 8


def test_block_tail_geometry() -> None:
    g = RingGeometry(4096, 3, 1500, 6)
    buf, prod, cons, side = _pair(g)
    msgs = [ID.pack(i) + bytes(20) for i in range(6)]
    done = 0
    while done < 6:  # a run never crosses a block tail
        got = _fill(prod, side, msgs[done:])
        assert got == 2
        done += got
    assert [bytes(v) for v in cons.iter_data(10)] == msgs


def test_tx_build_flush_and_bad_frames() -> None:
    g = RingGeometry(4096, 1, 256, 16)
    buf = bytearray(g.size)
    tx = TxProducer(buf, g)
    sender = TxSender(buf, g)
    for i in range(5):
        view = tx.frame()
        assert view is not None
        b = Builder(view)
        b.begin(0x10, seq=i)
        b.put(b"abc")
        b.end()
        tx.commit(b.tail if i != 2 else 40)  # frame 2: nm_len disagrees with its message
    with pytest.raises(RingError):
        tx.commit(10_000)
    good, bad, walked = sender.pending()
    assert walked == 5 and [i for i, _ in good] == [0, 1, 3, 4]
    assert [b.index for b in bad] == [2] and "add up" in bad[0].reason
    assert all(len(v) % 4 == 0 for _, v in good)
    sender.complete(walked)
    assert tx.free() == 16


# ---------------------------------------------------------------------------------
# Stateful model: any interleaving of fill / consume / skip / release / wrap
# ---------------------------------------------------------------------------------
class RingModel(RuleBasedStateMachine):
    """The consumer sees every produced message exactly once, in order."""

    ORACLE = True  # the producer respects the consumer's committed position (netring's)

    @initialize(blocks=st.integers(1, 3), frame=st.sampled_from([1024, 1500, 2048, 4096, 256]))
    def setup(self, blocks: int, frame: int) -> None:
        # small rings (2..12 frames; 1500 leaves a block tail) so laps come quickly
        page = 4096
        n = (page // frame) * blocks
        self.g = RingGeometry(page, blocks, frame, n, page_size=page)
        self.buf, self.prod, self.cons, self.side = _pair(self.g, oracle=self.ORACLE)
        self.produced: list[int] = []
        self.delivered: list[int] = []
        self.held: list[Frame] = []
        self.next_id = 0

    def _deliver(self, f: Frame) -> None:
        (mid,) = ID.unpack_from(f.data)
        self.delivered.append(mid)

    @rule(k=st.integers(1, 4), big=st.lists(st.booleans(), min_size=6, max_size=6),
          empty=st.booleans())
    def fill(self, k: int, big: list[bool], empty: bool) -> None:
        start, cnt = self.prod.reserve(k)
        lens = []
        for j in range(cnt):
            if empty and j == 0 and k == 1:
                lens.append(0)  # a frame the "kernel" reserved then dropped
                continue
            mid = self.next_id
            self.next_id += 1
            size = self.g.data_size + 8 if big[j] and j % 2 else 4 + (mid % 3) * 4
            payload = ID.pack(mid) + bytes(size - 4)
            if size <= self.g.data_size:
                self.prod.data_view(start + j)[:size] = payload
            else:
                self.side.append(payload)
            self.produced.append(mid)
            lens.append(size)
        self.prod.publish(start, lens)

    @rule()
    def consume(self) -> None:
        f = self.cons.next()
        if f is not None:
            self._deliver(f)
            self.cons.release(f)

    @rule()
    def skip(self) -> None:
        f = self.cons.next()
        if f is not None:
            self._deliver(f)
            self.cons.skip(f)
            self.held.append(f)

    @precondition(lambda self: len(self.held) >= 2)  # keep one frame for a long time
    @rule(which=st.integers(0, 100))
    def release_held(self, which: int) -> None:
        f = self.held.pop(which % len(self.held))
        self.cons.release(f)

    @rule(limit=st.integers(1, 40))
    def consume_fast(self, limit: int) -> None:
        for v in self.cons.iter_data(limit):
            self.delivered.append(ID.unpack_from(v)[0])

    @invariant()
    def in_order_no_dup(self) -> None:
        assert self.delivered == self.produced[: len(self.delivered)]

    def teardown(self) -> None:
        if not hasattr(self, "g"):
            return
        for kept in self.held:
            self.cons.release(kept)
        self.held.clear()
        for _ in range(4 * self.g.frame_nr + 8):
            f = self.cons.next()
            if f is None:
                break
            self._deliver(f)
            self.cons.release(f)
        assert self.delivered == self.produced  # nothing lost
        assert not self.side  # every COPY message fetched exactly once


TestRingModel = RingModel.TestCase
TestRingModel.settings = settings(max_examples=800, stateful_step_count=100, deadline=None)


class KernelRingModel(RingModel):
    """The same property with a producer that knows nothing of the consumer, as the
    4.5 kernel: it steps over SKIP frames (a lap at most) and fills UNUSED ones."""

    ORACLE = False


TestKernelRingModel = KernelRingModel.TestCase
TestKernelRingModel.settings = settings(max_examples=500, stateful_step_count=100, deadline=None)


def test_fast_path_stops_at_a_kept_frame_inside_a_run() -> None:
    """A SKIP frame between VALID frames (kept a lap ago) must end the fast run."""
    g = RingGeometry(4096, 1, 1024, 4)
    buf, prod, cons, side = _pair(g)
    _fill(prod, side, [ID.pack(i) for i in range(4)])
    got = []
    for j in range(4):
        f = cons.next()
        assert f is not None
        got.append(ID.unpack_from(f.data)[0])
        (cons.skip if j == 1 else cons.release)(f)
    kept = cons.held[1]
    assert _fill(prod, side, [ID.pack(4)]) == 1  # frame 0
    assert _fill(prod, side, [ID.pack(5), ID.pack(6)]) == 2  # steps over frame 1
    assert cons.ring.statuses() == [S.VALID, S.SKIP, S.VALID, S.VALID]
    got += [ID.unpack_from(v)[0] for v in cons.iter_data(10)]
    assert got == list(range(7))
    assert cons.ring.status(1) == S.SKIP
    cons.release(kept)


def test_kernel_ring_skip_needs_evidence_the_kernel_passed() -> None:
    """No published producer position (a kernel ring): a kept frame at the head is
    stepped over only once a later frame shows the kernel has been there."""
    g = RingGeometry(4096, 1, 1024, 4)
    buf, prod, cons, side = _pair(g, oracle=False)
    _fill(prod, side, [ID.pack(i) for i in range(4)])
    f0 = cons.next()
    assert f0 is not None
    cons.skip(f0)
    for _ in range(3):
        f = cons.next()
        assert f is not None
        cons.release(f)
    assert cons.next() is None  # frame 0 is SKIP, frame 1 UNUSED: the kernel may not have passed
    _fill(prod, side, [ID.pack(4)])  # the kernel steps over frame 0, fills frame 1
    f = cons.next()
    assert f is not None and f.index == 1 and ID.unpack_from(f.data)[0] == 4
    cons.release(f)
    cons.release(f0)  # deferred: still SKIP (nothing in hand proves the kernel is short of it)
    assert cons.ring.statuses() == [S.SKIP] + [S.UNUSED] * 3 and cons.deferred == 1


def test_kept_frame_released_after_the_kernel_passed_it_is_handed_back_only_when_safe() -> None:
    """A producer that publishes nothing (the 4.5 kernel) steps over kept frames
    lazily and may rest a lap past one.  Released then, the frame stays SKIP
    until the frames prove the producer has not come round to it; storing UNUSED
    at once would let the producer fill it a lap early (message 5 before 4)."""
    g = RingGeometry(4096, 1, 1024, 4)
    buf, prod, cons, side = _pair(g, oracle=False)
    got: list[int] = []

    def take(keep: bool) -> Frame:
        f = cons.next()
        assert f is not None
        got.append(ID.unpack_from(f.data)[0])
        (cons.skip if keep else cons.release)(f)
        return f

    _fill(prod, side, [ID.pack(0)])
    f0 = take(True)
    _fill(prod, side, [ID.pack(1), ID.pack(2)])
    take(True)
    _fill(prod, side, [ID.pack(3)])
    assert _fill(prod, side, [ID.pack(9)]) == 0  # full: steps over 0, 1 and rests at 2
    take(True)
    take(False)  # frame 3 released; the producer rests on frame 2, a lap past frame 0
    cons.release(f0)
    assert cons.ring.statuses() == [S.SKIP, S.SKIP, S.SKIP, S.UNUSED] and cons.deferred == 1
    assert _fill(prod, side, [ID.pack(4)]) == 1  # into frame 3
    assert _fill(prod, side, [ID.pack(5)]) == 0  # frame 0 is still SKIP: not filled early
    take(False)
    assert got == [0, 1, 2, 3, 4] and cons.corrupt == 0
