"""Pure AF_PACKET logic: geometry rules, V1/V2/V3 walkers over synthetic rings, fanout values,
statistics, the one-line decoder.  No kernel needed."""

from __future__ import annotations

import struct
import sys
import tracemalloc

import pytest

from netring.errors import EncodeError, RingError
from netring.packet import TP_STATUS, FanoutSpec, Geometry, GeometryError, StatsCounter
from netring.packet.constants import PACKET_FANOUT, PACKET_FANOUT_FLAG
from netring.packet.geometry import RULES, mac_offset, validate
from netring.packet.structs import (
    TPACKET2_HDRLEN,
    TPACKET3_HDRLEN,
    tpacket2_hdr,
    tpacket3_hdr,
    tpacket_block_desc,
    tpacket_stats_v3,
)
from netring.packet.summary import decode, insert_vlan_tag, summary_line
from netring.packet.walk import FrameWalker, V3Walker
from netring.testing.tpacket import Frame, fill_frame, fill_ring, fill_v3_block

RULE = {name: name for name, _ in RULES}


def _frame(i: int, n: int = 60) -> bytes:
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x88\xb5" + struct.pack("!I", i) + bytes(n - 18)


# -- geometry -----------------------------------------------------------------------------
def test_struct_sizes_match_the_kernel_headers() -> None:
    assert (tpacket2_hdr.size, tpacket3_hdr.size, tpacket_block_desc.size) == (32, 48, 48)
    assert (TPACKET2_HDRLEN, TPACKET3_HDRLEN) == (52, 68)
    assert tpacket_stats_v3.size == 12


@pytest.mark.parametrize("args, rule", [
    (dict(version=2, block_size=4096, block_nr=1, frame_size=2048, frame_nr=2, retire_tov=5,
          tx=True), RULES[0][0]),
    (dict(version=1, block_size=0, block_nr=1, frame_size=2048, frame_nr=2), RULES[1][0]),
    (dict(version=1, block_size=0x80000000, block_nr=1, frame_size=2048, frame_nr=2),
     RULES[1][0]),
    (dict(version=1, block_size=6000, block_nr=1, frame_size=2048, frame_nr=2), RULES[2][0]),
    (dict(version=2, block_size=4096, block_nr=1, frame_size=64, frame_nr=64, sizeof_priv=4000),
     RULES[3][0]),
    (dict(version=1, block_size=4096, block_nr=1, frame_size=48, frame_nr=85), RULES[4][0]),
    (dict(version=1, block_size=4096, block_nr=1, frame_size=64, frame_nr=64, reserve=16),
     RULES[4][0]),
    (dict(version=1, block_size=4096, block_nr=1, frame_size=2056, frame_nr=1), RULES[5][0]),
    (dict(version=1, block_size=4096, block_nr=1, frame_size=8192, frame_nr=0), RULES[6][0]),
    (dict(version=1, block_size=1 << 30, block_nr=512, frame_size=64, frame_nr=0), RULES[7][0]),
    (dict(version=1, block_size=4096, block_nr=2, frame_size=2048, frame_nr=3), RULES[8][0]),
])
def test_each_packet_set_ring_rule_is_named(args: dict[str, int], rule: str) -> None:
    with pytest.raises(GeometryError) as ei:
        validate(**args)
    assert ei.value.rule == rule
    assert rule in str(ei.value)


def test_defaults_are_valid_and_sized_as_documented() -> None:
    g = Geometry.v3()
    assert (g.block_size, g.block_nr, g.retire_tov, g.feature_req_word) == (1 << 20, 32, 10, 1)
    g2 = Geometry.frames(1, 262144, mtu=1500)
    # libpcap: TPACKET_ALIGN(mac offset + min(snaplen, mtu + 18))
    assert g2.frame_size == (mac_offset(1) + 1518 + 15) & ~15
    assert g2.size >= (32 << 20) - g2.block_size
    assert Geometry.frames(1, 96).frame_size == (mac_offset(1) + 96 + 15) & ~15
    t = Geometry.tx_ring(1, 2048, 100)  # kernel numbering: 1 is TPACKET_V2
    assert t.tx and t.frame_nr >= 100 and t.tx_data_offset == 32
    assert Geometry.tx_ring(1, 2048, 8).pack() == struct.pack("=IIII", 4096, 4, 2048, 8)
    assert len(Geometry.v3().pack()) == 28


def test_mac_offsets_follow_tpacket_rcv() -> None:
    assert mac_offset(2) == 96 - 14  # TPACKET_ALIGN(68 + 16) - 14
    assert mac_offset(1) == 80 - 14
    assert mac_offset(1, raw=False) == 64 + 16


# -- V3 walker ----------------------------------------------------------------------------
def _v3(block_size: int = 8192, block_nr: int = 4) -> tuple[Geometry, bytearray]:
    g = Geometry.v3(block_size, block_nr, retire_ms=1)
    return g, bytearray(g.size)


def test_v3_walk_reads_every_field_and_releases_blocks() -> None:
    g, buf = _v3()
    frames = [Frame(_frame(i, 60 + i), sec=100 + i, nsec=7, status=TP_STATUS.VLAN_VALID |
                    TP_STATUS.VLAN_TPID_VALID | TP_STATUS.TS_SOFTWARE, vlan_tci=5, vlan_tpid=0x8100,
                    rxhash=0xABC + i, pkttype=4, ifindex=9) for i in range(10)]
    fill_v3_block(buf, g, 0, frames, seq=1)
    w = V3Walker(buf, g, snaplen=64)
    b = w.next_block()
    assert b is not None and b.num_pkts == 10 and b.seq == 1
    seen = []
    for p in b:
        seen.append((p.ts_ns, p.wirelen, p.snaplen, p.truncated, p.vlan_tci, p.vlan_tpid,
                     p.rxhash, p.direction, p.ifindex, p.protocol, p.ts_source, p.tobytes()))
    for i, s in enumerate(seen):
        assert s[0] == (100 + i) * 10**9 + 7
        assert s[1] == 60 + i and s[2] == min(60 + i, 64) and s[3] == (60 + i > 64)
        assert s[4:11] == (5, 0x8100, 0xABC + i, "out", 9, 0x0800, "software")
        assert s[11] == _frame(i, 60 + i)[:64]
    assert w.next_block() is None  # block 1 still the kernel's
    b.release()
    assert buf[8:12] == b"\0\0\0\0"  # block_status = TP_STATUS_KERNEL
    with pytest.raises(RingError):
        list(b)


def test_v3_mixed_and_uniform_blocks_give_the_same_packets() -> None:
    g, buf = _v3(block_size=16384)
    fill_v3_block(buf, g, 0, [Frame(_frame(i, 60)) for i in range(50)], seq=1)
    fill_v3_block(buf, g, 1, [Frame(_frame(i, 60 + i % 7)) for i in range(50)], seq=2)
    w = V3Walker(buf, g)
    b0, b1 = w.next_block(), w.next_block()
    assert b0 is not None and b1 is not None
    assert w.uniform_offsets(b0._first, 50, b0._end) is not None
    assert w.uniform_offsets(b1._first, 50, b1._end) is None
    assert [p.tobytes() for p in b0] == [_frame(i, 60) for i in range(50)]
    assert isinstance(b0.column("wirelen"), memoryview) and list(b0.column("wirelen")) == [60] * 50
    assert b1.column("wirelen") == [60 + i % 7 for i in range(50)]
    assert list(b0.column("sec")) == [p.sec for p in b0]
    assert [p.tobytes() for p in b1] == [_frame(i, 60 + i % 7) for i in range(50)]


def test_v3_count_and_drain_release_in_ring_order() -> None:
    g, buf = _v3()
    for blk in range(4):
        fill_v3_block(buf, g, blk, [Frame(_frame(i)) for i in range(blk + 1)], seq=blk + 1)
    w = V3Walker(buf, g)
    assert w.count(limit=2) == (3, 2)
    got: list[bytes] = []
    assert w.drain(lambda p: got.append(p.tobytes())) == (7, 2)
    assert len(got) == 7 and w.cursor == 0
    assert all(struct.unpack_from("=I", buf, i * g.block_size + 8)[0] == 0 for i in range(4))


@pytest.mark.parametrize("corrupt, what", [
    (lambda buf, g: struct.pack_into("=I", buf, 12, 10**6), "num_pkts"),
    (lambda buf, g: struct.pack_into("=I", buf, 16, 8), "offset_to_first_pkt"),
    (lambda buf, g: struct.pack_into("=I", buf, 48, g.block_size), "outside"),
])
def test_v3_trusts_nothing_it_reads(corrupt, what) -> None:  # type: ignore[no-untyped-def]
    g, buf = _v3()
    fill_v3_block(buf, g, 0, [Frame(_frame(i, 60 + i)) for i in range(5)], seq=1)
    corrupt(buf, g)
    w = V3Walker(buf, g)
    with pytest.raises(RingError, match=what):
        b = w.next_block()
        assert b is not None
        for _ in b:
            pass


def test_v3_snaplen_past_the_block_end_is_refused() -> None:
    g, buf = _v3()
    fill_v3_block(buf, g, 0, [Frame(_frame(0))], seq=1)
    struct.pack_into("=I", buf, 48 + 12, g.block_size)  # tp_snaplen
    b = V3Walker(buf, g).next_block()
    assert b is not None
    with pytest.raises(RingError, match="past its block end"):
        for p in b:
            _ = p.data


# -- V1/V2 walker ------------------------------------------------------------------------
@pytest.mark.parametrize("version", [0, 1])
def test_frame_walker_batches_truncation_and_release(version: int) -> None:
    g = Geometry.frames(version, 100, buffer_size=8192)
    buf = bytearray(g.size)
    frames = [Frame(_frame(i, 150), sec=5, nsec=3000, status=TP_STATUS.LOSING) for i in range(3)]
    for i, f in enumerate(frames):
        fill_frame(buf, g, i, f)
    w = FrameWalker(buf, g, snaplen=100)
    b = w.next_batch()
    assert b is not None and len(b) == 3 and b.losing
    got = [(p.tobytes(), p.wirelen, p.snaplen, p.truncated, p.ts_ns) for p in b]
    assert all(x[1] == 150 and x[2] == 100 and x[3] and x[4] == 5 * 10**9 + 3000 for x in got)
    assert [x[0] for x in got] == [_frame(i, 150)[:100] for i in range(3)]
    assert w.next_batch() is None
    b.release()
    assert not w.ready()
    fill_frame(buf, g, 3, frames[0])
    assert w.count() == (1, 1)


def test_frame_walker_refuses_a_frame_overflow() -> None:
    g = Geometry.frames(1, 100, buffer_size=8192)
    buf = bytearray(g.size)
    fill_frame(buf, g, 0, Frame(_frame(0)))
    struct.pack_into("=I", buf, 8, g.frame_size)  # tp_snaplen
    with pytest.raises(RingError, match="exceeds the frame size"):
        FrameWalker(buf, g).next_batch()


# -- the count-only and per-packet paths allocate nothing per packet ------------------------
def test_drains_keep_no_object_per_packet() -> None:
    g = Geometry.v3(1 << 20, 8, retire_ms=1)
    buf = bytearray(g.size)
    frames = [Frame(_frame(i, 60 + (i % 3) * 8)) for i in range(40000)]
    n = fill_ring(buf, g, frames)
    snap = bytes(buf)
    w = V3Walker(buf, g)
    total = [0]

    def cb(p: object) -> None:
        total[0] += 1

    for run in ("count", "drain", "iterate"):
        buf[:] = snap
        w.cursor = 0
        tracemalloc.start()
        before = sys.getallocatedblocks()
        if run == "count":
            got = w.count()[0]
        elif run == "drain":
            got = w.drain(cb)[0]
        else:
            got = 0
            while (b := w.next_block()) is not None:
                for _p in b:
                    got += 1
                b.release()
        after = sys.getallocatedblocks()
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert got == n
        assert after - before < 50, run  # nothing kept per packet
        assert peak < 64 * 1024, run  # nothing allocated per packet along the way


# -- fanout, statistics, decoder --------------------------------------------------------------
def test_fanout_values() -> None:
    s = FanoutSpec(7, PACKET_FANOUT.CPU, PACKET_FANOUT_FLAG.ROLLOVER | PACKET_FANOUT_FLAG.DEFRAG)
    assert s.pack() == struct.pack("=I", 7 | (2 | 0x9000) << 16)
    assert len(FanoutSpec(7, max_members=4).pack()) == 8
    assert FanoutSpec.decode(7 | 2 << 16 | 0x90 << 24) == (7, 2, 0x9000)
    with pytest.raises(EncodeError):
        FanoutSpec(1, PACKET_FANOUT.ROLLOVER, PACKET_FANOUT_FLAG.ROLLOVER)
    with pytest.raises(EncodeError):
        FanoutSpec(3, flags=PACKET_FANOUT_FLAG.UNIQUEID)


def test_statistics_accumulate_over_reset_on_read() -> None:
    c = StatsCounter()
    c.feed(tpacket_stats_v3.pack(10, 2, 1))
    d = c.feed(tpacket_stats_v3.pack(5, 0, 0))
    assert (d.packets, c.total.packets, c.total.drops, c.total.freeze_q_cnt) == (5, 15, 2, 1)
    assert c.total.captured == 13
    c.feed(struct.pack("=II", 1, 1))
    assert c.total.drops == 3


def test_summary_line_and_vlan_reinsertion() -> None:
    ip = bytes.fromhex("4500001c0001000040110000" "0a000001" "0a000002") + struct.pack("!HHHH", 5000, 6000, 8, 0)
    eth = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip
    line = summary_line(10**9, "in", eth, 42)
    assert line.endswith("In  IP 10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 42")
    tagged = insert_vlan_tag(eth, 5, 0x8100)
    assert tagged[12:16] == b"\x81\x00\x00\x05" and tagged[16:] == eth[12:]
    assert decode(tagged)["vlan"] == 5 and decode(tagged)["l4"] == "UDP"
    assert "ethertype 0x88b5" in summary_line(0, "out", _frame(1), 60)
    assert decode(b"\x00" * 5) == {}
    ip6 = b"\x60" + bytes(3) + b"\x00\x08\x3a\x40" + bytes.fromhex("fd00" + "0" * 26 + "01") + \
        bytes.fromhex("fd00" + "0" * 26 + "02")
    d = decode(b"\x02" * 12 + b"\x86\xdd" + ip6)
    assert (d["src"], d["dst"], d["l4"]) == ("fd00::1", "fd00::2", "ICMP6")
