"""Pure rtnetlink tests: malformed input, the dump reader's control flow, request
encoders decoded back by the views, name formatting.  No root, no kernel."""

from __future__ import annotations

import errno
import ipaddress
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netring.codec import NLM_F, NLMSG, Builder
from netring.codec.inet import ntop6
from netring.errors import DecodeError, DumpInterrupted, EncodeError, NetlinkError
from netring.subsystems.rtnetlink import (
    AF_INET,
    AF_INET6,
    IFLA,
    OBJECT_CLASSES,
    RTA,
    RTM,
    Address,
    DumpReader,
    Link,
    Neighbour,
    Route,
    Rule,
    decode,
)
from netring.subsystems.rtnetlink import requests as rq
from netring.subsystems.rtnetlink.structs import rtmsg

SEQ = 77


def route_msg(dst: str = "10.0.0.0/24", seq: int = SEQ, flags: int = NLM_F.MULTI,
              table: int = 254, oif: int = 3, extra: list[tuple[int, bytes]] | None = None) -> bytes:
    net = ipaddress.ip_network(dst)
    fam = AF_INET if net.version == 4 else AF_INET6
    b = Builder(512)
    b.begin(RTM.NEWROUTE, flags, seq=seq, portid=1)
    b.put_struct(rtmsg, fam, net.prefixlen, 0, 0, min(table, 252) if table > 255 else table,
                 2, 0, 1, 0)
    b.attr_u32(RTA.TABLE, table)
    b.attr(RTA.DST, net.network_address.packed)
    b.attr_u32(RTA.OIF, oif)
    for t, v in extra or []:
        b.attr(t, v)
    b.end()
    return b.tobytes()


def done_msg(seq: int = SEQ, status: int = 0, flags: int = NLM_F.MULTI) -> bytes:
    return struct.pack("=IHHIIi", 20, NLMSG.DONE, flags, seq, 1, status)


def error_msg(seq: int = SEQ, err: int = -errno.EINVAL) -> bytes:
    req = struct.pack("=IHHII", 16, RTM.GETROUTE, 0x301, seq, 0)
    return struct.pack("=IHHIIi", 36, NLMSG.ERROR, 0x100, seq, 1, err) + req


# -- dump reader ------------------------------------------------------------------------------
def test_reader_collects_views_and_ends_at_done() -> None:
    chunk1 = b"".join(route_msg(f"10.0.{i}.0/24") for i in range(10))
    chunk2 = route_msg("10.1.0.0/16") + done_msg()
    r: DumpReader[Route] = DumpReader(Route, SEQ)
    assert not r.feed(chunk1)
    assert r.feed(chunk2)
    assert r.count == 11 and [x.dst_prefix for x in r.objects][-1] == "10.1.0.0/16"
    assert r.objects[3].oif == 3 and r.objects[3].table == 254
    with pytest.raises(RuntimeError):
        r.feed(chunk2)


def test_reader_count_only_reuses_a_buffer() -> None:
    buf = bytearray(4096)
    data = b"".join(route_msg(f"10.0.{i}.0/24") for i in range(20)) + done_msg()
    buf[: len(data)] = data
    r: DumpReader[Route] = DumpReader(Route, SEQ, keep=False)
    assert r.feed(buf, len(data))
    assert r.count == 20 and r.objects == []


def test_reader_raises_kernel_errors() -> None:
    r: DumpReader[Route] = DumpReader(Route, SEQ, op="dump routes")
    with pytest.raises(NetlinkError) as ei:
        r.feed(error_msg())
    assert ei.value.errno == errno.EINVAL and "dump routes" in str(ei.value)
    r2: DumpReader[Route] = DumpReader(Route, SEQ)
    with pytest.raises(NetlinkError):
        r2.feed(route_msg() + done_msg(status=-errno.EBUSY))


def test_reader_dump_intr_raises_at_done() -> None:
    r: DumpReader[Route] = DumpReader(Route, SEQ)
    r.feed(route_msg(flags=NLM_F.MULTI | NLM_F.DUMP_INTR) + route_msg("10.9.0.0/24"))
    assert r.interrupted and r.count == 2
    with pytest.raises(DumpInterrupted):
        r.feed(done_msg())


def test_reader_skips_foreign_seq_and_other_types() -> None:
    link = bytearray(route_msg())
    struct.pack_into("=H", link, 4, RTM.NEWLINK)
    data = route_msg(seq=5) + bytes(link) + route_msg("10.2.0.0/24") + done_msg()
    r: DumpReader[Route] = DumpReader(Route, SEQ)
    assert r.feed(data)
    assert r.foreign == 1 and r.count == 1 and r.objects[0].dst == "10.2.0.0"


@pytest.mark.parametrize("bad", [
    b"\x00" * 8,                                     # shorter than a header
    struct.pack("=IHHII", 8, RTM.NEWROUTE, 2, SEQ, 0),  # nlmsg_len < 16
    struct.pack("=IHHII", 400, RTM.NEWROUTE, 2, SEQ, 0) + bytes(16),  # runs past
    struct.pack("=IHHII", 20, RTM.NEWROUTE, 2, SEQ, 0) + bytes(4),  # shorter than rtmsg
    route_msg()[:-2],                                # not a multiple of 4, truncated
])
def test_reader_malformed_framing_raises_decode_error(bad: bytes) -> None:
    r: DumpReader[Route] = DumpReader(Route, SEQ)
    with pytest.raises(DecodeError):
        r.feed(bad)


# -- views on malformed attributes --------------------------------------------------------------
def test_bad_attribute_raises_decode_error_on_access_only() -> None:
    msg = bytearray(route_msg(extra=[(RTA.PRIORITY, b"\x01\x02")]))  # u32 with 2 bytes
    r = Route(bytes(msg))
    assert r.dst == "10.0.0.0"
    with pytest.raises(DecodeError):
        _ = r.priority
    with pytest.raises(DecodeError):
        r.to_dict()
    gw = Route(route_msg(extra=[(RTA.GATEWAY, b"\x01\x02\x03")]))
    with pytest.raises(DecodeError):
        _ = gw.gateway
    # an nla_len running past the message
    broken = bytearray(route_msg())
    struct.pack_into("=H", broken, 16 + 12, 200)
    with pytest.raises(DecodeError):
        _ = Route(bytes(broken)).dst


def test_unknown_attributes_are_kept_raw() -> None:
    r = Route(route_msg(extra=[(200, b"abcd")]))
    a = r.raw(200)
    assert a is not None and a.bytes() == b"abcd"
    assert "RTA_200" in r.attr_names()
    assert r.to_dict()["dst"] == "10.0.0.0/24"
    with pytest.raises(KeyError):
        r.raw("RTA_NO_SUCH_THING")


def test_constructor_checks_framing() -> None:
    with pytest.raises(DecodeError):
        Route(b"\x00" * 10)
    with pytest.raises(DecodeError):
        Route(struct.pack("=IHHII", 16, RTM.NEWROUTE, 0, 0, 0))
    with pytest.raises(DecodeError):
        decode(b"\x01\x02")
    assert decode(done_msg()) is None


VIEW_CLASSES = [Link, Address, Route, Neighbour, Rule]


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=300), st.sampled_from(sorted(OBJECT_CLASSES)))
def test_random_bytes_raise_only_decode_error(data: bytes, type_: int) -> None:
    """Arbitrary bytes behind a valid header: views raise only DecodeError."""
    msg = struct.pack("=IHHII", 16 + len(data), type_, 0, 0, 0) + data
    try:
        obj = decode(msg)
    except DecodeError:
        return
    assert obj is not None
    for name in ("to_dict", "attr_names"):
        try:
            getattr(obj, name)()
        except DecodeError:
            pass
    for prop in dir(type(obj)):
        if isinstance(getattr(type(obj), prop, None), property):
            try:
                getattr(obj, prop)
            except DecodeError:
                pass


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=400))
def test_random_chunks_raise_only_decode_error(data: bytes) -> None:
    """The reader fed arbitrary bytes, whole and byte by byte, raises only DecodeError
    (or the protocol errors a DONE/ERROR can carry) and terminates."""
    for feed in ([data], [data[:i] for i in range(0, len(data), 37)]):
        r: DumpReader[Route] = DumpReader(Route, 1)
        for piece in feed:
            if r.done:
                break
            try:
                r.feed(piece)
            except (DecodeError, NetlinkError, DumpInterrupted):
                break


# -- encoders, read back by the views ------------------------------------------------------------
def test_route_request_round_trip() -> None:
    msg = rq.route_request(RTM.NEWROUTE, "10.5.0.0/24", flags=NLM_F.CREATE | NLM_F.EXCL,
                           gateway="10.0.0.2", oif=3, table=1000, metric=7,
                           prefsrc="10.0.0.1", protocol=4, metrics={"mtu": 1400})
    r = Route(bytes(msg))
    assert (r.dst_prefix, r.gateway, r.oif, r.table, r.priority, r.prefsrc, r.protocol) == (
        "10.5.0.0/24", "10.0.0.2", 3, 1000, 7, "10.0.0.1", 4)
    assert r.metrics == {"mtu": 1400} and r.scope == 0 and r.rtm_table == 0
    mp = Route(bytes(rq.route_request(RTM.NEWROUTE, "2001:db8::/32", nexthops=[
        {"gateway": "fe80::1", "oif": 2, "weight": 3}, {"gateway": "fe80::2", "oif": 3}])))
    assert [(n.gateway, n.ifindex, n.weight) for n in mp.multipath] == [
        ("fe80::1", 2, 3), ("fe80::2", 3, 1)]
    dev = Route(bytes(rq.route_request(RTM.NEWROUTE, "10.6.0.0/24", oif=2)))
    assert dev.scope == 253 and dev.protocol == 3
    d = Route(bytes(rq.route_request(RTM.DELROUTE, "10.6.0.0/24")))
    assert d.scope == 255 and d.type == 0 and d.protocol == 0


def test_other_requests_round_trip() -> None:
    a = Address(bytes(rq.addr_request(RTM.NEWADDR, 3, "10.0.0.1/24", label="veth0:1",
                                      broadcast="10.0.0.255")))
    assert (a.local, a.address, a.prefixlen, a.index, a.label, a.broadcast) == (
        "10.0.0.1", "10.0.0.1", 24, 3, "veth0:1", "10.0.0.255")
    n = Neighbour(bytes(rq.neigh_request(RTM.NEWNEIGH, 3, "10.0.0.9", lladdr="02:00:00:00:00:09")))
    assert (n.dst, n.lladdr, n.ifindex, n.state) == ("10.0.0.9", "02:00:00:00:00:09", 3, 0x80)
    ru = Rule(bytes(rq.rule_request(RTM.NEWRULE, src="10.9.0.0/16", table=1000, priority=5)))
    assert (ru.src, ru.src_len, ru.table, ru.priority, ru.action) == ("10.9.0.0", 16, 1000, 5, 1)
    ln = Link(bytes(rq.link_add("v0", "veth", peer="v1", mtu=9000)))
    assert (ln.name, ln.mtu, ln.kind) == ("v0", 9000, "veth")
    assert ln.info_data  # VETH_INFO_PEER present
    s = Link(bytes(rq.link_set(7, up=True, name="x")))
    assert (s.index, s.flags, s.change, s.name) == (7, 1, 1, "x")
    assert s.raw(IFLA.MTU) is None


def test_encoders_reject_bad_input() -> None:
    with pytest.raises(EncodeError):
        rq.route_request(RTM.NEWROUTE, "10.0.0.0/33")
    with pytest.raises(EncodeError):
        rq.route_request(RTM.NEWROUTE, "default")  # no family
    with pytest.raises(EncodeError):
        rq.addr_request(RTM.NEWADDR, 1, "nonsense")
    with pytest.raises(EncodeError):
        rq.link_add("x", "vlan")  # vlan needs an id and a lower device
    with pytest.raises(EncodeError):
        rq.route_request(RTM.NEWROUTE, "10.0.0.0/8", metrics={"bogus": 1})
    with pytest.raises(EncodeError):
        rq.neigh_request(RTM.NEWNEIGH, 1, "10.0.0.1", lladdr="zz:zz")


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=16, max_size=16))
def test_ntop6_matches_python_for_plain_addresses(raw: bytes) -> None:
    text = ntop6(raw)
    assert ipaddress.IPv6Address(text).packed == raw
    if not (raw[:10] == bytes(10) and raw[10:12] in (b"\xff\xff", b"\x00\x00")):
        assert text == str(ipaddress.IPv6Address(raw))


def test_ntop6_ipv4_forms_like_glibc() -> None:
    assert ntop6(bytes(10) + b"\xff\xff" + bytes([1, 2, 3, 4])) == "::ffff:1.2.3.4"
    assert ntop6(bytes(12) + bytes([1, 2, 3, 4])) == "::1.2.3.4"
    assert ntop6(bytes(15) + b"\x01") == "::1" and ntop6(bytes(16)) == "::"


def _all_props(obj: Any) -> dict[str, Any]:
    return {p: getattr(obj, p) for p in dir(type(obj))
            if isinstance(getattr(type(obj), p, None), property)}


def test_every_property_of_a_real_route_decodes() -> None:
    r = Route(route_msg(extra=[(RTA.PRIORITY, struct.pack("=I", 5))]))
    props = _all_props(r)
    assert props["priority"] == 5 and props["multipath"] == [] and props["metrics"] == {}
