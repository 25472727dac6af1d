"""netring's rings against an independent 4.5 peer: a C program (tests/peers/nl45_peer.c,
compiled here with gcc) plays the 4.5 kernel's RX and TX sides over a shared
mapping in the 4.5 layout (RX ring at offset 0, TX ring right after).

Both ways at full speed, with zero-length VALID frames, through
``netring.open_mapped_ring`` and through netring's own shared ring file; the
consumer's wake-up latency when the peer stores VALID and signals nothing; and
SKIP (kept frames the peer steps over, released later in any order).  No root needed.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import statistics
import struct
import subprocess
import time
from pathlib import Path

import pytest

import netring
from netring.nlmmap import RingGeometry
from netring.nlmmap.cursor import Frame
from netring.nlmmap.edge.shm import PAGE_SIZE, SharedRing
from netring.nlmmap.edge.user import UserRing

PEER_SRC = Path(__file__).resolve().parent.parent / "peers" / "nl45_peer.c"
NLMSGHDR = struct.Struct("=IHHII")  # struct nlmsghdr
STAMP = struct.Struct("=Q")  # the peer's CLOCK_MONOTONIC ns after the header


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("needs gcc to build the 4.5 peer (tests/peers/nl45_peer.c)")
    out = tmp_path_factory.mktemp("peer") / "nl45_peer"
    proc = subprocess.run([gcc, "-O2", "-Wall", "-Werror", "-o", str(out), str(PEER_SRC)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out


def memfd_for(size: int) -> int:
    """A sealed memfd of ``size`` bytes, made without netring."""
    fd = os.memfd_create("nl45", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return fd


def req(g: RingGeometry | None) -> list[str]:
    return [str(v) for v in ((g.block_size, g.block_nr, g.frame_size, g.frame_nr) if g
                             else (0, 0, 0, 0))]


def start_peer(peer: Path, fd: int, rx: RingGeometry, tx: RingGeometry | None, rx_count: int,
               tx_count: int, zero_every: int = 0, gap_us: int = 0,
               timeout_ms: int = 30_000) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(peer), str(fd), *req(rx), *req(tx), str(rx_count), str(tx_count), str(zero_every),
         str(gap_us), str(timeout_ms)],
        pass_fds=(fd,), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str]) -> dict[str, int]:
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the 4.5 peer did not finish")
    assert proc.returncode == 0, f"peer exit {proc.returncode}: {err}"
    return {k: int(v) for k, v in (kv.split("=") for kv in out.split())}


def tx_message(seq: int) -> bytes:
    return NLMSGHDR.pack(24, 0x10, 0, seq, 0) + bytes(8)


def check_rx(f: Frame, seq: int, pid: int) -> None:
    ln, typ, _flags, s, _pid = NLMSGHDR.unpack_from(f.data)
    assert (s, typ, ln) == (seq, 0x10, 24 + (seq % 8) * 4) and f.len == ln
    assert f.group == (1 if seq % 3 == 0 else 0)
    assert (f.pid, f.uid, f.gid) == (pid, os.getuid(), os.getgid())


def both_ways(ring: netring.nlmmap.RingBase, pid: int, total: int,
              deadline: float) -> float:
    """Read ``total`` RX messages and write ``total`` TX messages, interleaved."""
    got = sent = 0
    t0 = time.monotonic()
    while (got < total or sent < total) and time.monotonic() < deadline:
        progressed = False
        f = ring.recv(timeout=0)
        while f is not None:
            check_rx(f, got, pid)
            ring.release(f)
            got += 1
            progressed = True
            f = ring.recv(timeout=0) if got < total else None
        while sent < total:
            view = ring.tx_frame()
            if view is None:
                break
            view[:24] = tx_message(sent)
            ring.commit(24)
            sent += 1
            progressed = True
        if progressed:
            ring.flush()
        elif got < total:
            f = ring.recv(timeout=0.005)
            if f is not None:
                check_rx(f, got, pid)
                ring.release(f)
                got += 1
        else:
            ring.tx_frame(timeout=0.005)
    assert (got, sent) == (total, total)
    return time.monotonic() - t0


TOTAL = 5_000


def test_peer_both_ways_through_open_mapped_ring(peer: Path) -> None:
    """5000 messages each way between the 4.5 peer and open_mapped_ring, zero-length
    VALID frames included (released, not counted), in well under a second."""
    rx = RingGeometry.for_frames(256, 64, page_size=PAGE_SIZE)
    tx = RingGeometry.for_frames(128, 32, page_size=PAGE_SIZE)
    fd = memfd_for(rx.size + tx.size)
    ring = netring.open_mapped_ring(fd, rx, tx)
    assert ring.backend == "mapped" and "RX at 0, TX at" in ring.reason
    proc = start_peer(peer, fd, rx, tx, TOTAL, TOTAL, zero_every=7)
    try:
        took = both_ways(ring, proc.pid, TOTAL, time.monotonic() + 30)
        out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out["rx_sent"] == TOTAL and out["tx_got"] == TOTAL and out["rx_zero"] > 700
    st = ring.stats()
    assert st["delivered"] == TOTAL and st["empty_released"] == out["rx_zero"]
    assert st["corrupt"] == 0 and st["last_error"] is None
    assert ring.flush().frames == 0 and ring.stats()["tx_committed"] == TOTAL
    print(f"\n4.5 peer <-> open_mapped_ring: {TOTAL} messages each way in {took * 1000:.1f} ms")
    assert took < 1.0
    ring.close()
    os.close(fd)


def test_peer_both_ways_through_a_netring_shared_ring(peer: Path) -> None:
    """netring's own ring file is the 4.5 mapping: the peer maps the memfd at offset 0
    and fills/drains it; the attached consumer is woken by the frames alone (the
    peer writes neither netring's producer position nor its eventfd)."""
    rx = RingGeometry.for_frames(256, 64, page_size=PAGE_SIZE)
    tx = RingGeometry.for_frames(128, 32, page_size=PAGE_SIZE)
    with SharedRing.create(rx, tx) as shared:
        ring = UserRing.attach(SharedRing.from_fds([os.dup(f) for f in shared.fds()]), tx=True)
        proc = start_peer(peer, shared.fds()[0], rx, tx, TOTAL, TOTAL, zero_every=11)
        try:
            took = both_ways(ring, proc.pid, TOTAL, time.monotonic() + 30)
            out = finish(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert out["rx_sent"] == TOTAL and out["tx_got"] == TOTAL
        st = ring.stats()
        assert st["delivered"] == TOTAL and st["empty_released"] == out["rx_zero"] > 0
        assert st["corrupt"] == 0 and st["producer_alive"] is None  # no netring producer
        assert bytes(shared.mm[shared.ctrl_base : shared.ctrl_base + 8]) == b"NETRING\x02"
        print(f"\n4.5 peer <-> netring SharedRing: {TOTAL} messages each way in "
              f"{took * 1000:.1f} ms")
        assert took < 1.0
        ring.close()


def wakeups(ring: netring.nlmmap.RingBase, peer: Path, fd: int, rx: RingGeometry,
            count: int, gap_us: int) -> tuple[list[float], float]:
    """Latency (ms) from the peer's VALID store to recv() returning, with the consumer
    asleep in recv(timeout=...) between messages; and its CPU share meanwhile."""
    proc = start_peer(peer, fd, rx, None, count, 0, gap_us=gap_us)
    lat = []
    cpu0, t0 = time.process_time(), time.monotonic()
    try:
        for seq in range(count):
            f = ring.recv(timeout=5)
            now = time.monotonic_ns()
            assert f is not None
            check_rx(f, seq, proc.pid)
            lat.append((now - STAMP.unpack_from(f.data, NLMSGHDR.size)[0]) / 1e6)
            ring.release(f)
        cpu = (time.process_time() - cpu0) / (time.monotonic() - t0)
        finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return lat, cpu


@pytest.mark.parametrize("kind", ["mapped", "shared"])
def test_consumer_notices_a_foreign_valid_store_within_a_millisecond(peer: Path,
                                                                     kind: str) -> None:
    """recv() on a ring whose producer signals nothing wakes within ~1 ms of the
    VALID store (the consumer sleeps in short slices), without burning a core."""
    rx = RingGeometry.for_frames(256, 64, page_size=PAGE_SIZE)
    if kind == "mapped":
        fd = memfd_for(rx.size)
        ring: netring.nlmmap.RingBase = netring.open_mapped_ring(fd, rx)
        close = [ring.close, lambda: os.close(fd)]
    else:
        shared = SharedRing.create(rx)
        fd = shared.fds()[0]  # the ring file itself, mapped by the peer from offset 0
        ring = UserRing.attach(SharedRing.from_fds([os.dup(f) for f in shared.fds()]))
        close = [ring.close, shared.close]
    try:
        cpu0, t0 = time.process_time(), time.monotonic()
        assert ring.recv(timeout=1.0) is None  # idle: nobody writes
        idle = (time.process_time() - cpu0) / (time.monotonic() - t0)
        lat, cpu = wakeups(ring, peer, fd, rx, 150, gap_us=10_000)
    finally:
        for c in close:
            c()
    lat.sort()
    med, p90 = statistics.median(lat), lat[int(0.9 * len(lat))]
    print(f"\n{kind}: wake-up after a foreign VALID store: median {med:.3f} ms, "
          f"p90 {p90:.3f} ms, max {lat[-1]:.3f} ms; consumer CPU {cpu * 100:.1f} % "
          f"(100 messages/s), idle {idle * 100:.1f} %")
    assert med < 1.0 and p90 < 1.5
    assert cpu < 0.25 and idle < 0.15


def test_kept_frames_the_peer_steps_over_released_later_in_any_order(peer: Path) -> None:
    """The consumer keeps (SKIP) a third of the frames and releases them late, in
    random order; the peer steps over kept frames as netlink_forward_ring did.
    Every message arrives once, in order; no kept frame is written over."""
    total = 20_000
    rx = RingGeometry.for_frames(256, 16, page_size=PAGE_SIZE)
    fd = memfd_for(rx.size)
    ring = netring.open_mapped_ring(fd, rx)
    proc = start_peer(peer, fd, rx, None, total, 0, zero_every=13)
    rnd = random.Random(45)
    seen = 0
    held: list[tuple[Frame, int]] = []
    deadline = time.monotonic() + 60

    def release_some() -> None:
        rnd.shuffle(held)
        for h, s in held[: len(held) // 2 + 1]:
            assert NLMSGHDR.unpack_from(h.data)[3] == s  # never written over
            ring.release(h)
        del held[: len(held) // 2 + 1]

    try:
        while seen < total and time.monotonic() < deadline:
            f = ring.recv(timeout=0.01)
            if f is None or len(held) > 5:
                if held:
                    release_some()
            if f is None:
                continue
            check_rx(f, seen, proc.pid)
            if rnd.random() < 0.33:
                ring.skip(f)
                held.append((f, seen))
            else:
                ring.release(f)
            seen += 1
        while held:
            release_some()
        out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert seen == total == out["rx_sent"]
    st = ring.stats()
    assert st["corrupt"] == 0 and st["empty_released"] == out["rx_zero"]
    ring.close()
    os.close(fd)


def test_peer_messages_through_the_fast_path(peer: Path) -> None:
    """data()/messages() (runs of VALID frames read with strided slices) over the
    peer's frames, zero-length ones stepped over on the way."""
    total = 3_000
    rx = RingGeometry.for_frames(128, 128, page_size=PAGE_SIZE)
    fd = memfd_for(rx.size)
    ring = netring.open_mapped_ring(fd, rx)
    proc = start_peer(peer, fd, rx, None, total, 0, zero_every=5)
    try:
        seqs = [NLMSGHDR.unpack_from(v)[3] for v in ring.data(timeout=5, count=total)]
        msgs = list(ring.messages(timeout=0))
        out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert seqs == list(range(total)) and msgs == []
    assert ring.stats()["empty_released"] == out["rx_zero"] > 0
    ring.close()
    os.close(fd)
