"""AF_PACKET capture rings against the real kernel, on veth pairs in private namespaces.

Frames are injected with a packet socket (or a TX ring) on veth0 and captured on
veth1; the experimental ethertype 0x88b5 keeps the kernel's own traffic apart.
"""

from __future__ import annotations

import errno
import struct
import time

import pytest
from nsutil import Netns
from pktutil import digest, exp_frame, is_exp, udp_frame

from netring.errors import InterfaceNotFound
from netring.packet import CaptureRing, Geometry, GeometryError, PacketSocket
from netring.packet.constants import PACKET, SOL_PACKET
from netring.packet.geometry import RULES


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


@pytest.mark.parametrize("version", [1, 2, 3])
def test_known_traffic_is_captured_byte_exact(veth: Netns, version: int) -> None:
    frames = [exp_frame(i, 60 + (i * 13) % 1400) for i in range(3000)]
    with CaptureRing("veth1", netns=veth.name, version=version, buffer_size=64 << 20,
                     retire_ms=4) as ring, PacketSocket("veth0", netns=veth.name) as tx:
        assert tx.send_many(frames) == len(frames)
        got = _collect(ring, len(frames))
        st = ring.stats_total
    assert len(got) == len(frames)
    assert digest(got) == digest(frames)
    assert st.drops == 0 and st.packets >= len(frames)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_drops_are_reported_and_add_up(veth: Netns, version: int) -> None:
    g = (Geometry.v3(4096 * 4, 2, retire_ms=1000) if version == 3
         else Geometry.frames(version - 1, 128, frame_nr=64))
    sent = 2000
    with CaptureRing("veth1", netns=veth.name, version=version, geometry=g, snaplen=128) as ring, \
            PacketSocket("veth0", netns=veth.name) as tx:
        zero = ring.stats()  # stray packets so far (IPv6 on link-up) are in the ring already
        tx.send_many([exp_frame(i) for i in range(sent)])
        first = ring.stats()
        everything = ring.count(timeout=0)  # all of it, the kernel's own packets too
        second = ring.stats()
        total = ring.stats_total
    assert first.drops > 0
    assert first.packets >= sent
    # captured + dropped = offered (a packet may arrive between the two reads)
    assert first.packets <= everything + first.drops <= (zero.captured + first.packets
                                                         + second.packets)
    assert everything < sent and second.drops == 0  # reset on read
    assert total.drops >= first.drops and total.packets >= first.packets + second.packets
    if version == 3:
        assert first.freeze_q_cnt >= 1


@pytest.mark.parametrize("version", [1, 2, 3])
def test_truncation_at_snaplen_is_visible(veth: Netns, version: int) -> None:
    with CaptureRing("veth1", netns=veth.name, version=version, snaplen=100,
                     buffer_size=4 << 20, retire_ms=4) as ring, \
            PacketSocket("veth0", netns=veth.name) as tx:
        tx.send(exp_frame(1, 500))
        for p in ring.packets(timeout=2):
            if is_exp(p.data):
                assert (p.snaplen, p.wirelen, p.truncated) == (100, 500, True)
                assert p.tobytes() == exp_frame(1, 500)[:100]
                break
        else:
            pytest.fail("no packet")


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("tpid", [0x8100, 0x88A8])
def test_vlan_tags_are_reported(veth: Netns, version: int, tpid: int) -> None:
    frame = udp_frame("10.0.0.1", "10.0.0.2", 1000, 2000, vlan=(tpid, 0x2005))
    with CaptureRing("veth1", netns=veth.name, version=version, buffer_size=4 << 20,
                     retire_ms=4) as ring, PacketSocket("veth0", netns=veth.name) as tx:
        tx.send(frame)
        seen = None
        for p in ring.packets(timeout=2):
            if p.vlan_tci is not None:  # read inside the loop: the view dies with its block
                seen = (p.vlan_tci, p.vlan_tpid, p.tobytes())
                break
        assert seen is not None, "no tagged packet"
        assert seen[:2] == (0x2005, tpid)
        assert seen[2] == frame[:12] + frame[16:]  # the kernel took the tag off


def test_kernel_agrees_with_each_geometry_rule(veth: Netns) -> None:
    """Every request the pure validator refuses, the kernel refuses with EINVAL."""
    cases = [
        (2, dict(block_size=4096, block_nr=1, frame_size=2048, frame_nr=2, retire_tov=5), True),
        (1, dict(block_size=6000, block_nr=1, frame_size=2048, frame_nr=2), False),
        (2, dict(block_size=4096, block_nr=1, frame_size=4096, frame_nr=1, sizeof_priv=4048), False),
        (1, dict(block_size=4096, block_nr=1, frame_size=48, frame_nr=85), False),
        (1, dict(block_size=4096, block_nr=1, frame_size=2056, frame_nr=1), False),
        (1, dict(block_size=4096, block_nr=1, frame_size=8192, frame_nr=0), False),
        (1, dict(block_size=4096, block_nr=2, frame_size=2048, frame_nr=3), False),
    ]
    from netring.packet.structs import tpacket_req, tpacket_req3

    for version, f, tx in cases:
        with pytest.raises(GeometryError) as ei:
            Geometry(version, tx=tx, **f)
        assert ei.value.rule in [r[0] for r in RULES]
        with PacketSocket("veth1", netns=veth.name) as s:
            s.set_version(version)
            if version == 2:
                req = tpacket_req3.pack(f["block_size"], f["block_nr"], f["frame_size"],
                                        f["frame_nr"], f.get("retire_tov", 0),
                                        f.get("sizeof_priv", 0), 0)
            else:
                req = tpacket_req.pack(f["block_size"], f["block_nr"], f["frame_size"],
                                       f["frame_nr"])
            with pytest.raises(OSError) as oe:
                s.sock.setsockopt(SOL_PACKET, PACKET.TX_RING if tx else PACKET.RX_RING, req)
            assert oe.value.errno == errno.EINVAL, (ei.value.rule, f)
    with PacketSocket("veth1", netns=veth.name) as s:  # and a valid one is taken
        g = Geometry.tx_ring(2, 2048, 8)
        s.set_version(2)
        s.sock.setsockopt(SOL_PACKET, PACKET.TX_RING, g.pack())  # V3 TX exists here
        assert s.hdrlen(0) == 32 and s.hdrlen(1) == 32 and s.hdrlen(2) == 48


def test_low_rate_delivery_delay_is_bounded_by_the_retire_timeout(veth: Netns) -> None:
    """V3 with an 8 ms retire timeout (two 4 ms jiffies at HZ=250), and V2 (no timer)."""
    for version, retire, bound in ((3, 8, 9.0), (2, 8, 1.0)):
        delays = []
        with CaptureRing("veth1", netns=veth.name, version=version, retire_ms=retire,
                         buffer_size=8 << 20) as ring, PacketSocket("veth0", netns=veth.name) as tx:
            for i in range(20):
                time.sleep(0.011)
                t0 = time.monotonic()
                tx.send(exp_frame(i))
                found = False
                while not found and time.monotonic() - t0 < 1:
                    b = ring.next_block(timeout=1)
                    if b is not None:
                        with b:
                            found = any(is_exp(p.data) for p in b)
                delays.append((time.monotonic() - t0) * 1000)
        delays.sort()
        # 18 of 20 within the bound: two may lose the CPU to other work on a shared host
        assert delays[17] <= bound, (version, delays)


def test_software_timestamps_come_from_reception(veth: Netns) -> None:
    with CaptureRing("veth1", netns=veth.name, buffer_size=4 << 20, retire_ms=4) as ring, \
            PacketSocket("veth0", netns=veth.name) as tx:
        t0 = time.time_ns()
        tx.send(exp_frame(3))
        for p in ring.packets(timeout=2):
            if is_exp(p.data):
                assert p.ts_source == "software"
                assert t0 - 10**6 <= p.ts_ns <= time.time_ns()
                assert p.direction == "otherhost" and p.rxhash is not None
                assert p.ifindex == ring.sock.ifindex
                break


def test_hardware_timestamps_say_why_not(veth: Netns) -> None:
    with CaptureRing("veth1", netns=veth.name, timestamp="hardware", buffer_size=4 << 20) as r:
        assert not r.hw_timestamps
        assert r.timestamp_note is not None and "veth1" in r.timestamp_note
        assert "EOPNOTSUPP" in r.timestamp_note or "not active" in r.timestamp_note


def test_unknown_interface_is_named(netns: Netns) -> None:
    with pytest.raises(InterfaceNotFound, match="nosuch"):
        CaptureRing("nosuch", netns=netns.name)


def test_count_only_path_counts_what_was_sent(veth: Netns) -> None:
    with CaptureRing("veth1", netns=veth.name, buffer_size=32 << 20, retire_ms=4,
                     ignore_outgoing=True) as ring, PacketSocket("veth0", netns=veth.name) as tx:
        ring.count(timeout=0.05)
        tx.send_many([exp_frame(i) for i in range(5000)])
        time.sleep(0.05)
        n = 0
        deadline = time.monotonic() + 2
        while n < 5000 and time.monotonic() < deadline:
            n += ring.count(timeout=0.1)
    assert n >= 5000  # a stray IPv6 packet may add to it; ignore_outgoing drops our own
    assert struct.calcsize("I") == 4


def test_checksum_and_gso_status_flags_on_local_tcp() -> None:
    """TCP between two namespaces over veth: CHECKSUM_PARTIAL shows as CSUMNOTREADY, and
    the GSO super-packets (longer than the MTU) carry TP_STATUS_GSO_TCP, both ways."""
    import socket
    import threading

    from nsutil import have_root

    from netring.netns import socket_in
    from netring.packet import TP_STATUS

    if not have_root():
        pytest.skip("needs root: creates network namespaces")
    with Netns() as a, Netns() as b:
        a.ip("link", "add", "va", "type", "veth", "peer", "name", "vb")
        a.ip("link", "set", "vb", "netns", b.name)
        a.ip("addr", "add", "10.7.0.1/24", "dev", "va")
        a.ip("link", "set", "va", "up")
        b.ip("addr", "add", "10.7.0.2/24", "dev", "vb")
        b.ip("link", "set", "vb", "up")
        with CaptureRing("va", netns=a.name, buffer_size=16 << 20, retire_ms=4) as ra, \
                CaptureRing("vb", netns=b.name, buffer_size=16 << 20, retire_ms=4) as rb:
            srv = socket_in(b.name, socket.AF_INET, socket.SOCK_STREAM)
            srv.bind(("10.7.0.2", 5001))
            srv.listen()

            def serve() -> None:
                c, _ = srv.accept()
                while c.recv(1 << 16):
                    pass
                c.close()

            t = threading.Thread(target=serve, daemon=True)
            t.start()
            cli = socket_in(a.name, socket.AF_INET, socket.SOCK_STREAM)
            cli.settimeout(5)
            cli.connect(("10.7.0.2", 5001))
            cli.sendall(b"x" * 200000)
            cli.close()
            t.join(5)
            srv.close()
            time.sleep(0.1)
            flags = {}
            for name, ring in (("va", ra), ("vb", rb)):
                seen: set[tuple[str, int, bool]] = set()
                for blk in ring.blocks(timeout=0.1):
                    for p in blk:
                        if p.protocol == 0x0800:
                            st = p.status & (TP_STATUS.CSUMNOTREADY | TP_STATUS.GSO_TCP)
                            seen.add((p.direction, st, p.wirelen > 1514))
                flags[name] = seen
    gso = int(TP_STATUS.GSO_TCP | TP_STATUS.CSUMNOTREADY)
    assert ("out", gso, True) in flags["va"] and ("in", gso, True) in flags["vb"]
    assert all(st & TP_STATUS.GSO_TCP == 0 for _d, st, big in flags["va"] | flags["vb"]
               if not big)  # only super-packets are GSO
