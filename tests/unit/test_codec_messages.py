"""Message iteration, flags rendering, alignment and the debug dump."""

from __future__ import annotations

import struct

import pytest

from netring import DecodeError
from netring.codec import (
    NLM_F,
    NLMSG,
    Builder,
    dump_messages,
    iter_messages,
    nla_align,
    nlm_f_str,
    nlmsg_align,
    nlmsg_length,
    nlmsg_space,
)

HDR = struct.Struct("=IHHII")


def raw(length: int, type_: int = 16, flags: int = 0, seq: int = 0, portid: int = 0,
        body: bytes = b"") -> bytes:
    data = HDR.pack(length, type_, flags, seq, portid) + body
    return data + b"\0" * (nlmsg_align(len(data)) - len(data))


def test_alignment_helpers() -> None:
    assert [nlmsg_align(n) for n in (0, 1, 4, 5, 17)] == [0, 4, 4, 8, 20]
    assert nla_align(6) == 8
    assert nlmsg_length(4) == 20
    assert nlmsg_space(5) == 24


def test_iter_messages_views_fields_and_payload() -> None:
    buf = raw(21, 24, 0x302, 7, 99, b"hello") + raw(16, NLMSG.DONE, 2, 7, 99)
    msgs = list(iter_messages(buf))
    assert [(m.len, m.type, m.flags, m.seq, m.portid) for m in msgs] == [
        (21, 24, 0x302, 7, 99),
        (16, 3, 2, 7, 99),
    ]
    assert msgs[0].payload.tobytes() == b"hello"
    assert msgs[1].offset == 24  # 21 aligned up
    assert msgs[1].is_done and not msgs[0].is_done
    assert isinstance(msgs[0].payload, memoryview)


def test_payload_is_zero_copy_view_of_the_buffer() -> None:
    buf = bytearray(raw(20, body=b"abcd"))
    (m,) = iter_messages(buf)
    buf[16] = ord("z")
    assert m.payload.tobytes() == b"zbcd"


def test_iter_messages_accepts_memoryview_offsets_and_end() -> None:
    buf = b"\xff" * 8 + raw(16, 20) + raw(16, 21) + b"\xee" * 4
    msgs = list(iter_messages(memoryview(buf), 8, 8 + 32))
    assert [m.type for m in msgs] == [20, 21]


@pytest.mark.parametrize(
    "buf, offset, needle",
    [
        (raw(16)[:10], 0, "truncated nlmsghdr"),
        (HDR.pack(15, 16, 0, 0, 0), 0, "nlmsg_len 15 < 16"),
        (HDR.pack(40, 16, 0, 0, 0) + bytes(8), 0, "runs past"),
        (raw(16) + HDR.pack(3, 1, 0, 0, 0), 16, "nlmsg_len 3 < 16"),
        (raw(16) + b"\0\0", 16, "truncated nlmsghdr"),
    ],
)
def test_malformed_messages_raise_decode_error_with_offset(buf: bytes, offset: int, needle: str) -> None:
    with pytest.raises(DecodeError) as ei:
        list(iter_messages(buf))
    assert ei.value.offset == offset
    assert needle in str(ei.value)


def test_nlm_f_str_readable() -> None:
    assert nlm_f_str(NLM_F.REQUEST | NLM_F.MULTI | 0x100) == "request|multi|0x100"
    assert nlm_f_str(0x301, "get") == "request|root|match"
    assert nlm_f_str(0x601, "new") == "request|excl|create"
    assert nlm_f_str(0) == "0"
    assert nlm_f_str(0x8000) == "0x8000"


def test_message_repr_names_control_types() -> None:
    (m,) = iter_messages(raw(16, NLMSG.DONE, NLM_F.MULTI, 3, 4))
    assert repr(m) == "<Message len=16 type=DONE flags=multi seq=3 portid=4>"


def test_debug_dump_renders_header_extra_header_and_attributes() -> None:
    b = Builder(128)
    b.begin(16, NLM_F.REQUEST, seq=1)
    b.put(bytes(16))
    b.attr_str(3, "lo")
    b.end()
    text = dump_messages(b.view(), extra_len=16)
    assert "|  0000000040  |\t| message length |" in text
    assert "| 00016 | R--- |" in text
    assert "extra header" in text
    assert "|00007|--|00003|" in text
    assert " l o" in text


def test_debug_dump_names_malformed_input_without_raising() -> None:
    text = dump_messages(HDR.pack(99, 16, 0, 0, 0))
    assert "!! malformed message" in text and "offset 0" in text
