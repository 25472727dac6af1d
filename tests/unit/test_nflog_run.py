"""Runs of alike log messages as columns (``LogReader.take_run``): the same records and
counts as the per-message walk, or no run at all; and their pcap path byte-identical."""

from __future__ import annotations

import io
import struct
from array import array

import pytest

from netring.codec import NLMSG, Builder
from netring.errors import DecodeError, EncodeError
from netring.pcap.format import LINKTYPE
from netring.pcap.writer import PcapngWriter, PcapWriter
from netring.subsystems.nfnetlink.edge.log import Batch
from netring.subsystems.nfnetlink.log import NFULA, NFULNL_MSG_TYPE_PACKET, LogReader
from netring.subsystems.nfnetlink.log.run import RUN_MIN
from netring.subsystems.nfnetlink.structs import nfgenmsg

T0 = 1_700_000_000


def udp4(n: int, fill: int = 0) -> bytes:
    """An IPv4 header (total length n) and n - 20 bytes."""
    return bytes([0x45, 0, n >> 8, n & 0xFF]) + bytes(16) + bytes([fill]) * (n - 20)


def udp6(n: int) -> bytes:
    """An IPv6 header (payload length n - 40) and n - 40 bytes."""
    return bytes([0x60, 0, 0, 0, (n - 40) >> 8, (n - 40) & 0xFF]) + bytes(34) + b"\x07" * (n - 40)


def msg(i: int, *, payload: bytes | None = None, seq: int | None = None,
        prefix: str | None = None, ts: tuple[int, int] | None = None, group: int = 5,
        mark: int | None = None) -> bytes:
    b = Builder(70000)
    b.begin(NFULNL_MSG_TYPE_PACKET, 0)
    b.put_struct(nfgenmsg, 2, 0, group)
    b.attr(NFULA.PACKET_HDR, struct.pack("!HBx", 0x0800, 0))
    if mark is not None:
        b.attr_be32(NFULA.MARK, mark)
    if prefix is not None:
        b.attr_str(NFULA.PREFIX, prefix)
    b.attr(NFULA.TIMESTAMP, struct.pack("!QQ", *(ts or (T0 + i // 3, (i * 37_001) % 1_000_000))))
    if seq is not None:
        b.attr_be32(NFULA.SEQ, seq)
    b.attr(NFULA.PAYLOAD, udp4(92, i & 0xFF) if payload is None else payload)
    b.end()
    return b.tobytes()


DONE = struct.pack("=IHHII", 20, NLMSG.DONE, 0, 0, 0) + nfgenmsg.pack(0, 0, 5)


def flood(n: int = 40, **kw: object) -> bytes:
    return b"".join(msg(i, **kw) for i in range(n)) + DONE  # type: ignore[arg-type]


def learnt(data: bytes) -> tuple[LogReader, LogReader]:
    """Two readers that have seen one datagram of the same layout (the walk learns it)."""
    a, b = LogReader(), LogReader()
    for r in (a, b):
        r.expect(5, None)
        list(r.records(data))
    return a, b


def via_run(r: LogReader, data: bytes, limit: int | None = None) -> tuple[bool, list[object]]:
    run = r.take_run(data, limit)
    if run is None:
        return False, list(r.records(data))
    return True, list(run.records()) + (list(r.records(data, run.end)) if limit is None else [])


@pytest.mark.parametrize("kw", [{}, {"seq": None, "prefix": "in: "}, {"mark": 7},
                                {"payload": udp6(120)}])
def test_a_run_gives_the_records_and_counts_of_the_walk(kw: dict[str, object]) -> None:
    data = flood(40, **kw)
    a, b = learnt(data)
    took, got = via_run(b, data)
    assert took
    assert got == list(a.records(data))
    assert b.stats.to_dict() == a.stats.to_dict()
    assert b.stats.messages == 80 and b.stats.datagrams == 2


def test_sequence_numbers_follow_on_and_a_gap_before_the_run_is_counted() -> None:
    first = b"".join(msg(i, seq=i) for i in range(20)) + DONE
    later = b"".join(msg(i, seq=25 + i) for i in range(20)) + DONE  # 20..24 lost
    a, b = learnt(first)
    took, got = via_run(b, later)
    assert took and got == list(a.records(later))
    assert b.stats.seq_gaps == a.stats.seq_gaps == 5
    assert [r[-1] for r in got][:2] == [5, 0]
    assert b.stats.groups[5].next_seq == a.stats.groups[5].next_seq == 45


@pytest.mark.parametrize("case", ["gap inside", "longer one", "other attribute", "other prefix",
                                  "usec overflow", "sec beyond 32 bits", "few", "other group"])
def test_messages_that_differ_make_no_run_and_the_walk_decides(case: str) -> None:
    base = [msg(i, seq=i, prefix="p") for i in range(20)]
    msgs = list(base)
    if case == "gap inside":
        msgs[7] = msg(7, seq=70, prefix="p")
    elif case == "longer one":
        msgs[-1] = msg(19, seq=19, prefix="p", payload=udp4(96))
    elif case == "other attribute":
        other = bytearray(msg(3, seq=3, prefix="p"))  # same length: PACKET_HDR read as MARK
        struct.pack_into("=H", other, 22, NFULA.MARK)
        msgs[3] = bytes(other)
    elif case == "other prefix":
        msgs[5] = msg(5, seq=5, prefix="q")
    elif case == "usec overflow":
        msgs[2] = msg(2, seq=2, prefix="p", ts=(T0, 1_000_000))
    elif case == "sec beyond 32 bits":
        msgs[2] = msg(2, seq=2, prefix="p", ts=(1 << 32, 0))
    elif case == "few":
        msgs = msgs[:RUN_MIN - 1]
    elif case == "other group":
        msgs[4] = msg(4, seq=4, prefix="p", group=6)
    data = b"".join(msgs) + DONE
    a, b = learnt(b"".join(base) + DONE)
    took, got = via_run(b, data)
    assert not took
    assert got == list(a.records(data))
    assert b.stats.to_dict() == a.stats.to_dict()


def test_no_run_before_the_layout_is_known_nor_over_an_irregular_prefix() -> None:
    data = flood(20, prefix="x")
    assert LogReader().take_run(data) is None  # nothing learnt yet: the walk learns it
    bad = data.replace(b"x\0\0\0", b"xyzw")  # the prefix lost its NUL: records() raises
    a, b = learnt(data)
    assert b.take_run(bad) is None and b.stats.to_dict() == a.stats.to_dict()
    with pytest.raises(DecodeError):
        list(b.records(bad))


def test_a_limit_cuts_the_run() -> None:
    data = flood(40)
    _, b = learnt(data)
    run = b.take_run(data, 25)
    assert run is not None and run.count == 25 and b.stats.messages == 40 + 25


def test_ip_wire_lengths() -> None:
    _, b = learnt(flood(20))
    run = b.take_run(flood(20))
    assert run is not None and run.ip_wirelen() == (4, array("I", [92] * 20))
    d6 = flood(20, payload=udp6(120))
    _, b = learnt(d6)
    run = b.take_run(d6)
    assert run is not None and run.ip_wirelen() == (6, array("I", [120] * 20))
    odd = flood(20, payload=b"\x99" * 60)  # not IP
    _, b = learnt(odd)
    run = b.take_run(odd)
    assert run is not None and run.ip_wirelen() is None


def _pcap(packets: list[tuple[bytes, int, int]], cols: bool, snaplen: int = 0xFFFF,
          ns: bool = True) -> bytes:
    f = io.BytesIO()
    w = PcapWriter(f, int(LINKTYPE.RAW), snaplen, nanoseconds=ns)
    if cols:
        size = len(packets[0][0])
        buf = b"".join(d + b"\xee" * 8 for d, _, _ in packets)
        w.write_columns(array("I", [t // 10**9 for _, t, _ in packets]),
                        array("I", [t % 10**9 for _, t, _ in packets]),
                        array("I", [wl for _, _, wl in packets]), buf, 0, size + 8, size)
    else:
        w.write_many(packets)
    w.flush()
    return f.getvalue()


@pytest.mark.parametrize("snaplen,ns", [(0xFFFF, True), (50, True), (0xFFFF, False)])
def test_write_columns_writes_what_write_many_writes(snaplen: int, ns: bool) -> None:
    packets = [(bytes([i & 0xFF]) * 70, (T0 + i // 7) * 10**9 + i * 12_345, 70 + i) for i in range(300)]
    assert _pcap(packets, True, snaplen, ns) == _pcap(packets, False, snaplen, ns)


def test_write_columns_refuses_what_does_not_fit() -> None:
    w = PcapWriter(io.BytesIO(), int(LINKTYPE.RAW))
    one = array("I", [1])
    with pytest.raises(EncodeError, match="columns"):
        w.write_columns(one, array("I", [1, 2]), one, bytes(10), 0, 10, 10)
    with pytest.raises(EncodeError, match="outside"):
        w.write_columns(one * 2, one * 2, one * 2, bytes(15), 0, 10, 10)


def _pcapng(cols: bool, comment: str | None, snaplen: int = 0xFFFF, tsresol: int = 9) -> bytes:
    f = io.BytesIO()
    w = PcapngWriter(f)
    iface = w.add_interface(int(LINKTYPE.RAW), snaplen, tsresol=tsresol)
    packets = [(bytes([i & 0xFF]) * 70, (T0 + i // 7) * 10**9 + i * 12_345, 70 + i)
               for i in range(300)]
    if cols:
        buf = b"".join(d + b"\xee" * 8 for d, _, _ in packets)
        w.write_columns(array("I", [t // 10**9 for _, t, _ in packets]),
                        array("I", [t % 10**9 for _, t, _ in packets]),
                        array("I", [wl for _, _, wl in packets]), buf, 0, 78, 70, iface,
                        comment=comment)
    else:
        for d, t, wl in packets:
            w.write(d, t, wl, iface, comment=comment)
    w.flush()
    return f.getvalue()


@pytest.mark.parametrize("comment,snaplen,tsresol", [(None, 0xFFFF, 9), ("in: ", 0xFFFF, 9),
                                                     ("x", 50, 9), (None, 0xFFFF, 6)])
def test_pcapng_write_columns_writes_what_write_writes(comment: str | None, snaplen: int,
                                                       tsresol: int) -> None:
    assert _pcapng(True, comment, snaplen, tsresol) == _pcapng(False, comment, snaplen, tsresol)


@pytest.mark.parametrize("pcapng", [False, True])
def test_the_capture_sink_writes_the_same_file_either_way(pcapng: bool) -> None:
    from netring.subsystems.nfnetlink.log.capture import CaptureSink

    datagrams = [flood(30, seq=None), flood(30), flood(30, payload=udp6(100)),
                 flood(30, payload=b"\x99" * 40), flood(5), flood(30, prefix="in: "),
                 flood(30, prefix="")]
    seqs = [b"".join(msg(i, seq=s + i, prefix="p") for i in range(20)) + DONE
            for s in (0, 20, 47, 67)]  # 40..46 lost: the third run starts after a gap
    now = T0 * 10**9 + 5

    def write(use_runs: bool) -> bytes:
        f = io.BytesIO()
        w: PcapWriter | PcapngWriter = PcapngWriter(f) if pcapng else \
            PcapWriter(f, int(LINKTYPE.RAW), 0xFFFF)
        sink = CaptureSink(w, pcapng, [5], 0xFFFF)
        r = LogReader()
        for d in datagrams * 2 + seqs:
            if use_runs:
                sink.write_datagram(Batch(memoryview(d), r, False), now)
            else:
                sink.write_batch(r.records(d), memoryview(d), now)
        w.flush()
        return f.getvalue()

    assert write(True) == write(False)
