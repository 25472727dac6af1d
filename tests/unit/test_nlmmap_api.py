"""The common consumer API (RingBase) over a pure in-memory backend: no OS calls."""

from __future__ import annotations

from collections import deque

import pytest

from netring.codec import Builder
from netring.errors import Overrun, RingError
from netring.nlmmap import FlushResult, RingBase, RingGeometry
from netring.nlmmap.cursor import Frame, RxConsumer, RxProducer, TxProducer, TxSender


def _msg(seq: int, pad: int = 0) -> bytes:
    b = Builder(64 + pad)
    b.begin(0x10, seq=seq)
    b.put(bytes(4 + pad))
    b.end()
    return b.tobytes()


class MemRing(RingBase):
    """A ring whose 'socket' is a deque; _wait moves queued datagrams into frames."""

    backend = "memory"
    reason = "test double"

    def __init__(self, g: RingGeometry) -> None:
        self.buf = bytearray(2 * g.size)
        self.queue: deque[bytes] = deque()
        self.side: deque[bytes] = deque()
        self.pos = {"p": 0, "c": 0}
        self.prod = RxProducer(self.buf, g, publish_position=lambda p: self.pos.__setitem__("p", p),
                               consumer_position=lambda: self.pos["c"])
        self.rx = RxConsumer(self.buf, g, fetch=lambda f: self.side.popleft(),
                             producer_position=lambda: self.pos["p"],
                             commit=lambda c: self.pos.__setitem__("c", c))
        self.tx = TxProducer(self.buf, g, g.size)
        self.sender = TxSender(self.buf, g, g.size)
        self.sent: list[bytes] = []
        self.overruns = 0
        self.waits = 0

    def _overruns(self) -> int:
        return self.overruns

    def _wait(self, timeout: float | None) -> bool:
        self.waits += 1
        start, cnt = self.prod.reserve(len(self.queue))
        lens = []
        for k in range(cnt):
            d = self.queue.popleft()
            if len(d) <= self.prod.ring.data_size:
                self.prod.data_view(start + k)[: len(d)] = d
            else:
                self.side.append(d)
            lens.append(len(d))
        self.prod.publish(start, lens)
        return bool(cnt)

    def flush(self, portid: int = 0, groups: int = 0) -> FlushResult:
        good, bad, walked = self.sender.pending()
        self.sent.append(b"".join(bytes(v) for _, v in good))
        self.sender.complete(walked)
        return FlushResult(len(good), len(self.sent[-1]), 1, list(bad))


G = RingGeometry(4096, 2, 512, 16)


def test_messages_data_count_and_timeout() -> None:
    r = MemRing(G)
    r.queue.extend(_msg(i) for i in range(40))
    r.queue.append(_msg(40, pad=2000))  # COPY
    seqs = [m.seq for m in r.messages(timeout=0, count=41)]
    assert seqs == list(range(41))
    assert list(r.data(timeout=0)) == []  # nothing more: returns at once
    assert r.recv(timeout=0) is None


def test_recv_release_skip() -> None:
    r = MemRing(G)
    r.queue.extend(_msg(i) for i in range(3))
    f = r.recv(timeout=0)
    assert isinstance(f, Frame) and f.len == len(_msg(0))
    r.skip(f)
    g = r.recv(timeout=0)
    assert g is not None and next(g.messages()).seq == 1
    r.release(g)
    r.release(f)
    h = r.recv(timeout=0)
    assert h is not None and next(h.messages()).seq == 2
    r.release(h)


def test_overrun_raised_once() -> None:
    r = MemRing(G)
    r.overruns = 1
    with pytest.raises(Overrun):
        r.recv(timeout=0)
    assert r.recv(timeout=0) is None  # reported once, then reading goes on


def test_tx_send_frames_and_errors() -> None:
    r = MemRing(G)
    res = r.send_frames([_msg(i) for i in range(20)])  # 16 frames: flushes in between
    assert res.frames == 20 and res.syscalls == 2
    assert b"".join(r.sent) == b"".join(_msg(i) for i in range(20))
    bare = RingBase()
    with pytest.raises(RingError, match="no RX ring"):
        bare.recv(timeout=0)
    with pytest.raises(RingError, match="no TX ring"):
        bare.tx_frame()


class RunRing(MemRing):
    """MemRing plus datagrams handed out in place (what io_uring's completions are):
    ``_take_run`` offers them before any frame, ``_settle_run`` drops the taken ones."""

    def __init__(self, g: RingGeometry) -> None:
        super().__init__(g)
        self.area = bytearray()
        self.lying: list[tuple[int, int]] = []  # (start, length) of datagrams not taken
        self.limits: list[int] = []
        self.settled: list[int] = []

    def lay(self, datagram: bytes) -> None:
        self.lying.append((len(self.area), len(datagram)))
        self.area += datagram

    def _take_run(self, limit: int) -> tuple[bytearray, list[int], list[int]] | None:
        self.limits.append(limit)
        if not self.lying:
            return None
        run = self.lying[:limit]
        return self.area, [d for d, _ in run], [n for _, n in run]

    def _settle_run(self, taken: int) -> None:
        self.settled.append(taken)
        del self.lying[:taken]


def test_data_reads_runs_in_place_then_frames_in_one_loop() -> None:
    r = RunRing(G)
    for i in range(10):
        r.lay(_msg(i))
    r.queue.extend(_msg(i) for i in range(10, 13))  # frames, once the runs are read
    assert [bytes(v) for v in r.data(timeout=0, batch=4)] == [_msg(i) for i in range(13)]
    assert r.settled == [4, 4, 2] and r.limits[:4] == [4, 4, 4, 4]
    assert r.rx is not None and r.rx.delivered == 3


def test_data_count_bounds_a_run_and_a_closed_iterator_settles_what_was_taken() -> None:
    r = RunRing(G)
    for i in range(10):
        r.lay(_msg(i))
    assert [bytes(v) for v in r.data(timeout=0, count=3, batch=8)] == [_msg(i) for i in range(3)]
    assert r.limits == [3] and r.settled == [3]
    it = r.data(timeout=0, batch=8)
    assert [bytes(next(it)), bytes(next(it))] == [_msg(3), _msg(4)]
    it.close()  # the second view was out: taken
    assert r.settled == [3, 2]
    assert [bytes(v) for v in r.data(timeout=0)] == [_msg(i) for i in range(5, 10)]
