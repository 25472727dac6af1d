"""nfnetlink_queue under load: 100k+ packets completed out of order with mixed verdicts,
forced overload with every loss accounted for, and a consumer SIGKILLed at full rate."""

from __future__ import annotations

import os
import random
import signal
import time

from nfqutil import counters, drain, ipt, queue_rule, udp_pair
from nsutil import Netns, sh
from procutil import fork, reap

from netring.subsystems.nfnetlink.edge.queue import Queue
from netring.subsystems.nfnetlink.queue.stats import parse_proc_nfnetlink_queue

PORT = 9300


def _proc(ns: Netns) -> dict[int, object]:
    return parse_proc_nfnetlink_queue(
        sh("ip", "netns", "exec", ns.name, "cat", "/proc/net/netfilter/nfnetlink_queue").stdout)


def test_100k_packets_out_of_order_mixed_verdicts_exact_counts(netns: Netns) -> None:
    total = 120_000
    ipt(netns, "-A", "INPUT", "-p", "udp", "--dport", str(PORT), "-m", "mark", "--mark", "7")
    ipt(netns, "-A", "INPUT", "-p", "udp", "--dport", str(PORT))
    queue_rule(netns, PORT, 20)
    rx, tx = udp_pair(netns, PORT)
    rng = random.Random(20261201)
    want_drop = want_mark = want_plain = 0
    arrived = 0
    with Queue(20, netns=netns.path, maxlen=65536, window=4096) as q:
        sent = received = 0
        held: list = []  # copies completed later, in random order
        deadline = time.monotonic() + 120
        while (received < total or held) and time.monotonic() < deadline:
            if sent < total:  # a burst, then receive all of it (the sender never blocks)
                k = min(rng.randint(1, 400), total - sent)
                for i in range(sent, sent + k):
                    tx.sendto(b"%d" % i, ("127.0.0.1", PORT))
                sent += k
            while received < sent and time.monotonic() < deadline:
                batch = q.recv_batch(timeout=1.0)
                received += len(batch)
                order = list(range(len(batch)))
                rng.shuffle(order)
                for j in order:
                    r = rng.random()
                    if r < 0.15:
                        held.append(batch[j].copy())
                        continue
                    pkt = batch[j]
                    if r < 0.25:
                        pkt.drop()
                        want_drop += 1
                    elif r < 0.30:
                        pkt.accept(mark=7)
                        want_mark += 1
                    else:
                        pkt.accept()
                        want_plain += 1
            # finish a random share of the held ones, in random order (all at the end)
            rng.shuffle(held)
            keep = rng.randint(0, min(len(held), 3000)) if received < total else 0
            for pkt in held[keep:]:
                if rng.random() < 0.3:
                    pkt.drop()
                    want_drop += 1
                else:
                    pkt.accept()
                    want_plain += 1
            del held[keep:]
            arrived += len(drain(rx, settle=0.0, limit=0.05))
        q.flush()
        arrived += len(drain(rx))
        s = q.stats()
        assert s.packets == total
        assert s.released_without_verdict == 0 and s.verdict_errors == 0
        assert s.in_flight == 0 and s.kernel[20].queue_total == 0
        assert s.kernel[20].queue_dropped == 0 and s.kernel[20].user_dropped == 0
        assert s.kernel[20].id_sequence == total
        assert s.verdicts["drop"] == want_drop
        assert s.verdicts["accept"] == want_mark + want_plain
        assert s.batch_messages > 0 and s.batch_messages < total // 10
    assert want_drop + want_mark + want_plain == total
    marked, arrived_by_rule = counters(netns, "INPUT")  # the second rule counts every one
    assert marked == want_mark and arrived_by_rule == want_mark + want_plain
    assert arrived == want_mark + want_plain
    assert counters(netns, "OUTPUT") == [total]


def test_forced_overload_every_loss_is_counted(netns: Netns) -> None:
    """A queue of 16 and a consumer that waits: the kernel drops what does not fit; the
    counts add up to what was sent (rule counter) exactly."""
    queue_rule(netns, PORT, 21)
    rx, tx = udp_pair(netns, PORT)
    sent = 3000
    with Queue(21, netns=netns.path, maxlen=16) as q:
        for i in range(sent):
            tx.sendto(b"%d" % i, ("127.0.0.1", PORT))
        n = 0
        for batch in q.batches(timeout=1.0):
            batch.accept()
            n += len(batch)
        s = q.stats()
        k = s.kernel[21]
        assert counters(netns, "OUTPUT") == [sent]
        assert n == s.packets == k.id_sequence - k.user_dropped
        assert k.queue_dropped > 0
        assert s.packets + k.queue_dropped + k.user_dropped == sent
        assert s.id_gaps == k.user_dropped
        assert len(drain(rx)) == s.packets
    ipt(netns, "-Z", "OUTPUT")
    # with FAIL_OPEN a full queue accepts instead: everything arrives; the kernel counts
    # those accepts nowhere (no id, no drop counter): the rule counter minus id_sequence
    with Queue(21, netns=netns.path, maxlen=16, fail_open=True) as q:
        for i in range(sent):
            tx.sendto(b"%d" % i, ("127.0.0.1", PORT))
        for batch in q.batches(timeout=1.0):
            batch.accept()
        s = q.stats()
        k = s.kernel[21]
        assert k.queue_dropped == 0 and k.user_dropped == 0
        assert len(drain(rx)) == sent
        assert counters(netns, "OUTPUT")[0] - k.id_sequence == sent - s.packets > 0


def test_overflowing_the_socket_buffer_is_counted_and_fails_open(netns: Netns) -> None:
    """A tiny receive buffer: unicasts fail.  Without FAIL_OPEN they are user_dropped (and
    seen as id gaps); with it the kernel accepts them: nothing is lost, ENOBUFS counted."""
    queue_rule(netns, PORT, 22)
    rx, tx = udp_pair(netns, PORT)
    sent = 4000
    for fail_open in (False, True):
        with Queue(22, netns=netns.path, maxlen=100000, rcvbuf=4096,
                   fail_open=fail_open) as q:
            for i in range(sent):
                tx.sendto(b"%d" % i, ("127.0.0.1", PORT))
            for batch in q.batches(timeout=1.0):
                batch.accept()
            s = q.stats()
            k = s.kernel[22]
            arrived = len(drain(rx))
            assert k.id_sequence == sent  # every packet got an id: the unicast failed
            assert s.enobufs >= 1
            assert s.id_gaps == sent - s.packets > 0
            if fail_open:
                assert k.user_dropped == 0 and s.fail_open_accepts == s.id_gaps
                assert arrived == sent  # nothing lost
            else:
                assert k.user_dropped == s.id_gaps and s.fail_open_accepts == 0
                assert arrived == s.packets
        ipt(netns, "-Z", "OUTPUT")


def test_a_consumer_killed_at_full_rate_never_blackholes_traffic(netns: Netns) -> None:
    queue_rule(netns, PORT, 23, bypass=True)
    rx, tx = udp_pair(netns, PORT)
    r, w = os.pipe()

    def consumer() -> None:
        q = Queue(23, netns=netns.path, fail_open=True)
        os.write(w, b"x")
        for batch in q.batches():
            batch.accept()

    pid = fork(consumer)
    os.read(r, 1)
    stop = time.monotonic() + 0.5
    i = 0
    while time.monotonic() < stop:  # full rate: as fast as this thread can send
        tx.sendto(b"%d" % i, ("127.0.0.1", PORT))
        i += 1
    os.kill(pid, signal.SIGKILL)
    assert reap(pid, 10) == -signal.SIGKILL
    before = len(drain(rx))
    assert before > 0
    assert 23 not in _proc(netns)  # the kernel destroyed the queue with the socket
    for j in range(2000):
        tx.sendto(b"after%d" % j, ("127.0.0.1", PORT))
    after = drain(rx)
    assert len(after) == 2000  # bypass: nobody listens, the packets pass
    # and once a consumer binds again, the queue works as before
    with Queue(23, netns=netns.path) as q:
        tx.sendto(b"again", ("127.0.0.1", PORT))
        b = q.recv_batch(timeout=5)
        assert len(b) == 1
        b.accept()
        q.flush()
        assert drain(rx) == [b"again"]
