"""nfnetlink_queue against the real kernel: packets queued by iptables NFQUEUE inside a
private namespace, verdicts checked at a receiving socket and by iptables counters."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable

import pytest
from nfqutil import counters, drain, ipt, queue_rule, snmp, udp_pair
from nsutil import Netns
from procutil import SignalsWhenCollected, fork, reap

from netring.codec.constants import SO
from netring.errors import NetlinkError, NotSupportedError
from netring.netns import socket_in
from netring.subsystems.nfnetlink.constants import NF, NF_INET
from netring.subsystems.nfnetlink.edge.queue import Queue
from netring.subsystems.nfnetlink.queue import NFQA_SKB, NFQNL_COPY, Packet
from netring.subsystems.nfnetlink.queue.checksum import inet_checksum

PORT = 9100


def _seqs(datagrams: list[bytes]) -> list[int]:
    return sorted(int(d.split(b":")[1]) for d in datagrams)


def _send(tx: socket.socket, first: int, n: int, port: int = PORT, size: int = 0) -> None:
    for i in range(first, first + n):
        data = b"p:%d:" % i
        tx.sendto(data + b"x" * max(0, size - len(data)), ("127.0.0.1", port))


def test_accept_drop_mark_repeat_stop_as_the_verdict_says(netns: Netns) -> None:
    # INPUT counts what arrives, by mark; OUTPUT queues what has no mark 9 yet (REPEAT
    # with mark 9 re-runs the hook, which then lets it pass)
    ipt(netns, "-A", "INPUT", "-p", "udp", "--dport", str(PORT), "-m", "mark", "--mark", "7")
    ipt(netns, "-A", "INPUT", "-p", "udp", "--dport", str(PORT), "-m", "mark", "--mark", "9")
    ipt(netns, "-A", "INPUT", "-p", "udp", "--dport", str(PORT))
    queue_rule(netns, PORT, 4, "-m", "mark", "!", "--mark", "9")
    rx, tx = udp_pair(netns, PORT)
    with Queue(4, netns=netns.path) as q:
        _send(tx, 0, 50)
        want: dict[str, set[int]] = {"accept": set(), "drop": set(), "mark": set(),
                                     "repeat": set(), "stop": set()}
        got = 0
        for pkt in q.packets(count=50, timeout=10):
            i = int(bytes(pkt.payload[28:]).split(b":")[1])
            kind = ("accept", "drop", "mark", "repeat", "stop")[i % 5]
            want[kind].add(i)
            assert pkt.hook == NF_INET.LOCAL_OUT and pkt.queue == 4
            if kind == "accept":
                pkt.accept()
            elif kind == "drop":
                pkt.drop()
            elif kind == "mark":
                pkt.accept(mark=7)
            elif kind == "repeat":
                pkt.repeat(mark=9)
            else:
                pkt.stop()
            got += 1
        assert got == 50
        arrived = set(_seqs(drain(rx)))
        assert arrived == want["accept"] | want["mark"] | want["repeat"] | want["stop"]
        marked7, marked9, total = counters(netns, "INPUT")
        assert marked7 == len(want["mark"]) and marked9 == len(want["repeat"])
        assert total == len(arrived)
        s = q.stats()
        assert s.verdicts["drop"] == 10 and s.verdicts["repeat"] == 10 and s.verdicts["stop"] == 10
        assert s.verdicts["accept"] == 20 and s.released_without_verdict == 0
        assert s.kernel[4].queue_total == 0 and s.in_flight == 0


def test_mangled_udp_with_fixed_checksums_arrives_and_a_broken_one_does_not(
        netns: Netns) -> None:
    queue_rule(netns, PORT, 2)
    rx, tx = udp_pair(netns, PORT)
    errors_before = snmp(netns, "Udp", "InCsumErrors")
    with Queue(2, netns=netns.path) as q:
        tx.sendto(b"short", ("127.0.0.1", PORT))
        tx.sendto(b"second", ("127.0.0.1", PORT))
        b = q.recv_batch(timeout=5, limit=1) or q.recv_batch(timeout=5, limit=1)
        pkt = b[0]
        new = bytearray(pkt.payload.tobytes()[:28] + b"a much longer replacement payload")
        pkt.verdict(NF.ACCEPT, payload=new)  # lengths and checksums fixed
        b = q.recv_batch(timeout=5, limit=1)
        pkt = b[0]
        bad = bytearray(pkt.payload.tobytes()[:28] + b"broken")
        bad[26:28] = b"\x12\x34"  # a checksum that does not match
        struct.pack_into("!H", bad, 2, len(bad))
        struct.pack_into("!H", bad, 24, len(bad) - 20)
        bad[10:12] = b"\0\0"
        struct.pack_into("!H", bad, 10, inet_checksum(bad[:20]))
        pkt.verdict(NF.ACCEPT, payload=bad, fix_checksums=False)
        q.flush()
        assert drain(rx) == [b"a much longer replacement payload"]
    assert snmp(netns, "Udp", "InCsumErrors") == errors_before + 1


def test_mangled_tcp_data_arrives_with_its_checksum_fixed(netns: Netns) -> None:
    queue_rule(netns, PORT, 3, proto="tcp")
    srv = socket_in(netns.path, socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", PORT))
    srv.listen()
    srv.setblocking(False)
    cli = socket_in(netns.path, socket.AF_INET, socket.SOCK_STREAM)
    cli.setblocking(False)
    with Queue(3, netns=netns.path) as q:
        try:
            cli.connect(("127.0.0.1", PORT))
        except BlockingIOError:
            pass
        mangled = 0
        deadline = time.monotonic() + 10
        conn = None
        while time.monotonic() < deadline and not mangled:
            b = q.recv_batch(timeout=0.05)
            for pkt in b:
                p = pkt.payload
                ihl = (p[0] & 15) * 4
                doff = (p[ihl + 12] >> 4) * 4
                data = bytes(p[ihl + doff:])
                if data == b"hello world":
                    pkt.verdict(NF.ACCEPT, payload=p.tobytes()[:ihl + doff] + b"HELLO WORLD")
                    mangled += 1
                else:
                    pkt.accept()
            if conn is None:
                try:
                    conn, _ = srv.accept()
                    cli.send(b"hello world")
                except BlockingIOError:
                    pass
        q.flush()
        assert mangled == 1 and conn is not None
        conn.settimeout(5)
        # the client's ACKs keep flowing through the queue while we read
        received = b""
        end = time.monotonic() + 5
        while len(received) < 11 and time.monotonic() < end:
            for pkt in q.recv_batch(timeout=0.01):
                pkt.accept()
            q.flush()
            try:
                conn.settimeout(0.01)
                received += conn.recv(100)
            except TimeoutError:
                pass
        assert received == b"HELLO WORLD"
        conn.close()


def test_verdict_errors_are_named(netns: Netns) -> None:
    queue_rule(netns, PORT, 6)
    rx, tx = udp_pair(netns, PORT)
    with Queue(6, netns=netns.path) as owner, Queue(netns=netns.path) as other:
        tx.sendto(b"p:1:", ("127.0.0.1", PORT))
        b = owner.recv_batch(timeout=5)
        pid = b.ids[0]
        with pytest.raises(NetlinkError) as ei:
            other.verdict_now(6, pid, NF.ACCEPT)
        assert ei.value.errno == errno.EPERM
        assert f"queue 6 is bound by port id {owner.portid}" in str(ei.value)
        with pytest.raises(NetlinkError) as ei:
            owner.verdict_now(6, pid + 1000, NF.ACCEPT)
        assert ei.value.errno == errno.ENOENT
        assert f"no packet {pid + 1000} is queued on queue 6" in str(ei.value)
        # a verdict the kernel refuses on the batched path is counted and named too
        owner.batcher.complete(6, pid, NF.ACCEPT)  # recorded...
        owner.verdict_now(6, pid, NF.ACCEPT)  # ...but the packet leaves first
        owner.flush()  # the batch message finds nothing: ENOENT comes back later
        tx.sendto(b"p:2:", ("127.0.0.1", PORT))
        b = owner.recv_batch(timeout=5)
        b.accept()
        owner.flush()
        assert owner.stats().verdict_errors == 1
        assert owner.errors[-1].errno == errno.ENOENT
        assert len(drain(rx)) == 2


def test_bind_conflicts_are_named(netns: Netns) -> None:
    with Queue(8, netns=netns.path) as a:
        with pytest.raises(NetlinkError) as ei:
            Queue(8, netns=netns.path)
        assert ei.value.errno == errno.EPERM
        assert f"queue 8 is held by another socket (port id {a.portid}" in str(ei.value)
        with pytest.raises(NetlinkError) as ei:
            a.bind(8)
        assert ei.value.errno == errno.EBUSY and "already bound by this socket" in str(ei.value)


def test_conntrack_flag_is_refused_clearly_or_decodes(netns: Netns) -> None:
    queue_rule(netns, PORT, 7)
    ipt(netns, "-t", "mangle", "-A", "OUTPUT", "-p", "udp", "--dport", str(PORT), "-j",
        "CONNMARK", "--set-mark", "0x11")
    try:
        q = Queue(7, netns=netns.path, conntrack=True)
    except NotSupportedError as exc:
        assert "CONNTRACK" in str(exc) and "EOPNOTSUPP" in str(exc)
        pytest.skip("this kernel refuses NFQA_CFG_F_CONNTRACK (EOPNOTSUPP: built without "
                    "CONFIG_NETFILTER_NETLINK_GLUE_CT), so NFQA_CT is never attached")
    rx, tx = udp_pair(netns, PORT)
    with q:
        tx.sendto(b"p:1:", ("127.0.0.1", PORT))
        pkt = q.recv_batch(timeout=5)[0]
        ct = pkt.ct
        assert ct is not None and ct.mark == 0x11 and ct.orig is not None
        assert ct.orig.dport == PORT
        pkt.verdict(NF.ACCEPT, connmark=0x22)
        q.flush()
        assert len(drain(rx)) == 1


def test_policy_gives_released_packets_a_verdict_and_counts_them(netns: Netns) -> None:
    queue_rule(netns, PORT, 9)
    rx, tx = udp_pair(netns, PORT)
    with Queue(9, netns=netns.path) as q:
        _send(tx, 0, 10)
        n = q.run(lambda pkt: pkt.drop() if int(bytes(pkt.payload[28:]).split(b":")[1]) < 3
                  else None, count=10, timeout=10)
        assert n == 10
        assert _seqs(drain(rx)) == list(range(3, 10))
        s = q.stats()
        assert s.released_without_verdict == 7 and s.verdicts["accept"] == 7
        assert s.kernel[9].queue_total == 0
    with Queue(9, netns=netns.path, policy=NF.DROP) as q:
        _send(tx, 100, 5)
        for _ in q.batches(count=5, timeout=10):
            pass  # nothing given: the policy drops
        assert drain(rx) == [] and q.stats().released_without_verdict == 5


def test_a_copied_packet_keeps_its_verdict_obligation(netns: Netns) -> None:
    queue_rule(netns, PORT, 10)
    rx, tx = udp_pair(netns, PORT)
    with Queue(10, netns=netns.path) as q:
        _send(tx, 0, 3)
        held = [pkt.copy() for pkt in q.recv_batch(timeout=5, limit=3)]
        _send(tx, 3, 1)
        later = q.recv_batch(timeout=5)
        later.accept()
        q.flush()
        assert _seqs(drain(rx)) == [3]  # the held ones still wait
        held[1].drop()
        held[0].accept()
        del held[2]  # collected without a verdict: the policy accepts it
        q.flush()
        assert _seqs(drain(rx)) == [0, 2]
        assert q.stats().released_without_verdict == 1


def test_asyncio_consumer(netns: Netns) -> None:
    queue_rule(netns, PORT, 11)
    rx, tx = udp_pair(netns, PORT)

    async def main() -> int:
        n = 0
        with Queue(11, netns=netns.path) as q:
            _send(tx, 0, 20)
            async with asyncio.timeout(10):
                async for pkt in q.apackets():
                    pkt.accept(mark=3)
                    n += 1
                    if n == 20:
                        break
        return n

    assert asyncio.run(main()) == 20
    assert _seqs(drain(rx)) == list(range(20))


def test_truncation_is_visible(netns: Netns) -> None:
    queue_rule(netns, PORT, 12)
    rx, tx = udp_pair(netns, PORT)
    with Queue(12, netns=netns.path, copy_range=64) as q:
        _send(tx, 0, 1, size=1000)
        pkt = q.recv_batch(timeout=5)[0]
        assert pkt.truncated and pkt.payload_len == 64 and pkt.cap_len == 1028
        pkt.accept()
    with Queue(12, netns=netns.path, copy_mode=NFQNL_COPY.META) as q:
        _send(tx, 1, 1, size=100)
        pkt = q.recv_batch(timeout=5)[0]
        assert pkt.payload_len == 0 and pkt.id >= 1
        pkt.accept()
    assert len(drain(rx)) == 2


def test_the_last_awaited_verdict_leaves_at_once(netns: Netns) -> None:
    """When every packet received has its verdict, the verdicts go out with the last
    one, not at the next receive: a quiet queue's packet is not kept waiting."""
    queue_rule(netns, PORT, 14)
    rx, tx = udp_pair(netns, PORT)
    with Queue(14, netns=netns.path) as q:
        _send(tx, 0, 3)
        time.sleep(0.5)  # all three queued: one receive takes them
        batch = q.recv_batch(timeout=5)
        assert len(batch) == 3
        batch[0].accept()
        batch[1].accept()
        assert drain(rx, settle=0.2) == []  # one still awaits its verdict
        batch[2].accept()  # no receive after this
        assert _seqs(drain(rx, settle=0.2)) == [0, 1, 2]
        assert q.batcher.batch_messages == 1  # the three in one VERDICT_BATCH


def test_after_a_wait_the_packet_that_ended_it_is_handed_out_at_once(netns: Netns) -> None:
    """A receive that slept hands out the datagram that woke it alone, without
    another look for more (a quiet queue's packet is not held for a batch); the rest
    of a burst comes with the next receives, in order, nothing lost."""
    queue_rule(netns, PORT, 15)
    rx, tx = udp_pair(netns, PORT)
    with Queue(15, netns=netns.path, batch=64) as q:
        sent_at: list[float] = []

        def burst() -> None:
            sent_at.append(time.monotonic())
            _send(tx, 0, 20)

        timer = threading.Timer(0.5, burst)
        timer.start()
        began = time.monotonic()
        first = q.recv_batch(timeout=5)  # sleeps until the burst starts
        timer.join()
        assert began < sent_at[0]  # the receive found the queue empty: it slept
        assert len(first) == 1
        first.accept()
        seen = [int(bytes(p.payload[28:]).split(b":")[1]) for p in first]
        for b in q.batches(count=19, timeout=5):
            seen += [int(bytes(p.payload[28:]).split(b":")[1]) for p in b]
            b.accept()
        assert seen == list(range(20))
        assert q.stats().packets == 20 and q.stats().id_gaps == 0
    assert _seqs(drain(rx)) == list(range(20))


@pytest.mark.parametrize("batch", [1, 64])  # recv_into of one, recvmmsg of many
def test_a_datagram_larger_than_its_slot_is_counted_and_gets_the_policy(
        netns: Netns, batch: int) -> None:
    """Slots are sized from the copy range; widening it afterwards makes datagrams
    larger than a slot: each is counted, its id read from the part that fit, and it
    gets the policy verdict; whole packets around it are delivered as usual."""
    queue_rule(netns, PORT, 13)
    rx, tx = udp_pair(netns, PORT)
    with Queue(13, netns=netns.path, copy_range=128, batch=batch) as q:
        q.set_mode(13, q.copy_mode, 65531)  # the kernel now copies whole packets
        _send(tx, 0, 2, size=10)
        _send(tx, 2, 3, size=4000)  # beyond the ~1.2 KiB slots
        _send(tx, 5, 2, size=10)
        time.sleep(0.1)
        seen = []
        for pkt in q.packets(count=4, timeout=5):
            seen.append(int(bytes(pkt.payload[28:]).split(b":")[1]))
            pkt.accept()
        s = q.stats()
        assert seen == [0, 1, 5, 6]
        assert s.truncated == 3 and s.released_without_verdict == 3 and s.id_gaps == 0
        assert s.packets == 7 and s.kernel[13].queue_total == 0  # the cut ones too
    assert _seqs(drain(rx)) == list(range(7))  # the cut ones: the policy (accept)


def _consumer(netns: Netns, queue: int, body: Callable[[Queue, int], None]
              ) -> tuple[int, int]:
    """A child process bound to ``queue`` running ``body(q, w)`` (``w``: the write end
    of a pipe back); returns (pid, read end) once the child is bound."""
    queue_rule(netns, PORT, queue)
    r, w = os.pipe()

    def child() -> None:
        q = Queue(queue, netns=netns.path)
        os.write(w, b"r")  # bound: what is sent from now on is queued to the child
        body(q, w)

    pid = fork(child)
    assert os.read(r, 1) == b"r"
    return pid, r


def test_sigterm_gives_waiting_packets_their_policy_verdict_and_unbinds(netns: Netns) -> None:
    rx, tx = udp_pair(netns, PORT)

    def body(q: Queue, w: int) -> None:
        held: list[Packet] = []

        def hold(pkt: Packet) -> None:
            held.append(pkt.copy())
            if len(held) == 5:
                os.write(w, b"x")

        q.run(hold)  # until SIGTERM
        assert q.closed

    pid, r = _consumer(netns, 13, body)
    _send(tx, 0, 5)
    assert os.read(r, 1) == b"x"
    os.kill(pid, signal.SIGTERM)
    assert reap(pid, 10) == 0
    assert _seqs(drain(rx)) == list(range(5))  # the policy accepted them on the way out
    from nsutil import sh

    from netring.subsystems.nfnetlink.queue.stats import parse_proc_nfnetlink_queue
    text = sh("ip", "netns", "exec", netns.name, "cat", "/proc/net/netfilter/nfnetlink_queue").stdout
    assert 13 not in parse_proc_nfnetlink_queue(text)


def test_sigterm_that_lands_in_a_finaliser_still_ends_run(netns: Netns) -> None:
    rx, tx = udp_pair(netns, PORT)

    def body(q: Queue, w: int) -> None:
        seen: list[int] = []

        def cb(pkt: Packet) -> None:
            seen.append(pkt.id)
            if len(seen) == 1:
                SignalsWhenCollected()  # collected at once: SIGTERM from its finaliser
            pkt.accept()

        n = q.run(cb, timeout=5)
        os.write(w, b"%d %d" % (n, q.closed))

    pid, r = _consumer(netns, 14, body)
    _send(tx, 0, 3)
    assert reap(pid, 20) == 0
    # run ended after the packet whose callback took the signal, and closed the queue
    assert os.read(r, 16) == b"1 1"
    assert _seqs(drain(rx))[:1] == [0]


def test_many_queues_in_one_process(netns: Netns) -> None:
    n = 64
    for i in range(n):
        queue_rule(netns, PORT + i, 100 + i)
    rxs = [udp_pair(netns, PORT + i) for i in range(n)]
    # one socket binding 64 queues
    with Queue(range(100, 100 + n), netns=netns.path) as q:
        for i, (_rx, tx) in enumerate(rxs):
            tx.sendto(b"p:%d:" % i, ("127.0.0.1", PORT + i))
        seen: dict[int, int] = {}
        for pkt in q.packets(count=n, timeout=10):
            seen[pkt.queue] = int(bytes(pkt.payload[28:]).split(b":")[1])
            pkt.accept()
        assert seen == {100 + i: i for i in range(n)}
        assert sorted(q.kernel_stats()) == list(range(100, 100 + n))
    assert all(_seqs(drain(rx, settle=0.01)) == [i] for i, (rx, _tx) in enumerate(rxs))
    # and 64 sockets, one queue each
    qs = [Queue(100 + i, netns=netns.path) for i in range(n)]
    try:
        for i, (_rx, tx) in enumerate(rxs):
            tx.sendto(b"p:%d:" % i, ("127.0.0.1", PORT + i))
        for i, q in enumerate(qs):
            b = q.recv_batch(timeout=5)
            assert len(b) == 1 and b.queue == 100 + i
            b.accept()
            q.flush()
    finally:
        for q in qs:
            q.close()
    assert all(_seqs(drain(rx, settle=0.01)) == [i] for i, (rx, _tx) in enumerate(rxs))


def test_gso_super_packets_arrive_whole_only_with_the_flag(netns: Netns) -> None:
    netns.ip("link", "set", "lo", "mtu", "1500")
    queue_rule(netns, PORT, 14, proto="tcp")
    results = {}
    for gso in (False, True):
        srv = socket_in(netns.path, socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", PORT))
        srv.listen()
        srv.setblocking(False)
        cli = socket_in(netns.path, socket.AF_INET, socket.SOCK_STREAM)
        cli.setblocking(False)
        sizes: list[int] = []
        infos: list[int] = []
        total = 256 << 10
        sent = 0
        got = 0
        conn = None
        blob = b"z" * total
        with Queue(14, netns=netns.path, gso=gso) as q:
            try:
                cli.connect(("127.0.0.1", PORT))
            except BlockingIOError:
                pass
            deadline = time.monotonic() + 15
            while got < total and time.monotonic() < deadline:
                for pkt in q.recv_batch(timeout=0.005):
                    sizes.append(pkt.cap_len)
                    infos.append(int(pkt.skb_info))
                    pkt.accept()
                q.flush()
                if conn is None:
                    try:
                        conn, _ = srv.accept()
                        conn.setblocking(False)
                    except BlockingIOError:
                        continue
                if sent < total:
                    try:
                        sent += cli.send(blob[sent:])
                    except (BlockingIOError, OSError):
                        pass
                try:
                    got += len(conn.recv(1 << 20))
                except BlockingIOError:
                    pass
        assert got == total
        results[gso] = (max(sizes), any(i & NFQA_SKB.GSO for i in infos))
        cli.close()
        if conn is not None:
            conn.close()
        srv.close()
    assert results[False][0] <= 1500 and not results[False][1]
    assert results[True][0] > 16000 and results[True][1]


def test_input_hook_metadata_from_a_veth_peer(netns: Netns) -> None:
    """A packet from another namespace over a veth: input device and its name, the
    sender's MAC, a timestamp (input hooks carry one), priority on the output side."""
    peer = Netns()
    try:
        netns.ip("link", "add", "nq0", "type", "veth", "peer", "name", "nq1", "netns", peer.name)
        netns.ip("addr", "add", "10.77.0.1/24", "dev", "nq0")
        netns.ip("link", "set", "nq0", "up")
        peer.ip("addr", "add", "10.77.0.2/24", "dev", "nq1")
        peer.ip("link", "set", "nq1", "up")
        mac = peer.ip_json("link", "show", "nq1")[0]["address"]
        ifindex = netns.ip_json("link", "show", "nq0")[0]["ifindex"]
        ipt(netns, "-A", "INPUT", "-i", "nq0", "-p", "udp", "--dport", str(PORT), "-j",
            "NFQUEUE", "--queue-num", "15")
        rx = socket_in(netns.path, socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind(("10.77.0.1", PORT))
        rx.setblocking(False)
        # the kernel stamps received packets only while some socket asked for stamps,
        # and turns stamping on from a work item (net_enable_timestamp: the static key
        # flips a moment later), so the first packets may still come unstamped
        rx.setsockopt(socket.SOL_SOCKET, SO.TIMESTAMP, 1)
        tx = socket_in(peer.path, socket.AF_INET, socket.SOCK_DGRAM)
        tx.setsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY, 5)
        with Queue(15, netns=netns.path) as q:
            before = time.time()
            deadline = time.monotonic() + 10
            pkt = None
            while pkt is None and time.monotonic() < deadline:  # ARP may take a moment
                tx.sendto(b"p:1:", ("10.77.0.1", PORT))
                b = q.recv_batch(timeout=0.5)
                for got in list(b):
                    if pkt is None and got.timestamp is not None:
                        pkt = got.copy()
                    else:
                        got.accept()
            assert pkt is not None
            assert pkt.hook == NF_INET.LOCAL_IN
            assert pkt.indev == ifindex and q.ifname(pkt.indev) == "nq0"
            assert pkt.outdev is None
            assert pkt.hwaddr_text == mac
            ts = pkt.timestamp
            assert ts is not None and before - 5 < ts < time.time() + 5
            assert pkt.priority == 0  # skb->priority does not cross the veth
            pkt.accept()
            q.flush()
            assert drain(rx)
        # on the way out the sending socket's priority is there
        ipt(peer, "-A", "OUTPUT", "-o", "nq1", "-p", "udp", "--dport", str(PORT), "-j",
            "NFQUEUE", "--queue-num", "16")
        with Queue(16, netns=peer.path) as q:
            tx.sendto(b"p:2:", ("10.77.0.1", PORT))
            b = q.recv_batch(timeout=5)
            assert len(b) == 1 and b[0].priority == 5 and b[0].hook == NF_INET.LOCAL_OUT
            assert q.ifname(b[0].outdev) == "nq1"
            b.accept()
    finally:
        peer.close()
