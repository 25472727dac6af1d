"""Attribute iteration and typed getters with exact length checks."""

from __future__ import annotations

import struct

import pytest

from netring import DecodeError, EncodeError
from netring.codec import NLA_F, Builder, attr_table, iter_attrs, iter_messages


def attrs_of(build: object) -> list:  # type: ignore[type-arg]
    b = Builder(1024)
    b.begin(100)
    build(b)  # type: ignore[operator]
    b.end()
    (m,) = iter_messages(b.view())
    return list(m.attrs())


def test_integer_getters_round_trip() -> None:
    def build(b: Builder) -> None:
        b.attr_u8(1, 0xAB)
        b.attr_u16(2, 0xBEEF)
        b.attr_u32(3, 0xDEADBEEF)
        b.attr_u64(4, 2**64 - 2)
        b.attr_s8(5, -3)
        b.attr_s16(6, -300)
        b.attr_s32(7, -70000)
        b.attr_s64(8, -(2**40))
        b.attr_be16(9, 0x1234)
        b.attr_be32(10, 0x01020304)
        b.attr_be64(11, 0x0102030405060708)

    a = attrs_of(build)
    assert [x.type for x in a] == list(range(1, 12))
    assert a[0].u8() == 0xAB
    assert a[1].u16() == 0xBEEF
    assert a[2].u32() == 0xDEADBEEF
    assert a[3].u64() == 2**64 - 2
    assert a[4].s8() == -3
    assert a[5].s16() == -300
    assert a[6].s32() == -70000
    assert a[7].s64() == -(2**40)
    assert a[8].be16() == 0x1234
    assert a[9].be32() == 0x01020304
    assert a[10].be64() == 0x0102030405060708
    assert a[2].payload.tobytes() == struct.pack("=I", 0xDEADBEEF)
    assert a[2].uint() == 0xDEADBEEF and a[0].uint() == 0xAB


def test_net_byteorder_flag_is_honoured_and_masked_from_type() -> None:
    def build(b: Builder) -> None:
        b.attr_be32(7 | NLA_F.NET_BYTEORDER, 0x0A000001)

    (a,) = attrs_of(build)
    assert a.type == 7
    assert a.net_byteorder and not a.nested_flag
    assert a.flags == NLA_F.NET_BYTEORDER
    assert a.u32() == 0x0A000001


@pytest.mark.parametrize("getter", ["u8", "u16", "u32", "u64", "s32", "s64", "be16", "be32", "ipv4", "ipv6"])
def test_getters_check_exact_length(getter: str) -> None:
    def build(b: Builder) -> None:
        b.attr(1, b"\x01\x02\x03")  # 3 bytes fits none of them

    (a,) = attrs_of(build)
    with pytest.raises(DecodeError) as ei:
        getattr(a, getter)()
    assert ei.value.offset == a.offset


def test_strings_and_addresses() -> None:
    def build(b: Builder) -> None:
        b.attr_str(1, "veth0")
        b.attr(2, b"no-nul")
        b.attr_ip(3, "192.0.2.7")
        b.attr_ip(4, "2001:db8::1")
        b.attr_lladdr(5, "02:00:00:aa:bb:cc")
        b.attr_flag(6)

    a = attrs_of(build)
    assert a[0].string() == "veth0"
    with pytest.raises(DecodeError, match="not NUL-terminated"):
        a[1].string()
    assert a[1].text() == "no-nul"
    assert a[2].ipv4() == "192.0.2.7" and a[2].ip() == "192.0.2.7"
    assert a[3].ipv6() == "2001:db8::1" and a[3].ip() == "2001:db8::1"
    assert a[4].lladdr() == "02:00:00:aa:bb:cc"
    assert a[5].payload_len == 0
    with pytest.raises(DecodeError):
        a[0].ip()


def test_nested_attributes() -> None:
    def build(b: Builder) -> None:
        outer = b.nest_start(18)
        b.attr_str(1, "veth")
        inner = b.nest_start(2)
        b.attr_u32(1, 42)
        b.nest_end(inner)
        b.nest_end(outer)
        b.attr_u32(4, 1500)

    a = attrs_of(build)
    assert [x.type for x in a] == [18, 4]
    assert a[0].nested_flag
    kids = list(a[0].nested())
    assert kids[0].string() == "veth"
    assert [x.u32() for x in kids[1].nested()] == [42]
    assert a[0].nested_table()[1].string() == "veth"


def test_attr_table_last_wins_and_unknown_kept() -> None:
    def build(b: Builder) -> None:
        b.attr_u32(9, 1)
        b.attr_u32(9, 2)
        b.attr(999, b"raw")

    b = Builder(256)
    b.begin(100)
    build(b)
    b.end()
    (m,) = iter_messages(b.view())
    table = attr_table(m.buf, m.offset + 16, m.end)
    assert table[9].u32() == 2
    assert table[999].bytes() == b"raw"


@pytest.mark.parametrize(
    "region, offset, needle",
    [
        (b"\x03\x00\x01\x00", 0, "nla_len 3 < 4"),
        (b"\x10\x00\x01\x00abcd", 0, "runs past its parent"),
        (b"\x04\x00\x01\x00\x01\x02", 4, "truncated nlattr"),
    ],
)
def test_malformed_attributes(region: bytes, offset: int, needle: str) -> None:
    with pytest.raises(DecodeError) as ei:
        list(iter_attrs(region))
    assert ei.value.offset == offset and needle in str(ei.value)


def test_nest_that_runs_past_its_parent_is_rejected() -> None:
    # outer nest claims 12 bytes; inner claims 16 -> past the nest
    region = struct.pack("=HH", 12, 0x8001) + struct.pack("=HH", 16, 1) + b"abcd"
    (outer,) = iter_attrs(region)
    with pytest.raises(DecodeError) as ei:
        list(outer.nested())
    assert ei.value.offset == 4


def test_builder_bounds_and_errors() -> None:
    b = Builder(32)
    b.begin(16)
    with pytest.raises(EncodeError, match="no room"):
        b.attr(1, b"x" * 16)
    b.attr_u32(1, 5)
    with pytest.raises(EncodeError, match="does not fit"):
        b.attr_u8(2, 256)
    assert b.end() == 24  # the failed attribute left nothing behind
    with pytest.raises(EncodeError, match="no message open"):
        b.attr_u8(1, 1)
    with pytest.raises(EncodeError):
        Builder(bytes(10))  # type: ignore[arg-type]
    b2 = Builder(1 << 17)
    b2.begin(16)
    with pytest.raises(EncodeError, match="65535"):
        b2.attr(1, bytes(70000))
    n = b2.nest_start(1)
    with pytest.raises(EncodeError, match="nest"):
        b2.end()
    b2.nest_end(n)
    b2.end()


def test_builder_many_messages_and_abort() -> None:
    b = Builder(4096)
    for seq in range(1, 6):
        b.begin(20 + seq, seq=seq)
        b.attr_u32(1, seq)
        b.end()
    b.begin(99)
    b.attr_u32(1, 0)
    b.abort()
    msgs = list(iter_messages(b.view()))
    assert [m.seq for m in msgs] == [1, 2, 3, 4, 5]
    assert all(m.len == 24 for m in msgs)
    assert b.count == 5
    b.reset()
    assert b.view().tobytes() == b""


def test_builder_padding_is_zeroed() -> None:
    buf = bytearray(b"\xff" * 64)
    b = Builder(buf)
    b.begin(16)
    b.attr(1, b"a")
    b.end()
    assert buf[16:24] == b"\x05\x00\x01\x00a\x00\x00\x00"
