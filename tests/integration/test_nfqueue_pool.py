"""The nfnetlink_queue worker pool against the real kernel: iptables NFQUEUE in a private
namespace, real worker processes; every verdict checked at a receiving socket, by
iptables counters and by the kernel's queue (nothing may stay queued)."""

from __future__ import annotations

import os
import random
import signal
import socket
import struct
import tempfile
import time
from collections.abc import Callable

import pytest
from nfqutil import counters, drain, ipt, queue_rule
from nsutil import Netns, sh
from procutil import fork, reap

from netring.codec.constants import SO
from netring.errors import NetringError
from netring.netns import socket_in
from netring.subsystems.nfnetlink.constants import NF
from netring.subsystems.nfnetlink.edge import pool as poolmod
from netring.subsystems.nfnetlink.edge.pool import QueuePool
from netring.subsystems.nfnetlink.edge.queue import Queue
from netring.subsystems.nfnetlink.queue import pool as P
from netring.subsystems.nfnetlink.queue.flow import flow_tuple
from netring.subsystems.nfnetlink.queue.packet import Packet
from netring.subsystems.nfnetlink.queue.stats import parse_proc_nfnetlink_queue

PORT = 9500
FLOWS = 32  # source addresses 127.0.0.2 ..: flow fanout spreads them over the workers


def _kernel(ns: Netns) -> dict[int, object]:
    return parse_proc_nfnetlink_queue(
        sh("ip", "netns", "exec", ns.name, "cat", "/proc/net/netfilter/nfnetlink_queue").stdout)


def _ident(pkt: Packet) -> int:
    """The sequence number the sender put in the UDP payload (after the IPv4 and UDP
    headers)."""
    return int(struct.unpack_from("!I", pkt.payload, 28)[0])


class Traffic:
    """A paced sender process (FLOWS source addresses, round-robin) and a receiver process
    counting what arrives at PORT, per sequence number."""

    def __init__(self, ns: Netns, total: int, rate: float) -> None:
        self.ns = ns
        self.total = total
        self.rate = rate
        self.rx = socket_in(ns.path, socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.setsockopt(socket.SOL_SOCKET, SO.RCVBUFFORCE, 64 << 20)
        self.rx.bind(("127.0.0.1", PORT))
        self.txs = []
        for k in range(FLOWS):
            s = socket_in(ns.path, socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, SO.SNDBUFFORCE, 64 << 20)
            s.bind((f"127.0.0.{k + 2}", 0))
            self.txs.append(s)
        fd, self.path = tempfile.mkstemp(prefix="netring-pool-rx-")
        os.close(fd)
        self.go_r, self.go_w = os.pipe()
        self.stop_r, self.stop_w = os.pipe()
        self.sender = fork(self._send)
        self.receiver = fork(self._receive)

    def _send(self) -> None:
        os.read(self.go_r, 1)
        t0 = time.monotonic()
        txs = self.txs
        dst = ("127.0.0.1", PORT)
        pad = b"x" * 12
        for i in range(self.total):
            txs[i % FLOWS].sendto(struct.pack("!I", i) + pad, dst)
            if i % 64 == 63:
                ahead = t0 + (i + 1) / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)

    def _receive(self) -> None:
        seen = bytearray(self.total)
        rx = self.rx
        rx.settimeout(0.05)
        stopping = 0.0
        while True:
            try:
                data = rx.recv(2048)
            except TimeoutError:
                if not stopping:
                    try:
                        os.set_blocking(self.stop_r, False)
                        if os.read(self.stop_r, 1):
                            stopping = time.monotonic()
                    except BlockingIOError:
                        pass
                elif time.monotonic() - stopping > 0.3:
                    break
                continue
            i = int(struct.unpack_from("!I", data)[0])
            if i < self.total and seen[i] < 255:
                seen[i] += 1
        with open(self.path, "wb") as f:
            f.write(seen)

    def go(self) -> None:
        os.write(self.go_w, b"g")

    def finish(self) -> bytes:
        """Wait for the sender, let the receiver drain, return its counts per id."""
        assert reap(self.sender, 120) == 0
        os.write(self.stop_w, b"s")
        assert reap(self.receiver, 60) == 0
        with open(self.path, "rb") as f:
            seen = f.read()
        os.unlink(self.path)
        for fd in (self.go_r, self.go_w, self.stop_r, self.stop_w):
            os.close(fd)
        self.rx.close()
        for s in self.txs:
            s.close()
        return seen


def _tx(ns: Netns) -> socket.socket:
    """A sender whose buffer holds what waits in the queue (a queued packet stays
    charged to its sender's socket until its verdict)."""
    tx = socket_in(ns.path, socket.AF_INET, socket.SOCK_DGRAM)
    tx.setsockopt(socket.SOL_SOCKET, SO.SNDBUFFORCE, 16 << 20)
    return tx


def _rx(ns: Netns) -> socket.socket:
    rx = socket_in(ns.path, socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, SO.RCVBUFFORCE, 16 << 20)
    rx.bind(("127.0.0.1", PORT))
    rx.setblocking(False)
    return rx


def _rules(ns: Netns, queue: int) -> None:
    # INPUT: first rule counts packets with mark 7, the second every packet that arrives
    ipt(ns, "-A", "INPUT", "-p", "udp", "--dport", str(PORT), "-m", "mark", "--mark", "7")
    ipt(ns, "-A", "INPUT", "-p", "udp", "--dport", str(PORT))
    queue_rule(ns, PORT, queue)


def _verdict_of(i: int) -> str:
    """The rule the callbacks apply to the sequence number in the payload."""
    if i % 7 == 3:
        return "drop"
    if i % 11 == 5:
        return "mark"
    return "accept"


def _random_delays(slot: int) -> Callable[[Packet], object]:
    rng = random.Random(1000 + slot)

    def callback(pkt: Packet) -> object:
        r = rng.random()
        if r < 0.004:
            time.sleep(rng.uniform(0.001, 0.004))  # a slow packet: the others overtake it
        elif r < 0.3:
            end = time.perf_counter() + rng.uniform(0, 100e-6)
            while time.perf_counter() < end:
                pass
        kind = _verdict_of(_ident(pkt))
        if kind == "drop":
            return NF.DROP
        if kind == "mark":
            return (NF.ACCEPT, 7)
        pkt.accept()
        return None

    return callback


class _PerWorker:
    """A callback made in each worker by ``init(slot)`` (each with its own random state)."""

    def __init__(self, make: Callable[[int], Callable[[Packet], object]]) -> None:
        self.make = make
        self.fn: Callable[[Packet], object] | None = None

    def init(self, slot: int) -> None:
        self.fn = self.make(slot)

    def __call__(self, pkt: Packet) -> object:
        assert self.fn is not None
        return self.fn(pkt)


@pytest.mark.parametrize("fanout", ["flow", "rr"])
def test_two_workers_random_delays_mixed_verdicts_exact_counts(netns: Netns, fanout: str) -> None:
    total = 100_000 if fanout == "flow" else 60_000
    _rules(netns, 50)
    cb = _PerWorker(_random_delays)
    with Queue(50, netns=netns.path, maxlen=1 << 20, rcvbuf=256 << 20, window=4096) as q:
        with QueuePool(q, cb, workers=2, fanout=fanout, init=cb.init) as pool:
            traffic = Traffic(netns, total, rate=12_000)
            t0 = time.monotonic()
            traffic.go()
            n = pool.run(count=total, timeout=60)
            elapsed = time.monotonic() - t0
            seen = traffic.finish()
            st = pool.stats()
        qs = q.stats()
    assert n == total, f"{n} of {total} in {elapsed:.1f}s"
    want = {k: [i for i in range(total) if _verdict_of(i) == k] for k in ("accept", "drop", "mark")}
    # the receiving socket: every accepted packet exactly once, no dropped one
    assert all(seen[i] == 1 for i in want["accept"] + want["mark"])
    assert not any(seen[i] for i in want["drop"])
    # iptables: what arrived, and with which mark
    marked, arrived = counters(netns, "INPUT")
    assert marked == len(want["mark"]) and arrived == len(want["accept"]) + len(want["mark"])
    assert counters(netns, "OUTPUT") == [total]
    # the kernel: nothing left queued, nothing dropped
    k = qs.kernel[50]
    assert k.queue_total == 0 and k.queue_dropped == 0 and k.user_dropped == 0
    assert k.id_sequence == total
    assert qs.verdicts["drop"] == len(want["drop"])
    assert qs.verdicts["accept"] == len(want["accept"]) + len(want["mark"])
    assert qs.released_without_verdict == 0 and qs.verdict_errors == 0
    # the pool: both workers worked, out of order, and batches covered most verdicts
    assert st.dead_worker_verdicts == 0 and st.bad_verdicts == 0 and st.worker_deaths == 0
    assert all(w.verdicts > total // 5 for w in st.workers)
    assert sum(w.verdicts for w in st.workers) == total and st.in_flight == 0
    assert sum(w.handled for w in st.workers) == total
    assert sum(w.policy for w in st.workers) == 0
    assert st.batch_messages > 0 and st.batch_messages < total // 10


def test_a_worker_killed_mid_stream_its_packets_get_the_policy(netns: Netns) -> None:
    """Policy DROP and a callback that accepts all: exactly the dead worker's in-flight
    packets are missing at the receiver; traffic keeps flowing through its successor."""
    total = 30_000
    _rules(netns, 51)
    flag = tempfile.mktemp(prefix="netring-pool-kill-")

    class Busy:
        slot = -1

        def init(self, slot: int) -> None:
            self.slot = slot

        def __call__(self, pkt: Packet) -> None:
            end = time.perf_counter() + 50e-6
            while time.perf_counter() < end:
                pass
            if self.slot == 0 and _ident(pkt) >= 12_000 and not os.path.exists(flag):
                open(flag, "w").close()  # the first worker of slot 0 only
                os.kill(os.getpid(), signal.SIGKILL)  # mid-stream, holding packets
            pkt.accept()

    cb = Busy()
    with Queue(51, netns=netns.path, maxlen=1 << 20, rcvbuf=256 << 20, window=4096) as q:
        with QueuePool(q, cb, workers=2, fanout="rr", policy=NF.DROP, init=cb.init) as pool:
            victim = pool.stats(kernel=False).workers[0].pid
            traffic = Traffic(netns, total, rate=10_000)
            traffic.go()
            n = pool.run(count=total, timeout=60)
            seen = traffic.finish()
            st = pool.stats()
        qs = q.stats()
    os.unlink(flag)
    assert n == total
    w0 = st.workers[0]
    assert w0.deaths == 1 and w0.restarts == 1 and w0.exitcode == -signal.SIGKILL
    assert w0.pid != victim and w0.alive  # its successor
    assert st.worker_deaths == 1 and st.restarts == 1
    lost = st.dead_worker_verdicts
    assert lost > 0  # at least the packet it died on
    missing = [i for i in range(total) if not seen[i]]
    assert len(missing) == lost and all(seen[i] <= 1 for i in range(total))
    assert min(missing) >= 12_000 - 2 * (poolmod.DEFAULT_DEPTH + 64)
    assert counters(netns, "INPUT")[1] == total - lost
    assert qs.verdicts["drop"] == lost and qs.verdicts["accept"] == total - lost
    # traffic flowed on: the last third arrived whole, both slots worked after the death
    assert all(seen[i] == 1 for i in range(total - 10_000, total))
    assert st.workers[0].verdicts > 0 and st.workers[1].verdicts > total // 3
    k = qs.kernel[51]
    assert k.queue_total == 0 and k.queue_dropped == 0 and k.user_dropped == 0


def test_both_directions_of_a_flow_reach_one_worker(netns: Netns) -> None:
    """UDP conversations between 127.0.0.2.. and 127.0.0.100.., both directions queued:
    each flow's packets, either way, are handled by one worker only."""
    ipt(netns, "-A", "OUTPUT", "-o", "lo", "-p", "udp", "--dport", "7000:7999", "-j", "NFQUEUE",
        "--queue-num", "52")
    ipt(netns, "-A", "OUTPUT", "-o", "lo", "-p", "udp", "--sport", "7000:7999", "-j", "NFQUEUE",
        "--queue-num", "52")
    r, w = os.pipe()
    slot_of: dict[tuple[int, ...], int] = {}

    class Report:
        slot = -1

        def init(self, slot: int) -> None:
            self.slot = slot

        def __call__(self, pkt: Packet) -> None:
            v, proto, sa, sp, da, dp = flow_tuple(pkt.payload)
            key = min((sa, sp), (da, dp)) + max((sa, sp), (da, dp))
            way = 0 if (sa, sp) < (da, dp) else 1
            os.write(w, struct.pack("=IHIHBB", key[0], key[1], key[2], key[3], self.slot, way))
            pkt.accept()

    rep = Report()
    pairs = []
    for k in range(40):
        a = socket_in(netns.path, socket.AF_INET, socket.SOCK_DGRAM)
        b = socket_in(netns.path, socket.AF_INET, socket.SOCK_DGRAM)
        a.bind((f"127.0.0.{k + 2}", 0))
        b.bind((f"127.0.0.{k + 100}", 7000 + k))
        b.settimeout(5)
        a.settimeout(5)
        pairs.append((a, b))
    with Queue(52, netns=netns.path) as q, QueuePool(q, rep, workers=2, init=rep.init) as pool:
        def talk() -> None:
            for _ in range(5):
                for a, b in pairs:
                    a.sendto(b"ping", b.getsockname())
                for _a, b in pairs:
                    _data, peer = b.recvfrom(64)
                    b.sendto(b"pong", peer)
                for a, _b in pairs:
                    assert a.recv(64) == b"pong"

        pid = fork(talk)
        n = pool.run(count=40 * 5 * 2, timeout=30)
        assert reap(pid, 30) == 0
        st = pool.stats(kernel=False)
    assert n == 400
    os.close(w)
    raw = b""
    while chunk := os.read(r, 65536):
        raw += chunk
    os.close(r)
    rec = struct.Struct("=IHIHBB")
    ways: dict[tuple[int, ...], set[int]] = {}
    for i in range(0, len(raw), rec.size):
        a, ap, b, bp, slot, way = rec.unpack_from(raw, i)
        key = (a, ap, b, bp)
        assert slot_of.setdefault(key, slot) == slot, f"flow {key} on two workers"
        ways.setdefault(key, set()).add(way)
    assert len(ways) == 40 and all(v == {0, 1} for v in ways.values())
    assert set(slot_of.values()) == {0, 1}  # both workers have flows
    assert all(w.verdicts > 0 for w in st.workers)


def test_callback_errors_returned_verdicts_deferred_verdicts_and_new_payloads(
        netns: Netns) -> None:
    _rules(netns, 53)
    held: list[Packet] = []

    def callback(pkt: Packet) -> object:
        i = _ident(pkt)
        if i % 10 == 1:
            raise ValueError(f"packet {i} is not liked")  # the policy: DROP, counted
        if i % 10 == 2:
            return NF.DROP
        if i % 10 == 3:
            return (NF.ACCEPT, 7)
        if i % 10 == 4:
            held.append(pkt.copy())  # the verdict comes with the next packet
            return None
        if i % 10 == 5:
            for h in held:
                h.accept(mark=7)
            held.clear()
            # a new payload, checksums fixed in the worker: the receiver checks the UDP sum
            new = bytearray(pkt.payload)
            new[28 + 4:28 + 16] = b"REPLACED....".ljust(12, b".")
            pkt.verdict(NF.ACCEPT, payload=new)
            return None
        if i % 10 == 6:
            return None  # no verdict: the policy (DROP), counted
        pkt.accept()
        return None

    rx = _rx(netns)
    tx = _tx(netns)
    with Queue(53, netns=netns.path, policy=NF.DROP) as q, QueuePool(
            q, callback, workers=1, fanout="rr") as pool:
        for i in range(200):
            tx.sendto(struct.pack("!I", i) + b"payload-data", ("127.0.0.1", PORT))
        assert pool.run(count=200, timeout=30) == 200
        st = pool.stats()
    got = drain(rx)
    ids = sorted(int(struct.unpack_from("!I", d)[0]) for d in got)
    want = sorted(i for i in range(200) if i % 10 in (0, 3, 4, 5, 7, 8, 9))
    assert ids == want
    assert all(d[4:16] == b"REPLACED...." for d in got if struct.unpack_from("!I", d)[0] % 10 == 5)
    marked, arrived = counters(netns, "INPUT")
    assert marked == 40 and arrived == len(want)  # i%10 in (3, 4): mark 7
    w = st.workers[0]
    assert w.callback_errors == 20 and w.policy == 40  # 20 raised + 20 without a verdict
    assert w.deferred == 20
    assert "ValueError: packet" in w.last_error
    assert st.dead_worker_verdicts == 0 and st.bad_verdicts == 0
    assert st.queue is not None and st.queue.kernel[53].queue_total == 0


@pytest.mark.parametrize("bad", ["foreign", "twice"])
def test_a_worker_that_writes_foreign_verdicts_is_replaced(netns: Netns,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           bad: str) -> None:
    """A worker claiming a verdict for a packet it was not given (or one it already
    gave) is stopped; its packets get the policy verdict and a new worker takes over."""
    _rules(netns, 54)
    real_commit = poolmod._Worker.commit
    flag = tempfile.mktemp(prefix="netring-pool-bad-")

    def bad_commit(self: poolmod._Worker, idle: bool = False) -> None:
        if self.records.count and self.handled >= 50 and not os.path.exists(flag):
            open(flag, "w").close()  # once: the successor writes good verdicts only
            if bad == "foreign":
                self.records.add(54, 0xFFFFFF, NF.ACCEPT)  # an id the owner never gave it
            else:  # the frame's last verdict once more: the frame stays a plain run
                last = P.decode_verdicts(self.records.view())[-1][1]
                self.records.add(54, last, NF.ACCEPT)
        real_commit(self, idle)

    monkeypatch.setattr(poolmod._Worker, "commit", bad_commit)
    rx = _rx(netns)
    tx = _tx(netns)
    with Queue(54, netns=netns.path, maxlen=10000) as q, QueuePool(
            q, lambda pkt: pkt.accept(), workers=1) as pool:
        for i in range(1000):
            tx.sendto(struct.pack("!I", i), ("127.0.0.1", PORT))
        assert pool.run(count=1000, timeout=30) == 1000
        st = pool.stats()
    os.unlink(flag)
    assert st.bad_verdicts == 1 and st.worker_deaths == 1 and st.restarts == 1
    assert st.workers[0].exitcode == -signal.SIGKILL and st.workers[0].alive  # a successor
    got = drain(rx)
    assert len(got) == 1000  # policy ACCEPT: whatever the replaced worker held passed
    assert st.queue is not None and st.queue.kernel[54].queue_total == 0


def test_a_stuck_worker_is_killed_after_the_timeout(netns: Netns) -> None:
    _rules(netns, 55)

    def callback(pkt: Packet) -> None:
        if _ident(pkt) == 10:
            time.sleep(60)  # stuck: killed, packet 10 gets the policy, no worker sees it again
        pkt.accept()

    rx = _rx(netns)
    tx = _tx(netns)
    with Queue(55, netns=netns.path) as q, QueuePool(q, callback, workers=1,
                                                     worker_timeout=1.0) as pool:
        for i in range(100):
            tx.sendto(struct.pack("!I", i), ("127.0.0.1", PORT))
        t0 = time.monotonic()
        assert pool.run(count=100, timeout=30) == 100
        took = time.monotonic() - t0
        st = pool.stats()
    assert 1.0 <= took < 10
    assert st.worker_deaths == 1 and st.workers[0].exitcode == -signal.SIGKILL
    assert st.dead_worker_verdicts >= 1  # packet 10 and whatever waited behind it
    assert len(drain(rx)) == 100  # the policy (ACCEPT) let them through
    assert st.queue is not None and st.queue.kernel[55].queue_total == 0


def test_workers_that_always_die_end_the_run_and_no_packet_stays_queued(netns: Netns) -> None:
    _rules(netns, 56)

    def callback(pkt: Packet) -> None:
        os._exit(3)

    tx = _tx(netns)
    with Queue(56, netns=netns.path) as q:
        pool = QueuePool(q, callback, workers=2, max_restarts=2, depth=1)
        for i in range(50):
            tx.sendto(struct.pack("!I", i), ("127.0.0.1", PORT))
        with pytest.raises(NetringError, match="every worker"):
            pool.run(count=50, timeout=30)
        st = pool.stats()
        assert st.worker_deaths == 6 and st.restarts == 4
        assert all(w.exitcode == 3 for w in st.workers)
        pool.close()
        # what the pool took got the policy verdict; the rest waits for the queue's owner
        taken = st.packets
        assert st.dead_worker_verdicts + st.no_worker == taken > 0
        rest = 0
        for batch in q.batches(timeout=0.5):
            rest += len(batch)
            batch.accept()
        assert taken + rest == 50
        assert _kernel(netns)[56].queue_total == 0  # type: ignore[attr-defined]
        assert counters(netns, "INPUT")[1] == 50  # the policy (ACCEPT) let them through


def test_close_lets_the_workers_finish_what_they_hold(netns: Netns) -> None:
    _rules(netns, 57)

    def callback(pkt: Packet) -> object:
        time.sleep(0.001)
        return NF.DROP if _ident(pkt) % 2 else NF.ACCEPT

    tx = _tx(netns)
    with Queue(57, netns=netns.path) as q:
        pool = QueuePool(q, callback, workers=2, fanout="rr")
        for i in range(300):
            tx.sendto(struct.pack("!I", i), ("127.0.0.1", PORT))
        pool.run(count=300, timeout=0.05)  # stops receiving early; waits for what it gave out
        pool.close()
        st = pool.stats()
        assert st.dead_worker_verdicts == 0 and all(not w.alive for w in st.workers)
        assert all(w.exitcode == 0 for w in st.workers), st.workers
        handled = st.packets
        assert 0 < handled <= 300
        assert st.queue is not None and st.queue.verdicts["drop"] + st.queue.verdicts[
            "accept"] == handled
        # the rest is still queued for the queue's own consumer
        rest = 0
        for batch in q.batches(timeout=1.0):
            rest += len(batch)
            batch.accept()
        assert handled + rest == 300
    assert _kernel(netns).get(57) is None  # unbound at close


def test_sigterm_ends_the_run_after_the_workers_finished_what_they_hold(netns: Netns) -> None:
    _rules(netns, 58)

    def callback(pkt: Packet) -> None:
        time.sleep(0.0005)
        pkt.accept()

    owner = os.getpid()
    with Queue(58, netns=netns.path, maxlen=100_000) as q, QueuePool(
            q, callback, workers=2, fanout="rr") as pool:
        traffic = Traffic(netns, 20_000, rate=5000)

        def term() -> None:
            time.sleep(1.0)
            os.kill(owner, signal.SIGTERM)

        kpid = fork(term)
        traffic.go()
        t0 = time.monotonic()
        n = pool.run(timeout=30)
        took = time.monotonic() - t0
        assert reap(kpid, 10) == 0
        assert pool.terminated and 0.9 < took < 5 and 0 < n < 20_000
        st = pool.stats()
        assert st.in_flight == 0 and st.dead_worker_verdicts == 0
        assert all(w.alive for w in st.workers)  # the pool goes on: run() may be called again
        n2 = pool.run(timeout=30, count=20_000 - n)
        assert not pool.terminated and n + n2 == 20_000
        seen = traffic.finish()
    assert all(x == 1 for x in seen)
    assert _kernel(netns).get(58) is None  # unbound when the queue closed


def test_workers_leave_with_their_owner_and_the_queue_goes_too(netns: Netns) -> None:
    """The owner SIGKILLed: its workers closed the queue socket after the fork, so the
    kernel destroys the queue at once, and they exit by themselves."""
    queue_rule(netns, PORT, 59, bypass=True)
    r, w = os.pipe()

    def owner() -> None:
        q = Queue(59, netns=netns.path)
        pool = QueuePool(q, lambda pkt: pkt.accept(), workers=2)
        pool.start()
        os.write(w, struct.pack("=II", *(x.pid for x in pool.stats(kernel=False).workers)))
        pool.run(timeout=60)

    pid = fork(owner)
    workers = struct.unpack("=II", os.read(r, 8))
    assert 59 in _kernel(netns)
    os.kill(pid, signal.SIGKILL)
    assert reap(pid, 10) == -signal.SIGKILL
    def running(p: int) -> bool:  # neither gone nor a zombie waiting for init
        try:
            with open(f"/proc/{p}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (59 in _kernel(netns) or any(map(running, workers))):
        time.sleep(0.05)
    assert 59 not in _kernel(netns)
    assert not any(map(running, workers))
    tx = _tx(netns)
    rx = _rx(netns)
    tx.sendto(b"after", ("127.0.0.1", PORT))
    assert drain(rx) == [b"after"]  # bypass: nobody listens, the packet passes
