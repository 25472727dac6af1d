"""The direct ring producer (RingWriter): a peer process writes netlink messages
straight into a shared RX ring, the consumer reads them with the ordinary ring API.

Real processes (fork) and a real memfd; no kernel ring feature and no root needed.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import struct
import time

import pytest
from procutil import fork, reap

from netring.codec import NETLINK
from netring.errors import RingError
from netring.nlmmap import RingGeometry, RingTimeout, RingWriter
from netring.nlmmap.cursor import Frame
from netring.nlmmap.edge.filler import RingFiller
from netring.nlmmap.edge.shm import PAGE_SIZE, HeaderWord, SharedRing
from netring.nlmmap.edge.user import UserRing

HDR = struct.Struct("=IHHII")  # struct nlmsghdr
SEQ = struct.Struct("=I")


def msg(seq: int, size: int = 64) -> bytes:
    return HDR.pack(size, 0x10, 0, seq & 0xFFFFFFFF, 0) + bytes(size - 16)


def seq_of(view: memoryview | bytes) -> int:
    return int(SEQ.unpack_from(view, 8)[0])


def ring_of(frame_size: int, frame_nr: int) -> SharedRing:
    return SharedRing.create(RingGeometry.for_frames(frame_size, frame_nr, page_size=PAGE_SIZE))


def write_sequence(shared: SharedRing, total: int, seed: int = 0, **kw: float) -> None:
    """Send ``total`` sequenced messages mixing the three ways to write."""
    rnd = random.Random(seed)
    with RingWriter(shared, **kw) as w:
        seq = 0
        while seq < total:
            r = rnd.random()
            if r < 0.2:
                view = w.frame(64)
                assert view is not None
                view[:] = msg(seq)
                w.commit(64)
                seq += 1
            elif r < 0.3:
                w.send(msg(seq, 32))
                seq += 1
            else:
                k = min(rnd.randint(1, 300), total - seq)
                w.send_many([msg(s) for s in range(seq, seq + k)])
                seq += k


# ---------------------------------------------------------------------------------
def test_50k_messages_from_a_peer_process_in_order_with_its_credentials() -> None:
    total = 50_000
    with ring_of(128, 1024) as shared:
        writer = fork(lambda: write_sequence(shared, total, seed=1))
        ring = UserRing.attach(shared)
        got = 0
        creds = set()
        deadline = time.monotonic() + 60
        while got < total and time.monotonic() < deadline:
            f = ring.recv(timeout=10)
            assert f is not None
            assert seq_of(f.data) == got and f.group == 0
            creds.add((f.pid, f.uid, f.gid))
            ring.release(f)
            got += 1
        assert got == total
        assert reap(writer) == 0
        assert creds == {(writer, os.getuid(), os.getgid())}  # claimed by the writer
        st = ring.stats()
        assert st["messages"] == total and st["producer_position"] == total
        assert ring.recv(timeout=0) is None
        ring.close()


def test_tiny_ring_backpressure_loses_nothing() -> None:
    """Two frames: the writer waits for room again and again; nothing is dropped."""
    total = 3_000
    g = RingGeometry.for_frames(2048, 2, page_size=PAGE_SIZE)
    assert g.frame_nr == 2
    with SharedRing.create(g) as shared:
        writer = fork(lambda: write_sequence(shared, total, seed=2))
        ring = UserRing.attach(shared)
        seen: list[int] = []
        deadline = time.monotonic() + 60
        while len(seen) < total and time.monotonic() < deadline:
            for v in ring.data(timeout=10, count=min(50, total - len(seen))):
                seen.append(seq_of(v))
            if len(seen) % 500 < 50:
                time.sleep(0.01)  # a slow consumer: the writer must wait, not drop
        assert reap(writer) == 0
        assert seen == list(range(total))
        assert shared.stats()["ring_full"] > 0
        ring.close()


def test_kept_frames_are_stepped_over_and_released_later() -> None:
    """The consumer keeps (SKIP) a third of the frames and releases them late, in
    random order; the writer steps over them, never overwrites one, and every
    message arrives once, in order."""
    total = 20_000
    with ring_of(128, 64) as shared:
        writer = fork(lambda: write_sequence(shared, total, seed=3))
        ring = UserRing.attach(shared)
        rnd = random.Random(3)
        seen: list[int] = []
        held: list[tuple[Frame, int]] = []
        deadline = time.monotonic() + 60
        while len(seen) < total and time.monotonic() < deadline:
            f = ring.recv(timeout=0.05)
            if f is None or len(held) > 20:  # release kept frames, out of order
                rnd.shuffle(held)
                for h, s in held[: len(held) // 2 + 1]:
                    assert seq_of(h.data) == s  # the writer never wrote over a kept frame
                    ring.release(h)
                del held[: len(held) // 2 + 1]
            if f is None:
                continue
            seen.append(seq_of(f.data))
            if rnd.random() < 0.33:
                ring.skip(f)
                held.append((f, seen[-1]))
            else:
                ring.release(f)
        for h, s in held:
            assert seq_of(h.data) == s
            ring.release(h)
        assert reap(writer) == 0
        assert seen == list(range(total))
        assert ring.stats()["consumer_position"] == shared.q[HeaderWord.RX_PROD]
        ring.close()


def test_oversized_and_empty_messages_are_refused_before_anything_is_written() -> None:
    with ring_of(128, 16) as shared, RingWriter(shared) as w:
        ds = shared.layout.rx.data_size if shared.layout.rx else 0
        assert ds == 104
        with pytest.raises(RingError, match="105 bytes does not fit a frame's data area"):
            w.send(bytes(ds + 1))
        with pytest.raises(RingError, match="message 2 of 200 bytes does not fit"):
            w.send_many([msg(0), msg(1), bytes(200), msg(3)])
        with pytest.raises(RingError, match="at least 1 byte"):
            w.send(b"")
        with pytest.raises(RingError, match="does not fit"):
            w.frame(ds + 1)
        assert shared.q[HeaderWord.RX_PROD] == 0 and w.messages == 0  # nothing published
        view = w.frame()
        assert view is not None and len(view) == ds  # the whole data area
        with pytest.raises(RingError, match="does not fit"):
            w.commit(ds + 1)
        with pytest.raises(RingError, match="not committed yet"):
            w.send(msg(0))
        assert w.frame(8) is not None  # the same reserved frame again
        w.commit(ds)
        with pytest.raises(RingError, match="without a frame"):
            w.commit(8)
        w.send(bytes(ds))  # exactly a data area fits
        assert shared.q[HeaderWord.RX_PROD] == 2


def test_one_producer_per_ring() -> None:
    with ring_of(128, 16) as shared:
        w = RingWriter(shared)
        with pytest.raises(RingError, match=r"already has a producer: direct writer .* pid"):
            RingWriter(shared)  # same process
        code = reap(fork(lambda: RingWriter(
            SharedRing.from_fds([os.dup(f) for f in shared.fds()]))))
        assert code == 1  # another process: refused (the child printed the RingError)
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK)
        with s, pytest.raises(RingError, match="already has a producer"):
            RingFiller(s, shared)  # nor a socket filler on the same ring
        w.send(msg(0))
        w.close()
        w2 = RingWriter(shared)  # the role is free again after close()
        w2.send(msg(1))
        w2.close()
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK)
        s.bind((0, 0))
        filler = RingFiller(s, shared)
        with pytest.raises(RingError, match="socket filler"):
            RingWriter(shared)
        filler.close()
        s.close()
        ring = UserRing.attach(shared)
        assert [seq_of(v) for v in ring.data(timeout=0)] == [0, 1]
        ring.close()


def test_dead_writer_is_replaced_and_its_reserved_frame_dropped() -> None:
    """A writer killed between frame() and commit() leaves a RESERVED frame and a
    stale claim; the next writer takes over and publishes that frame empty."""
    with ring_of(128, 16) as shared:
        r, wfd = os.pipe()

        def die_mid_frame() -> None:
            w = RingWriter(shared)
            w.send_many([msg(0), msg(1)])
            w.frame(64)
            os.write(wfd, b"x")
            time.sleep(30)

        victim = fork(die_mid_frame)
        assert os.read(r, 1) == b"x"
        ring = UserRing.attach(shared)
        assert [seq_of(v) for v in ring.data(timeout=0.1)] == [0, 1]
        assert ring.recv(timeout=0.1) is None  # the consumer waits at the RESERVED frame
        os.kill(victim, signal.SIGKILL)
        os.waitpid(victim, 0)
        os.close(r)
        os.close(wfd)
        with RingWriter(shared) as w:
            assert w.recovered
            w.send(msg(2))
        assert [seq_of(v) for v in ring.data(timeout=0.5)] == [2]
        assert ring.stats()["empty_released"] == 1
        ring.close()


def test_writer_times_out_when_nobody_releases() -> None:
    with ring_of(2048, 4) as shared, RingWriter(shared, timeout=0.2) as w:
        n = shared.layout.rx.frame_nr if shared.layout.rx else 0
        t0 = time.monotonic()
        with pytest.raises(RingTimeout, match="ring full for 0.2s") as ei:
            w.send_many([msg(i) for i in range(n + 3)])
        assert 0.15 < time.monotonic() - t0 < 2
        assert ei.value.sent == n and isinstance(ei.value, TimeoutError)
        assert w.frame(wait=False) is None
        with pytest.raises(RingTimeout):
            w.frame(timeout=0.05)
        assert w.stats()["ring_full"] == 2 and shared.stats()["ring_full"] == 2


def test_the_writer_writes_the_eventfd_only_for_an_announced_sleep() -> None:
    """The wake rule itself: a send writes the data eventfd once when the consumer
    announced it waits (and clears the announcement), and not at all otherwise."""
    import select

    with ring_of(128, 64) as shared:
        with RingWriter(shared) as w:
            w.send_many([msg(0)])
            assert shared.stats()["wakeups"] == 0
            assert select.select([shared.data_efd], [], [], 0)[0] == []
            shared.q[HeaderWord.WAITING] = 1  # what a consumer going to sleep writes
            w.send_many([msg(1), msg(2), msg(3)])
            assert shared.stats()["wakeups"] == 1 and shared.q[HeaderWord.WAITING] == 0
            assert select.select([shared.data_efd], [], [], 0)[0] == [shared.data_efd]
            w.send_many([msg(4)])  # no new announcement: no second write
            assert shared.stats()["wakeups"] == 1


def test_sleeping_consumer_is_woken_without_a_syscall_per_message() -> None:
    """The consumer sleeps in poll(); the writer writes the eventfd only because
    the consumer announced it waits: one wake-up for a burst, not one per message."""
    with ring_of(128, 1024) as shared:
        ring = UserRing.attach(shared)

        def late_burst() -> None:
            time.sleep(0.3)
            with RingWriter(shared) as w:
                w.send_many([msg(i) for i in range(500)])
                w.send_many([msg(i) for i in range(500, 1000)])

        writer = fork(late_burst)
        t0 = time.monotonic()
        f = ring.recv(timeout=10)
        waited = time.monotonic() - t0
        assert f is not None and seq_of(f.data) == 0
        ring.release(f)
        assert 0.2 < waited < 5
        assert [seq_of(v) for v in ring.data(timeout=2, count=999)] == list(range(1, 1000))
        assert reap(writer) == 0
        # at most a few eventfd writes for the burst, never one per message: the first
        # send_many wakes a consumer that announced it waits (none when its backoff poll
        # of the head frame saw the burst first); a writer descheduled mid-burst on a busy
        # machine may cost a few more (the consumer caught up and slept again)
        assert shared.stats()["wakeups"] <= 16
        assert shared.q[HeaderWord.WAITING] == 0
        ring.close()


def test_consumer_killed_mid_stream_new_consumer_continues() -> None:
    """As for the socket filler: a consumer dies holding a frame; a new consumer
    attaches; nothing is lost and only the held frame is delivered again."""
    total = 20_000
    with ring_of(128, 512) as shared:
        log_r, log_w = os.pipe()

        def first_consumer() -> None:
            ring = UserRing.attach(SharedRing.from_fds([os.dup(f) for f in shared.fds()]))
            n = 0
            for v in ring.data(timeout=10):
                os.write(log_w, SEQ.pack(seq_of(v)))
                n += 1
                if n == 7_777:  # die holding this frame (and a run of unreleased ones)
                    os.kill(os.getpid(), signal.SIGKILL)

        victim = fork(first_consumer)
        os.close(log_w)
        writer = fork(lambda: write_sequence(shared, total, seed=4, timeout=30))
        _, status = os.waitpid(victim, 0)
        assert os.WIFSIGNALED(status)
        data = b""
        while chunk := os.read(log_r, 65536):
            data += chunk
        os.close(log_r)
        seen_a = [SEQ.unpack_from(data, i)[0] for i in range(0, len(data), 4)]
        ring = UserRing.attach(shared)
        seen_b = [seq_of(v) for v in ring.data(timeout=5, count=total - 7_776)]
        assert reap(writer) == 0
        assert seen_a == list(range(7_777))
        assert seen_b == list(range(7_776, total))  # only the held frame comes again
        assert shared.stats()["ring_full"] > 0  # the writer waited while nobody consumed
        ring.close()
