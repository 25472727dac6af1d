"""Shared-memory rings (memfd): header, attach checks, fd passing, and the cursor
protocol between two real processes racing on one mapping.  No root needed."""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import socket
import stat
import struct
import subprocess
import sys
import time

import pytest

import netring
from netring.errors import RingError
from netring.nlmmap.cursor import Frame, RxConsumer, RxProducer
from netring.nlmmap.edge.shm import PAGE_SIZE, HeaderWord, SharedRing
from netring.nlmmap.geometry import GeometryError, MappingLayout, RingGeometry

ID = struct.Struct("=Q")


def test_create_layout_mode_and_seals() -> None:
    """The 4.5 layout (RX at 0, TX right after), netring's control page last."""
    rx = RingGeometry.for_frames(2048, 64, page_size=PAGE_SIZE)
    tx = RingGeometry.for_frames(1024, 16, page_size=PAGE_SIZE)
    with SharedRing.create(rx, tx) as r:
        st = os.fstat(r.fds()[0])
        assert stat.S_IMODE(st.st_mode) == 0o600
        assert st.st_size == rx.size + tx.size + PAGE_SIZE
        assert (r.rx_base, r.tx_base, r.ctrl_base) == (0, rx.size, rx.size + tx.size)
        assert os.pread(r.memfd, 8, rx.size + tx.size) == b"NETRING\x02"
        with pytest.raises(OSError):
            os.ftruncate(r.fds()[0], 10)  # sealed: no shrinking under a consumer
        with pytest.raises(OSError):
            fcntl.fcntl(r.memfd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE)  # nor new seals
        assert r.layout == MappingLayout(rx, tx)


def test_attach_checks_the_header() -> None:
    g = RingGeometry.for_frames(1024, 8, page_size=PAGE_SIZE)
    with SharedRing.create(g) as r:
        fds = [os.dup(f) for f in r.fds()]
        other = SharedRing.from_fds(fds, expect=MappingLayout(g, None))
        assert other.layout.rx == g and r.q[HeaderWord.ATTACHES] == 1
        other.close()
        fds = [os.dup(f) for f in r.fds()]
        with pytest.raises(RingError, match="not the expected"):
            SharedRing.from_fds(fds, expect=MappingLayout(g, g))
        for f in fds:
            os.close(f)
        fds = [os.dup(f) for f in r.fds()]
        os.pwrite(fds[0], b"XXXXXXXX", r.ctrl_base)
        with pytest.raises(RingError, match="not a netring ring file"):
            SharedRing.from_fds(fds)
        os.pwrite(fds[0], b"NETRING\x02", r.ctrl_base)
        os.pwrite(fds[0], struct.pack("=IIII", 4096, 1, 20, 1), r.ctrl_base + 16)
        with pytest.raises(GeometryError, match="frame_size >= NL_MMAP_HDRLEN"):
            SharedRing.from_fds(fds)
        for f in fds:
            os.close(f)


def test_pass_ring_with_scm_rights() -> None:
    g = RingGeometry.for_frames(512, 8, page_size=PAGE_SIZE)
    with SharedRing.create(g) as r:
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                child = SharedRing.receive(b)
                child.mm[child.rx_base + 24 : child.rx_base + 28] = b"ping"
                child.q[HeaderWord.RX_PROD] = 1  # pretend: one frame published
                child.close()
                code = 0
            finally:
                os._exit(code)
        r.send(a)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert bytes(r.mm[r.rx_base + 24 : r.rx_base + 28]) == b"ping" and r.q[HeaderWord.RX_PROD] == 1
        a.close()
        b.close()


def _producer(shared: SharedRing, total: int, seed: int) -> None:
    rnd = random.Random(seed)
    g = shared.layout.rx
    assert g is not None
    q = shared.q
    prod = RxProducer(shared.mm, g, shared.rx_base,
                      publish_position=lambda p: q.__setitem__(HeaderWord.RX_PROD, p),
                      consumer_position=lambda: int(q[HeaderWord.RX_CONS]))
    nxt = 0
    deadline = time.monotonic() + 30
    while nxt < total and time.monotonic() < deadline:
        start, cnt = prod.reserve(rnd.randint(1, 8))
        if cnt == 0:
            time.sleep(0)
            continue
        cnt = min(cnt, total - nxt)
        for k in range(cnt):
            prod.data_view(start + k)[:8] = ID.pack(nxt + k)
        prod.publish(start, [8] * cnt)
        nxt += cnt


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_processes_race_skip_release_no_loss_no_reorder(seed: int) -> None:
    """A producer process and this consumer share one mapping; the consumer keeps
    (SKIP) and releases frames at random.  Every id arrives once, in order."""
    total = 60_000
    g = RingGeometry.for_frames(64, 32, page_size=PAGE_SIZE)
    with SharedRing.create(g) as shared:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _producer(shared, total, seed)
                code = 0
            finally:
                os._exit(code)
        q = shared.q
        cons = RxConsumer(shared.mm, g, shared.rx_base,
                          producer_position=lambda: int(q[HeaderWord.RX_PROD]),
                          commit_slot=(q, HeaderWord.RX_CONS))
        rnd = random.Random(seed)
        got: list[int] = []
        held: list[Frame] = []
        deadline = time.monotonic() + 60
        while len(got) < total and time.monotonic() < deadline:
            r = rnd.random()
            if r < 0.3:
                for v in cons.iter_data(rnd.randint(1, 16)):
                    got.append(ID.unpack_from(v)[0])
                continue
            if held and (r < 0.5 or len(held) > g.frame_nr // 2):
                cons.release(held.pop(rnd.randrange(len(held))))
                continue
            f = cons.next()
            if f is None:
                if held and rnd.random() < 0.5:
                    cons.release(held.pop(rnd.randrange(len(held))))
                time.sleep(0)
                continue
            got.append(ID.unpack_from(f.data)[0])
            if r < 0.7:
                cons.skip(f)
                held.append(f)
            else:
                cons.release(f)
        for f in held:
            cons.release(f)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert got == list(range(total))
        cons.ring.words.release()
        cons.ring.buf.release()


# -- the preemption point inside one status store, replayed deterministically ----------
#
# A producer and a consumer on one CPU lost or duplicated a message about once in
# 20-40 runs of the test above.  The interleaving is *inside* one Python statement:
# a slice store ``words[a:b:stride] = array(...)`` reaches each status word through
# glibc memcpy, which stores a 4-byte word twice.  Preempted between the two stores,
# the other process sees the first one and answers it; the second store then undoes
# the answer.  gdb replays exactly that: a hardware watchpoint stops the cursor at
# the first store to the watched status word, writes the other side's answer there
# ("the other process ran now"), and lets the cursor finish.  The answer must survive.

_CHILD = """
import ctypes, mmap, os, signal, sys
from netring.nlmmap.cursor import RxConsumer, RxProducer
from netring.nlmmap.geometry import RingGeometry
mode, addr_file = sys.argv[1], sys.argv[2]
g = RingGeometry.for_frames(64, 4)
m = mmap.mmap(-1, g.size)
prod = RxProducer(m, g)
cons = RxConsumer(m, g, producer_position=lambda: prod.position)
w = prod.ring.hdr[0]
addr = ctypes.addressof(ctypes.c_char.from_buffer(m)) + 4 * w
start, cnt = prod.reserve(2)
if mode == "release":  # the consumer's fast path releases a run of two frames
    prod.publish(start, [8, 8])
with open(addr_file, "w") as f:
    f.write(hex(addr))
os.kill(os.getpid(), signal.SIGSTOP)  # the driver sets its watchpoint now
if mode == "release":
    assert sum(1 for _ in cons.iter_data(2)) == 2
else:  # the producer publishes a run of two frames
    prod.publish(start, [8, 8])
print("final status", prod.ring.words[w], flush=True)
"""

_DRIVER = """
import gdb, struct
gdb.execute("set pagination off")
gdb.execute("run")  # until the child's SIGSTOP
addr = int(open({addr_file!r}).read(), 16)
class Answer(gdb.Breakpoint):
    hits = 0
    def stop(self):
        Answer.hits += 1
        if Answer.hits == 1:  # preempted right after the first store: the peer answers
            gdb.selected_inferior().write_memory(addr, struct.pack("=I", {answer}))
        return False
Answer("*(unsigned int *) %d" % addr, gdb.BP_WATCHPOINT, gdb.WP_WRITE)
gdb.execute("signal 0")
"""


@pytest.mark.skipif(shutil.which("gdb") is None or not sys.platform.startswith("linux"),
                    reason="needs gdb (ptrace) on Linux")
@pytest.mark.parametrize(("mode", "answer"), [
    ("release", 2),  # consumer releases (VALID -> UNUSED); producer refills it: VALID
    ("publish", 0),  # producer publishes (UNUSED -> VALID); consumer releases it: UNUSED
])
def test_status_store_is_one_store_the_peer_answer_survives(tmp_path, mode: str,
                                                           answer: int) -> None:
    child = tmp_path / "child.py"
    child.write_text(_CHILD)
    addr_file = tmp_path / "addr"
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER.format(addr_file=str(addr_file), answer=answer))
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(netring.__file__)))
    try:
        out = subprocess.run(
            ["gdb", "-q", "-nx", "-batch", "-ex", f"source {driver}",
             "--args", sys.executable, str(child), mode, str(addr_file)],
            capture_output=True, text=True, timeout=60, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("gdb did not finish")
    text = out.stdout + out.stderr
    if "final status" not in text:
        pytest.skip(f"gdb could not run the replay (ptrace or watchpoints unavailable): "
                    f"{text[-400:]}")
    assert f"final status {answer}" in text, text[-2000:]
