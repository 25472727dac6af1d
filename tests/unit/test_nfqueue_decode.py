"""Queued packets and conntrack nests decoded from real kernel captures
(tests/golden/nfqueue, recorded by record.py there), request encoders on golden
bytes, and malformed input raising only DecodeError."""

from __future__ import annotations

import json
import pathlib
import re
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netring.codec import NLM_F, iter_messages
from netring.errors import DecodeError, EncodeError
from netring.subsystems.nfnetlink.conntrack import IPS, decode_conntrack
from netring.subsystems.nfnetlink.constants import NF, NF_INET, NFPROTO
from netring.subsystems.nfnetlink.queue import NFQA, NFQA_CFG_F, NFQNL_CFG_CMD, NFQNL_COPY, Packet
from netring.subsystems.nfnetlink.queue.requests import (
    NFQNL_VERDICT_BATCH_TYPE,
    NFQNL_VERDICT_TYPE,
    VerdictWriter,
    config_body,
)

GOLDEN = pathlib.Path(__file__).resolve().parent.parent / "golden" / "nfqueue"
META = json.loads((GOLDEN / "meta.json").read_text())


def frames(name: str) -> list[bytes]:
    data = (GOLDEN / name).read_bytes()
    out, off = [], 0
    while off < len(data):
        (n,) = struct.unpack_from("<I", data, off)
        out.append(data[off + 4:off + 4 + n])
        off += 4 + n
    return out


PACKETS = frames("packets.bin")


def test_golden_packets_decode() -> None:
    assert len(PACKETS) == META["count"]
    pk = [Packet(f) for f in PACKETS]
    # the last attribute is unpadded: message lengths that are not multiples of 4
    assert any(len(f) % 4 for f in PACKETS)
    assert all(p.nlmsg_len == len(f) for p, f in zip(pk, PACKETS, strict=True))
    udp4, udp6, tcp, icmp = pk[:4]
    assert [p.id for p in pk[:6]] == [1, 2, 3, 4, 5, 6] and pk[6].id == 1
    assert {p.queue for p in pk[:6]} == {5} and pk[6].queue == 6
    assert udp4.family == NFPROTO.IPV4 and udp6.family == NFPROTO.IPV6
    assert udp4.hw_protocol == 0x0800 and udp6.hw_protocol == 0x86DD
    assert udp4.hook == NF_INET.LOCAL_OUT
    assert udp4.mark == META["udp4"]["mark"] and udp6.mark == 0
    assert udp4.outdev == META["lo"] and udp4.indev is None
    assert (udp4.uid, udp4.gid) == (META["uid"], META["gid"])
    pl = udp4.payload
    assert isinstance(pl, memoryview)
    assert bytes(pl[28:]) == META["udp4"]["payload"].encode()
    assert struct.unpack_from("!HH", pl, 20) == (META["udp4"]["sport"], META["udp4"]["dport"])
    assert bytes(udp6.payload[48:]) == META["udp6"]["payload"].encode()
    assert struct.unpack_from("!HH", tcp.payload, 20) == (META["tcp"]["sport"], META["tcp"]["dport"])
    assert icmp.payload[9] == 1 and struct.unpack_from("!HH", icmp.payload, 24) == (
        META["icmp"]["id"], META["icmp"]["seq"])
    assert not udp4.truncated and udp4.cap_len == udp4.payload_len == len(pl)
    cut = pk[6]
    assert cut.truncated and cut.payload_len == META["cut"]["copy_range"]
    assert cut.cap_len == META["cut"]["len"]
    assert udp4.timestamp is None and udp4.ct is None and udp4.vlan is None
    assert udp4.skb_info == 0 and udp4.priority == 0
    d = udp4.to_dict()
    assert d["id"] == 1 and d["mark"] == 42 and d["payload"] == pl.hex()
    json.dumps(d)


def test_packet_id_is_read_at_its_fixed_offset_and_by_index_alike() -> None:
    for f in PACKETS:
        p = Packet(f)
        hdr = p._get_struct(NFQA.PACKET_HDR, struct.Struct("!IHB"))
        assert hdr is not None and hdr[0] == p.id


def _proc_entries() -> list[dict[str, str]]:
    out = []
    for line in (GOLDEN / "nf_conntrack.txt").read_text().splitlines():
        pairs = re.findall(r"(\w+)=(\S+)", line)
        out.append({"line": line, **{f"{k}{i}": v for i, (k, v) in
                                     enumerate(pairs)}, "pairs": pairs})  # type: ignore[dict-item]
    return out


def test_conntrack_nests_match_proc_net_nf_conntrack() -> None:
    cts = [decode_conntrack(m, 20, len(m)) for m in frames("ct_dump.bin")]
    lines = (GOLDEN / "nf_conntrack.txt").read_text().splitlines()
    assert len(cts) == len(lines) >= 3
    by_key = {}
    for ct in cts:
        assert ct.orig is not None and ct.reply is not None
        by_key[(ct.orig.proto, ct.orig.sport, ct.orig.dport, ct.orig.icmp_id)] = ct
    for line in lines:
        pairs = re.findall(r"(\w+)=(\S+)", line)
        proto = int(line.split()[3])
        kv: dict[str, list[str]] = {}
        for k, v in pairs:
            kv.setdefault(k, []).append(v)
        if proto == 1:
            key = (1, None, None, int(kv["id"][0]))
        else:
            key = (proto, int(kv["sport"][0]), int(kv["dport"][0]), None)
        ct = by_key[key]
        assert ct.orig.src == kv["src"][0] and ct.orig.dst == kv["dst"][0]  # type: ignore[union-attr]
        assert ct.reply.src == kv["src"][1] and ct.reply.dst == kv["dst"][1]  # type: ignore[union-attr]
        if proto != 1:
            assert ct.reply.sport == int(kv["sport"][1])  # type: ignore[union-attr]
        else:
            assert ct.orig.icmp_type == int(kv["type"][0])  # type: ignore[union-attr]
            assert ct.reply.icmp_type == int(kv["type"][1])  # type: ignore[union-attr]
        assert ct.mark == int(kv["mark"][0])
        assert ct.status is not None and bool(ct.status & IPS.SEEN_REPLY) == ("[UNREPLIED]" not in line)
        assert ct.id is not None and ct.timeout is not None
    labelled = [ct for ct in cts if ct.labels]
    assert len(labelled) == 1 and labelled[0].labels == 1 << 3 and labelled[0].mark == 43
    json.dumps([ct.to_dict() for ct in cts])


def test_config_body_golden_bytes() -> None:
    body = config_body(5, command=NFQNL_CFG_CMD.BIND, copy_mode=NFQNL_COPY.PACKET,
                       copy_range=0xFFFF, maxlen=4096, flags=NFQA_CFG_F.FAIL_OPEN,
                       mask=NFQA_CFG_F.FAIL_OPEN)
    assert body == bytes.fromhex(
        "00000005"                    # nfgenmsg: AF_UNSPEC, v0, res_id 5
        "08000100" "01000000"         # NFQA_CFG_CMD: BIND, pad, pf 0
        "09000200" "0000ffff" "02000000"  # NFQA_CFG_PARAMS: range be32, mode u8 (+3 pad)
        "08000300" "00001000"         # NFQA_CFG_QUEUE_MAXLEN 4096
        "08000400" "00000001"         # NFQA_CFG_MASK
        "08000500" "00000001")        # NFQA_CFG_FLAGS
    assert config_body(1, command=NFQNL_CFG_CMD.PF_BIND, pf=NFPROTO.IPV6) == bytes.fromhex(
        "00000001" "08000100" "0300000a")
    with pytest.raises(EncodeError):
        config_body(70000)
    with pytest.raises(EncodeError, match="unknown flag"):
        config_body(1, flags=1 << 5)


def test_verdict_golden_bytes() -> None:
    w = VerdictWriter()
    w.plain(NFQNL_VERDICT_TYPE, 3, 0x01020304, NF.DROP, 9)
    w.plain(NFQNL_VERDICT_BATCH_TYPE, 3, 7, NF.ACCEPT, 10, mark=0x2A)
    w.full(3, 8, NF.ACCEPT, 11, connmark=5, labels=1 << 3, payload=b"\x45abc")
    raw = bytes(w.view())
    msgs = list(iter_messages(raw))
    assert [m.type for m in msgs] == [0x0301, 0x0303, 0x0301]
    assert all(m.flags == NLM_F.REQUEST for m in msgs)
    assert raw[:32] == bytes.fromhex(
        "20000000" "0103" "0100" "09000000" "00000000"  # nlmsghdr: len 32, type, REQUEST, seq 9
        "00000003" "0c000200" "00000000" "01020304")
    assert raw[32:72] == bytes.fromhex(
        "28000000" "0303" "0100" "0a000000" "00000000"
        "00000003" "0c000200" "00000001" "00000007" "08000300" "0000002a")
    third = raw[72:]
    assert third[32:] == bytes.fromhex(
        "20000b80"                        # NFQA_CT | NLA_F_NESTED, 32 bytes
        "08000800" "00000005"             # CTA_MARK 5
        "14001600" "08000000" + "00" * 12 +  # CTA_LABELS: 128 bits, bit 3
        "08000a00" "45616263")            # NFQA_PAYLOAD


def test_malformed_packets_raise_only_decode_error() -> None:
    good = PACKETS[0]
    for cut in range(len(good)):
        try:
            p = Packet(good[:cut])
        except DecodeError:
            continue
        with pytest.raises(DecodeError):
            p.to_dict()


@settings(max_examples=400)
@given(st.binary(min_size=0, max_size=300))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        p = Packet(data)
        p.to_dict()
        _ = (p.id, p.payload, p.ct, p.vlan, p.hwaddr, p.secctx, p.ct_info, p.truncated)
    except DecodeError:
        pass


@settings(max_examples=300)
@given(st.binary(min_size=0, max_size=200))
def test_random_conntrack_nests_raise_only_decode_error(data: bytes) -> None:
    try:
        decode_conntrack(data, 0, len(data)).to_dict()
    except DecodeError:
        pass


def test_a_packet_made_from_bytes_has_no_queue_for_verdicts() -> None:
    with pytest.raises(EncodeError, match="no queue"):
        Packet(PACKETS[0]).accept()
