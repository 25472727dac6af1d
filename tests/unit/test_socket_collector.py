"""The pure reply state machines (ReplyCollector, AckCollector) and _sys batch plumbing."""

from __future__ import annotations

import errno
import mmap
import struct

import pytest

from netring import NLM_F, DumpInterrupted, Message, NetlinkError, _sys
from netring.codec import iter_messages
from netring.codec.reply import NOTIFY, OURS, STALE, AckCollector, ReplyCollector
from netring.conn import group_mask
from netring.testing import ack, done, error, message

ME = 77


def msg(type_: int = 0x10, flags: int = 0, seq: int = 5, portid: int = ME, body: bytes = b"") -> Message:
    return next(iter_messages(message(type_, body, flags, seq, portid)))


def req(seq: int = 5) -> Message:
    return msg(0x10, NLM_F.REQUEST | NLM_F.ACK, seq, 0)


@pytest.mark.parametrize(
    ("m", "sender", "group", "verdict"),
    [
        (msg(seq=5), 0, 0, OURS),
        (msg(seq=5, portid=0), 0, 0, OURS),  # port id 0 matches anything
        (msg(seq=5), 0, 3, NOTIFY),  # multicast, even with our seq
        (msg(seq=0, portid=0), 0, 0, NOTIFY),  # kernel notification
        (msg(seq=5), 1234, 0, NOTIFY),  # unicast from another process
        (msg(seq=6), 0, 0, STALE),  # the kernel answering another request
        (msg(seq=5, portid=ME + 1), 0, 0, STALE),  # our seq, someone else's port id
    ],
)
def test_classification_table(m: Message, sender: int, group: int, verdict: int) -> None:
    assert ReplyCollector(5, ME).classify(m, sender, group) == verdict


def test_collector_needs_a_nonzero_seq() -> None:
    with pytest.raises(ValueError):
        ReplyCollector(0, ME)


def test_ack_completes_and_then_the_collector_is_finished() -> None:
    c = ReplyCollector(5, ME)
    assert c.feed(msg(0x10, 0, 5)) == OURS and not c.done
    assert c.feed(next(iter_messages(ack(req())))) == OURS
    assert c.done and c.ack is not None and c.count == 1
    with pytest.raises(RuntimeError):
        c.feed(msg())


def test_error_raises_with_everything() -> None:
    c = ReplyCollector(5, ME, op="RTM_NEWROUTE")
    e = next(iter_messages(error(req(), errno.ENODEV, msg="no dev", offset=20)))
    with pytest.raises(NetlinkError) as ei:
        c.feed(e)
    assert (ei.value.errno, ei.value.op, ei.value.seq) == (errno.ENODEV, "RTM_NEWROUTE", 5)
    assert (ei.value.ext_msg, ei.value.ext_offset) == ("no dev", 20)
    assert c.done


def test_without_ack_a_single_reply_ends_but_multi_waits_for_done() -> None:
    c = ReplyCollector(5, ME, ack=False)
    c.feed(msg(flags=0))
    assert c.done
    c = ReplyCollector(5, ME, ack=False)
    c.feed(msg(flags=NLM_F.MULTI))
    assert not c.done
    c.feed(next(iter_messages(done(req()))))
    assert c.done


def test_dump_intr_is_raised_at_done_not_before() -> None:
    c = ReplyCollector(5, ME, dump=True)
    assert c.feed(msg(flags=NLM_F.MULTI | NLM_F.DUMP_INTR)) == OURS
    assert c.interrupted and not c.done
    assert c.feed(msg(flags=NLM_F.MULTI)) == OURS
    with pytest.raises(DumpInterrupted):
        c.feed(next(iter_messages(done(req()))))
    assert c.done


def test_dump_intr_on_done_alone_raises() -> None:
    c = ReplyCollector(5, ME, dump=True)
    with pytest.raises(DumpInterrupted):
        c.feed(next(iter_messages(done(req(), flags=NLM_F.MULTI | NLM_F.DUMP_INTR))))


def test_ack_collector_collects_per_seq_and_reports_extra_errors() -> None:
    c = AckCollector([1, 2], ME)
    assert not c.done
    assert c.feed(next(iter_messages(ack(req(2))))) == OURS
    assert c.feed(msg(seq=0, portid=0)) == NOTIFY
    assert c.feed(next(iter_messages(error(req(9), errno.EPERM)))) == OURS  # non-ACK message's error
    assert c.feed(next(iter_messages(error(req(1), errno.EEXIST)))) == OURS
    assert c.done
    assert c.results[1].error == -errno.EEXIST and c.results[2].error == 0
    assert [s for s, _ in c.extra_errors] == [9]
    assert AckCollector([], ME).done


def test_group_mask() -> None:
    assert group_mask(1) == 1 and group_mask(32) == 1 << 31
    with pytest.raises(ValueError):
        group_mask(33)


def test_parse_cmsgs_pktinfo_and_credentials() -> None:
    hdr = struct.Struct("=Qii")
    raw = hdr.pack(hdr.size + 4, _sys.SOL_NETLINK, _sys.NETLINK_PKTINFO) + struct.pack("=I", 7) + b"\0" * 4
    raw += hdr.pack(hdr.size + 12, _sys.SOL_SOCKET, _sys.SCM_CREDENTIALS) + struct.pack("=iII", 10, 20, 30) + b"\0" * 4
    got = _sys.parse_cmsgs(raw)
    assert [(lv, t) for lv, t, _ in got] == [(270, 3), (1, 2)]
    assert got[1][2] == struct.pack("=iII", 10, 20, 30)
    assert _sys.parse_cmsgs(raw[:10]) == []  # truncated header: nothing, no exception
    assert _sys.cmsg_space(4) == 24 and _sys.cmsg_space(12) == 32
    # the one netlink decoder, over parsed cmsgs and over socket.recvmsg's ancillary list
    assert _sys.decode_netlink_cmsgs(got) == (7, (10, 20, 30))
    assert _sys.decode_netlink_cmsgs(got[1:]) == (0, (10, 20, 30))
    assert _sys.decode_netlink_cmsgs([(270, 3, b"\x05\0")]) == (0, None)  # short data: ignored
    assert _sys.decode_netlink_cmsgs([]) == (0, None)


def test_batch_pins_regions_until_closed() -> None:
    buf = bytearray(64)
    batch = _sys.MMsgBatch([buf, memoryview(buf)[32:]])
    with pytest.raises(BufferError):
        buf.extend(b"x")
    assert len(batch) == 2 and len(batch.region(1)) == 32
    batch.close()
    batch.close()  # idempotent
    buf.extend(b"x")
    with pytest.raises(ValueError):
        batch.recv(0)


def test_batch_over_mmap_slices_must_be_closed_before_the_mmap() -> None:
    m = mmap.mmap(-1, 8192)
    mv = memoryview(m)
    batch = _sys.MMsgBatch([mv[:4096], mv[4096:]])
    mv.release()
    with pytest.raises(BufferError):
        m.close()
    batch.close()
    m.close()


def test_batch_rejects_bad_regions() -> None:
    with pytest.raises(ValueError):
        _sys.MMsgBatch([])
    with pytest.raises(ValueError):
        _sys.MMsgBatch([b"read-only"])
    with pytest.raises(ValueError):
        _sys.MMsgBatch([bytearray()])
    with _sys.MMsgBatch([bytearray(8)]) as b, pytest.raises(ValueError):
        b.recv(0, n=2)
