"""Protocol logic of the netlink socket, driven through netring.testing.FakeSocket.

The fake shares every line of request/dump/receive logic with the real
NetlinkSocket (both are a Connection); only the transport differs.
"""

from __future__ import annotations

import errno
import struct

import pytest

from netring import NLM_F, NLMSG, DumpInterrupted, Message, NetlinkError, Overrun
from netring.codec import Builder, iter_messages
from netring.conn import Connection
from netring.testing import (
    Datagram,
    FakeSocket,
    ack,
    done,
    dump_reply,
    error,
    message,
    overrun,
)

RTM_NEWLINK, RTM_GETLINK = 16, 18
IFLA_IFNAME = 3
ifinfomsg = struct.Struct("=BxHiII")
ME = 4242


def link_body(name: str, index: int = 1) -> bytes:
    b = name.encode() + b"\0"
    attr = struct.pack("=HH", 4 + len(b), IFLA_IFNAME) + b + b"\0" * ((-len(b)) & 3)
    return ifinfomsg.pack(0, 0, index, 0, 0) + attr


def names(msgs: list[Message]) -> list[str]:
    out = []
    for m in msgs:
        for a in m.attrs(ifinfomsg.size):
            if a.type == IFLA_IFNAME:
                out.append(a.text())
    return out


def test_fake_is_a_netlink_base() -> None:
    assert isinstance(FakeSocket(), Connection)


def test_request_ack_returns_no_data_and_keeps_the_ack() -> None:
    seen: list[list[Message]] = []

    def handler(reqs: list[Message]) -> bytes:
        seen.append(reqs)
        return ack(reqs[0], msg="a warning", cookie=b"\x01\x02")

    sock = FakeSocket(handler, portid=ME)
    assert sock.request(RTM_NEWLINK, link_body("x"), NLM_F.REQUEST | NLM_F.ACK) == []
    req = seen[0][0]
    assert req.type == RTM_NEWLINK
    assert req.flags & NLM_F.REQUEST and req.flags & NLM_F.ACK
    assert req.seq != 0
    assert req.payload.tobytes() == link_body("x")
    assert sock.last_ack is not None and sock.last_ack.is_ack
    assert sock.last_ack.msg == "a warning" and sock.last_ack.cookie == b"\x01\x02"


def test_sequence_numbers_are_fresh_and_never_zero() -> None:
    seqs: list[int] = []

    def handler(reqs: list[Message]) -> bytes:
        seqs.append(reqs[0].seq)
        return ack(reqs[0])

    sock = FakeSocket(handler)
    for _ in range(5):
        sock.request(RTM_NEWLINK)
    assert 0 not in seqs and len(set(seqs)) == 5
    sock._seq = iter([0xFFFFFFFF, 0x100000000])  # type: ignore[assignment]
    assert sock.next_seq() == 0xFFFFFFFF
    assert sock.next_seq() == 1  # wraps past 2**32-1 without ever using 0


def test_request_returns_data_replies_as_copies_before_the_ack() -> None:
    def handler(reqs: list[Message]) -> list[bytes]:
        r = reqs[0]
        return [message(RTM_NEWLINK, link_body("eth0"), 0, r.seq, ME), ack(r)]

    sock = FakeSocket(handler, portid=ME)
    out = sock.request(RTM_GETLINK, ifinfomsg.pack(0, 0, 1, 0, 0))
    assert names(out) == ["eth0"]
    sock.request(RTM_GETLINK)  # reuses the receive path; copies stay valid
    assert names(out) == ["eth0"]


def test_request_without_ack_ends_at_the_first_single_reply() -> None:
    def handler(reqs: list[Message]) -> list[bytes]:
        r = reqs[0]
        return [message(RTM_NEWLINK, link_body("lo"), 0, r.seq), message(RTM_NEWLINK, link_body("late"), 0, 0)]

    sock = FakeSocket(handler)
    out = sock.request(RTM_GETLINK, b"", NLM_F.REQUEST)
    assert names(out) == ["lo"]
    assert names(sock.recv(block=False)) == ["late"]


def test_error_with_extended_ack_raises_netlink_error() -> None:
    def handler(reqs: list[Message]) -> bytes:
        return error(reqs[0], errno.EINVAL, msg="Unknown device type", offset=36, miss_type=7)

    sock = FakeSocket(handler)
    with pytest.raises(NetlinkError) as ei:
        sock.request(RTM_NEWLINK, link_body("x"), op="RTM_NEWLINK")
    e = ei.value
    assert e.errno == errno.EINVAL
    assert e.op == "RTM_NEWLINK"
    assert e.seq == sock.sent[-1][0][8] | (sock.sent[-1][0][9] << 8)
    assert e.ext_msg == "Unknown device type"
    assert e.ext_offset == 36 and e.miss_type == 7
    assert "Unknown device type" in str(e)


def test_uncapped_error_echoing_the_whole_request_is_decoded() -> None:
    def handler(reqs: list[Message]) -> bytes:
        return error(reqs[0], errno.EEXIST, msg="exists", capped=False)

    sock = FakeSocket(handler)
    with pytest.raises(NetlinkError) as ei:
        sock.request(RTM_NEWLINK, link_body("a-long-interface-name"))
    assert ei.value.errno == errno.EEXIST and ei.value.ext_msg == "exists"


def test_reply_for_another_seq_is_never_taken_for_ours() -> None:
    def handler(reqs: list[Message]) -> list[bytes]:
        r = reqs[0]
        stale_req = next(iter_messages(message(RTM_GETLINK, b"", NLM_F.REQUEST, r.seq - 1 or 99)))
        return [
            error(stale_req, errno.EPERM),  # an old request's answer: must not fail ours
            message(RTM_NEWLINK, link_body("old"), 0, r.seq + 7, ME),
            ack(r),
        ]

    sock = FakeSocket(handler, portid=ME)
    assert sock.request(RTM_NEWLINK) == []
    assert sock.stale == 2
    assert not sock.pending


def test_reply_with_our_seq_but_another_portid_is_not_ours() -> None:
    def handler(reqs: list[Message]) -> list[bytes]:
        r = reqs[0]
        return [error(r, errno.EPERM, portid=ME + 1), ack(r, portid=ME)]

    sock = FakeSocket(handler, portid=ME)
    assert sock.request(RTM_NEWLINK) == []
    assert sock.stale == 1


def test_notifications_arriving_meanwhile_are_kept_and_delivered() -> None:
    def handler(reqs: list[Message]) -> list[object]:
        r = reqs[0]
        return [
            message(RTM_NEWLINK, link_body("n1"), 0, 0, 0),  # seq 0: kernel notification
            Datagram(message(RTM_NEWLINK, link_body("n2"), 0, r.seq, 999), group=1),  # multicast
            ack(r),
        ]

    sock = FakeSocket(handler)
    sock.request(RTM_NEWLINK)
    kept = sock.recv(block=False)
    assert names(kept) == ["n1", "n2"]
    assert kept[1].group == 1
    assert sock.recv(block=False) == []


def test_notifications_kept_during_a_dump_come_first_from_messages() -> None:
    def handler(reqs: list[Message]) -> list[object]:
        r = reqs[0]
        grams: list[object] = [Datagram(message(RTM_NEWLINK, link_body("mc"), 0, 0), group=1)]
        grams += dump_reply(r, [(RTM_NEWLINK, link_body("lo"))])
        return grams

    sock = FakeSocket(handler)
    assert names(list(sock.dump(RTM_GETLINK))) == ["lo"]
    sock.inject(message(RTM_NEWLINK, link_body("after"), 0, 0), group=1)
    got = list(sock.messages(block=False))
    assert names(got) == ["mc", "after"]
    assert [m.group for m in got] == [1, 1]


def test_dump_multi_until_done() -> None:
    items = [(RTM_NEWLINK, link_body(f"if{i}", i)) for i in range(7)]

    def handler(reqs: list[Message]) -> list[bytes]:
        r = reqs[0]
        assert r.flags & NLM_F.DUMP == NLM_F.DUMP
        return dump_reply(r, items, per_datagram=3)

    sock = FakeSocket(handler)
    out = [m.tobytes() for m in sock.dump(RTM_GETLINK, ifinfomsg.pack(0, 0, 0, 0, 0))]
    assert names([next(iter_messages(b)) for b in out]) == [f"if{i}" for i in range(7)]
    assert all(next(iter_messages(b)).flags & NLM_F.MULTI for b in out)
    assert not sock.queue


def test_dump_views_are_zero_copy_into_the_received_datagram() -> None:
    def handler(reqs: list[Message]) -> list[bytes]:
        return dump_reply(reqs[0], [(RTM_NEWLINK, link_body("a")), (RTM_NEWLINK, link_body("b"))])

    sock = FakeSocket(handler)
    msgs = []
    for m in sock.dump(RTM_GETLINK):
        msgs.append(m)
    assert msgs[0].buf.obj is msgs[1].buf.obj  # both views of one datagram buffer


def test_done_carrying_an_error_raises() -> None:
    def handler(reqs: list[Message]) -> list[bytes]:
        return dump_reply(reqs[0], [(RTM_NEWLINK, link_body("lo"))], error=errno.EMSGSIZE)

    sock = FakeSocket(handler)
    got = []
    with pytest.raises(NetlinkError) as ei:
        for m in sock.dump(RTM_GETLINK, op="RTM_GETLINK"):
            got.append(m.tobytes())
    assert len(got) == 1
    assert ei.value.errno == errno.EMSGSIZE and ei.value.op == "RTM_GETLINK"


def test_done_with_extended_ack_text() -> None:
    def handler(reqs: list[Message]) -> bytes:
        return done(reqs[0], errno.EINVAL, msg="Invalid header for link dump")

    sock = FakeSocket(handler)
    with pytest.raises(NetlinkError) as ei:
        list(sock.dump(RTM_GETLINK))
    assert ei.value.ext_msg == "Invalid header for link dump"


def test_dump_rejected_with_nlmsg_error_raises() -> None:
    def handler(reqs: list[Message]) -> bytes:
        return error(reqs[0], errno.EOPNOTSUPP)

    sock = FakeSocket(handler)
    with pytest.raises(NetlinkError) as ei:
        list(sock.dump(RTM_GETLINK))
    assert ei.value.errno == errno.EOPNOTSUPP


def test_dump_intr_raises_after_draining_to_done() -> None:
    items = [(RTM_NEWLINK, link_body(f"if{i}")) for i in range(4)]

    def handler(reqs: list[Message]) -> list[bytes]:
        return dump_reply(reqs[0], items, intr_from=2)

    sock = FakeSocket(handler)
    got = []
    with pytest.raises(DumpInterrupted):
        for m in sock.dump(RTM_GETLINK):
            got.append(m.tobytes())
    assert len(got) == 4
    assert not sock.queue  # drained: the socket is clean for the next request


def test_dump_intr_retry_yields_only_the_consistent_attempt() -> None:
    attempts: list[int] = []

    def handler(reqs: list[Message]) -> list[bytes]:
        attempts.append(reqs[0].seq)
        if len(attempts) < 3:
            return dump_reply(reqs[0], [(RTM_NEWLINK, link_body("torn"))], intr_from=0)
        return dump_reply(reqs[0], [(RTM_NEWLINK, link_body("a")), (RTM_NEWLINK, link_body("b"))])

    sock = FakeSocket(handler)
    msgs = list(sock.dump(RTM_GETLINK, retry=3))
    assert names(msgs) == ["a", "b"]  # copies: still valid after the dump
    assert len(attempts) == 3 and len(set(attempts)) == 3


def test_dump_intr_retry_gives_up() -> None:
    def handler(reqs: list[Message]) -> list[bytes]:
        return dump_reply(reqs[0], [(RTM_NEWLINK, link_body("torn"))], intr_from=0)

    sock = FakeSocket(handler)
    with pytest.raises(DumpInterrupted):
        list(sock.dump(RTM_GETLINK, retry=2))
    assert len(sock.sent) == 3


def test_stopping_a_dump_early_drains_it() -> None:
    def handler(reqs: list[Message]) -> list[object]:
        r = reqs[0]
        if r.type == RTM_GETLINK:
            grams: list[object] = list(dump_reply(r, [(RTM_NEWLINK, link_body(f"if{i}")) for i in range(6)], per_datagram=2))
            grams.insert(2, Datagram(message(RTM_NEWLINK, link_body("mc"), 0, 0), group=1))
            return grams
        return [ack(r)]

    sock = FakeSocket(handler)
    for _m in sock.dump(RTM_GETLINK):
        break
    assert not sock.queue
    assert sock.request(RTM_NEWLINK) == []
    assert names(sock.recv(block=False)) == ["mc"]


def test_overrun_raises_counts_and_the_socket_keeps_working() -> None:
    sock = FakeSocket()
    sock.inject(message(RTM_NEWLINK, link_body("before"), 0, 0), group=1)
    sock.inject(overrun())
    sock.inject(overrun())
    sock.inject(message(RTM_NEWLINK, link_body("after"), 0, 0), group=1)
    assert names(sock.recv()) == ["before"]
    with pytest.raises(Overrun) as ei:
        sock.recv()
    assert ei.value.count == 1
    with pytest.raises(Overrun) as ei:
        list(sock.messages(block=False))
    assert ei.value.count == 2 and sock.overruns == 2
    assert names(sock.recv()) == ["after"]


def test_request_many_one_datagram_one_ack_each() -> None:
    def handler(reqs: list[Message]) -> list[bytes]:
        out = []
        for r in reqs:
            if r.seq == 102:
                out.append(error(r, errno.EEXIST, msg="File exists"))
            else:
                out.append(ack(r))
        return [b"".join(out)]

    sock = FakeSocket(handler)
    b = Builder(4096)
    for seq in (101, 102, 103):
        b.begin(RTM_NEWLINK, NLM_F.REQUEST | NLM_F.ACK, seq=seq)
        b.put(link_body(f"v{seq}"))
        b.end()
    res = sock.request_many(b.view(), check=False)
    assert len(sock.sent) == 1
    assert [r.error for r in res] == [0, -errno.EEXIST, 0]
    assert [r.req_seq for r in res] == [101, 102, 103]
    with pytest.raises(NetlinkError) as ei:
        first = next(iter_messages(b.view())).len
        sock.request_many([b.view()[:first], b.view()[first:]], op="batch")
    assert ei.value.seq == 102 and ei.value.ext_msg == "File exists"
    assert not sock.queue


def test_request_many_rejects_missing_or_duplicate_seq() -> None:
    sock = FakeSocket(lambda reqs: None)
    dup = message(RTM_NEWLINK, b"", NLM_F.REQUEST | NLM_F.ACK, 5) * 2
    with pytest.raises(ValueError):
        sock.request_many(dup)
    with pytest.raises(ValueError):
        sock.request_many(message(RTM_NEWLINK, b"", NLM_F.REQUEST | NLM_F.ACK, 0))
    assert sock.sent == []


def test_request_raw_stamps_a_sequence_number() -> None:
    seen: list[int] = []

    def handler(reqs: list[Message]) -> bytes:
        seen.append(reqs[0].seq)
        return ack(reqs[0])

    sock = FakeSocket(handler)
    b = Builder(256)
    b.begin(RTM_NEWLINK, NLM_F.REQUEST | NLM_F.ACK)
    b.put(link_body("x"))
    b.end()
    sock.request_raw(b.view())
    assert seen[0] != 0 and next(iter_messages(b.view())).seq == seen[0]
    with pytest.raises(ValueError):
        sock.request_raw(message(RTM_NEWLINK, b"", NLM_F.REQUEST | NLM_F.ACK, 0))


def test_blocking_receive_with_nothing_queued_does_not_hang() -> None:
    sock = FakeSocket(lambda reqs: None)
    with pytest.raises(TimeoutError):
        sock.request(RTM_NEWLINK)
    assert sock.recv(block=False) == []


def test_sendto_records_destination_and_closed_fake_refuses_io() -> None:
    with FakeSocket() as sock:
        sock.sendto(message(0x10, b"hi"), portid=77, groups=4)
        assert sock.sent[0][1:] == (77, 4)
    sock.close()
    with pytest.raises(OSError):
        sock.send(b"x" * 16)


def test_helpers_build_valid_control_messages() -> None:
    req = next(iter_messages(message(RTM_GETLINK, b"abcd", NLM_F.REQUEST, 9, 3)))
    d = next(iter_messages(done(req)))
    assert d.type == NLMSG.DONE and d.flags & NLM_F.MULTI and d.seq == 9 and d.portid == 3
    a = next(iter_messages(ack(req)))
    assert a.type == NLMSG.ERROR and a.flags & NLM_F.CAPPED
    grams = dump_reply(req, [], per_datagram=4)
    assert len(grams) == 1 and next(iter_messages(grams[0])).type == NLMSG.DONE


def test_kept_notifications_are_bounded_and_loss_is_an_overrun() -> None:
    def handler(reqs: list[Message]) -> list[object]:
        notes: list[object] = [Datagram(message(RTM_NEWLINK, link_body(f"n{i}"), 0, 0), group=1) for i in range(5)]
        return notes + [ack(reqs[0])]

    sock = FakeSocket(handler)
    sock.pending_limit = 3
    sock.request(RTM_NEWLINK)
    with pytest.raises(Overrun) as ei:
        sock.recv(block=False)
    assert ei.value.count == 1 and sock.overruns == 1
    assert names(sock.recv(block=False)) == ["n2", "n3", "n4"]  # the newest were kept
    assert sock.recv(block=False) == []
