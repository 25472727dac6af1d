"""Decode real kernel bytes recorded once (tests/golden/core/record.py)."""

from __future__ import annotations

import errno
import pathlib

from netring.codec import NLM_F, NLMSG, iter_messages, parse_done, parse_error

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden" / "core"


def test_uncapped_error_with_extended_ack_text() -> None:
    (m,) = iter_messages((GOLDEN / "error_uncapped_extack.bin").read_bytes())
    assert m.type == NLMSG.ERROR and m.flags & NLM_F.ACK_TLVS and not m.flags & NLM_F.CAPPED
    e = parse_error(m)
    assert e.errno == errno.EOPNOTSUPP
    assert e.msg == "Unknown device type"
    assert (e.req_type, e.req_seq) == (16, 1)
    assert e.req_len == m.len - 20 - 24  # whole request echoed, then the MSG TLV (24 bytes)


def test_capped_error_without_tlvs() -> None:
    (m,) = iter_messages((GOLDEN / "error_capped_eexist.bin").read_bytes())
    e = parse_error(m)
    assert m.len == 36 and e.capped
    assert e.errno == errno.EEXIST and e.msg is None and e.req_seq == 2


def test_link_dump_of_a_fresh_namespace() -> None:
    msgs = list(iter_messages((GOLDEN / "dump_links_lo.bin").read_bytes()))
    assert [m.type for m in msgs] == [16, NLMSG.DONE]
    assert all(m.flags & NLM_F.MULTI for m in msgs)
    link = {a.type: a for a in msgs[0].attrs(16)}
    assert link[3].string() == "lo"  # IFLA_IFNAME
    assert link[4].u32() == 65536  # IFLA_MTU of lo
    assert parse_done(msgs[1]).error == 0
