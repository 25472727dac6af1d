"""nfnetlink_queue read from a netlink RX ring (``Queue(ring="uring")``) against the real
kernel: packets queued by iptables NFQUEUE inside a private namespace, verdicts
checked at a receiving UDP socket, fields compared with the ``recvmmsg`` path."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from nfqutil import drain, queue_rule, udp_pair
from nsutil import Netns

from netring.nlmmap.edge import uring
from netring.subsystems.nfnetlink.constants import NF_INET
from netring.subsystems.nfnetlink.edge.queue import Queue

PORT = 9300


@pytest.fixture(autouse=True)
def _need_uring() -> None:
    u = uring.support()
    if not u["available"]:
        pytest.skip(f"io_uring ring not available here: {u['reason']}")


def _send(tx: socket.socket, first: int, n: int, size: int = 0) -> None:
    for i in range(first, first + n):
        data = b"p:%d:" % i
        tx.sendto(data + b"x" * max(0, size - len(data)), ("127.0.0.1", PORT))


def _seqs(datagrams: list[bytes]) -> list[int]:
    return sorted(int(d.split(b":")[1]) for d in datagrams)


@pytest.mark.parametrize("backend", ["uring", "user"])
def test_accept_and_drop_reach_the_receiver_as_the_verdict_says(netns: Netns,
                                                                backend: str) -> None:
    queue_rule(netns, PORT, 31)
    rx, tx = udp_pair(netns, PORT)
    with Queue(31, netns=netns.path, ring=backend) as q:
        assert q.receive_path == backend and f"receive={backend}" in repr(q)
        _send(tx, 0, 40)
        seen = 0
        for pkt in q.packets(count=40, timeout=10):
            i = int(bytes(pkt.payload[28:]).split(b":")[1])
            pkt.accept() if i % 2 == 0 else pkt.drop()
            seen += 1
        assert seen == 40
        assert _seqs(drain(rx)) == list(range(0, 40, 2))
        s = q.stats()
        assert s.receive == backend and s.ring is not None and s.ring.get("truncated", 0) == 0
        assert s.verdicts["accept"] == 20 and s.verdicts["drop"] == 20
        assert s.released_without_verdict == 0 and s.truncated == 0 and s.enobufs == 0
        assert s.kernel[31].queue_total == 0 and s.in_flight == 0


def test_a_batch_is_accepted_with_one_batch_verdict(netns: Netns) -> None:
    queue_rule(netns, PORT, 32)
    rx, tx = udp_pair(netns, PORT)
    n = 50
    with Queue(32, netns=netns.path, ring="uring", batch=64) as q:
        _send(tx, 0, n)
        got = 0
        for batch in q.batches(count=n, timeout=10):
            got += len(batch)
            batch.accept()
        assert got == n
        assert _seqs(drain(rx)) == list(range(n))
        s = q.stats()
        assert s.verdicts["accept"] == n and s.single_messages == 0
        assert 1 <= s.batch_messages <= s.batches
        # the packets were all queued before the first receive: one receive, one verdict
        assert s.batches == 1 and s.batch_messages == 1
        assert s.kernel[32].queue_total == 0


def test_a_run_read_in_place_is_copied_out_so_a_request_meanwhile_reads_its_reply(
        netns: Netns) -> None:
    """Datagrams taken straight from the completions (no frame header written) are
    copied into the receive slots (one strided copy) and the run settled before the
    batch is handed out: a request made while the batch is held (set_maxlen, whose
    ack comes through the same ring) and the next receive both find the ring
    consistent, and the held packets keep their bytes."""
    queue_rule(netns, PORT, 37)
    rx, tx = udp_pair(netns, PORT)
    with Queue(37, netns=netns.path, ring="uring", batch=64) as q:
        _send(tx, 0, 30)
        time.sleep(0.2)
        before = q.stats().ring["delivered_in_place"]
        batch = q.recv_batch(timeout=5)
        assert len(batch) == 30
        assert q.stats().ring["delivered_in_place"] - before == 30  # the run path
        assert batch.strided is not None  # in the slots, one stride apart
        q.set_maxlen(37, 4096)  # its ack is read from the ring while the batch is held
        _send(tx, 30, 10)
        time.sleep(0.1)
        assert [int(bytes(p.payload[28:]).split(b":")[1]) for p in batch] == list(range(30))
        batch.accept()
        more = []
        for b in q.batches(count=10, timeout=5):
            more += [int(bytes(p.payload[28:]).split(b":")[1]) for p in b]
            b.accept()
        assert more == list(range(30, 40))
        s = q.stats()
        assert s.verdicts["accept"] == 40 and s.id_gaps == 0 and s.kernel[37].queue_total == 0
    assert _seqs(drain(rx)) == list(range(40))


def _ids_of(batch: object) -> list[int]:
    return [int(bytes(p.payload[28:]).split(b":")[1]) for p in batch]  # type: ignore[attr-defined]


def test_a_run_read_ahead_is_handed_out_over_the_next_small_batches(netns: Netns) -> None:
    """With batch 1 a receive still reads a whole run of the ring (up to RING_AHEAD):
    the packets come one per batch from its copies in the slots, in order, each
    settled in the ring when handed out (the ring's descriptor stays readable for
    the ones not handed out yet)."""
    queue_rule(netns, PORT, 38)
    rx, tx = udp_pair(netns, PORT)
    with Queue(38, netns=netns.path, ring="uring", batch=1) as q:
        _send(tx, 0, 30)
        time.sleep(0.2)
        seen = []
        for _ in range(30):
            b = q.recv_batch(timeout=5)
            assert len(b) == 1 and b.strided is not None
            seen += _ids_of(b)
            b.accept()
            if len(seen) == 10:  # part of the run handed out, the rest still queued
                assert q.ring.stats()["delivered_in_place"] == 10  # type: ignore[union-attr]
        assert seen == list(range(30))
        s = q.stats()
        assert s.batches == 30 and s.packets == 30 and s.id_gaps == 0
        assert s.kernel[38].queue_total == 0
    assert _seqs(drain(rx)) == list(range(30))


def test_a_request_while_a_run_is_read_ahead_takes_the_rest_the_usual_way(
        netns: Netns) -> None:
    """A request made while part of a run waits in the slots reads its reply through
    the ring, past the packets not handed out yet: those go the conversation's way
    (kept, then handed out by the next receives) and the copies are forgotten, so
    every packet comes exactly once, in order."""
    queue_rule(netns, PORT, 39)
    rx, tx = udp_pair(netns, PORT)
    with Queue(39, netns=netns.path, ring="uring", batch=5) as q:
        _send(tx, 0, 30)
        time.sleep(0.5)  # all thirty in the ring: the first receive reads the run
        first = q.recv_batch(timeout=5)
        seen = _ids_of(first)
        assert seen == list(range(5))
        first.accept()
        q.set_maxlen(39, 4096)  # the ack comes after the 25 packets still in the ring
        for b in q.batches(count=25, timeout=5):
            seen += _ids_of(b)
            b.accept()
        assert seen == list(range(30))
        assert len(q.recv_batch(timeout=0.3)) == 0  # nothing a second time
        s = q.stats()
        assert s.packets == 30 and s.id_gaps == 0 and s.verdicts["accept"] == 30
        assert s.kernel[39].queue_total == 0
    assert _seqs(drain(rx)) == list(range(30))


def _fields(ring: str | None, netns: Netns, queue: int, rx: socket.socket,
            tx: socket.socket) -> list[tuple[int, bytes, int, int]]:
    with Queue(queue, netns=netns.path, ring=ring) as q:
        _send(tx, 0, 20, size=300)
        # the IP id and header checksum differ per packet; the rest must be equal
        out = [(pkt.id, bytes(pkt.payload[:4]) + bytes(pkt.payload[8:10])
                + bytes(pkt.payload[12:]), int(pkt.hook), pkt.queue)
               for pkt in q.packets(count=20, timeout=10)]
        assert q.stats().receive == (ring or "recvmmsg")
    assert len(drain(rx)) == 20  # the policy verdict (accept) let them through
    return out


def test_packet_fields_equal_the_recvmmsg_paths(netns: Netns) -> None:
    queue_rule(netns, PORT, 33)
    rx, tx = udp_pair(netns, PORT)  # one sender: the same source port for both runs
    a = _fields(None, netns, 33, rx, tx)
    b = _fields("uring", netns, 33, rx, tx)
    assert len(a) == len(b) == 20
    # the kernel's id sequence goes on across bindings: ids advance by one in both
    assert [x[0] - a[0][0] for x in a] == [x[0] - b[0][0] for x in b] == list(range(20))
    assert [x[1:] for x in a] == [x[1:] for x in b]
    assert all(x[2] == NF_INET.LOCAL_OUT and x[3] == 33 for x in b)
    assert all(len(x[1]) == 328 - 6 for x in b)  # IPv4 20 + UDP 8 + 300, less id and csum


def test_a_datagram_larger_than_a_frame_is_counted_and_gets_the_policy(netns: Netns) -> None:
    """A packet larger than the copy range the frames were sized for cannot come cut by
    nfqueue (it cuts to the copy range itself); widening the copy range after the ring
    was sized makes datagrams larger than a frame: each is counted and accepted."""
    queue_rule(netns, PORT, 34)
    rx, tx = udp_pair(netns, PORT)
    with Queue(34, netns=netns.path, ring="uring", copy_range=128) as q:
        cap = q.ring.capacity  # type: ignore[union-attr]
        q.set_mode(34, q.copy_mode, 65531)  # the kernel now copies whole packets
        _send(tx, 0, 3, size=cap + 1000)
        _send(tx, 3, 2, size=10)
        small = []
        for pkt in q.packets(count=2, timeout=5):
            small.append(int(bytes(pkt.payload[28:]).split(b":")[1]))
            pkt.accept()
        assert small == [3, 4]
        s = q.stats()
        assert s.truncated == 3 and s.released_without_verdict == 3  # each id was read
        assert _seqs(drain(rx)) == [0, 1, 2, 3, 4]  # cut ones: the policy (accept)
        assert s.kernel[34].queue_total == 0


def test_overrun_is_counted_and_the_queue_recovers(netns: Netns) -> None:
    """A tiny socket buffer and a ring the consumer does not drain: the kernel's unicasts
    fail (ENOBUFS); the ring counts it, the Queue reports it, and receiving goes on."""
    queue_rule(netns, PORT, 35)
    rx, tx = udp_pair(netns, PORT)
    sent = 3000
    with Queue(35, netns=netns.path, ring="uring", rcvbuf=4096, maxlen=100000,
               batch=8) as q:
        _send(tx, 0, sent)
        for batch in q.batches(timeout=1.0):
            batch.accept()
        s = q.stats()
        assert s.enobufs >= 1 and s.packets > 0
        assert s.id_gaps == sent - s.packets > 0
        # still usable afterwards
        _send(tx, sent, 5)
        more = sum(len(b) for b in q.batches(count=5, timeout=5))
        assert more == 5
        assert q.stats().kernel[35].queue_total == 0
    drain(rx)


def test_an_overrun_is_counted_while_runs_are_read_in_place(netns: Netns) -> None:
    """The kernel's failed unicasts (ENOBUFS) show in ``stats().enobufs`` while the
    receive keeps taking runs in place, not only once a frame is read one by one."""
    queue_rule(netns, PORT, 34)
    rx, tx = udp_pair(netns, PORT)
    with Queue(34, netns=netns.path, ring="uring", rcvbuf=4096, maxlen=100000,
               batch=8) as q:
        _send(tx, 0, 3000)
        time.sleep(0.2)
        seen = 0
        while_reading = False
        for _ in range(200):  # bounded: well past the ring's first wrap
            b = q.recv_batch(timeout=1.0)
            if not b:
                break
            seen += len(b)
            b.accept()
            if q.stats().enobufs:
                while_reading = True  # counted by a receive that took a run
                break
        s = q.stats()
        assert while_reading and s.enobufs >= 1 and seen > 0
        assert s.ring is not None and s.ring["delivered_in_place"] == seen
    drain(rx)


@pytest.mark.parametrize("batch", [1, 10])
def test_the_benchmark_ring_row_runs(netns: Netns, batch: int) -> None:
    """The benchmark's ring rows (``NETRING_BATCHES_PY`` with a ring backend), run as the
    benchmark runs them (inside the namespace, ended with SIGTERM), on a few packets."""
    from netring.tools.bench.queue import NETRING_BATCHES_PY

    queue_rule(netns, PORT, 36)
    rx, tx = udp_pair(netns, PORT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.Popen(["ip", "netns", "exec", netns.name, sys.executable, "-c",
                          NETRING_BATCHES_PY, "36", str(batch), "uring"], stdout=subprocess.PIPE,
                         env=env)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _bound(netns, 36):
            time.sleep(0.02)
        _send(tx, 0, 30)
        got: list[bytes] = []
        while time.monotonic() < deadline and len(got) < 30:
            got += drain(rx, settle=0.1, limit=1.0)
        assert _seqs(got) == list(range(30))
    finally:
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=10)
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert report["verdicts"] == 30 and report["enobufs"] == 0
    if batch == 1:  # one packet per receive: one verdict message each
        assert report["verdict_messages"] == 30
    else:
        assert 3 <= report["verdict_messages"] <= 30


def _bound(netns: Netns, queue: int) -> bool:
    from nsutil import sh

    text = sh("ip", "netns", "exec", netns.name, "cat",
              "/proc/net/netfilter/nfnetlink_queue", check=False).stdout
    return any(line.split()[:1] == [str(queue)] for line in text.splitlines())


def test_uring_refused_raises_and_auto_falls_back(netns: Netns,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """io_uring refused (as ``kernel.io_uring_disabled`` or seccomp refuse it, simulated
    here: the machine's sysctl is not ours to change): ``ring="uring"`` raises the ring's
    NotSupportedError; ``"auto"`` falls back to what open_ring picks next."""
    from netring.errors import NotSupportedError

    def refuse(entries: int, params: bytearray) -> int:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(uring._u, "io_uring_setup", refuse)
    with pytest.raises(NotSupportedError, match="io_uring"):
        Queue(37, netns=netns.path, ring="uring")
    monkeypatch.setattr(uring, "support", lambda: {"available": False, "reason": "refused"})
    queue_rule(netns, PORT, 37)
    rx, tx = udp_pair(netns, PORT)
    with Queue(37, netns=netns.path, ring="auto") as q:  # the queue is free again
        assert q.receive_path == "user" and q.stats().receive == "user"
        _send(tx, 0, 5)
        n = 0
        for batch in q.batches(count=5, timeout=5):
            n += len(batch)
            batch.accept()
        assert n == 5
    assert _seqs(drain(rx)) == list(range(5))


@pytest.mark.parametrize("ring", [None, "uring", "user"])
def test_verdict_errors_and_packets_during_a_request_take_the_usual_way(
        netns: Netns, ring: str | None) -> None:
    """The reply rule over the ring: an acknowledged verdict's error is raised, a batched
    verdict's error arriving later in a frame is counted and named, and packets that
    arrive while a request waits are kept and handed out first."""
    from netring.errors import NetlinkError
    from netring.subsystems.nfnetlink.constants import NF

    queue_rule(netns, PORT, 38)
    rx, tx = udp_pair(netns, PORT)
    with Queue(38, netns=netns.path, ring=ring) as q:
        _send(tx, 1, 1)
        pid = q.recv_batch(timeout=5).ids[0]
        with pytest.raises(NetlinkError) as ei:
            q.verdict_now(38, pid + 1000, NF.ACCEPT)  # the ENOENT is read from the ring
        assert ei.value.errno == errno.ENOENT
        q.batcher.complete(38, pid, NF.ACCEPT)  # recorded...
        q.verdict_now(38, pid, NF.ACCEPT)  # ...but the packet leaves first
        q.flush()  # the batch message finds nothing: ENOENT comes back in a frame
        assert not q.recv_batch(timeout=0.2)  # ...which the next receive reads
        assert q.stats().verdict_errors == 1 and q.errors[-1].errno == errno.ENOENT
        _send(tx, 2, 3)
        time.sleep(0.1)
        q.set_maxlen(38, 2048)  # a request while packets wait: they are kept
        got = []
        for b in q.batches(count=3, timeout=5):
            got += [int(bytes(p.payload[28:]).split(b":")[1]) for p in b]
            b.accept()
        assert got == [2, 3, 4]
        s = q.stats()
        assert s.verdict_errors == 1 and q.errors[-1].errno == errno.ENOENT
        assert s.kernel[38].queue_total == 0
    assert _seqs(drain(rx)) == [1, 2, 3, 4]


def test_asyncio_consumer_waits_on_the_ring(netns: Netns) -> None:
    queue_rule(netns, PORT, 39)
    rx, tx = udp_pair(netns, PORT)

    async def main() -> int:
        n = 0
        with Queue(39, netns=netns.path, ring="uring") as q:
            assert q.fileno() == q.ring.fileno()  # type: ignore[union-attr]
            _send(tx, 0, 20)
            async with asyncio.timeout(10):
                async for pkt in q.apackets():
                    pkt.accept()
                    n += 1
                    if n == 20:
                        break
        return n

    assert asyncio.run(main()) == 20
    assert _seqs(drain(rx)) == list(range(20))
