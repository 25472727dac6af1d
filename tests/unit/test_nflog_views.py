"""nfnetlink_log, pure part and the Log edge over a fake connection: no root needed.

Golden datagrams (tests/golden/nflog, recorded by record.py there from the real
kernel) decode to what the recording's setup made true; built messages check
the sequence-gap accounting, the encoders and the error mapping.
"""

from __future__ import annotations

import errno
import json
import pathlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netring.codec import NLM_F, NLMSG, Builder, Message
from netring.errors import DecodeError, EncodeError, NetlinkError, NotSupportedError
from netring.subsystems.nfnetlink.constants import NFPROTO
from netring.subsystems.nfnetlink.edge.log import Log
from netring.subsystems.nfnetlink.log import (
    NFULA,
    NFULA_CFG,
    NFULNL_CFG_CMD,
    NFULNL_CFG_F,
    NFULNL_COPY,
    NFULNL_MSG_TYPE_CONFIG,
    NFULNL_MSG_TYPE_PACKET,
    LogMessage,
    LogReader,
    config_request,
)
from netring.subsystems.nfnetlink.log.proc import parse_instances
from netring.subsystems.nfnetlink.log.reader import datagram_bound
from netring.subsystems.nfnetlink.log.text import message_line
from netring.subsystems.nfnetlink.structs import nfgenmsg
from netring.subsystems.nfnetlink.summary import ip_length, summarize
from netring.testing import FakeSocket, ack, error, overrun

GOLDEN = pathlib.Path(__file__).resolve().parent.parent / "golden" / "nflog"
META = json.loads((GOLDEN / "meta.json").read_text())


def golden(name: str) -> list[LogMessage]:
    data = (GOLDEN / f"{name}.bin").read_bytes()
    return list(LogReader().feed(data))


# -- golden captures --------------------------------------------------------------------------
def test_a_batch_of_three_and_its_done() -> None:
    data = (GOLDEN / "input_batch.bin").read_bytes()
    reader = LogReader()
    msgs = list(reader.feed(data))
    assert len(msgs) == 3 and reader.stats.datagrams == 1 and reader.stats.other == 0
    # the batch ends with NLMSG_DONE carrying an nfgenmsg with the group (6.x kernels)
    end = msgs[-1]._off + ((msgs[-1].nlmsg_len + 3) & ~3)
    length, type_ = struct.unpack_from("=IH", data, end)
    assert type_ == NLMSG.DONE and length == 20
    assert nfgenmsg.unpack_from(data, end + 16) == (0, 0, 5)
    for i, m in enumerate(msgs):
        assert m.nlmsg_type == NFULNL_MSG_TYPE_PACKET and m.nlmsg_flags == 0
        assert m.group == 5 and m.family == NFPROTO.IPV4
        assert m.hook == 1 and m.hw_protocol == 0x0800
        assert m.prefix == "golden in: "
        assert m.indev == META["index"]["veth1"] and m.outdev is None
        assert m.mark == META["mark"]
        assert m.hwaddr == bytes.fromhex(META["mac_a"].replace(":", ""))
        assert m.hwtype == 1 and m.hwlen == 14
        hw = m.hwheader
        assert hw is not None and bytes(hw[:6]) == bytes.fromhex("020000000b01")
        assert m.seq_local == i and m.seq_global == i + 1 and m.gap == 0
        assert m.uid is None and m.vlan is None and m.l2hdr is None and m.ct is None
        ts = m.timestamp_ns
        assert ts is not None and META["t0_ns"] - 10**9 <= ts <= META["t1_ns"]
        payload = m.payload
        assert payload is not None and bytes(payload[28:]) == b"golden %d" % i
        assert m.payload_len == len(payload) == 36
        s = summarize(payload)
        assert s is not None and s.text() == "IP 10.9.0.1.40000 > 10.9.0.2.7000: UDP, length 8"


def test_output_hook_message_has_uid_and_no_timestamp() -> None:
    [m] = golden("output_uid")
    assert m.group == 6 and m.family == NFPROTO.IPV6 and m.hook == 3
    assert m.uid == META["uid"] and m.gid == META["gid"]
    assert m.timestamp is None and m.timestamp_ns is None
    assert m.outdev == META["index"]["veth1"] and m.indev is None and m.hwaddr is None
    payload = m.payload
    assert payload is not None and bytes(payload[48:]) == b"golden out"
    assert summarize(payload).text() == "IP6 fd00::2.40001 > fd00::1.7001: UDP, length 10"  # type: ignore[union-attr]
    line = message_line(m, {2: "veth1"}, ts_ns=0)
    assert line.endswith('nflog:6 "golden out: " IN= OUT=veth1 UID=1234 GID=1234 '
                         "IP6 fd00::2.40001 > fd00::1.7001: UDP, length 10")


def test_netdev_ingress_carries_the_l2_header() -> None:
    [m] = golden("netdev")
    assert m.family == NFPROTO.NETDEV and m.to_dict()["hook"] == "ingress"
    l2 = m.l2hdr
    assert l2 is not None and bytes(l2) == bytes.fromhex("020000000b01020000000a010800")


def test_to_dict_names_interfaces() -> None:
    m = golden("input_batch")[0]
    d = m.to_dict({META["index"]["veth1"]: "veth1"})
    assert d["indev"] == "veth1" and d["prefix"] == "golden in: " and d["mark"] == 42
    assert d["hwaddr"] == META["mac_a"] and d["seq"] == 0 and d["family"] == "ip"
    assert bytes.fromhex(d["payload"]) == bytes(m.payload)  # type: ignore[arg-type]


def test_copy_detaches_from_the_buffer() -> None:
    buf = bytearray((GOLDEN / "input_batch.bin").read_bytes())
    m = next(LogReader().feed(memoryview(buf)))
    kept = m.copy()
    buf[:] = bytes(len(buf))
    assert kept.prefix == "golden in: " and kept.seq_local == 0


# -- built messages ---------------------------------------------------------------------------
def log_msg(group: int = 5, seq: int | None = None, *, prefix: str | None = None,
            payload: bytes | None = None, family: int = NFPROTO.IPV4, mark: int | None = None,
            vlan: tuple[int, int] | None = None, hw_protocol: int = 0x0800) -> bytes:
    b = Builder(70000)
    b.begin(NFULNL_MSG_TYPE_PACKET, 0)
    b.put_struct(nfgenmsg, family, 0, group)
    b.attr(NFULA.PACKET_HDR, struct.pack("!HBx", hw_protocol, 1))
    if prefix is not None:
        b.attr_str(NFULA.PREFIX, prefix)
    if mark is not None:
        b.attr_be32(NFULA.MARK, mark)
    if seq is not None:
        b.attr_be32(NFULA.SEQ, seq)
    if vlan is not None:
        n = b.nest_start(NFULA.VLAN, nested_flag=False)
        b.attr_be16(2, vlan[1])
        b.attr_be16(1, vlan[0])
        b.nest_end(n)
    if payload is not None:
        b.attr(NFULA.PAYLOAD, payload)
    b.end()
    return b.tobytes()


def done_msg(group: int = 5) -> bytes:
    return struct.pack("=IHHII", 20, NLMSG.DONE, 0, 0, 0) + nfgenmsg.pack(0, 0, group)


def test_sequence_gaps_are_counted_per_group() -> None:
    r = LogReader()
    r.expect(5, 0)
    data = b"".join(log_msg(5, s) for s in (0, 1, 4, 5)) + log_msg(6, 10) + done_msg()
    got = [(m.group, m.seq_local, m.gap) for m in r.feed(data)]
    assert got == [(5, 0, 0), (5, 1, 0), (5, 4, 2), (5, 5, 0), (6, 10, 0)]
    assert r.stats.seq_gaps == r.stats.lost == 2 and r.stats.groups[5].gaps == 2
    assert r.stats.groups[6].gaps == 0  # group 6's start was not known: learnt
    assert [m.gap for m in r.feed(log_msg(6, 13))] == [2]
    assert r.stats.seq_gaps == 4 and r.stats.messages == 6 and r.stats.datagrams == 2


def test_a_gap_at_the_start_after_binding() -> None:
    r = LogReader()
    r.expect(5, 0)  # bound with SEQ: the first message is number 0
    assert [m.gap for m in r.feed(log_msg(5, 3))] == [3]


def test_sequence_wraps_around_and_backwards_is_not_loss() -> None:
    r = LogReader()
    r.expect(5, 0xFFFFFFFE)
    gaps = [m.gap for m in r.feed(log_msg(5, 0xFFFFFFFE) + log_msg(5, 0xFFFFFFFF)
                                  + log_msg(5, 0) + log_msg(5, 2))]
    assert gaps == [0, 0, 0, 1]
    list(r.feed(log_msg(5, 1)))
    assert r.stats.groups[5].backwards == 1 and r.stats.seq_gaps == 1


def test_messages_without_seq_are_not_tracked() -> None:
    r = LogReader()
    r.expect(5, 0)
    assert [m.gap for m in r.feed(log_msg(5) + log_msg(5))] == [0, 0]
    assert r.stats.seq_gaps == 0 and r.stats.messages == 2


def test_other_messages_are_counted_not_yielded() -> None:
    r = LogReader()
    err = struct.pack("=IHHII", 36, NLMSG.ERROR, 0, 9, 0) + bytes(20)
    assert list(r.feed(err + done_msg())) == [] and r.stats.other == 1


def test_vlan_and_meta_only() -> None:
    [m] = LogReader().feed(log_msg(5, vlan=(0x8100, 0x2064), family=NFPROTO.BRIDGE))
    assert m.vlan == (0x8100, 0x2064) and m.payload is None and m.payload_len == 0
    assert m.to_dict()["vlan"] == {"proto": 0x8100, "id": 0x64, "tci": 0x2064}
    assert message_line(m, ts_ns=0).endswith("proto 0x0800")


def test_framing_errors_raise_decode_error() -> None:
    good = log_msg(5, 0)
    with pytest.raises(DecodeError):
        list(LogReader().feed(good[:-1]))
    with pytest.raises(DecodeError):
        list(LogReader().feed(struct.pack("=IHHII", 8, NFULNL_MSG_TYPE_PACKET, 0, 0, 0)))
    with pytest.raises(DecodeError):
        list(LogReader().feed(struct.pack("=IHHII", 16, NFULNL_MSG_TYPE_PACKET, 0, 0, 0)))
    # a wrong-sized attribute raises when read, not when the view is made
    bad = bytearray(log_msg(5, 0))
    [m] = LogReader(track_seq=False).feed(bytes(bad).replace(
        struct.pack("=HH", 8, NFULA.SEQ), struct.pack("=HH", 7, NFULA.SEQ)))
    with pytest.raises(DecodeError, match="NFULA_SEQ"):
        _ = m.seq_local


PROPS = ("group", "family", "hw_protocol", "hook", "prefix", "payload", "payload_len",
         "indev", "outdev", "physindev", "physoutdev", "mark", "uid", "gid", "seq_local",
         "seq_global", "timestamp", "timestamp_ns", "hwaddr", "hwtype", "hwlen", "hwheader",
         "l2hdr", "vlan", "ct", "ct_info")


def _read_all(data: bytes) -> None:
    for m in LogReader().feed(data):
        for p in PROPS:
            try:
                getattr(m, p)
            except DecodeError:
                pass
        try:
            m.to_dict()
            message_line(m, ts_ns=0)
        except DecodeError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        _read_all(data)
    except DecodeError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_golden_bytes_raise_only_decode_error(data: st.DataObject) -> None:
    raw = bytearray((GOLDEN / "input_batch.bin").read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        _read_all(bytes(raw[:cut]))
    except DecodeError:
        pass


def test_datagram_bound_is_a_power_of_two_holding_the_batch() -> None:
    assert datagram_bound(None, 100) == 16384
    assert datagram_bound(131072, 100) == 262144  # 128 KiB + skb_shared_info, rounded up
    assert datagram_bound(None, 65531) == 131072
    assert datagram_bound(65536, 100) == 131072


# -- requests ---------------------------------------------------------------------------------
def test_bind_request_bytes() -> None:
    msg = config_request(5, cmd=NFULNL_CFG_CMD.BIND, copy_mode=NFULNL_COPY.PACKET,
                         copy_range=100, nlbufsiz=65536, timeout=5, qthresh=64,
                         flags=NFULNL_CFG_F.SEQ | NFULNL_CFG_F.SEQ_GLOBAL)
    length, type_, flags, seq, portid = struct.unpack_from("=IHHII", msg)
    assert (length, type_, flags, seq) == (len(msg), NFULNL_MSG_TYPE_CONFIG,
                                           NLM_F.REQUEST | NLM_F.ACK, 0)
    assert nfgenmsg.unpack_from(msg, 16) == (0, 0, 5)
    attrs = {a.type: a for a in Message(memoryview(msg), 0, length, type_, flags, 0, 0).attrs(4)}
    assert attrs[NFULA_CFG.CMD].bytes() == b"\x01"
    assert attrs[NFULA_CFG.MODE].bytes() == struct.pack("!IBx", 100, 2)
    assert attrs[NFULA_CFG.NLBUFSIZ].be32() == 65536
    assert attrs[NFULA_CFG.TIMEOUT].be32() == 5 and attrs[NFULA_CFG.QTHRESH].be32() == 64
    assert attrs[NFULA_CFG.FLAGS].be16() == 3


def test_pf_bind_puts_the_family_in_nfgenmsg() -> None:
    msg = config_request(0, family=NFPROTO.IPV6, cmd=NFULNL_CFG_CMD.PF_BIND)
    assert nfgenmsg.unpack_from(msg, 16) == (10, 0, 0) and msg[24:25] == b"\x03"


@pytest.mark.parametrize("kw", [
    {"group": 65536}, {"copy_mode": 2, "copy_range": 65532}, {"nlbufsiz": 131073},
    {"nlbufsiz": 1000}, {"flags": 0x10}, {"cmd": 9}, {"copy_mode": 7}, {"qthresh": -1},
    {"timeout": 1 << 32},
])
def test_values_the_kernel_would_ignore_are_refused(kw: dict[str, int]) -> None:
    with pytest.raises(EncodeError):
        config_request(**kw)


def test_proc_instances() -> None:
    text = "    5  32010     0 2 65531     10  1\n65535  32495     3 1     0    100  2\n"
    a, b = parse_instances(text)
    assert (a.group, a.portid, a.qlen, a.copy_mode, a.copy_range, a.flush_timeout, a.use) == \
        (5, 32010, 0, 2, 65531, 10, 1)
    assert b.group == 65535 and b.qlen == 3
    with pytest.raises(DecodeError):
        parse_instances("5 x\n")


# -- summaries --------------------------------------------------------------------------------
def ip4(proto: int, l4: bytes, frag: int = 0) -> bytes:
    total = 20 + len(l4)
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, frag, 64, proto, 0,
                       bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + l4


def ip6(nxt: int, rest: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 0x60000000, len(rest), nxt, 64,
                       bytes(15) + b"\1", bytes(15) + b"\2") + rest


def test_ip_summaries() -> None:
    udp = struct.pack("!HHHH", 40000, 53, 8 + 32, 0) + bytes(32)
    assert summarize(ip4(17, udp)).text() == "IP 10.0.0.1.40000 > 10.0.0.2.53: UDP, length 32"  # type: ignore[union-attr]
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 5 << 4, 0x12, 1000, 0, 0)
    assert summarize(ip4(6, tcp)).text() == "IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S.], length 0"  # type: ignore[union-attr]
    icmp = bytes([8, 0, 0, 0, 0, 1, 0, 1]) + bytes(56)
    assert summarize(ip4(1, icmp)).text() == "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, length 64"  # type: ignore[union-attr]
    assert summarize(ip4(99, bytes(4))).text() == "IP 10.0.0.1 > 10.0.0.2: ip-proto-99, length 4"  # type: ignore[union-attr]
    assert summarize(ip4(17, udp, frag=100)).text() == \
        "IP 10.0.0.1 > 10.0.0.2: UDP (fragment), length 40"  # type: ignore[union-attr]
    # IPv6 with a hop-by-hop header before ICMPv6
    hbh = bytes([58, 0]) + bytes(6)
    s = summarize(ip6(0, hbh + bytes([136, 0, 0, 0]) + bytes(28)))
    assert s is not None and s.text() == "IP6 ::1 > ::2: ICMP6, neighbor advertisement, length 32"
    # cut short by a snap length: no ports, the length still from the IP header
    cut = ip4(17, udp)[:22]
    assert summarize(cut).text() == "IP 10.0.0.1 > 10.0.0.2: UDP, length 32"  # type: ignore[union-attr]
    assert ip_length(cut) == 60 and ip_length(ip6(17, udp)) == 80
    assert summarize(b"\x00\x01") is None and summarize(b"") is None and ip_length(b"") is None


# -- the Log edge over a fake connection ---------------------------------------------------------
class Kernel:
    """Plays nfnetlink_log: ACKs config requests, or the errno asked for."""

    def __init__(self, errors: list[int] | None = None) -> None:
        self.errors = list(errors or [])
        self.requests: list[bytes] = []

    def __call__(self, reqs: list[Message]) -> list[bytes]:
        out = []
        for r in reqs:
            self.requests.append(r.tobytes())
            e = self.errors.pop(0) if self.errors else 0
            out.append(error(r, e) if e else ack(r))
        return out


def test_bind_sends_one_request_and_receives_messages() -> None:
    k = Kernel()
    sock = FakeSocket(k)
    log = Log([5, 6], sock=sock, qthresh=10, timeout=0.5, copy_range=200)
    assert log.groups == [5, 6] and len(k.requests) == 2
    req = k.requests[0]
    assert nfgenmsg.unpack_from(req, 16) == (0, 0, 5)
    attrs = {a.type: a for a in Message(memoryview(req), 0, len(req), 0, 0, 0, 0).attrs(4)}
    assert attrs[NFULA_CFG.CMD].bytes() == b"\x01" and attrs[NFULA_CFG.QTHRESH].be32() == 10
    assert attrs[NFULA_CFG.TIMEOUT].be32() == 50 and attrs[NFULA_CFG.FLAGS].be16() == 1
    assert attrs[NFULA_CFG.MODE].bytes() == struct.pack("!IBx", 200, 2)
    sock.inject(log_msg(5, 0, prefix="a") + log_msg(5, 1, prefix="b") + done_msg())
    sock.inject(log_msg(6, 0) + log_msg(6, 3))
    got = [(m.group, m.prefix, m.gap) for m in log.messages(idle=0)]
    assert got == [(5, "a", 0), (5, "b", 0), (6, None, 0), (6, None, 2)]
    assert log.stats.seq_gaps == 2 and log.stats.datagrams == 2 and log.stats.messages == 4
    log.unbind(5)
    assert log.groups == [6]
    log.close()
    assert sock.closed


def test_messages_arriving_during_a_request_come_first() -> None:
    sock = FakeSocket(Kernel())
    log = Log(5, sock=sock)
    sock.inject(log_msg(5, 0))

    def kernel(reqs: list[Message]) -> list[bytes]:
        return [log_msg(5, 1), ack(reqs[0])]

    sock.handler = kernel
    log.configure(5, qthresh=3)
    sock.inject(log_msg(5, 2))
    assert [m.seq_local for m in log.messages(idle=0)] == [0, 1, 2]
    assert log.stats.seq_gaps == 0


def test_an_overrun_is_counted_and_not_fatal() -> None:
    sock = FakeSocket(Kernel())
    log = Log(5, sock=sock, nlbufsiz=8192)
    sock.inject(log_msg(5, 0))
    sock.inject(overrun())
    sock.inject(log_msg(5, 7))
    assert [m.gap for m in log.messages(idle=0)] == [0, 6]
    assert log.stats.overruns == 1 and log.stats.seq_gaps == 6
    # grown: the group's nlbufsiz was doubled with a config request
    last = Message(memoryview(sock.sent[-1][0]), 0, len(sock.sent[-1][0]), 0, 0, 0, 0)
    attrs = {a.type: a for a in last.attrs(4)}
    assert attrs[NFULA_CFG.NLBUFSIZ].be32() == 16384 and log.stats.grown == 1


def test_count_and_run_and_batches() -> None:
    sock = FakeSocket(Kernel())
    log = Log(5, sock=sock)
    for i in range(3):
        sock.inject(log_msg(5, 2 * i) + log_msg(5, 2 * i + 1) + done_msg())
    assert [m.seq_local for m in log.messages(count=3, idle=0)] == [0, 1, 2]
    assert log.stats.messages == 4  # the rest of the datagram was walked
    seen: list[int | None] = []
    assert log.run(lambda m: seen.append(m.seq_local), idle=0) == 2
    assert seen == [4, 5] and log.stats.seq_gaps == 0
    sock.inject(log_msg(5, 6) + log_msg(5, 7))
    sizes = [len(list(b)) for b in log.batches(idle=0)]
    assert sizes == [2]


def test_kernel_errors_are_named() -> None:
    log = Log(sock=FakeSocket(Kernel([errno.EPERM])))
    with pytest.raises(NetlinkError, match="log group 5 is bound by") as ei:
        log.bind(5)
    assert ei.value.errno == errno.EPERM and log.groups == []
    log = Log(sock=FakeSocket(Kernel([errno.EBUSY])))
    with pytest.raises(NetlinkError, match="already bound by this socket"):
        log.bind(5)
    log = Log(sock=FakeSocket(Kernel([errno.EOPNOTSUPP])))
    with pytest.raises(NotSupportedError, match="CONFIG_NETFILTER_NETLINK_GLUE_CT"):
        log.bind(5, flags=NFULNL_CFG_F.SEQ | NFULNL_CFG_F.CONNTRACK)
    k = Kernel([errno.EAGAIN])  # the glue was loaded by the request: asked again
    log = Log(sock=FakeSocket(k))
    log.bind(5, flags=NFULNL_CFG_F.CONNTRACK)
    assert len(k.requests) == 2 and log.groups == [5]
    with pytest.raises(EncodeError, match="already bound by this log"):
        log.bind(5)
    with pytest.raises(EncodeError, match="not bound"):
        log.unbind(6)


def test_pf_bind_over_the_fake() -> None:
    k = Kernel()
    log = Log(sock=FakeSocket(k))
    log.bind_pf(NFPROTO.IPV4)
    log.unbind_pf(NFPROTO.IPV4)
    assert [r[24] for r in k.requests] == [NFULNL_CFG_CMD.PF_BIND, NFULNL_CFG_CMD.PF_UNBIND]
    assert all(nfgenmsg.unpack_from(r, 16) == (2, 0, 0) for r in k.requests)


def test_datagrams_from_other_senders_are_ignored() -> None:
    sock = FakeSocket(Kernel())
    log = Log(5, sock=sock)
    sock.inject(log_msg(5, 0), sender=999)
    sock.inject(log_msg(5, 0))
    assert [m.seq_local for m in log.messages(idle=0)] == [0]
    assert log.stats.other == 1


def test_amessages() -> None:
    import asyncio

    sock = FakeSocket(Kernel())
    log = Log(5, sock=sock)
    sock.inject(log_msg(5, 0) + log_msg(5, 1))
    sock.inject(log_msg(5, 2))

    async def take() -> list[int | None]:
        return [m.seq_local async for m in log.amessages(count=3, timeout=5)]

    assert asyncio.run(take()) == [0, 1, 2]


# -- the capture path ---------------------------------------------------------------------------
def _records_as_views(data: bytes) -> list[tuple[object, ...]]:
    out = []
    for m in LogReader().feed(data):
        p = m.raw(NFULA.PAYLOAD)
        p0, p1 = (-1, -1) if p is None else (p.offset + 4, p.offset + p.len)
        ts = m.timestamp_ns
        out.append((m._off, m.nlmsg_len, m.group, p0, p1, -1 if ts is None else ts, m.prefix,
                    m.gap))
    return out


@pytest.mark.parametrize("name", ["input_batch", "output_uid", "netdev"])
def test_records_agree_with_the_views_on_golden_bytes(name: str) -> None:
    data = (GOLDEN / f"{name}.bin").read_bytes()
    r = LogReader()
    assert list(r.records(data)) == _records_as_views(data)
    assert r.stats.messages == len(_records_as_views(data))


def test_records_count_gaps_like_feed() -> None:
    data = b"".join(log_msg(5, s, prefix="p") for s in (0, 1, 4)) + log_msg(6, 0) + done_msg()
    a, b = LogReader(), LogReader()
    a.expect(5, 0)
    b.expect(5, 0)
    assert [r[-1] for r in a.records(data)] == [m.gap for m in b.feed(data)] == [0, 0, 2, 0]
    assert a.stats.to_dict() == b.stats.to_dict()
    assert [r[6] for r in LogReader().records(data)] == ["p", "p", "p", None]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_records_raise_what_the_views_raise(data: st.DataObject) -> None:
    raw = bytearray((GOLDEN / "input_batch.bin").read_bytes())
    for _ in range(data.draw(st.integers(0, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    blob = bytes(raw[:data.draw(st.integers(0, len(raw)))])
    try:
        want: object = _records_as_views(blob)
    except DecodeError:
        want = DecodeError
    try:
        got: object = list(LogReader().records(blob))
    except DecodeError:
        got = DecodeError
    assert got == want  # the same tuples, or DecodeError from both


def test_records_reuse_a_layout_whatever_the_attribute_order() -> None:
    def msg(seq: int, ts: tuple[int, int], seq_first: bool) -> bytes:
        b = Builder(512)
        b.begin(NFULNL_MSG_TYPE_PACKET, 0)
        b.put_struct(nfgenmsg, 2, 0, 5)
        b.attr(NFULA.PACKET_HDR, struct.pack("!HBx", 0x0800, 1))
        parts = [(NFULA.SEQ, struct.pack("!I", seq)), (NFULA.TIMESTAMP, struct.pack("!QQ", *ts))]
        for t, v in parts if seq_first else parts[::-1]:
            b.attr(t, v)
        b.attr(NFULA.PAYLOAD, ip4(17, bytes(8)))
        b.end()
        return b.tobytes()

    for seq_first in (False, True):
        data = msg(0, (10, 1), seq_first) + msg(1, (11, 2), seq_first) + msg(5, (12, 3), seq_first)
        r = LogReader()
        r.expect(5, 0)
        got = [(x[5], x[7]) for x in r.records(data)]
        assert got == [(10_000_001_000, 0), (11_000_002_000, 0), (12_000_003_000, 3)]
        assert got == [(x[5], x[7]) for x in _records_as_views(data)]
