"""The generic lazy message view (netring.codec.view): framing, attribute index,
typed getters (exact lengths, NLA_F_NET_BYTEORDER), raw access and error offsets."""

from __future__ import annotations

import struct
from enum import IntEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netring.codec import NLA_F, Builder, MessageView, attr_index, iter_attrs, walk_attrs
from netring.errors import DecodeError


class DEMO(IntEnum):
    """Attribute types of the made-up family the tests decode."""

    UNSPEC = 0
    U8 = 1
    U16 = 2
    U32 = 3
    U64 = 4
    S32 = 5
    STR = 6
    IP = 7
    LLADDR = 8
    NEST = 9
    BE16 = 10
    BE32 = 11
    BLOB = 12
    PAIR = 13


#: a 4-byte family header, like struct nfgenmsg
demo_hdr = struct.Struct("=BBH")
pair = struct.Struct("=II")
FIRST_ATTR = 16 + demo_hdr.size  # offset of the first attribute in a message


class Demo(MessageView):
    __slots__ = ()
    TYPES = (0x20, 0x21)
    HDR = demo_hdr
    ATTR = DEMO
    PREFIX = "DEMO_"


def message(*attrs: tuple[int, bytes], msg_type: int = 0x20, seq: int = 9,
            portid: int = 33) -> bytes:
    b = Builder(1024)
    b.begin(msg_type, 0x2, seq=seq, portid=portid)
    b.put_struct(demo_hdr, 2, 0, 0)
    for t, payload in attrs:
        b.attr(t, payload)
    b.end()
    return b.tobytes()


def test_header_fields_and_copy() -> None:
    data = b"\xff" * 8 + message((DEMO.U32, struct.pack("=I", 7)))
    v = Demo(data, 8)
    assert (v.nlmsg_type, v.nlmsg_flags, v.seq, v.portid) == (0x20, 0x2, 9, 33)
    assert v.nlmsg_len == len(data) - 8
    assert v.nlmsghdr() == (v.nlmsg_len, 0x20, 0x2, 9, 33)
    c = v.copy()
    assert type(c) is Demo and c.tobytes() == data[8:] and c._off == 0
    assert Demo.from_bytes(bytearray(data[8:]))._get_u32(DEMO.U32) == 7


def test_view_made_like_the_dump_hot_path() -> None:
    """__new__ plus the two slot stores is a complete view (the index builds lazily)."""
    data = message((DEMO.U16, struct.pack("=H", 513)))
    v = Demo.__new__(Demo)
    v._buf = data
    v._off = 0
    assert v._get_u16(DEMO.U16) == 513
    assert [s for c in Demo.__mro__ for s in c.__dict__.get("__slots__", ())] == [
        "_buf", "_off", "_idx"]


@pytest.mark.parametrize("data", [
    b"",
    b"\x00" * 15,
    struct.pack("=IHHII", 64, 0x20, 0, 0, 0),             # nlmsg_len past the buffer
    struct.pack("=IHHII", 18, 0x20, 0, 0, 0) + b"\0\0",   # shorter than the family header
])
def test_constructor_checks_framing(data: bytes) -> None:
    with pytest.raises(DecodeError):
        Demo(data)


def test_typed_getters_read_host_order() -> None:
    v = Demo(message(
        (DEMO.U8, b"\x05"), (DEMO.U16, struct.pack("=H", 0x1234)),
        (DEMO.U32, struct.pack("=I", 0xDEADBEEF)), (DEMO.U64, struct.pack("=Q", 1 << 40)),
        (DEMO.S32, struct.pack("=i", -2)), (DEMO.STR, b"eth0\0"),
        (DEMO.IP, bytes([10, 0, 0, 1])), (DEMO.LLADDR, bytes([2, 0, 0, 0, 0, 0xAB])),
        (DEMO.BE16, struct.pack("!H", 0x1234)), (DEMO.BE32, struct.pack("!I", 0x01020304)),
        (DEMO.BLOB, b"xyz"), (DEMO.PAIR, pair.pack(1, 2))))
    assert v._get_u8(DEMO.U8) == 5
    assert v._get_u16(DEMO.U16) == 0x1234
    assert v._get_u32(DEMO.U32) == 0xDEADBEEF
    assert v._get_u64(DEMO.U64) == 1 << 40
    assert v._get_s32(DEMO.S32) == -2
    assert v._get_str(DEMO.STR) == "eth0"
    assert v._get_ip(DEMO.IP) == "10.0.0.1"
    assert v._get_lladdr(DEMO.LLADDR) == "02:00:00:00:00:ab"
    assert v._get_be16(DEMO.BE16) == 0x1234
    assert v._get_be32(DEMO.BE32) == 0x01020304
    assert v._get_bytes(DEMO.BLOB) == b"xyz"
    assert v._get_struct(DEMO.PAIR, pair) == (1, 2)
    assert v._get_u32(DEMO.UNSPEC) is None and v._get_str(99) is None


def test_ipv6_text_is_glibcs() -> None:
    mapped = bytes(10) + b"\xff\xff" + bytes([192, 0, 2, 1])
    v = Demo(message((DEMO.IP, mapped)))
    assert v._get_ip(DEMO.IP) == "::ffff:192.0.2.1"


def test_net_byteorder_flag_is_honoured() -> None:
    be = int(NLA_F.NET_BYTEORDER)
    v = Demo(message(
        (DEMO.U16 | be, struct.pack("!H", 0x1234)),
        (DEMO.U32 | be, struct.pack("!I", 0x01020304)),
        (DEMO.U64 | be, struct.pack("!Q", 0x0102030405060708)),
        (DEMO.S32 | be, struct.pack("!i", -5))))
    assert v._get_u16(DEMO.U16) == 0x1234
    assert v._get_u32(DEMO.U32) == 0x01020304
    assert v._get_u64(DEMO.U64) == 0x0102030405060708
    assert v._get_s32(DEMO.S32) == -5
    a = v.raw(DEMO.U32)
    assert a is not None and a.net_byteorder and a.type == DEMO.U32 and a.u32() == 0x01020304
    assert v.has(DEMO.U32) and v.has("DEMO_U16")


def test_nested_flag_is_masked_and_nested_attributes_read() -> None:
    inner = struct.pack("=HH", 5, 1) + b"\x07\0\0\0" + struct.pack("=HH", 8, 2) + b"veth"
    inner += struct.pack("=HH", 5, 1) + b"\x09\0\0\0"   # a repeated type: the first wins
    v = Demo(message((DEMO.NEST | int(NLA_F.NESTED), inner)))
    assert v.has(DEMO.NEST)
    nested = v._get_nested(DEMO.NEST)
    assert nested is not None and nested[1].u8() == 7 and nested[2].text() == "veth"
    a = v.raw("NEST")
    assert a is not None and a.nested_flag and [x.type for x in a.nested()] == [1, 2, 1]
    assert v._get_nested(DEMO.BLOB) is None


def test_unknown_and_repeated_attributes_are_kept() -> None:
    v = Demo(message((200, b"abcd"), (DEMO.U8, b"\x01"), (DEMO.U8, b"\x02")))
    assert v._get_u8(DEMO.U8) == 1  # first occurrence wins
    assert [a.type for a in v.attrs()] == [200, DEMO.U8, DEMO.U8]
    assert v.attr_names() == ["DEMO_200", "DEMO_U8", "DEMO_U8"]
    unknown = v.raw(200)
    assert unknown is not None and unknown.bytes() == b"abcd"
    with pytest.raises(KeyError):
        v.raw("DEMO_NO_SUCH")
    assert "DEMO_200" in repr(v)


GETTERS = [
    ("_get_u8", DEMO.U8, 1), ("_get_u16", DEMO.U16, 2), ("_get_u32", DEMO.U32, 4),
    ("_get_u64", DEMO.U64, 8), ("_get_s32", DEMO.S32, 4), ("_get_be16", DEMO.BE16, 2),
    ("_get_be32", DEMO.BE32, 4),
]


@pytest.mark.parametrize(("getter", "t", "size"), GETTERS)
@pytest.mark.parametrize("delta", [-1, +1, +4])
@pytest.mark.parametrize("last", [True, False])
def test_wrong_length_raises_decode_error_at_the_attribute(
        getter: str, t: int, size: int, delta: int, last: bool) -> None:
    """A short or long payload raises DecodeError naming the attribute's offset, whether
    it ends the message or another attribute follows (never a read into the next one)."""
    if size + delta < 0:
        return
    bad = (t, bytes(range(1, size + delta + 1)))
    attrs = [(DEMO.BLOB, b"head"), bad] if last else [(DEMO.BLOB, b"head"), bad,
                                                       (DEMO.U32, b"\xff" * 4)]
    v = Demo(message(*attrs))
    with pytest.raises(DecodeError) as ei:
        getattr(v, getter)(t)
    assert ei.value.offset == FIRST_ATTR + 8  # after the 8-byte DEMO_BLOB
    assert DEMO(t).name in ei.value.reason


@pytest.mark.parametrize("last", [True, False])
def test_struct_string_and_ip_lengths(last: bool) -> None:
    tail = [] if last else [(DEMO.U32, b"\xff" * 4)]
    v = Demo(message((DEMO.PAIR, b"\x01\0\0\0"), *tail))
    with pytest.raises(DecodeError) as ei:
        v._get_struct(DEMO.PAIR, pair)
    assert ei.value.offset == FIRST_ATTR
    longer = Demo(message((DEMO.PAIR, pair.pack(3, 4) + b"more"), *tail))
    with pytest.raises(DecodeError):
        longer._get_struct(DEMO.PAIR, pair)
    assert longer._get_struct(DEMO.PAIR, pair, extensible=True) == (3, 4)
    with pytest.raises(DecodeError):
        Demo(message((DEMO.STR, b"eth0"), *tail))._get_str(DEMO.STR)  # no NUL
    with pytest.raises(DecodeError):
        Demo(message((DEMO.STR, b""), *tail))._get_str(DEMO.STR)
    with pytest.raises(DecodeError) as ei:
        Demo(message((DEMO.IP, b"\x01\x02\x03"), *tail))._get_ip(DEMO.IP)
    assert ei.value.offset == FIRST_ATTR


def test_broken_attribute_framing_raises_on_access_with_offset() -> None:
    data = bytearray(message((DEMO.U8, b"\x01"), (DEMO.U32, b"\0\0\0\0")))
    struct.pack_into("=H", data, FIRST_ATTR + 8, 200)  # second nla_len runs past the message
    v = Demo(bytes(data))  # construction checks only the message framing
    with pytest.raises(DecodeError) as ei:
        v._get_u8(DEMO.U8)
    assert ei.value.offset == FIRST_ATTR + 8
    struct.pack_into("=H", data, FIRST_ATTR + 8, 2)     # nla_len < 4
    with pytest.raises(DecodeError) as ei:
        list(Demo(bytes(data)).attrs())
    assert ei.value.offset == FIRST_ATTR + 8


def test_attr_index_and_walk_share_the_rules() -> None:
    data = message((5, b"a"), (DEMO.NEST | int(NLA_F.NESTED), b""), (5, b"bb"))
    walked = list(walk_attrs(data, FIRST_ATTR, len(data)))
    assert [(o, n) for o, n, _t in walked] == [(20, 5), (28, 4), (32, 6)]
    assert walked[1][2] == DEMO.NEST | int(NLA_F.NESTED)
    assert attr_index(data, FIRST_ATTR, len(data)) == {5: 20, DEMO.NEST: 28}
    with pytest.raises(DecodeError):
        attr_index(data, FIRST_ATTR, len(data) + 4)  # region past the buffer
    with pytest.raises(DecodeError):
        list(walk_attrs(data, FIRST_ATTR, 37))  # the last attribute (32..38) runs past


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.integers(0, 3))
def test_random_attribute_bytes_raise_only_decode_error(body: bytes, cut: int) -> None:
    """Any bytes after a valid header, the message possibly ending inside them (a
    truncated ``nlmsg_len``): every getter returns or raises DecodeError."""
    length = max(20, 20 + len(body) - cut)
    data = struct.pack("=IHHII", length, 0x20, 0, 0, 0) + demo_hdr.pack(2, 0, 0) + body
    try:
        v = Demo(data)
    except DecodeError:
        return
    for name, t, _size in GETTERS:
        try:
            getattr(v, name)(t)
        except DecodeError:
            pass
    for call in (lambda: v._get_str(DEMO.STR), lambda: v._get_ip(DEMO.IP),
                 lambda: v._get_struct(DEMO.PAIR, pair), lambda: v._get_nested(DEMO.NEST),
                 lambda: v._get_lladdr(DEMO.LLADDR), lambda: list(v.attrs()), lambda: repr(v)):
        try:
            call()
        except DecodeError:
            pass
    # the index and the wire-order walk agree on the first occurrence of each type
    try:
        first = {}
        for a in iter_attrs(data, FIRST_ATTR, v.nlmsg_len):
            first.setdefault(a.type, a.offset)
    except DecodeError:
        return
    assert v._index() == first
