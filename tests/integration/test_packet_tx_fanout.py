"""TX rings, the sendmmsg sender, fanout groups and socket hand-off, on the real kernel."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections import Counter

import pytest
from nsutil import Netns
from pktutil import digest, exp_frame, is_exp, udp_frame
from procutil import fork, reap

from netring.errors import EncodeError, NetringError
from netring.packet import (
    CaptureRing,
    MmsgSender,
    PacketSocket,
    TxRing,
    open_members,
    recv_socket,
    send_socket,
)
from netring.packet.constants import PACKET_FANOUT


@pytest.fixture
def veth(netns: Netns) -> Netns:
    netns.add_veth()
    return netns


def _collect(ring: CaptureRing, want: int, timeout: float = 3.0) -> list[bytes]:
    got: list[bytes] = []
    for blk in ring.blocks(timeout=timeout):
        got.extend(p.tobytes() for p in blk if is_exp(p.data))
        if len(got) >= want:
            break
    return got


def _tbf(ns: Netns, dev: str = "veth0", rate: str = "20mbit") -> None:
    subprocess.run(["ip", "netns", "exec", ns.name, "tc", "qdisc", "replace", "dev", dev, "root",
                    "tbf", "rate", rate, "burst", "8kb", "limit", "10000000"], check=True)


@pytest.mark.parametrize("equal", [False, True], ids=["sizes-vary", "equal-runs"])
@pytest.mark.parametrize("version", [1, 2, 3])
def test_tx_ring_frames_arrive_byte_exact_under_back_pressure(veth: Netns, version: int,
                                                              equal: bool) -> None:
    """A 16-frame ring behind a 20 Mbit/s shaper: the sender must wait, and lose nothing
    (frames of many sizes one by one; equal frames in strided runs)."""
    _tbf(veth)
    frames = [exp_frame(i, 700 if equal else 60 + (i * 37) % 1400) for i in range(1500)]
    # the receiver is not read while sending: a 100 ms retire keeps its 64 blocks enough
    with CaptureRing("veth1", netns=veth.name, buffer_size=64 << 20, retire_ms=100) as ring, \
            TxRing("veth0", netns=veth.name, version=version, frame_nr=16) as tx:
        assert tx.send(frames, timeout=30) == len(frames)
        assert tx.flush(10)
        assert tx.waits > 0  # the ring was full and was waited out
        got = _collect(ring, len(frames), timeout=5)
        assert ring.stats_total.drops == 0
    assert digest(got) == digest(frames)


@pytest.mark.parametrize("bypass", [False, True])
def test_tx_ring_qdisc_bypass_and_data_offset(veth: Netns, bypass: bool) -> None:
    frames = [exp_frame(i, 200) for i in range(500)]
    with CaptureRing("veth1", netns=veth.name, buffer_size=16 << 20, retire_ms=4) as ring, \
            TxRing("veth0", netns=veth.name, frame_nr=64, qdisc_bypass=bypass, has_off=True,
                   offset=128) as tx:
        assert tx.send(frames) == 500 and tx.flush(5)
        got = _collect(ring, 500)
    assert got == frames


def test_tx_ring_refuses_what_does_not_fit_and_loss_skips_bad_frames(veth: Netns) -> None:
    with TxRing("veth0", netns=veth.name, frame_nr=8) as tx:
        with pytest.raises(EncodeError, match="exceeds"):
            tx.send([bytes(tx.max_len + 1)])
    big = exp_frame(0, 1600)  # over the MTU: the kernel refuses it (EMSGSIZE)
    with TxRing("veth0", netns=veth.name, frame_nr=8) as tx:
        with pytest.raises(NetringError):
            tx.send([big])
            tx.flush(2)
    with CaptureRing("veth1", netns=veth.name, buffer_size=4 << 20, retire_ms=4) as ring, \
            TxRing("veth0", netns=veth.name, frame_nr=8, loss=True) as tx:
        assert tx.send([big, exp_frame(1), exp_frame(2)]) == 3 and tx.flush(2)
        assert _collect(ring, 2, timeout=1) == [exp_frame(1), exp_frame(2)]


@pytest.mark.parametrize("sizes", ["vary", "equal", "over-a-slot"])
def test_sendmmsg_sender_is_byte_exact(veth: Netns, sizes: str) -> None:
    """Frames of many sizes (copied one by one into the reused slots), equal frames
    (strided copies), and a batch with a frame longer than a slot (sent as it is)."""
    size = {"vary": lambda i: 64 + i % 500, "equal": lambda i: 64,
            "over-a-slot": lambda i: 3000 if i == 7 else 100}[sizes]
    frames = [exp_frame(i, size(i)) for i in range(2000)]
    if sizes == "over-a-slot":
        for dev in ("veth0", "veth1"):
            veth.ip("link", "set", dev, "mtu", "9000")
    with CaptureRing("veth1", netns=veth.name, buffer_size=32 << 20, retire_ms=4) as ring, \
            MmsgSender("veth0", netns=veth.name) as tx:
        assert tx.send(frames) == len(frames)
        got = _collect(ring, len(frames))
    assert digest(got) == digest(frames)


# -- fanout -----------------------------------------------------------------------------------
def test_every_fanout_mode_this_kernel_accepts(veth: Netns) -> None:
    for mode in PACKET_FANOUT:
        with PacketSocket("veth1", netns=veth.name) as s:
            gid = s.join_fanout(100 + mode, mode.name.lower())
            assert s.fanout() == (100 + mode, int(mode), 0)
            assert gid == 100 + mode
    with PacketSocket("veth1", netns=veth.name) as a, PacketSocket("veth1", netns=veth.name) as b:
        gid = a.join_fanout(0, "hash", "uniqueid")
        b.join_fanout(gid, "hash")  # others join the picked id without the flag
        assert b.fanout()[0] == gid
        with pytest.raises(NetringError, match="EINVAL"):
            PacketSocket("veth1", netns=veth.name).join_fanout(gid, "lb")  # other mode
        a.join_fanout  # noqa: B018
        with pytest.raises(NetringError, match="EALREADY"):
            a.join_fanout(9, "hash")


def _flows() -> list[tuple[str, str, int, int]]:
    return [("10.1.0.1", "10.1.0.2", 1000 + i, 2000 + i) for i in range(24)]


def _member(ns: str, group: int, mode: str, flags: str | None, wfd: int, seconds: float) -> None:
    """A fanout member process: capture for ``seconds``, report (sport, dport, dir) lines."""
    with CaptureRing("veth1", netns=ns, buffer_size=16 << 20, retire_ms=4,
                     fanout=(group, mode, flags)) as ring:
        os.write(wfd, b"ready\n")
        lines = []
        for p in ring.packets(timeout=seconds):
            d = bytes(p.data)
            if d[12:14] == b"\x08\x00" and d[23] == 17:
                sport, dport = int.from_bytes(d[34:36], "big"), int.from_bytes(d[36:38], "big")
                lines.append(f"{min(sport, dport)} {p.direction}\n")
        os.write(wfd, "".join(lines).encode() or b"\n")
        os.write(wfd, b"end\n")


def _run_group(veth: Netns, n: int, mode: str, flags: str | None = None,
               both_ways: bool = True) -> list[Counter[tuple[int, str]]]:
    group = (os.getpid() + n) & 0x7FFF
    pipes, pids = [], []
    for _ in range(n):
        r, w = os.pipe()
        pids.append(fork(lambda w=w: _member(veth.name, group, mode, flags, w, 3.0)))
        os.close(w)
        pipes.append(r)
    for r in pipes:  # every member has joined
        assert os.read(r, 6) == b"ready\n"
    with PacketSocket("veth0", netns=veth.name) as a, PacketSocket("veth1", netns=veth.name) as b:
        for _rep in range(10):
            a.send_many([udp_frame(s, d, sp, dp) for s, d, sp, dp in _flows()])
            if both_ways:  # the reply direction: sent from veth1 itself (outgoing there)
                b.send_many([udp_frame(d, s, dp, sp, smac=b"\x02" * 6, dmac=b"\x04" * 6)
                             for s, d, sp, dp in _flows()])
    out = []
    for pid, r in zip(pids, pipes, strict=True):
        data = b""
        while not data.endswith(b"end\n"):
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            data += chunk
        os.close(r)
        assert reap(pid, 20) == 0
        c: Counter[tuple[int, str]] = Counter()
        for line in data.decode().splitlines():
            parts = line.split()
            if len(parts) == 2:
                c[(int(parts[0]), parts[1])] += 1
        out.append(c)
    return out


def test_hash_fanout_sees_everything_once_and_keeps_both_directions_together(veth: Netns
                                                                           ) -> None:
    members = _run_group(veth, 3, "hash")
    total: Counter[tuple[int, str]] = Counter()
    for c in members:
        total.update(c)
    flows = {sp for _s, _d, sp, _dp in _flows()}
    # all traffic seen exactly once across the members: 10 each way per flow
    assert {k: v for k, v in total.items()} == {**{(f, "otherhost"): 10 for f in flows},
                                                **{(f, "out"): 10 for f in flows}}
    # a flow, both directions, lands on one member (the hash is symmetric)
    for f in flows:
        owners = [i for i, c in enumerate(members) if c[(f, "otherhost")] or c[(f, "out")]]
        assert len(owners) == 1, (f, owners)
    assert sum(1 for c in members if c) >= 2  # and 24 flows spread over more than one


def test_lb_fanout_spreads_evenly(veth: Netns) -> None:
    members = _run_group(veth, 2, "lb", both_ways=False)
    counts = [sum(c.values()) for c in members]
    assert sum(counts) == 240 and abs(counts[0] - counts[1]) <= 2


def test_root_parent_hands_group_sockets_to_unprivileged_workers(veth: Netns) -> None:
    members = open_members("veth1", 2, group=(os.getpid() & 0x7FFF) | 1, mode="hash",
                           netns=veth.name)
    chans, pids = [], []
    for m in members:
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

        def worker(chan: socket.socket = child_end) -> None:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            assert os.geteuid() == 65534
            sock = recv_socket(chan)
            with pytest.raises(PermissionError):  # no CAP_NET_RAW any more
                PacketSocket("lo")
            with CaptureRing(sock, buffer_size=4 << 20, retire_ms=4) as ring:
                chan.sendall(b"R")
                n = sum(1 for p in ring.packets(timeout=2) if is_exp(p.data))
            chan.sendall(n.to_bytes(4, "big"))

        pids.append(fork(worker))
        child_end.close()
        send_socket(parent_end, m)
        m.close()
        chans.append(parent_end)
    for c in chans:
        c.settimeout(10)
        assert c.recv(1) == b"R"
    with PacketSocket("veth0", netns=veth.name) as tx:
        tx.send_many([exp_frame(i) for i in range(300)])
    seen = []
    for c, pid in zip(chans, pids, strict=True):
        seen.append(int.from_bytes(c.recv(4), "big"))
        assert reap(pid, 20) == 0
    assert sum(seen) == 300  # experimental frames all hash alike: one member has them


def test_rollover_statistics_and_ignore_outgoing_flag(veth: Netns) -> None:
    g = (os.getpid() & 0x7FFF) | 2
    with CaptureRing("veth1", netns=veth.name, buffer_size=4 << 20, retire_ms=4,
                     fanout=(g, "hash", "rollover,ignore_outgoing")) as ring, \
            PacketSocket("veth1", netns=veth.name) as out_tx, \
            PacketSocket("veth0", netns=veth.name) as in_tx:
        assert ring.sock.fanout() == (g, 0, 0x5000)
        assert ring.sock.rollover_stats() is not None
        out_tx.send(exp_frame(1))  # outgoing on veth1: not delivered to the group
        in_tx.send(exp_frame(2))
        got = _collect(ring, 1, timeout=1)
        time.sleep(0.05)
        got += _collect(ring, 1, timeout=0.2)
    assert got == [exp_frame(2)]


def test_cbpf_fanout_program_picks_the_member(veth: Netns) -> None:
    """A classic BPF steering program returning 1: every packet goes to member 1 of 2."""
    g = (os.getpid() & 0x7FFF) | 4
    rings = [CaptureRing("veth1", netns=veth.name, buffer_size=4 << 20, retire_ms=4,
                         fanout=(g, "cbpf")) for _ in range(2)]
    try:
        rings[0].sock.set_fanout_program([(0x06, 0, 0, 1)])  # BPF_RET|BPF_K 1
        with PacketSocket("veth0", netns=veth.name) as tx:
            tx.send_many([exp_frame(i) for i in range(50)])
        time.sleep(0.05)
        counts = [len(_collect(r, 50, timeout=0.3)) for r in rings]
    finally:
        for r in rings:
            r.close()
    assert counts == [0, 50]
