"""A shared ring against a hostile process on the other side.

Each hostile peer is a real separate process (fork) writing the shared mapping or
handing over descriptors; the consumer must count what breaks the protocol,
report it, and go on, without trusting anything it reads from the other side.
"""

from __future__ import annotations

import fcntl
import os
import resource
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator

import procutil
import pytest
from procutil import reap

from netring.errors import RingError
from netring.nlmmap import RingGeometry, RingWriter
from netring.nlmmap.abi import NL_MMAP_STATUS as S
from netring.nlmmap.edge import shm
from netring.nlmmap.edge.shm import PAGE_SIZE, HeaderWord, SharedRing
from netring.nlmmap.edge.user import UserRing

NLMSGHDR = struct.Struct("=IHHII")
FRAME_HDR = struct.Struct("=IIIII")  # nl_mmap_hdr after nm_status


def msg(seq: int, size: int = 32) -> bytes:
    return NLMSGHDR.pack(size, 0x10, 0, seq, 0) + bytes(size - 16)


def seq_of(view: memoryview | bytes) -> int:
    return int(NLMSGHDR.unpack_from(view)[3])


def put(shared: SharedRing, i: int, status: int, length: int, data: bytes = b"") -> None:
    """Write frame ``i`` as a producer would: data, header words, status last."""
    g = shared.layout.rx
    assert g is not None
    off = shared.rx_base + g.frame_offset(i)
    shared.mm[off + 24 : off + 24 + len(data)] = data
    FRAME_HDR.pack_into(shared.mm, off + 4, length, 0, os.getpid(), os.getuid(), os.getgid())
    struct.pack_into("=I", shared.mm, off, status)


def publish(shared: SharedRing, i: int, seq: int) -> None:
    """A well-formed VALID frame, and the producer position a netring producer publishes."""
    m = msg(seq)
    put(shared, i, S.VALID, len(m), m)
    shared.q[HeaderWord.RX_PROD] = i + 1


_children: list[int] = []


def fork(fn: Callable[[], object]) -> int:
    """procutil.fork, remembered: a test that fails early leaves no child behind."""
    pid = procutil.fork(fn)
    _children.append(pid)
    return pid


in_child = fork


@pytest.fixture(autouse=True)
def _no_child_left() -> Iterator[None]:
    yield
    while _children:
        pid = _children.pop()
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass  # reaped by the test already


@pytest.fixture
def shared() -> Iterator[SharedRing]:
    ring = SharedRing.create(RingGeometry.for_frames(256, 8, page_size=PAGE_SIZE))
    try:
        yield ring
    finally:
        ring.close()


def attach(shared: SharedRing, **kw: float) -> UserRing:
    return UserRing.attach(SharedRing.from_fds([os.dup(f) for f in shared.fds()]), **kw)


def drain(ring: UserRing, count: int, timeout: float = 2.0) -> list[int]:
    out = []
    deadline = time.monotonic() + 10
    while len(out) < count and time.monotonic() < deadline:
        f = ring.recv(timeout=timeout)
        if f is None:
            break
        out.append(seq_of(f.data))
        ring.release(f)
    return out


# -- frames that break the protocol ---------------------------------------------------
def test_valid_frame_longer_than_its_frame_is_dropped_counted_and_the_stream_goes_on(
        shared: SharedRing) -> None:
    ring = attach(shared)

    def hostile() -> None:
        time.sleep(0.05)
        publish(shared, 0, 0)
        put(shared, 1, S.VALID, 10_000, msg(1))  # nm_len far beyond the 232-byte data area
        shared.q[HeaderWord.RX_PROD] = 2
        for i in range(2, 6):
            publish(shared, i, i)

    pid = in_child(hostile)
    assert drain(ring, 5) == [0, 2, 3, 4, 5]
    assert reap(pid) == 0
    st = ring.stats()
    assert st["corrupt"] == 1 and st["delivered"] == 5
    assert "nm_len 10000 > data area 232" in st["last_error"] and ring.last_error == st["last_error"]
    assert ring.recv(timeout=0) is None  # nothing wedged: just nothing more
    ring.close()


def test_status_outside_the_five_states_is_counted_and_stepped_over(shared: SharedRing) -> None:
    ring = attach(shared)

    def hostile() -> None:
        time.sleep(0.05)
        publish(shared, 0, 0)
        publish(shared, 1, 1)
        put(shared, 2, 7, 32, msg(2))  # a status word no state has
        shared.q[HeaderWord.RX_PROD] = 3
        publish(shared, 3, 3)
        publish(shared, 4, 4)

    pid = in_child(hostile)
    assert drain(ring, 4) == [0, 1, 3, 4]
    assert reap(pid) == 0
    st = ring.stats()
    assert st["corrupt"] == 1 and "status 7, none of the five" in st["last_error"]
    assert ring.rx is not None and ring.rx.ring.status(2) == S.UNUSED  # repaired
    ring.close()


def test_garbage_status_ahead_of_the_producer_is_repaired_and_the_producer_goes_on(
        shared: SharedRing) -> None:
    """A status word scribbled on the frame the writer fills next: the writer waits
    (not UNUSED), the consumer resets it, the writer fills it, nothing is lost."""
    put(shared, 0, 0xDEAD, 0)
    ring = attach(shared)

    def writer() -> None:
        with RingWriter(shared, timeout=5) as w:
            w.send_many([msg(i) for i in range(5)])

    pid = in_child(writer)
    assert drain(ring, 5, timeout=3) == [0, 1, 2, 3, 4]
    assert reap(pid) == 0
    assert ring.stats()["corrupt"] == 1
    ring.close()


class _Alarm(Exception):
    pass


def _alarm(_sig: int, _frame: object) -> None:
    raise _Alarm


def test_copy_frame_whose_bytes_never_come_respects_the_timeout_then_is_dropped(
        shared: SharedRing) -> None:
    ring = attach(shared)
    ring.copy_wait = 0.6  # a COPY frame's bytes may take this long (default 30 s)

    def hostile() -> None:
        put(shared, 0, S.COPY, 100)  # no bytes will ever be sent for it
        shared.q[HeaderWord.RX_PROD] = 1

    assert reap(in_child(hostile)) == 0
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, 3.0)
    try:
        t0 = time.monotonic()
        assert ring.recv(timeout=0.25) is None  # the caller's timeout, not 30 s
        took = time.monotonic() - t0
    except _Alarm:
        pytest.fail("recv(timeout=0.25) blocked on a COPY frame's missing bytes")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert 0.2 < took < 1.0
    assert reap(in_child(lambda: publish(shared, 1, 1))) == 0
    assert drain(ring, 1) == [1]  # after copy_wait the COPY frame is dropped; the stream goes on
    st = ring.stats()
    assert st["corrupt"] == 1 and "0 of 100 bytes came" in st["last_error"]
    ring.close()


def test_copy_frame_with_a_huge_length_allocates_nothing(shared: SharedRing) -> None:
    """nm_len 0xfffffff0 on a COPY frame: bounded by max_message, nothing allocated.
    The consumer runs in a child whose address space is capped, so an attempt to
    allocate 4 GiB fails there instead of exhausting the machine."""

    def hostile() -> None:
        put(shared, 0, S.COPY, 0xFFFFFFF0)
        shared.q[HeaderWord.RX_PROD] = 1
        publish(shared, 1, 1)

    assert reap(in_child(hostile)) == 0
    r, w = os.pipe()

    def consumer() -> None:
        with open("/proc/self/status") as fh:
            vm = next(int(line.split()[1]) for line in fh if line.startswith("VmSize:"))
        cap = (vm << 10) + (512 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        ring = attach(shared)
        got = drain(ring, 1)
        st = ring.stats()
        os.write(w, repr((got, st["corrupt"], st["last_error"])).encode())

    pid = in_child(consumer)
    os.close(w)
    assert reap(pid, timeout=30) == 0
    got, corrupt, last = eval(os.read(r, 4096).decode())  # noqa: S307 (our own child's repr)
    os.close(r)
    assert got == [1] and corrupt == 1 and "max_message" in last


# -- a producer that dies ---------------------------------------------------------------
def _writer_dies_holding_a_frame(shared: SharedRing) -> int:
    r, w = os.pipe()

    def die_mid_frame() -> None:
        wr = RingWriter(shared)
        wr.send_many([msg(0), msg(1)])
        wr.frame(64)  # RESERVED, never committed
        os.write(w, b"x")
        time.sleep(60)

    victim = fork(die_mid_frame)
    os.close(w)
    assert os.read(r, 1) == b"x"
    os.close(r)
    os.kill(victim, signal.SIGKILL)
    os.waitpid(victim, 0)
    return victim


def test_writer_killed_holding_a_reserved_frame_is_detected_and_the_frame_dropped(
        shared: SharedRing) -> None:
    ring = attach(shared)
    victim = _writer_dies_holding_a_frame(shared)
    assert drain(ring, 2) == [0, 1]
    t0 = time.monotonic()
    assert ring.recv(timeout=0.5) is None  # the RESERVED frame is dropped meanwhile
    assert time.monotonic() - t0 < 1.5
    st = ring.stats()
    assert st["producer_deaths"] == 1 and st["empty_released"] == 1
    assert (st["producer_pid"], st["producer_kind"], st["producer_alive"]) == (
        victim, "direct writer (RingWriter)", False)
    assert reap(in_child(lambda: RingWriter(shared).send(msg(2)))) == 0
    assert drain(ring, 1) == [2]  # a new writer continues after the dropped frame
    ring.close()


def test_dead_writers_pid_reused_does_not_block_the_takeover(shared: SharedRing) -> None:
    """The dead writer's pid now names a live process: the claim is the lock, not the pid."""
    _writer_dies_holding_a_frame(shared)
    other = subprocess.Popen(["sleep", "30"])
    try:
        shared.q[HeaderWord.PRODUCER] = other.pid  # what pid reuse looks like in the header
        with RingWriter(shared) as w:
            assert w.recovered  # took over, published the dead writer's frame empty
            w.send(msg(2))
    finally:
        other.kill()
        other.wait()
    ring = attach(shared)
    assert drain(ring, 3) == [0, 1, 2]
    ring.close()


def test_forged_producer_position_is_ignored(shared: SharedRing) -> None:
    ring = attach(shared)
    go_r, go_w = os.pipe()

    def writer() -> None:
        with RingWriter(shared, timeout=5) as w:
            w.send_many([msg(i) for i in range(5)])
            assert os.read(go_r, 1) == b"g"
            w.send_many([msg(i) for i in range(5, 10)])

    pid = in_child(writer)
    assert drain(ring, 5) == list(range(5))
    assert reap(in_child(lambda: shared.q.__setitem__(HeaderWord.RX_PROD, 10**6))) == 0
    assert ring.recv(timeout=0.2) is None
    assert ring.stats()["consumer_position"] == 5  # not a million frames further
    os.write(go_w, b"g")
    assert drain(ring, 5) == list(range(5, 10))
    assert reap(pid) == 0
    st = ring.stats()
    assert st["corrupt"] == 1 and "producer position 1000000" in st["last_error"]
    os.close(go_r)
    os.close(go_w)
    ring.close()


# -- descriptors handed over a unix socket ----------------------------------------------
def _offer(fds: list[int]) -> socket.socket:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    socket.send_fds(a, [b"netring-ring"], fds)
    a.close()
    return b


def test_unsealed_ring_file_is_refused(shared: SharedRing) -> None:
    size = os.fstat(shared.fds()[0]).st_size
    fake = os.memfd_create("unsealed")
    os.ftruncate(fake, size)
    os.pwrite(fake, bytes(shared.mm[:size]), 0)  # the same bytes, but it can shrink
    sock = _offer([fake, *shared.fds()[1:]])
    with sock, pytest.raises(RingError, match="not sealed"):
        SharedRing.receive(sock)
    os.close(fake)


def test_blocking_eventfds_received_are_made_non_blocking(shared: SharedRing) -> None:
    """Blocking eventfds from the sender: a drain must not hang past the caller's timeout."""
    blocking = [os.eventfd(0, os.EFD_CLOEXEC), os.eventfd(0, os.EFD_CLOEXEC)]
    fds = shared.fds()
    sock = _offer([fds[0], *blocking, fds[3]])

    def consumer() -> None:
        ring = UserRing.attach(SharedRing.receive(sock))
        t0 = time.monotonic()
        assert ring.recv(timeout=0.5) is None
        assert time.monotonic() - t0 < 2

    assert reap(in_child(consumer), timeout=10) == 0
    assert not os.get_blocking(blocking[0]) and not os.get_blocking(blocking[1])
    for f in blocking:
        os.close(f)
    sock.close()


def test_oversized_geometry_from_the_sender_is_refused_before_allocating(
        shared: SharedRing) -> None:
    """A header claiming 1.7 million frames (a sparse 217 MB file) is refused from
    the numbers, before any per-frame bookkeeping is built."""
    g = (4096, 53_125, 128, 1_700_000)
    size = g[0] * g[1] + PAGE_SIZE
    fd = os.memfd_create("huge", os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    hdr = shm.HEADER.pack(shm.MAGIC, shm.VERSION, PAGE_SIZE, struct.pack("=IIII", *g), bytes(16))
    os.pwrite(fd, hdr, 0)  # where an older layout kept it
    os.pwrite(fd, hdr, size - PAGE_SIZE)  # the control page after the rings
    sock = _offer([fd, *shared.fds()[1:]])
    t0 = time.monotonic()
    with sock, pytest.raises(RingError, match="1700000 frames exceeds max_frames 65536"):
        SharedRing.receive(sock)
    assert time.monotonic() - t0 < 0.5
    os.close(fd)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as "
                                "uid 65534")


@needs_root
def test_ring_from_a_sender_of_another_uid_is_refused(tmp_path: object) -> None:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(f"\0netring-test-{os.getpid()}")
    srv.listen(1)
    name = srv.getsockname()

    def nobody_sends() -> None:
        os.setgid(65534)
        os.setuid(65534)
        ring = SharedRing.create(RingGeometry.for_frames(256, 8, page_size=PAGE_SIZE))
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(name)
        try:
            ring.send(c)
            c.recv(1)  # until the receiver is done with the socket
        except (BrokenPipeError, ConnectionResetError):
            pass  # the receiver closed it without reading on: refused

    pid = fork(nobody_sends)
    conn, _ = srv.accept()
    with pytest.raises(RingError, match="uid 65534 .*sender not allowed"):
        SharedRing.receive(conn)
    conn.close()
    assert reap(pid) == 0
    srv.close()


@needs_root
def test_allow_policy_admits_a_named_uid() -> None:
    def offer_as_nobody() -> tuple[int, socket.socket]:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)  # made by root

        def nobody_sends() -> None:
            b.close()
            os.setgid(65534)
            os.setuid(65534)
            ring = SharedRing.create(RingGeometry.for_frames(256, 8, page_size=PAGE_SIZE))
            try:
                ring.send(a)
                a.recv(1)  # until the receiver is done with the socket
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused

        pid = fork(nobody_sends)
        a.close()
        return pid, b

    pid, b = offer_as_nobody()
    with pytest.raises(RingError, match="uid 65534"):  # SCM_CREDENTIALS: the sender's uid now
        SharedRing.receive(b)
    b.close()
    assert reap(pid) == 0
    pid, b = offer_as_nobody()
    ring = SharedRing.receive(b, allow={0, 65534})
    assert ring.layout.rx is not None
    ring.close()
    b.close()
    assert reap(pid) == 0


def _intrude(nondumpable: bool) -> bytes:
    """An owner (uid 65534, dumpable as a process that user started) makes a ring;
    another uid-65534 process tries to open it through /proc/OWNER/fd/N."""
    r, w = os.pipe()
    done_r, done_w = os.pipe()
    out_r, out_w = os.pipe()

    def owner() -> None:
        os.setgid(65534)
        os.setuid(65534)
        from netring._sys.libc import set_dumpable

        set_dumpable(True)  # a uid change made it non-dumpable; a login would not be
        ring = SharedRing.create(RingGeometry.for_frames(256, 8, page_size=PAGE_SIZE),
                                 nondumpable=nondumpable)
        os.write(w, struct.pack("=i", ring.memfd))
        os.read(done_r, 1)

    opid = fork(owner)
    os.close(w)
    got = os.read(r, 4)
    if len(got) != 4:
        os.close(done_w)
        reap(opid)
        pytest.fail("the ring owner failed (see its traceback above)")
    (fd,) = struct.unpack("=i", got)

    def intruder() -> None:
        os.setgid(65534)
        os.setuid(65534)
        try:
            f = os.open(f"/proc/{opid}/fd/{fd}", os.O_RDWR)
        except PermissionError:
            os.write(out_w, b"denied")
            return
        os.pwrite(f, b"\x02\x00\x00\x00", 0)  # frame 0 VALID: the intruder writes frames
        os.write(out_w, b"opened")

    try:
        assert reap(fork(intruder)) == 0
        return os.read(out_r, 16)
    finally:
        os.write(done_w, b"x")
        reap(opid)
        for f in (r, done_r, done_w, out_r, out_w):
            os.close(f)


@needs_root
def test_nondumpable_owner_keeps_same_uid_processes_out_of_its_ring() -> None:
    """Another process of the same uid can open /proc/OWNER/fd/N of a dumpable owner
    and write its ring; a non-dumpable owner's descriptors are out of its reach."""
    assert _intrude(nondumpable=False) == b"opened"
    assert _intrude(nondumpable=True) == b"denied"
