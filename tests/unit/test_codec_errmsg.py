"""NLMSG_ERROR and NLMSG_DONE decoding, extended-ack TLVs included."""

from __future__ import annotations

import struct

import pytest

from netring import DecodeError
from netring.codec import (
    NLM_F,
    NLMSG,
    NLMSGERR_ATTR,
    Builder,
    iter_messages,
    parse_done,
    parse_error,
)

HDR = struct.Struct("=IHHII")


def error_msg(error: int, request: bytes, flags: int = 0, tlvs: list[tuple[int, bytes]] = ()) -> bytes:  # type: ignore[assignment]
    b = Builder(4096)
    b.begin(NLMSG.ERROR, flags, seq=7, portid=1234)
    b.put(struct.pack("=i", error) + request)
    for t, data in tlvs:
        b.attr(t, data)
    b.end()
    return b.tobytes()


REQ = HDR.pack(24, 16, 0x405, 7, 1234) + b"\x01\x02\x03\x04\x05\x06\x07\x08"


def test_ack_capped_with_all_tlvs() -> None:
    buf = error_msg(
        0,
        REQ[:16],
        NLM_F.CAPPED | NLM_F.ACK_TLVS,
        [
            (NLMSGERR_ATTR.MSG, b"warning text\0"),
            (NLMSGERR_ATTR.COOKIE, b"\xca\xfe"),
        ],
    )
    (m,) = iter_messages(buf)
    e = parse_error(m)
    assert e.is_ack and e.errno == 0
    assert (e.req_len, e.req_type, e.req_flags, e.req_seq, e.req_portid) == (24, 16, 0x405, 7, 1234)
    assert e.capped
    assert e.msg == "warning text"
    assert e.cookie == b"\xca\xfe"


def test_uncapped_error_skips_echoed_request_to_reach_tlvs() -> None:
    buf = error_msg(
        -22,
        REQ,
        NLM_F.ACK_TLVS,
        [
            (NLMSGERR_ATTR.MSG, b"Unknown device type\0"),
            (NLMSGERR_ATTR.OFFS, struct.pack("=I", 40)),
            (NLMSGERR_ATTR.POLICY, b"\x08\x00\x01\x00\x01\x00\x00\x00"),
            (NLMSGERR_ATTR.MISS_TYPE, struct.pack("=I", 3)),
            (NLMSGERR_ATTR.MISS_NEST, struct.pack("=I", 32)),
        ],
    )
    (m,) = iter_messages(buf)
    e = parse_error(m)
    assert e.error == -22 and e.errno == 22 and not e.capped
    assert e.msg == "Unknown device type"
    assert e.offs == 40
    assert e.policy == b"\x08\x00\x01\x00\x01\x00\x00\x00"
    assert e.miss_type == 3 and e.miss_nest == 32


def test_tlvs_ignored_without_ack_tlvs_flag() -> None:
    buf = error_msg(-1, REQ[:16], NLM_F.CAPPED, [(NLMSGERR_ATTR.MSG, b"x\0")])
    (m,) = iter_messages(buf)
    assert parse_error(m).msg is None


def test_truncated_nlmsgerr() -> None:
    b = Builder(64)
    b.begin(NLMSG.ERROR)
    b.put(struct.pack("=i", -1) + b"\0" * 8)
    b.end()
    (m,) = iter_messages(b.view())
    with pytest.raises(DecodeError, match="truncated nlmsgerr"):
        parse_error(m)


def test_echoed_request_past_the_message() -> None:
    bad_req = HDR.pack(200, 16, 0, 7, 0)
    (m,) = iter_messages(error_msg(-22, bad_req))
    with pytest.raises(DecodeError, match="runs past") as ei:
        parse_error(m)
    assert ei.value.offset == 20


def test_parse_error_rejects_other_types() -> None:
    (m,) = iter_messages(HDR.pack(16, 16, 0, 0, 0))
    with pytest.raises(DecodeError):
        parse_error(m)
    with pytest.raises(DecodeError):
        parse_done(m)


def test_done_status_and_tlvs() -> None:
    b = Builder(128)
    b.begin(NLMSG.DONE, NLM_F.MULTI | NLM_F.ACK_TLVS, seq=3)
    b.put(struct.pack("=i", -16))
    b.attr(NLMSGERR_ATTR.MSG, b"busy\0")
    b.end()
    b.begin(NLMSG.DONE, NLM_F.MULTI, seq=4)
    b.end()
    d1, d2 = (parse_done(m) for m in iter_messages(b.view()))
    assert d1.error == -16 and d1.msg == "busy"
    assert d2.error == 0


def test_done_truncated_status() -> None:
    (m,) = iter_messages(HDR.pack(18, NLMSG.DONE, 2, 0, 0) + b"\0\0\0\0")
    with pytest.raises(DecodeError, match="truncated NLMSG_DONE"):
        parse_done(m)
