"""The worker pool's pure parts: the symmetric flow hash, payloads found by remembered
layouts, verdict records (built by workers, checked by the owner), the frame formats,
the control block layout and the statistics.  No root, no processes."""

from __future__ import annotations

import json
import pathlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netring.errors import DecodeError, EncodeError, NetringError
from netring.subsystems.nfnetlink.constants import NF, NF_VERDICT_FLAG_QUEUE_BYPASS, nf_queue_nr
from netring.subsystems.nfnetlink.queue import pool as P
from netring.subsystems.nfnetlink.queue.flow import (
    PORT_PROTOCOLS,
    MessageFlows,
    flow_hash,
    flow_tuple,
)
from netring.subsystems.nfnetlink.queue.packet import Packet

GOLDEN = pathlib.Path(__file__).resolve().parent.parent / "golden" / "nfqueue"


def _frames(name: str) -> list[bytes]:
    data = (GOLDEN / name).read_bytes()
    out, off = [], 0
    while off < len(data):
        (n,) = struct.unpack_from("<I", data, off)
        out.append(data[off + 4:off + 4 + n])
        off += 4 + n
    return out


def ipv4(src: int, dst: int, proto: int, sport: int, dport: int, frag: int = 0,
         ihl: int = 5, tail: bytes = b"data") -> bytes:
    opts = bytes(4 * (ihl - 5))
    hdr = struct.pack("!BBHHHBBHII", 0x40 | ihl, 0, 20 + len(opts) + 4 + len(tail), 0, frag, 64,
                      proto, 0, src, dst) + opts
    return hdr + struct.pack("!HH", sport, dport) + tail


def ipv6(src: int, dst: int, nh: int, sport: int, dport: int) -> bytes:
    return (struct.pack("!IHBB", 6 << 28, 8, nh, 64) + src.to_bytes(16, "big")
            + dst.to_bytes(16, "big") + struct.pack("!HHI", sport, dport, 0))


def packet_message(payload: bytes, queue: int = 3, pid: int = 1,
                   attrs: tuple[tuple[int, bytes], ...] = ()) -> bytes:
    """An NFQNL_MSG_PACKET message: NFQA_PACKET_HDR, ``attrs``, NFQA_PAYLOAD (unpadded)."""
    body = struct.pack("!BBH", 2, 0, queue)
    body += struct.pack("=HH", 11, 1) + struct.pack("!IHB", pid, 0x0800, 3) + b"\0"
    for t, v in attrs:
        a = struct.pack("=HH", 4 + len(v), t) + v
        body += a + bytes(-len(a) % 4)
    body += struct.pack("=HH", 4 + len(payload), 10) + payload
    return struct.pack("=IHHII", 16 + len(body), 0x0300, 0, 0, 0) + body


addr4 = st.integers(0, 2**32 - 1)
addr6 = st.integers(0, 2**128 - 1)
port = st.integers(0, 65535)


# -- the flow hash ---------------------------------------------------------------------------
@given(addr4, addr4, st.sampled_from(sorted(PORT_PROTOCOLS)), port, port)
def test_flow_hash_is_the_same_both_ways_ipv4(a: int, b: int, proto: int, sp: int, dp: int) -> None:
    assert flow_hash(ipv4(a, b, proto, sp, dp)) == flow_hash(ipv4(b, a, proto, dp, sp))


@given(addr6, addr6, st.sampled_from(sorted(PORT_PROTOCOLS)), port, port)
def test_flow_hash_is_the_same_both_ways_ipv6(a: int, b: int, nh: int, sp: int, dp: int) -> None:
    assert flow_hash(ipv6(a, b, nh, sp, dp)) == flow_hash(ipv6(b, a, nh, dp, sp))


def test_flow_hash_uses_ports_of_port_protocols_only_and_not_of_fragments() -> None:
    a, b = 0x7F000001, 0x7F000002
    assert flow_hash(ipv4(a, b, 17, 1, 2)) != flow_hash(ipv4(a, b, 17, 1, 3))
    assert flow_hash(ipv4(a, b, 1, 1, 2)) == flow_hash(ipv4(a, b, 1, 9, 9))  # ICMP: no ports
    first = ipv4(a, b, 17, 1, 2, frag=0x2000)  # MF: the first fragment
    later = ipv4(a, b, 17, 7, 7, frag=0x00B9)  # offset 185: no ports there
    assert flow_hash(first) == flow_hash(later) == flow_hash(ipv4(a, b, 17, 0, 0))
    assert flow_hash(ipv4(a, b, 6, 1, 2, ihl=7)) == flow_hash(ipv4(a, b, 6, 1, 2))  # options
    assert flow_tuple(ipv4(a, b, 6, 1, 2, ihl=7)) == (4, 6, a, 1, b, 2)
    assert flow_tuple(ipv6(5, 6, 44, 1, 2)) == (6, 44, 5, 0, 6, 0)  # a fragment header
    assert flow_hash(ipv6(5, 6, 17, 1, 2)) != flow_hash(ipv4(5, 6, 17, 1, 2))


def test_flow_hash_spreads_flows() -> None:
    import random

    rng = random.Random(7)
    for workers in (2, 3, 4):
        counts = [0] * workers
        for _ in range(4000):
            pkt = ipv4(rng.getrandbits(32), 0x7F000001, 17, rng.getrandbits(16), 9)
            counts[flow_hash(pkt) % workers] += 1
        assert min(counts) > 4000 / workers * 0.85, counts


@given(st.binary(max_size=80))
def test_flow_hash_never_raises_on_packet_bytes(data: bytes) -> None:
    assert 0 <= flow_hash(data) < 2**64
    assert len(flow_tuple(data)) == 6


# -- payloads in packet messages ---------------------------------------------------------------
def test_the_payload_is_found_in_the_kernels_own_messages() -> None:
    flows = MessageFlows()
    for raw in _frames("packets.bin") * 2:  # the second time: by the remembered layouts
        pkt = Packet(raw)
        at = flows.payload_at(raw, len(raw))
        assert bytes(memoryview(raw)[at + 4:]) == bytes(pkt.payload)
        assert flows.hash(raw) == flow_hash(pkt.payload)


layout = st.lists(st.tuples(st.sampled_from([3, 4, 5, 6, 9, 13, 14, 16, 17, 21]),
                            st.binary(max_size=24)), max_size=6)


@settings(max_examples=300)
@given(st.lists(st.tuples(layout, st.binary(min_size=0, max_size=64)), min_size=1, max_size=8))
def test_remembered_layouts_find_what_a_walk_finds(msgs: list) -> None:  # type: ignore[type-arg]
    flows = MessageFlows()
    for attrs, payload in msgs:
        raw = packet_message(payload, attrs=tuple(attrs))
        fresh = MessageFlows().payload_at(raw, len(raw))
        assert flows.payload_at(raw, len(raw)) == fresh
        assert bytes(memoryview(raw)[fresh + 4:]) == payload
        assert flows.hash(raw) == flow_hash(payload)


flow4 = st.tuples(addr4, addr4, st.sampled_from([6, 17, 1, 47, 132]), port, port,
                  st.sampled_from([0, 0, 0x2000, 0x0004, 0x4000]))


@settings(max_examples=200)
@given(st.lists(flow4, min_size=1, max_size=40), st.integers(0, 24), st.binary(max_size=12),
       st.booleans())
def test_a_batch_of_alike_messages_hashes_in_bulk_as_one_by_one(
        flows4: list, pad: int, mark: bytes, odd: bool) -> None:  # type: ignore[type-arg]
    attrs = ((5, mark),) if mark else ()  # an attribute before the payload, or none
    msgs = [packet_message(ipv4(sa, da, proto, sp, dp, frag=frag), pid=i + 1, attrs=attrs)
            for i, (sa, da, proto, sp, dp, frag) in enumerate(flows4)]
    length = len(msgs[0])
    stride = (length + 3 & ~3) + 4 * pad
    buf = bytearray(stride * len(msgs))
    for i, m in enumerate(msgs):
        buf[i * stride:i * stride + length] = m
    one = MessageFlows()
    want = [one.hash(m) for m in msgs]
    assert want == [flow_hash(ipv4(sa, da, proto, sp, dp, frag=frag))
                    for sa, da, proto, sp, dp, frag in flows4]
    flows = MessageFlows()
    assert flows.hashes(buf, stride, len(msgs), length) is None  # no layout learnt yet
    flows.hash(msgs[0])
    assert flows.hashes(buf, stride, len(msgs), length) == want
    if odd and len(msgs) > 1:  # one message unlike the others: hashed one by one instead
        other = packet_message(ipv6(1, 2, 17, 3, 4)[:28], pid=9, attrs=attrs)  # not IPv4
        assert len(other) == length
        buf[stride:stride + length] = other
        assert flows.hashes(buf, stride, len(msgs), length) is None


@given(st.binary(max_size=120))
def test_message_flows_never_raise_on_garbage(data: bytes) -> None:
    flows = MessageFlows()
    flows.hash(data)
    flows.hash(packet_message(b"\x45" + bytes(30)))
    flows.hash(data)


# -- verdict records ---------------------------------------------------------------------------
record = st.tuples(
    st.integers(0, 65535), st.integers(0, 2**32 - 1),
    st.sampled_from([NF.DROP, NF.ACCEPT, NF.REPEAT, NF.STOP, nf_queue_nr(9),
                     nf_queue_nr(2) | NF_VERDICT_FLAG_QUEUE_BYPASS]),
    st.none() | st.integers(0, 2**32 - 1), st.none() | st.integers(0, 2**32 - 1),
    st.none() | st.integers(0, 2**128 - 1), st.none() | st.binary(min_size=1, max_size=60))


@settings(max_examples=300)
@given(st.lists(record, min_size=1, max_size=40))
def test_verdict_records_round_trip(recs: list) -> None:  # type: ignore[type-arg]
    r = P.VerdictRecords(8192)
    for q, i, v, mark, connmark, labels, payload in recs:
        assert r.room >= P.VerdictRecords.size_of(mark, connmark, labels, payload)
        r.add(q, i, v, mark=mark, connmark=connmark, labels=labels, payload=payload)
    assert r.count == len(recs)
    out = P.decode_verdicts(r.view())
    assert len(out) == len(recs)
    for (q, i, v, mark, connmark, labels, payload), (q2, i2, v2, mark2, extra) in zip(
            recs, out, strict=True):
        assert (q2, i2, v2, mark2) == (q, i, int(v), mark)
        if connmark is None and labels is None and payload is None:
            assert extra is None
        else:
            assert extra is not None
            assert (extra.connmark, extra.labels) == (connmark, labels)
            assert (None if extra.payload is None else bytes(extra.payload)) == payload


def test_a_frame_of_plain_verdicts_decodes_in_one_pass_and_is_checked() -> None:
    r = P.VerdictRecords(4096)
    for i in range(100):
        r.add(7, 1000 + i, NF.DROP if i % 3 else NF.ACCEPT)
    frame = bytes(r.view())
    assert len(frame) == 100 * 32
    assert P.decode_verdicts(frame) == [(7, 1000 + i, 0 if i % 3 else 1, None, None)
                                        for i in range(100)]
    bad = bytearray(frame)
    struct.pack_into("!I", bad, 32 * 50 + 24, NF.STOLEN)  # the kernel refuses STOLEN
    with pytest.raises(DecodeError, match="STOLEN"):
        P.decode_verdicts(bad)
    bad = bytearray(frame)
    struct.pack_into("=H", bad, 32 * 7 + 4, 0x0303)  # a batch verdict: never a worker's
    with pytest.raises(DecodeError, match="message type"):
        P.decode_verdicts(bad)
    for cut in (1, 31, 33, len(frame) - 1):
        with pytest.raises(DecodeError):
            P.decode_verdicts(frame[:cut])
    with pytest.raises(DecodeError):
        P.decode_verdicts(b"")
    other = bytearray(frame[:32])
    struct.pack_into("=HH", other, 20, 12, 3)  # the first attribute is not VERDICT_HDR
    with pytest.raises(DecodeError, match="NFQA_VERDICT_HDR"):
        P.decode_verdicts(other)


@given(st.binary(max_size=200))
def test_random_verdict_frames_raise_only_decode_error(data: bytes) -> None:
    try:
        P.decode_verdicts(data)
    except DecodeError:
        pass


@given(st.lists(record, min_size=1, max_size=6), st.data())
def test_corrupted_verdict_frames_raise_only_decode_error(recs: list, data: st.DataObject  # type: ignore[type-arg]
                                                          ) -> None:
    r = P.VerdictRecords(8192)
    for q, i, v, mark, connmark, labels, payload in recs:
        r.add(q, i, v, mark=mark, connmark=connmark, labels=labels, payload=payload)
    frame = bytearray(r.view())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(frame) - 1))
        frame[at] = data.draw(st.integers(0, 255))
    try:
        out = P.decode_verdicts(frame)
    except DecodeError:
        return
    for _q, _i, v, _m, _e in out:
        P.check_verdict(v)  # whatever decodes is a verdict the kernel takes


@settings(max_examples=300)
@given(st.lists(record, min_size=1, max_size=12), st.booleans(), st.data())
def test_a_plain_run_says_what_the_record_decode_says(recs: list, plain: bool,  # type: ignore[type-arg]
                                                      data: st.DataObject) -> None:
    r = P.VerdictRecords(8192)
    if plain:  # what a worker accepting everything writes: one queue, one verdict
        q, _i, v = recs[0][:3]
        recs = [(q, i, v, None, None, None, None) for _q, i, *_rest in recs]
    for q, i, v, mark, connmark, labels, payload in recs:
        r.add(q, i, v, mark=mark, connmark=connmark, labels=labels, payload=payload)
    frame = bytearray(r.view())
    mutated = data.draw(st.booleans())
    if mutated:  # a hostile worker's bytes
        at = data.draw(st.integers(0, len(frame) - 1))
        frame[at] = data.draw(st.integers(0, 255))
    run = P.plain_verdicts(frame)
    if plain and not mutated:
        assert run is not None
    try:
        out = P.decode_verdicts(frame)
    except DecodeError:
        assert run is None  # nothing the record decode refuses passes as a run
        return
    if run is None:
        return  # records that differ, or carry more than a verdict: decoded one by one
    queue, verdict, ids = run
    assert out == [(queue, i, verdict, None, None) for i in ids]


def test_a_frame_of_plain_accepts_is_one_run() -> None:
    r = P.VerdictRecords(4096)
    for i in range(100):
        r.add(7, 0xFFFFFFF0 + i & 0xFFFFFFFF, NF.ACCEPT)
    assert P.plain_verdicts(r.view()) == (7, NF.ACCEPT, [0xFFFFFFF0 + i & 0xFFFFFFFF
                                                         for i in range(100)])
    r.add(7, 5, NF.DROP)  # one that differs: decoded record by record
    assert P.plain_verdicts(r.view()) is None
    assert P.plain_verdicts(b"") is None


def test_check_verdict_is_the_kernels_rule() -> None:
    for v in (NF.DROP, NF.ACCEPT, NF.REPEAT, NF.STOP, nf_queue_nr(5), NF.DROP | 0x10000):
        assert P.check_verdict(v) == int(v)
    for v in (NF.STOLEN, 6, 0xFF, -1, 2**32):
        with pytest.raises(EncodeError):
            P.check_verdict(v)


def test_record_values_out_of_range_are_refused_before_anything_is_written() -> None:
    r = P.VerdictRecords(64)
    with pytest.raises(EncodeError):
        r.add(1, 2, NF.ACCEPT, mark=2**32)
    assert r.count == 0
    r.add(1, 2, NF.ACCEPT, mark=5)
    with pytest.raises(EncodeError):  # no room for a second one with a mark
        r.add(1, 3, NF.ACCEPT, mark=5)
    assert r.count == 1 and P.decode_verdicts(r.view()) == [(1, 2, 1, 5, None)]


# -- frames, control block, statistics ---------------------------------------------------------
def test_packet_and_end_frames() -> None:
    raw = _frames("packets.bin")[0]
    ty, queue, pid = P.PACKET_HEADER.unpack_from(raw)
    assert ty == P.PACKET_TYPE_BE and (queue, pid) == (Packet(raw).queue, Packet(raw).id)
    assert P.is_end(P.END_MESSAGE) and not P.is_end(raw) and not P.is_end(P.END_MESSAGE + b"x")
    assert struct.unpack_from("=IH", P.END_MESSAGE) == (20, 3)  # NLMSG_DONE, error 0


def test_frame_bytes_hold_what_the_queue_delivers() -> None:
    assert P.frame_bytes(True, 65531) >= 65531 + P.HEADROOM
    assert P.frame_bytes(False, 65531) == P.HEADROOM
    assert P.frame_bytes(True, 100) % 64 == 0


def test_control_block_layout() -> None:
    n = 4
    words_end = (P.CtlWord.SLOT_BASE + n * P.CtlWord.SLOT_WORDS) * 8
    assert P.error_offset(n, 0) == words_end
    assert P.ctl_size(n) == words_end + n * P.ERROR_BYTES
    assert max(P.CtlWord.NAMES.values()) < P.CtlWord.SLOT_WORDS
    assert P.CtlWord.SLEEPING < P.CtlWord.SLOT_BASE
    line = P.error_text(ValueError("bad\npacket" * 100))
    assert len(line) == P.ERROR_BYTES and line.startswith(b"ValueError: bad packet")
    assert line.endswith(b"\0")


def test_pool_stats_are_json_and_one_line() -> None:
    s = P.PoolStats()
    s.fanout = "flow"
    for i in range(2):
        w = P.WorkerStats(i)
        w.verdicts, w.in_flight, w.alive = 10 + i, i, i == 0
        s.workers.append(w)
    s.dead_worker_verdicts = 3
    d = json.loads(json.dumps(s.to_dict()))
    assert d["verdicts"] == 21 and d["in_flight"] == 1 and d["workers"][1]["slot"] == 1
    line = P.pool_line(s)
    assert "workers 2 (flow): w0 10 w1 11 (down)" in line and "dead-worker verdicts 3" in line


class _StubQueue:
    """What QueuePool reads of a queue before it starts."""

    policy = int(NF.ACCEPT)
    copy_mode = 2
    copy_range = 65531
    bound: list[int] = []
    closed = False


@pytest.mark.parametrize(("kw", "text"), [
    ({"workers": 0}, "workers 0 outside 1..64"),
    ({"workers": 65}, "workers 65 outside 1..64"),
    ({"fanout": "hash"}, "fanout 'hash'"),
    ({"depth": 0}, "depth 0 outside"),
    ({"flush_every": 0}, "flush_every 0 outside"),
    ({"policy": NF.REPEAT}, "policy must be NF.ACCEPT or NF.DROP"),
])
def test_pool_arguments_are_checked_before_anything_starts(kw: dict, text: str) -> None:  # type: ignore[type-arg]
    from netring.subsystems.nfnetlink.edge.pool import QueuePool

    with pytest.raises(EncodeError, match=text):
        QueuePool(_StubQueue(), lambda pkt: None, **kw)  # type: ignore[arg-type]


def test_pool_ring_frames_hold_the_queues_largest_message() -> None:
    from netring.subsystems.nfnetlink.edge.pool import QueuePool

    pool = QueuePool(_StubQueue(), lambda pkt: None, workers=3, depth=16,  # type: ignore[arg-type]
                     fanout=lambda msg: 0)
    assert pool._rx_geometry.data_size >= P.frame_bytes(True, 65531)
    assert pool._rx_geometry.uniform and pool._v_geometry.frame_nr >= 17
    assert "workers=0/3" in repr(pool) and "fanout=custom" in repr(pool)
    pool.close()  # never started: nothing to stop
    with pytest.raises(NetringError, match="closed"):
        pool.start()
