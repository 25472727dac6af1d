"""netring.compat.netfilterqueue against the real kernel: NetfilterQueue 1.1's behaviour,
each rule checked at a receiving socket, with iptables counters and the kernel's queue
table, in private namespaces (iptables -j NFQUEUE)."""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
import warnings
import weakref
from collections.abc import Callable

import pytest
from nfqutil import counters, drain, ipt, queue_rule, udp_pair
from nsutil import Netns, sh

from netring.codec.constants import SO
from netring.compat.netfilterqueue import COPY_META, NetfilterQueue, Packet
from netring.netns import socket_in
from netring.subsystems.nfnetlink.queue.checksum import fix_packet
from netring.subsystems.nfnetlink.queue.stats import parse_proc_nfnetlink_queue

PORT = 9200
NETLINK_NETFILTER = 12


def _nfq(ns: Netns, **kw: float) -> NetfilterQueue:
    """A NetfilterQueue on a socket made in ``ns`` (``sockfd=``, as 1.1 documents it)."""
    s = socket_in(ns.path, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    try:
        return NetfilterQueue(sockfd=s.fileno(), **kw)
    finally:
        s.close()  # the queue holds its own duplicate


def _pump(nfq: NetfilterQueue, until: Callable[[], bool], limit: float = 5.0) -> None:
    """``run(block=False)`` whenever the queue's descriptor is readable, until ``until()``."""
    end = time.monotonic() + limit
    while not until():
        assert time.monotonic() < end, "timed out waiting for packets"
        select.select([nfq.get_fd()], [], [], 0.05)
        nfq.run(block=False)


def _queued(ns: Netns, queue: int) -> int | None:
    """Packets the kernel holds for ``queue`` waiting for a verdict (None: no such queue)."""
    text = sh("ip", "netns", "exec", ns.name, "cat", "/proc/net/netfilter/nfnetlink_queue").stdout
    k = parse_proc_nfnetlink_queue(text).get(queue)
    return None if k is None else k.queue_total


def _send(tx: socket.socket, *payloads: bytes, port: int = PORT) -> None:
    for p in payloads:
        tx.sendto(p, ("127.0.0.1", port))


def _wait_queued(ns: Netns, queue: int, n: int) -> None:
    end = time.monotonic() + 5
    while (_queued(ns, queue) or 0) < n:
        assert time.monotonic() < end, f"the kernel never held {n} packets for queue {queue}"
        time.sleep(0.01)


def test_accept_and_drop_reach_the_receiver_as_the_callback_says(netns: Netns) -> None:
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    seen: list[tuple[int, str, int]] = []

    def cb(pkt: Packet) -> None:
        seen.append((pkt.id, str(pkt), pkt.hook))
        if pkt.get_payload()[28:].startswith(b"drop"):
            pkt.drop()
        else:
            pkt.accept()

    nfq = _nfq(netns)
    nfq.bind(3, cb)
    try:
        sent = [b"%s:%02d" % (b"drop" if i % 4 == 0 else b"keep", i) for i in range(40)]
        _send(tx, *sent)
        _pump(nfq, lambda: len(seen) == 40)
        got = drain(rx)
    finally:
        nfq.unbind()
    assert got == [p for p in sent if p.startswith(b"keep")]  # in order, the drops gone
    assert [i for i, _, _ in seen] == list(range(1, 41))  # a new queue's ids count from 1
    assert {s for _, s, _ in seen} == {"UDP packet, 35 bytes"}  # 20 + 8 + 7
    assert {h for _, _, h in seen} == {3}  # OUTPUT
    assert counters(netns, "OUTPUT") == [40]


def test_in_order_accepts_share_batch_verdicts_and_delay_zero_sends_each(
        netns: Netns) -> None:
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    for delay, batched in ((0.0005, True), (0.0, False)):
        nfq = _nfq(netns, verdict_delay=delay)
        nfq.bind(3, lambda pkt: pkt.accept())
        try:
            _send(tx, *(b"n:%d" % i for i in range(200)))
            _wait_queued(netns, 3, 200)
            q = nfq.queue
            assert q is not None
            _pump(nfq, lambda q=q: q.stats(kernel=False).verdicts["accept"] >= 200)
            st = q.stats(kernel=False)
            assert len(drain(rx)) == 200
        finally:
            nfq.unbind()
        assert st.verdicts["accept"] == 200
        if batched:  # one VERDICT_BATCH per receive of up to 64: a handful of messages
            assert st.batch_messages >= 1 and st.batch_messages + st.single_messages <= 20
        else:  # a message per verdict, sent when it was given
            assert st.batch_messages + st.single_messages == 200


def test_verdicts_reach_the_kernel_in_the_order_they_were_given(netns: Netns) -> None:
    # mixed verdicts in one receive batch: plain accepts (batched), marked ones and new
    # payloads (messages of their own) must not overtake each other
    ipt(netns, "-A", "INPUT", "-p", "udp", "--dport", str(PORT), "-m", "mark", "--mark", "7")
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    n = 0

    def cb(pkt: Packet) -> None:
        nonlocal n
        i = int(pkt.get_payload()[28:].split(b":")[1])
        if i % 3 == 1:
            pkt.set_mark(7)
        elif i % 3 == 2:
            data = bytearray(pkt.get_payload())
            data[28:] = b"P:%02d" % i
            fix_packet(data)
            pkt.set_payload(bytes(data))
        pkt.accept()
        n += 1

    nfq = _nfq(netns)
    nfq.bind(3, cb)
    try:
        _send(tx, *(b"p:%02d" % i for i in range(30)))
        _wait_queued(netns, 3, 30)
        _pump(nfq, lambda: n == 30)
        got = drain(rx)
    finally:
        nfq.unbind()
    assert [int(d.split(b":")[1]) for d in got] == list(range(30))
    assert [d[:1] for d in got] == [b"P" if i % 3 == 2 else b"p" for i in range(30)]
    assert counters(netns, "INPUT") == [10]


def test_rewrite_and_reorder_with_retained_packets(netns: Netns) -> None:
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    held: dict[bytes, Packet] = {}

    def cb(pkt: Packet) -> None:
        pkt.retain()
        held[pkt.get_payload()[28:]] = pkt

    nfq = _nfq(netns)
    nfq.bind(3, cb)
    try:
        _send(tx, b"one", b"two", b"three", b"four")
        _pump(nfq, lambda: len(held) == 4)
        assert drain(rx, settle=0.05) == []  # nothing has its verdict yet
        held[b"three"].accept()
        two = bytearray(held[b"two"].get_payload())
        two[28:] = b"TWO, rewritten"
        fix_packet(two)  # a NetfilterQueue user fixes lengths and checksums
        held[b"two"].set_payload(bytes(two))
        assert held[b"two"].get_payload() == bytes(two)
        held[b"two"].accept()
        held[b"one"].accept()
        held[b"four"].drop()
        got = drain(rx)
    finally:
        nfq.unbind()
    assert got == [b"three", b"TWO, rewritten", b"one"]


def test_mark_and_repeat_in_copy_meta_mode(netns: Netns) -> None:
    ipt(netns, "-A", "INPUT", "-p", "udp", "--dport", str(PORT), "-m", "mark", "--mark", "3")
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    marks: list[tuple[int, int, int]] = []

    def cb(pkt: Packet) -> None:
        with pytest.raises(RuntimeError, match="Packet has no payload -- perhaps you're "
                                               "using COPY_META mode"):
            pkt.get_payload()
        assert pkt.get_payload_len() == 0 and str(pkt) == "0 byte packet, contents unretained"
        marks.append((pkt.mark, pkt.get_mark(), pkt.id))
        if pkt.mark < 3:
            pkt.set_mark(pkt.mark + 1)
            assert pkt.get_mark() == pkt.mark + 1
            pkt.repeat()
        else:
            pkt.accept()

    nfq = _nfq(netns)
    nfq.bind(3, cb, mode=COPY_META)
    try:
        _send(tx, b"again")
        _pump(nfq, lambda: len(marks) == 4)
        got = drain(rx)
    finally:
        nfq.unbind()
    assert [(m, g) for m, g, _ in marks] == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert [i for _, _, i in marks] == [1, 2, 3, 4]  # a repeated packet is queued anew
    assert got == [b"again"] and counters(netns, "INPUT") == [1]


def test_hardware_address_interfaces_and_timestamp(netns: Netns) -> None:
    # INPUT from a veth peer in another namespace: a source MAC, an in-device, a time;
    # OUTPUT on lo: none of them
    with Netns() as peer:
        netns.ip("link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", peer.name)
        netns.ip("addr", "add", "10.77.0.1/24", "dev", "va")
        netns.ip("link", "set", "va", "up")
        peer.ip("addr", "add", "10.77.0.2/24", "dev", "vb")
        peer.ip("link", "set", "vb", "up")
        mac = bytes.fromhex(peer.ip_json("link", "show", "vb")[0]["address"].replace(":", ""))
        va = netns.ip_json("link", "show", "va")[0]["ifindex"]
        ipt(netns, "-A", "INPUT", "-i", "va", "-p", "udp", "--dport", str(PORT), "-j", "NFQUEUE",
            "--queue-num", "5")
        queue_rule(netns, PORT + 1, 5)
        rx = socket_in(netns.path, socket.AF_INET, socket.SOCK_DGRAM)
        # the kernel stamps received packets only while some socket asks for timestamps
        rx.setsockopt(socket.SOL_SOCKET, SO.TIMESTAMP, 1)
        rx.bind(("10.77.0.1", PORT))
        rx.setblocking(False)
        lo_rx, lo_tx = udp_pair(netns, PORT + 1)
        tx = socket_in(peer.path, socket.AF_INET, socket.SOCK_DGRAM)
        seen: list[Packet] = []

        def cb(pkt: Packet) -> None:
            seen.append(pkt)  # not retained: the metadata must stay readable anyway
            pkt.accept()

        nfq = _nfq(netns)
        nfq.bind(5, cb)
        try:
            t0 = time.time()
            end = time.monotonic() + 10
            while not seen:  # the first packet may wait for neighbour resolution
                tx.sendto(b"from the peer", ("10.77.0.1", PORT))
                _pump(nfq, lambda: bool(seen), limit=max(0.1, end - time.monotonic()))
            t1 = time.time()
            lo_tx.sendto(b"from lo", ("127.0.0.1", PORT + 1))
            _pump(nfq, lambda: len(seen) == 2)
        finally:
            nfq.unbind()
        first, local = seen[0], seen[-1]
        assert first.get_hw() == mac + b"\0\0"  # the kernel's 8-byte field
        assert (first.hook, first.indev, first.outdev, first.hw_protocol) == (1, va, 0, 0x0800)
        assert (first.physindev, first.physoutdev) == (0, 0)
        assert t0 - 1 < first.get_timestamp() < t1 + 1
        assert local.get_hw() is None and local.get_timestamp() == 0.0
        assert (local.hook, local.indev, local.outdev) == (3, 0, 1)  # OUTPUT, via lo
        assert rx.recv(100) == b"from the peer" and lo_rx.recv(100) == b"from lo"


def test_errors_are_netfilterqueues(netns: Netns) -> None:
    queue_rule(netns, PORT, 3)
    nfq = _nfq(netns)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        nfq.bind(3, lambda pkt: None, sock_len=2**30)  # the kernel caps it below 2 GiB
    assert [str(w.message).startswith("Socket rcvbuf limit is now ") for w in record] == [True]
    assert record[0].category is RuntimeWarning and record[0].filename == __file__
    with pytest.raises(RuntimeError, match="A queue is already bound; use unbind"):
        nfq.bind(4, lambda pkt: None)
    other = _nfq(netns)
    with pytest.raises(OSError, match=r"^Failed to create queue 3\.$"):
        other.bind(3, lambda pkt: None)
    other.bind(4, lambda pkt: None)  # the failed bind left it usable
    other.unbind()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning):
            other.bind(4, lambda pkt: None, sock_len=2**30)
    assert _queued(netns, 4) is None  # under -W error the queue was unbound again
    nfq.unbind()
    nfq.unbind()  # twice is fine
    with pytest.raises(OSError, match="dup2 failed"):
        NetfilterQueue(sockfd=1000)
    with open("/dev/null") as f, pytest.raises(OSError, match="Failed to open NFQueue"):
        NetfilterQueue(sockfd=f.fileno())
    with pytest.raises(OSError, match="Failed to set packet copy mode"):
        other.bind(4, lambda pkt: None, mode=7)
    with pytest.raises(TypeError):
        NetfilterQueue(2)  # type: ignore[misc]  # keyword-only, as in 1.1
    with pytest.raises(OverflowError):
        other.bind(-1, lambda pkt: None)


def test_unretained_packets_lose_the_payload_and_keep_waiting(netns: Netns) -> None:
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    kept: list[Packet] = []

    def cb(pkt: Packet) -> None:
        assert pkt.get_payload()[28:] in (b"one", b"two", b"six")  # readable in here
        assert str(pkt) == "UDP packet, 31 bytes"
        kept.append(pkt)  # neither retained nor given a verdict

    nfq = _nfq(netns)
    nfq.bind(3, cb)
    _send(tx, b"one", b"two", b"six")
    _pump(nfq, lambda: len(kept) == 3)
    for pkt in kept:
        with pytest.raises(RuntimeError, match="Payload data is no longer available"):
            pkt.get_payload()
        with pytest.raises(RuntimeError, match="Payload data is no longer available"):
            pkt.retain()
        assert str(pkt) == "31 byte packet, contents unretained"
        assert (pkt.hook, pkt.indev, pkt.outdev, pkt.mark, pkt.hw_protocol) == (3, 0, 1, 0,
                                                                                0x0800)
    assert [p.id for p in kept] == [1, 2, 3]
    time.sleep(0.1)
    assert drain(rx, settle=0.0) == [] and _queued(netns, 3) == 3  # the kernel holds them
    kept[1].accept()
    assert drain(rx) == [b"two"] and _queued(netns, 3) == 2
    with pytest.raises(RuntimeError, match="Verdict already given for this packet"):
        kept[1].drop()
    nfq.unbind()  # the kernel drops the two still waiting
    assert _queued(netns, 3) is None
    with pytest.raises(RuntimeError, match="Parent queue has already been unbound"):
        kept[0].accept()
    assert drain(rx, settle=0.1) == []


def test_a_packet_left_in_the_middle_of_a_batch_holds_up_no_other(netns: Netns) -> None:
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    left: list[Packet] = []

    def cb(pkt: Packet) -> None:
        if pkt.id == 5:
            pkt.retain()
            left.append(pkt)
        else:
            pkt.accept()

    nfq = _nfq(netns)
    nfq.bind(3, cb)
    try:
        _send(tx, *(b"m:%02d" % i for i in range(1, 41)))
        _wait_queued(netns, 3, 40)
        _pump(nfq, lambda: _queued(netns, 3) == 1)
        first = drain(rx)
        assert [int(d[2:]) for d in first] == [i for i in range(1, 41) if i != 5]
        left[0].accept()
        assert drain(rx) == [b"m:05"] and _queued(netns, 3) == 0
    finally:
        nfq.unbind()


def test_a_callback_exception_propagates_and_the_next_run_goes_on(netns: Netns) -> None:
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    calls: list[int] = []
    failed: list[Packet] = []

    def cb(pkt: Packet) -> None:
        calls.append(pkt.id)
        if pkt.id == 3:
            failed.append(pkt)
            raise ValueError("callback failed")
        pkt.accept()

    nfq = _nfq(netns)
    nfq.bind(3, cb)
    try:
        _send(tx, *(b"e:%d" % i for i in range(1, 7)))
        _wait_queued(netns, 3, 6)
        with pytest.raises(ValueError, match="callback failed"):
            _pump(nfq, lambda: False)
        assert calls == [1, 2, 3]
        assert drain(rx) == [b"e:1", b"e:2"]  # verdicts given before the exception went out
        assert _queued(netns, 3) == 4  # 3 has no verdict; 4..6 were not handed out yet
        with pytest.raises(RuntimeError, match="Payload data is no longer available"):
            failed[0].get_payload()
        _pump(nfq, lambda: len(calls) == 6)
        assert calls == [1, 2, 3, 4, 5, 6]  # on after the failed one, none twice
        failed[0].accept()
        assert drain(rx) == [b"e:4", b"e:5", b"e:6", b"e:3"] and _queued(netns, 3) == 0
    finally:
        nfq.unbind()


def test_a_signal_handlers_exception_ends_a_blocking_run(netns: Netns) -> None:
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    nfq = _nfq(netns)
    got: list[int] = []
    nfq.bind(3, lambda pkt: (got.append(pkt.id), pkt.accept()))

    def alarm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt("alarm")

    old = signal.signal(signal.SIGALRM, alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt, match="alarm") as info:
            nfq.run()  # nothing queued: blocks until the handler raises
        assert 0.25 < time.monotonic() - t0 < 5
        names = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
        assert "NetfilterQueue.run" in names
        _send(tx, b"after")  # still bound and working
        _pump(nfq, lambda: bool(got))
        assert drain(rx) == [b"after"]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        nfq.unbind()


def test_run_socket_receives_through_the_socket_object(netns: Netns) -> None:
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    nfq = _nfq(netns)
    got: list[bytes] = []
    nfq.bind(3, lambda pkt: (got.append(pkt.get_payload()[28:]), pkt.accept()))

    class Counting:
        """What a library that patches sockets hands over: recv() is what is called."""

        def __init__(self, s: socket.socket) -> None:
            self.s, self.calls = s, 0

        def recv(self, n: int) -> bytes:
            self.calls += 1
            return self.s.recv(n)

    s = socket.fromfd(nfq.get_fd(), socket.AF_NETLINK, socket.SOCK_RAW)
    try:
        s.setblocking(False)
        wrapped = Counting(s)
        _send(tx, *(b"s:%d" % i for i in range(5)))
        _wait_queued(netns, 3, 5)
        nfq.run_socket(wrapped)  # type: ignore[arg-type]  # returns at EAGAIN
        assert got == [b"s:%d" % i for i in range(5)] and wrapped.calls == 6
        assert drain(rx) == got
        # the descriptor is shared and now non-blocking: run() returns when it is empty
        _send(tx, b"s:5")
        _wait_queued(netns, 3, 1)
        nfq.run()
        assert got[-1] == b"s:5"
    finally:
        s.close()
        nfq.unbind()


def test_unbind_from_the_callback_stops_delivery(netns: Netns) -> None:
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    nfq = _nfq(netns)
    calls: list[int] = []

    def cb(pkt: Packet) -> None:
        calls.append(pkt.id)
        if pkt.id == 3:
            nfq.unbind()
            with pytest.raises(RuntimeError, match="Parent queue has already been unbound"):
                pkt.accept()
        else:
            pkt.accept()

    nfq.bind(3, cb)
    _send(tx, *(b"u:%d" % i for i in range(1, 9)))
    _wait_queued(netns, 3, 8)
    _pump(nfq, lambda: 3 in calls)
    nfq.run(block=False)
    assert calls == [1, 2, 3]
    assert drain(rx) == [b"u:1", b"u:2"] and _queued(netns, 3) is None
    nfq.bind(3, cb)  # and it binds again
    assert _queued(netns, 3) == 0
    nfq.unbind()


def test_verdicts_given_in_callbacks_wait_at_most_the_delay(netns: Netns) -> None:
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    arrived_before: list[int] = []
    seen = 0

    def slow(pkt: Packet) -> None:
        nonlocal seen
        arrived_before.append(len(drain(rx, settle=0.0)))
        pkt.accept()
        seen += 1
        time.sleep(0.005)  # ten times verdict_delay

    nfq = _nfq(netns, verdict_delay=0.0005)
    nfq.bind(3, slow)
    try:
        _send(tx, *(b"d:%d" % i for i in range(5)))
        _wait_queued(netns, 3, 5)
        _pump(nfq, lambda: seen == 5)
    finally:
        nfq.unbind()
    # each callback finds the previous packet delivered: its verdict did not wait for
    # the end of the receive batch
    assert arrived_before == [0, 1, 1, 1, 1]


def test_payloads_beyond_4016_bytes_arrive_whole(netns: Netns) -> None:
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    lens: list[int] = []
    nfq = _nfq(netns)
    nfq.bind(3, lambda pkt: (lens.append(len(pkt.get_payload())), pkt.accept()))
    try:
        data = bytes(range(256)) * 36  # 9216 bytes: one datagram on lo's 64 KiB MTU
        _send(tx, data)
        _pump(nfq, lambda: bool(lens))
        assert lens == [9216 + 28] and drain(rx) == [data]
    finally:
        nfq.unbind()


def test_collecting_the_queue_unbinds_it_and_the_callers_socket_stays(netns: Netns) -> None:
    s = socket_in(netns.path, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    try:
        nfq = NetfilterQueue(sockfd=s.fileno())
        nfq.bind(3, lambda pkt: None)
        assert _queued(netns, 3) == 0
        ref = weakref.ref(nfq)
        del nfq
        gc.collect()
        assert ref() is None and _queued(netns, 3) is None
        os.fstat(s.fileno())  # ours to close
    finally:
        s.close()


_CHILD = """
import json, sys, traceback
from netring.compat.netfilterqueue import NetfilterQueue
n = 0
def cb(pkt):
    global n
    n += 1
    pkt.accept()
q = NetfilterQueue()
q.bind(int(sys.argv[1]), cb)
print("ready", flush=True)
try:
    q.run()
except KeyboardInterrupt as exc:
    frames = [f.name for f in traceback.extract_tb(exc.__traceback__)]
    print(json.dumps({"handled": n, "frames": frames}), flush=True)
q.unbind()
"""


def test_a_process_in_the_namespace_runs_until_ctrl_c(netns: Netns) -> None:
    # the default constructor (its own socket, in the namespace it runs in), SIGINT
    queue_rule(netns, PORT, 6)
    rx, tx = udp_pair(netns, PORT)
    src = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["netring"].__file__ or "")))
    env = dict(os.environ, PYTHONPATH=src)
    proc = subprocess.Popen(["ip", "netns", "exec", netns.name, sys.executable, "-c", _CHILD, "6"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        _send(tx, *(b"c:%d" % i for i in range(20)))
        got: list[bytes] = []
        end = time.monotonic() + 10
        while len(got) < 20 and time.monotonic() < end:
            got += drain(rx, settle=0.05, limit=0.5)
        assert got == [b"c:%d" % i for i in range(20)]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    report = json.loads(out.strip().splitlines()[-1])
    assert report["handled"] == 20 and "NetfilterQueue.run" in report["frames"], err
    assert proc.returncode == 0 and _queued(netns, 6) is None


def test_verdicts_from_worker_threads_while_run_delivers(netns: Netns) -> None:
    # the callback hands packets to workers through a small bounded queue (it blocks
    # when the workers lag): a worker's verdict must neither wait for the receive loop
    # nor corrupt it
    import queue
    import threading

    ipt(netns, "-A", "INPUT", "-p", "udp", "--dport", str(PORT), "-m", "mark", "--mark", "5")
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    work: queue.Queue[Packet | None] = queue.Queue(maxsize=4)
    done: list[int] = []

    def worker() -> None:
        while (pkt := work.get()) is not None:
            if pkt.id % 2:
                pkt.set_mark(5)
            pkt.accept()
            done.append(pkt.id)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    nfq = _nfq(netns)
    nfq.bind(3, lambda pkt: (pkt.retain(), work.put(pkt)))
    try:
        for i in range(300):
            _send(tx, b"w:%03d" % i)
        _pump(nfq, lambda: len(done) == 300, limit=20)
        got = []
        end = time.monotonic() + 5
        while len(got) < 300 and time.monotonic() < end:
            got += drain(rx, settle=0.05, limit=0.5)
    finally:
        for _ in threads:
            work.put(None)
        for t in threads:
            t.join(10)
        nfq.unbind()
    assert sorted(got) == [b"w:%03d" % i for i in range(300)]
    assert sorted(done) == list(range(1, 301))
    assert counters(netns, "INPUT") == [150]


def test_a_blocked_run_in_a_thread_lets_others_give_verdicts_and_unbind(
        netns: Netns) -> None:
    import threading

    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    held: list[Packet] = []
    nfq = _nfq(netns)
    nfq.bind(3, lambda pkt: held.append(pkt))
    ended: list[BaseException] = []

    class Stop(Exception):
        pass

    def runner() -> None:
        try:
            nfq.run()
        except Stop as exc:
            ended.append(exc)

    def stop(pkt: Packet) -> None:
        pkt.accept()
        raise Stop

    t = threading.Thread(target=runner)
    t.start()
    try:
        _send(tx, b"one", b"two")
        end = time.monotonic() + 5
        while len(held) < 2 and time.monotonic() < end:
            time.sleep(0.01)
        assert [p.id for p in held] == [1, 2]
        time.sleep(0.05)  # the run thread waits in poll again
        held[1].accept()  # from this thread, at once
        assert drain(rx) == [b"two"]
        t0 = time.monotonic()
        nfq.unbind()  # the run thread keeps waiting, with nothing bound
        assert time.monotonic() - t0 < 2 and _queued(netns, 3) is None
        with pytest.raises(RuntimeError, match="Parent queue has already been unbound"):
            held[0].accept()
        nfq.bind(3, stop)
        _send(tx, b"three")
        t.join(5)
        assert not t.is_alive() and len(ended) == 1
        assert drain(rx) == [b"three"]
    finally:
        if t.is_alive():
            nfq.unbind()
            nfq.bind(3, stop)
            _send(tx, b"stop")
            t.join(5)
        nfq.unbind()


def test_a_packet_nobody_can_give_a_verdict_any_more_is_dropped(netns: Netns) -> None:
    # packet 3: no verdict and no reference after its callback (dropped at once, the
    # others batched as before); then packet 105: kept without a verdict, then let go
    queue_rule(netns, PORT, 3)
    rx, tx = udp_pair(netns, PORT)
    kept: list[Packet] = []

    def cb(pkt: Packet) -> None:
        if pkt.id == 105:
            kept.append(pkt)
        elif pkt.id != 3:
            pkt.accept()

    nfq = _nfq(netns)
    nfq.bind(3, cb)
    q = nfq.queue
    assert q is not None
    try:
        _send(tx, *(b"g:%03d" % i for i in range(1, 101)))
        _wait_queued(netns, 3, 100)
        _pump(nfq, lambda: _queued(netns, 3) == 0)
        assert [int(d[2:]) for d in drain(rx)] == [i for i in range(1, 101) if i != 3]
        st = q.stats(kernel=False)
        assert st.verdicts["drop"] == 1 and st.verdicts["accept"] == 99 and st.in_flight == 0
        assert st.batch_messages + st.single_messages <= 6  # batching went on past it
        _send(tx, *(b"g:%03d" % i for i in range(101, 111)))
        _pump(nfq, lambda: _queued(netns, 3) == 1)
        assert len(drain(rx)) == 9
        assert type(kept[0]).__name__ == "_KeptPacket" and isinstance(kept[0], Packet)
        kept.clear()
        gc.collect()
        nfq.run(block=False)  # the release is applied at the queue's next operation
        assert _queued(netns, 3) == 0 and drain(rx, settle=0.05) == []
        st = q.stats(kernel=False)
        assert st.released_without_verdict == 1 and st.verdicts["drop"] == 2
    finally:
        nfq.unbind()
