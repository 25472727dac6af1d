"""The verdict batcher against a model of the kernel's queue (nfqnl_recv_verdict and
nfqnl_recv_verdict_batch): random completion orders, mixed verdicts and marks, ids
wrapping at 2**32 -- every packet must get exactly the verdict asked for, once."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netring.codec import iter_messages
from netring.errors import EncodeError
from netring.subsystems.nfnetlink.constants import NF
from netring.subsystems.nfnetlink.queue.batch import Batcher, id_after
from netring.subsystems.nfnetlink.queue.constants import NFQA
from netring.subsystems.nfnetlink.queue.requests import (
    NFQNL_VERDICT_BATCH_TYPE,
    NFQNL_VERDICT_TYPE,
    VerdictWriter,
)


class KernelQueue:
    """The kernel side: entries in id order; VERDICT finds one id, VERDICT_BATCH takes
    the list's prefix up to id N (``nfq_id_after``), ENOENT when nothing matched."""

    def __init__(self) -> None:
        self.entries: list[int] = []
        self.given: dict[int, tuple[int, int | None]] = {}
        self.enoent = 0

    def apply(self, data: memoryview) -> None:
        for m in iter_messages(data):
            attrs = {a.type: a for a in m.attrs(4)}
            verdict, pid = struct.unpack("!II", attrs[NFQA.VERDICT_HDR].bytes())
            mark = attrs[NFQA.MARK].be32() if NFQA.MARK in attrs else None
            if m.type == NFQNL_VERDICT_TYPE:
                if pid not in self.entries:
                    self.enoent += 1
                    continue
                self.entries.remove(pid)
                self._give(pid, verdict, mark)
            else:
                assert m.type == NFQNL_VERDICT_BATCH_TYPE
                taken = 0
                while self.entries and not id_after(self.entries[0], pid):
                    self._give(self.entries.pop(0), verdict, mark)
                    taken += 1
                if not taken:
                    self.enoent += 1

    def _give(self, pid: int, verdict: int, mark: int | None) -> None:
        assert pid not in self.given, f"packet {pid} got a second verdict"
        self.given[pid] = (verdict, mark)


def _run(start: int, n: int, order: list[int], kinds: list[int], hold: int,
         flush_every: int) -> None:
    ids = [(start + i) & 0xFFFFFFFF for i in range(n)]
    kernel = KernelQueue()
    kernel.entries = list(ids)
    w = VerdictWriter(1 << 20)
    seq = itertools.count(1)
    b = Batcher(w, lambda: next(seq), verdict=NF.ACCEPT, mark=None, delay=1e9)
    want: dict[int, tuple[int, int | None]] = {}
    # the program receives in id order, a few at a time, and completes in `order`
    received = 0
    pending: list[int] = []
    step = 0
    for k in order:
        while received < n and len(pending) < hold:
            b.received(0, ids[received])
            pending.append(ids[received])
            received += 1
        if not pending:
            break
        pid = pending.pop(k % len(pending))
        kind = kinds[step % len(kinds)]
        step += 1
        v, mark = [(NF.ACCEPT, None), (NF.DROP, None), (NF.ACCEPT, 7), (NF.REPEAT, None),
                   (NF.ACCEPT, None), (NF.ACCEPT, None)][kind]
        want[pid] = (int(v), mark)
        b.complete(0, pid, v, mark=mark)
        if step % flush_every == 0:
            b.flush()
            kernel.apply(w.view())
            w.reset()
    # the rest, in order
    while received < n:
        b.received(0, ids[received])
        pending.append(ids[received])
        received += 1
    for pid in pending:
        want[pid] = (int(NF.ACCEPT), None)
        b.complete(0, pid, NF.ACCEPT)
    b.flush(force=True)
    kernel.apply(w.view())
    assert kernel.given == want
    assert kernel.entries == []
    assert kernel.enoent == 0
    assert b.in_flight == 0 and b.waiting == 0 and b.outstanding() == []


@settings(max_examples=300, deadline=None)
@given(
    start=st.sampled_from([1, 0xFFFFFFF0, 0xFFFFFFFF, 0x7FFFFFF0, 12345]),
    n=st.integers(1, 120),
    order=st.lists(st.integers(0, 1000), min_size=1, max_size=200),
    kinds=st.lists(st.integers(0, 5), min_size=1, max_size=20),
    hold=st.integers(1, 40),
    flush_every=st.integers(1, 30),
)
def test_random_completion_orders_give_every_packet_its_verdict_once(
        start: int, n: int, order: list[int], kinds: list[int], hold: int,
        flush_every: int) -> None:
    _run(start, n, order, kinds, hold, flush_every)


def test_wraparound_prefix_is_one_batch_message() -> None:
    w = VerdictWriter()
    b = Batcher(w, lambda: 1)
    ids = [0xFFFFFFFE, 0xFFFFFFFF, 0, 1]
    b.received_many(0, ids)
    for i in ids:
        b.complete(0, i, NF.ACCEPT)
    b.flush()
    msgs = list(iter_messages(w.view()))
    assert [m.type for m in msgs] == [NFQNL_VERDICT_BATCH_TYPE]
    assert struct.unpack_from("!I", msgs[0].buf, msgs[0].offset + 28)[0] == 1


def test_a_gap_holds_the_batch_and_the_delay_releases_it() -> None:
    now = [0.0]
    w = VerdictWriter()
    b = Batcher(w, lambda: 1, delay=0.001, clock=lambda: now[0])
    b.received_many(0, [10, 11, 12])
    b.complete(0, 11, NF.ACCEPT)
    b.complete(0, 12, NF.ACCEPT)
    b.flush()
    assert w.tail == 0 and b.waiting == 2 and not b.due()
    now[0] = 0.002
    assert b.due()
    b.flush()  # due: the waiting ones go out on their own
    types = [m.type for m in iter_messages(w.view())]
    assert types == [NFQNL_VERDICT_TYPE, NFQNL_VERDICT_TYPE]
    w.reset()
    b.complete(0, 10, NF.ACCEPT)
    b.flush()
    # 10 closes the prefix: a batch for 10..12 covers only 10 (11, 12 already left)
    (m,) = iter_messages(w.view())
    assert m.type == NFQNL_VERDICT_BATCH_TYPE
    assert b.in_flight == 0


def test_exceptions_go_first_and_alone() -> None:
    w = VerdictWriter()
    b = Batcher(w, lambda: 1)
    b.received_many(0, [1, 2, 3])
    b.complete(0, 2, NF.DROP)
    b.complete(0, 1, NF.ACCEPT)
    b.complete(0, 3, NF.ACCEPT, mark=5)
    b.flush()
    kinds = [(m.type, struct.unpack_from("!II", m.buf, m.offset + 24)) for m in iter_messages(w.view())]
    assert kinds == [(NFQNL_VERDICT_TYPE, (NF.DROP, 2)), (NFQNL_VERDICT_TYPE, (NF.ACCEPT, 3)),
                     (NFQNL_VERDICT_BATCH_TYPE, (NF.ACCEPT, 1))]


def test_complete_many_in_order_is_one_message() -> None:
    w = VerdictWriter()
    b = Batcher(w, lambda: 1)
    ids = list(range(100, 164))
    b.received_many(3, ids)
    b.complete_many(3, ids)
    b.flush()
    (m,) = iter_messages(w.view())
    assert m.type == NFQNL_VERDICT_BATCH_TYPE and b.in_flight == 0
    assert b.by_verdict[NF.ACCEPT] == 64


def test_queues_have_their_own_id_spaces() -> None:
    w = VerdictWriter()
    b = Batcher(w, lambda: 1)
    b.received_many(1, [1, 2])
    b.received_many(2, [1, 2])
    b.complete(2, 1, NF.ACCEPT)
    b.complete(2, 2, NF.ACCEPT)
    b.flush()
    (m,) = iter_messages(w.view())
    assert struct.unpack_from("!H", m.buf, m.offset + 18)[0] == 2
    assert b.outstanding(1) == [1, 2]


def test_a_restarted_queue_forgets_the_old_ids() -> None:
    b = Batcher(VerdictWriter(), lambda: 1)
    b.received_many(0, [500, 501])
    b.received(0, 1)  # ids went back: the queue was made anew
    assert b.resets == 1 and b.outstanding(0) == [1] and b.in_flight == 1


def test_misuse_is_an_encode_error() -> None:
    b = Batcher(VerdictWriter(), lambda: 1)
    with pytest.raises(EncodeError, match="not awaiting a verdict"):
        b.complete(0, 1, NF.ACCEPT)
    b.received(0, 5)
    b.complete(0, 5, NF.DROP)
    b.received(0, 6)
    with pytest.raises(EncodeError, match="not awaiting"):
        b.complete(0, 9, NF.ACCEPT)
    b.complete(0, 6, NF.ACCEPT)
    with pytest.raises(EncodeError, match="not awaiting"):
        b.complete(0, 6, NF.ACCEPT)


def test_a_verdict_sent_elsewhere_is_not_covered_again() -> None:
    w = VerdictWriter()
    b = Batcher(w, lambda: 1)
    b.received_many(0, [1, 2, 3])
    assert b.sent(0, 1) and not b.sent(0, 1) and not b.sent(0, 9)
    assert b.outstanding(0) == [2, 3] and b.in_flight == 2
    b.complete(0, 3, NF.ACCEPT)
    b.complete(0, 2, NF.ACCEPT)
    b.flush()
    (m,) = iter_messages(w.view())
    assert m.type == NFQNL_VERDICT_BATCH_TYPE and b.in_flight == 0


def _state_of(b: Batcher, w: VerdictWriter) -> tuple[object, ...]:
    b.flush(force=False)
    qs = {q: (list(s.outstanding), dict(s.done), s.waiting, s.upto, s.last)
          for q, s in b.queues.items()}
    return (bytes(w.view()), qs, b.in_flight, b.waiting, list(b.by_verdict),
            b.batch_messages, b.single_messages)


@settings(max_examples=400, deadline=None)
@given(
    start=st.sampled_from([1, 0xFFFFFFF0, 0x7FFFFFF0, 12345]),
    n=st.integers(1, 80),
    before=st.lists(st.tuples(st.integers(0, 200), st.booleans()), max_size=40),
    picks=st.lists(st.integers(0, 200), min_size=1, max_size=80),
    shuffle=st.booleans(),
    bad=st.sampled_from([None, "done", "unknown", "twice"]),
)
def test_complete_many_in_bulk_equals_one_complete_per_id(
        start: int, n: int, before: list[tuple[int, bool]], picks: list[int], shuffle: bool,
        bad: str | None) -> None:
    ids = [(start + i) & 0xFFFFFFFF for i in range(n)]
    pair = []
    for _ in range(2):
        w = VerdictWriter()
        b = Batcher(w, lambda: 1, clock=lambda: 0.0)
        b.received_many(0, ids)
        done: set[int] = set()
        for k, drop in before:  # an earlier history: batched completions and drops
            i = ids[k % n]
            if i not in done:
                done.add(i)
                b.complete(0, i, NF.DROP if drop else NF.ACCEPT)
        pair.append((w, b, done))
    done = pair[0][2]
    left = [i for i in ids if i not in done]
    chosen = list(dict.fromkeys(left[k % len(left)] for k in picks)) if left else []
    if not shuffle:
        chosen.sort(key=lambda i: (i - start) & 0xFFFFFFFF)
    else:
        chosen.reverse()
    if bad == "done" and done:
        chosen.append(next(iter(done)))
    elif bad == "unknown":
        chosen.append((start + n + 5) & 0xFFFFFFFF)
    elif bad == "twice" and chosen:
        chosen.append(chosen[0])
    elif not chosen:
        return
    (w1, b1, _), (w2, b2, _) = pair
    errors = []
    wraps = start + n - 1 > 0xFFFFFFFF
    st1 = b1.queues[0]
    snapshot = (list(st1.outstanding), dict(st1.done), b1.in_flight, b1.waiting)
    took = b1._complete_batched(st1, chosen)  # the bulk path complete_many takes
    if bad is None and not wraps:
        assert took
    if not took:  # nothing recorded: complete_many goes on one id at a time
        assert snapshot == (list(st1.outstanding), dict(st1.done), b1.in_flight, b1.waiting)
        try:
            b1.complete_many(0, chosen)
        except EncodeError:
            errors.append(1)
    try:
        for i in chosen:
            b2.complete(0, i, NF.ACCEPT)
    except EncodeError:
        errors.append(2)
    assert len(errors) in (0, 2)  # both refuse, or neither
    if not errors:
        assert _state_of(b1, w1) == _state_of(b2, w2)


def test_steady_out_of_order_completions_keep_being_batched() -> None:
    """Two streams a step apart (2, 4, 1, 6, 3, 8, 5, ...): something always waits, but
    nothing waits as long as the delay, so no completion goes out alone."""
    now = [0.0]
    w = VerdictWriter()
    b = Batcher(w, lambda: 1, delay=0.001, clock=lambda: now[0])
    n = 200
    b.received_many(0, list(range(1, n + 1)))
    order = [2] + [x for k in range(1, n // 2) for x in (2 * k + 2, 2 * k - 1)] + [n - 1]
    assert sorted(order) == list(range(1, n + 1))
    kernel = KernelQueue()
    kernel.entries = list(range(1, n + 1))
    for i in order:
        now[0] += 0.0004  # each completion waits two steps: 0.8 ms < the delay
        b.complete(0, i, NF.ACCEPT)
        assert b.flush()
        kernel.apply(w.view())
        w.reset()
    assert b.single_messages == 0 and b.waiting == 0 and kernel.entries == []
    assert len(kernel.given) == n and b.batch_messages > 1
    # and one that is left behind for good is released after the delay
    b.received_many(0, [n + 1, n + 2])
    b.complete(0, n + 2, NF.ACCEPT)
    assert b.flush() and not b.due()
    now[0] += 0.002
    assert b.due() and b.flush()
    assert b.single_messages == 1


@settings(max_examples=400, deadline=None)
@given(
    start=st.sampled_from([1, 0xFFFFFFF0, 12345]),
    n=st.integers(1, 40),
    steps=st.lists(st.tuples(st.integers(0, 60), st.sampled_from([NF.ACCEPT, NF.DROP])),
                   min_size=1, max_size=60),
    mark=st.sampled_from([None, 7]),
)
def test_complete_plain_equals_complete(start: int, n: int, steps: list[tuple[int, int]],
                                        mark: int | None) -> None:
    """The verdict-word-only path records exactly what :meth:`Batcher.complete` does,
    refusing what it refuses (a packet done already, or unknown), in any order."""
    ids = [(start + i) & 0xFFFFFFFF for i in range(n)]
    pair = []
    for _ in range(2):
        w = VerdictWriter()
        b = Batcher(w, lambda: 1, mark=mark, clock=lambda: 0.0)
        b.received_many(0, ids)
        pair.append((w, b))
    (w1, b1), (w2, b2) = pair
    for k, verdict in steps:
        i = ids[k % n] if k < 2 * n else (start + n + k) & 0xFFFFFFFF  # some unknown
        outcome = []
        for fn in (b1.complete_plain, b2.complete):
            try:
                fn(0, i, verdict)
                outcome.append("ok")
            except EncodeError:
                outcome.append("refused")
        assert outcome[0] == outcome[1]
        assert _state_of(b1, w1) == _state_of(b2, w2)
