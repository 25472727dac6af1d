"""The capture reader on hand-built files: both byte orders, several sections,
timestamp resolutions, every block kind, and each malformation as a DecodeError
with its offset."""

from __future__ import annotations

import io
import mmap
import struct

import pytest

from netring import DecodeError
from netring.pcap import (
    LINKTYPE,
    PCAP_MAGIC_NS,
    PCAP_MAGIC_US,
    PCAPNG_BLOCK,
    PCAPNG_BYTE_ORDER_MAGIC,
    PCAPNG_VERDICT_TYPE,
    CaptureReader,
    PcapHeader,
    PcapngWriter,
    PcapWriter,
    Section,
    parse_verdict,
    read_capture,
    read_file_header,
)
from netring.pcap.format import PCAPNG_EPB_OPT, PCAPNG_IDB_OPT, PCAPNG_ISB_OPT, PCAPNG_OPT

TS = 1_700_000_000_123_456_789


def pcap_file(order: str, ns: bool, records: list[tuple[int, int, bytes, int]],
              linktype: int = LINKTYPE.ETHERNET, major: int = 2) -> bytes:
    magic = PCAP_MAGIC_NS if ns else PCAP_MAGIC_US
    out = struct.pack(order + "IHHiIII", magic, major, 4, 0, 0, 65535, linktype)
    for sec, frac, data, wirelen in records:
        out += struct.pack(order + "IIII", sec, frac, len(data), wirelen) + data
    return out


class NG:
    """Builds pcapng blocks in a chosen byte order."""

    def __init__(self, order: str) -> None:
        self.o = order

    def opt(self, code: int, value: bytes) -> bytes:
        return struct.pack(self.o + "HH", code, len(value)) + value + bytes(-len(value) & 3)

    def opts(self, *pairs: tuple[int, bytes]) -> bytes:
        return b"".join(self.opt(c, v) for c, v in pairs) + (b"\0" * 4 if pairs else b"")

    def block(self, btype: int, body: bytes) -> bytes:
        body += bytes(-len(body) & 3)
        total = 12 + len(body)
        return struct.pack(self.o + "II", btype, total) + body + struct.pack(self.o + "I", total)

    def shb(self, *opts: tuple[int, bytes], major: int = 1) -> bytes:
        return self.block(PCAPNG_BLOCK.SECTION_HEADER,
                          struct.pack(self.o + "IHHq", PCAPNG_BYTE_ORDER_MAGIC, major, 0, -1)
                          + self.opts(*opts))

    def idb(self, linktype: int, snaplen: int = 0, *opts: tuple[int, bytes]) -> bytes:
        return self.block(PCAPNG_BLOCK.INTERFACE_DESCRIPTION,
                          struct.pack(self.o + "HHI", linktype, 0, snaplen) + self.opts(*opts))

    def epb(self, interface: int, ts: int, data: bytes, wirelen: int | None = None,
            *opts: tuple[int, bytes]) -> bytes:
        body = struct.pack(self.o + "IIIII", interface, ts >> 32, ts & 0xFFFFFFFF, len(data),
                           len(data) if wirelen is None else wirelen)
        return self.block(PCAPNG_BLOCK.ENHANCED_PACKET,
                          body + data + bytes(-len(data) & 3) + self.opts(*opts))

    def u32(self, v: int) -> bytes:
        return struct.pack(self.o + "I", v)

    def u64(self, v: int) -> bytes:
        return struct.pack(self.o + "Q", v)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("ns", [True, False])
def test_pcap_both_byte_orders_and_resolutions(order: str, ns: bool) -> None:
    frac = 123_456_789 if ns else 123_456
    data = pcap_file(order, ns, [(1_700_000_000, frac, b"hello", 60),
                                 (1_700_000_001, 0, b"", 0)], linktype=LINKTYPE.LINUX_SLL2)
    r = CaptureReader(data)
    assert r.format == "pcap"
    assert isinstance(r.header, PcapHeader)
    assert (r.header.big_endian, r.header.nanoseconds, r.header.snaplen, r.header.linktype) == \
        (order == ">", ns, 65535, LINKTYPE.LINUX_SLL2)
    a, b = r
    assert (a.ts_ns, a.caplen, a.wirelen, a.linktype, bytes(a.data)) == \
        (TS if ns else TS // 1000 * 1000, 5, 60, LINKTYPE.LINUX_SLL2, b"hello")
    assert (b.ts_ns, b.caplen, bytes(b.data)) == (1_700_000_001 * 10**9, 0, b"")
    assert a.flags is None and a.comments == () and a.verdict is None
    assert r.interfaces[0].linktype == LINKTYPE.LINUX_SLL2


def test_pcap_linktype_word_fcs_bits() -> None:
    word = LINKTYPE.ETHERNET | 0x04000000 | 2 << 28  # P bit, 2 16-bit words of FCS
    h = read_file_header(pcap_file("<", True, [], linktype=word))
    assert isinstance(h, PcapHeader) and (h.linktype, h.fcslen) == (1, 4)


def test_record_data_is_a_view_into_the_buffer() -> None:
    buf = bytearray(pcap_file("<", True, [(1, 2, b"abcd", 4)]))
    (rec,) = read_capture(buf)
    assert isinstance(rec.data, memoryview) and rec.data.obj is buf
    buf[-1] = ord("X")
    assert bytes(rec.data) == b"abcX"


def test_reader_takes_file_objects_memoryviews_and_mmaps(tmp_path: object) -> None:
    data = pcap_file("<", True, [(1, 2, b"abcd", 4)])
    assert bytes(next(read_capture(io.BytesIO(data))).data) == b"abcd"
    assert bytes(next(read_capture(memoryview(data))).data) == b"abcd"
    m = mmap.mmap(-1, len(data))
    m.write(data)
    recs = list(read_capture(m))
    assert bytes(recs[0].data) == b"abcd"
    del recs
    m.close()
    with pytest.raises(TypeError):
        read_capture(12345)


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_options_in_either_byte_order(order: str) -> None:
    g = NG(order)
    tc = bytes([PCAPNG_VERDICT_TYPE.LINUX_EBPF_TC]) + struct.pack(order + "q", -1)
    data = (g.shb((PCAPNG_OPT.COMMENT, b"sec"), (4, b"app"))
            + g.idb(LINKTYPE.ETHERNET, 1500, (PCAPNG_IDB_OPT.NAME, b"eth0"),
                    (PCAPNG_IDB_OPT.TSRESOL, b"\x09"),
                    (PCAPNG_IDB_OPT.SPEED, g.u64(10**9)))
            + g.epb(0, TS, b"abcde", 70, (PCAPNG_EPB_OPT.FLAGS, g.u32(0x01000005)),
                    (PCAPNG_EPB_OPT.DROPCOUNT, g.u64(9)), (PCAPNG_EPB_OPT.QUEUE, g.u32(3)),
                    (PCAPNG_EPB_OPT.PACKETID, g.u64(77)), (PCAPNG_EPB_OPT.VERDICT, tc),
                    (PCAPNG_EPB_OPT.HASH, b"\x02abcd"), (PCAPNG_EPB_OPT.HASH, b"\x03second"),
                    (PCAPNG_EPB_OPT.PROCESSID_THREADID, g.u64(5)),
                    (0x8123, b"local option"), (PCAPNG_OPT.COMMENT, b"c1"),
                    (PCAPNG_OPT.COMMENT, b"c2\0ignored")))
    r = CaptureReader(data)
    (rec,) = r
    assert (rec.ts_ns, rec.caplen, rec.wirelen, bytes(rec.data)) == (TS, 5, 70, b"abcde")
    assert (rec.flags, rec.dropcount, rec.queue, rec.packetid, rec.hash) == \
        (0x01000005, 9, 3, 77, b"\x02abcd")
    assert rec.direction == 1 and rec.reception == 1
    assert rec.verdicts == [(PCAPNG_VERDICT_TYPE.LINUX_EBPF_TC, -1)]
    assert rec.comments == ("c1", "c2")
    (s,) = r.sections
    assert (s.big_endian, s.comments, s.application) == (order == ">", ("sec",), "app")
    assert (r.interfaces[0].name, r.interfaces[0].speed, r.interfaces[0].snaplen) == \
        ("eth0", 10**9, 1500)


def test_sections_of_both_orders_keep_their_own_interfaces() -> None:
    le, be = NG("<"), NG(">")
    data = (le.shb() + le.idb(LINKTYPE.ETHERNET) + le.idb(LINKTYPE.RAW)
            + le.epb(1, 5, b"one")
            + be.shb() + be.idb(LINKTYPE.NFLOG) + be.epb(0, 6, b"two")
            + be.block(PCAPNG_BLOCK.INTERFACE_STATISTICS,
                       struct.pack(">III", 0, 0, 7) + be.opts((PCAPNG_ISB_OPT.IFRECV,
                                                               be.u64(11)))))
    r = CaptureReader(data)
    a, b = r
    assert (a.interface, a.linktype, a.ts_ns, bytes(a.data)) == (1, LINKTYPE.RAW, 5000, b"one")
    assert (b.interface, b.linktype, b.ts_ns, bytes(b.data)) == (0, LINKTYPE.NFLOG, 6000,
                                                                 b"two")
    assert [s.big_endian for s in r.sections] == [False, True]
    assert [len(s.interfaces) for s in r.sections] == [2, 1]
    assert [(i.section, i.id) for i in r.interfaces] == [(0, 0), (0, 1), (1, 0)]
    (st,) = r.stats
    assert (st.section, st.interface, st.ts_ns, st.received) == (1, 0, 7000, 11)
    # iterating again starts afresh
    assert len(list(r)) == 2 and len(r.interfaces) == 3


@pytest.mark.parametrize("tsresol,units,want", [
    (b"\x06", 1_700_000_000_123_456, TS // 1000 * 1000),
    (b"\x03", 1_700_000_000_123, TS // 10**6 * 10**6),
    (b"\x00", 1_700_000_000, 1_700_000_000 * 10**9),
    (b"\x0a", TS * 10 + 7, TS),
    (b"\x8a", 1024 * 3 + 512, 3_500_000_000),  # 2**-10 s
    (b"\x9e", (1 << 30) + 1, 1_000_000_001),  # 2**-30 s, rounded to the nearest ns
    (b"\xc0", 1 << 63, 500_000_000),  # 2**-64 s
])
def test_tsresol_powers_of_ten_and_two(tsresol: bytes, units: int, want: int) -> None:
    g = NG("<")
    data = g.shb() + g.idb(1, 0, (PCAPNG_IDB_OPT.TSRESOL, tsresol)) + g.epb(0, units, b"x")
    assert next(read_capture(data)).ts_ns == want


def test_tsoffset_adds_seconds() -> None:
    g = NG("<")
    data = g.shb() + g.idb(1, 0, (PCAPNG_IDB_OPT.TSOFFSET, g.u64(1_700_000_000))) \
        + g.epb(0, 5, b"x")
    assert next(read_capture(data)).ts_ns == 1_700_000_000 * 10**9 + 5000


def test_simple_and_obsolete_packet_blocks_and_skipped_blocks() -> None:
    g = NG("<")
    spb = g.block(PCAPNG_BLOCK.SIMPLE_PACKET, g.u32(10) + b"0123456789")
    spb_cut = g.block(PCAPNG_BLOCK.SIMPLE_PACKET, g.u32(100) + b"abcd")  # snaplen 4
    pb = g.block(PCAPNG_BLOCK.PACKET, struct.pack("<HHIIII", 0, 3, 0, 1000, 2, 2) + b"pb\0\0"
                 + g.opts((2, g.u32(2))))
    pb_nodrops = g.block(PCAPNG_BLOCK.PACKET, struct.pack("<HHIIII", 0, 0xFFFF, 0, 1, 1, 1)
                         + b"q\0\0\0")
    nrb = g.block(PCAPNG_BLOCK.NAME_RESOLUTION, b"\0" * 4)
    custom = g.block(PCAPNG_BLOCK.CUSTOM, g.u32(32473) + b"data")
    data = g.shb() + g.idb(1) + spb + nrb + pb + custom + pb_nodrops
    a, b, c = read_capture(data)
    assert (a.ts_ns, a.caplen, a.wirelen, bytes(a.data)) == (0, 10, 10, b"0123456789")
    assert (b.ts_ns, bytes(b.data), b.dropcount, b.flags) == (1_000_000, b"pb", 3, 2)
    assert c.dropcount is None
    d = g.shb() + g.idb(1, 4) + spb_cut
    (rec,) = read_capture(d)
    assert (rec.caplen, rec.wirelen, bytes(rec.data)) == (4, 100, b"abcd")


def test_read_file_header() -> None:
    g = NG(">")
    s = read_file_header(g.shb((3, b"Linux")) + g.idb(1))
    assert isinstance(s, Section) and s.big_endian and s.os == "Linux"
    with pytest.raises(DecodeError):
        read_file_header(g.shb()[:20])


def test_parse_verdict() -> None:
    assert parse_verdict(b"\x02" + struct.pack(">Q", 1), big_endian=True) == \
        (PCAPNG_VERDICT_TYPE.LINUX_EBPF_XDP, 1)
    assert parse_verdict(b"\x09abc") == (9, b"abc")
    for bad in (b"", b"\x01\x00"):
        with pytest.raises(DecodeError):
            parse_verdict(bad)


def test_invalid_utf8_in_a_comment_is_replaced_not_fatal() -> None:
    g = NG("<")
    data = g.shb() + g.idb(1) + g.epb(0, 1, b"x", None, (PCAPNG_OPT.COMMENT, b"ok\xff"))
    assert next(read_capture(data)).comments == ("ok\ufffd",)


def _le_file() -> bytes:
    g = NG("<")
    return g.shb() + g.idb(1) + g.epb(0, 1, b"abcdef")


def _at(data: bytes, off: int, value: bytes) -> bytes:
    return data[:off] + value + data[off + len(value):]


SHB = 28  # an option-less section header block
IDB = 20  # an option-less interface description block

MALFORMED = {
    "short": (b"\xd4\xc3", 0),
    "unknown magic": (b"GIF89a......", 0),
    "pcap header truncated": (pcap_file("<", True, [])[:20], 0),
    "pcap version": (pcap_file("<", True, [], major=3), 4),
    "pcap record header truncated": (pcap_file("<", True, [(1, 2, b"ab", 2)])[:30], 24),
    "pcap record data truncated": (pcap_file("<", True, [(1, 2, b"abcd", 4)])[:-1], 24),
    "block length not a multiple of 4": (_at(_le_file(), SHB + 4, struct.pack("<I", 21)),
                                         SHB + 4),
    "block length below 12": (_at(_le_file(), SHB + 4, struct.pack("<I", 8)), SHB + 4),
    "block past the end": (_le_file()[:-4], SHB + IDB),
    "trailer differs": (_at(_le_file(), SHB + IDB - 4, struct.pack("<I", 24)), SHB + IDB - 4),
    "bad byte-order magic": (_at(_le_file(), 8, b"\0\0\0\0"), 8),
    "pcapng version": (NG("<").shb(major=2), 12),
    "packet for an unknown interface": (NG("<").shb() + NG("<").epb(0, 1, b"x"), SHB + 8),
    "caplen past the block": (_at(_le_file(), SHB + IDB + 20, struct.pack("<I", 99)),
                              SHB + IDB + 20),
    "option past the block": (NG("<").shb() + NG("<").block(
        1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH", 2, 200)), SHB + 16),
    "fixed option of the wrong length": (NG("<").shb() + NG("<").idb(
        1, 0, (PCAPNG_IDB_OPT.TSRESOL, b"\x06\x06")), SHB + 16),
    "epb_flags of 2 bytes": (NG("<").shb() + NG("<").idb(1) + NG("<").epb(
        0, 1, b"", None, (PCAPNG_EPB_OPT.FLAGS, b"\0\0")), SHB + IDB + 28),
    "empty verdict": (NG("<").shb() + NG("<").idb(1) + NG("<").epb(
        0, 1, b"", None, (PCAPNG_EPB_OPT.VERDICT, b"")), SHB + IDB + 28),
    "xdp verdict of 5 bytes": (NG("<").shb() + NG("<").idb(1) + NG("<").epb(
        0, 1, b"", None, (PCAPNG_EPB_OPT.VERDICT, b"\x02\0\0\0\0")), SHB + IDB + 28),
    "isb counter of 4 bytes": (NG("<").shb() + NG("<").idb(1) + NG("<").block(
        PCAPNG_BLOCK.INTERFACE_STATISTICS, struct.pack("<III", 0, 0, 0)
        + NG("<").opts((PCAPNG_ISB_OPT.IFDROP, b"\0" * 4))), SHB + IDB + 20),
    "block header truncated": (_le_file() + b"\0" * 8, SHB + IDB + 40),
    "section header truncated": (NG("<").shb()[:20], 0),
    "idb body too short": (NG("<").shb() + NG("<").block(1, b"\0\0\0\0"), SHB),
    "epb body too short": (NG("<").shb() + NG("<").idb(1) + NG("<").block(6, b"\0" * 16),
                           SHB + IDB),
    "isb for an unknown interface": (NG("<").shb() + NG("<").block(
        5, struct.pack("<III", 0, 0, 0)), SHB + 8),
    "simple packet block shorter than its packet": (NG("<").shb() + NG("<").idb(1)
                                                    + NG("<").block(3, struct.pack("<I", 9)
                                                                    + b"1234"), SHB + IDB),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_files_raise_decode_error_at_the_offset(name: str) -> None:
    data, offset = MALFORMED[name]
    with pytest.raises(DecodeError) as e:
        list(read_capture(data))
    assert e.value.offset == offset, (name, str(e.value))


def test_records_before_a_fault_are_yielded() -> None:
    data = pcap_file("<", True, [(1, 2, b"good", 4), (1, 3, b"bad", 3)])[:-1]
    it = read_capture(data)
    assert bytes(next(it).data) == b"good"
    with pytest.raises(DecodeError):
        next(it)


def test_writer_output_reads_back_in_both_formats() -> None:
    for make in ("pcap", "pcapng"):
        f = io.BytesIO()
        if make == "pcap":
            w: PcapWriter | PcapngWriter = PcapWriter(f, LINKTYPE.ETHERNET)
        else:
            w = PcapngWriter(f)
            w.add_interface(LINKTYPE.ETHERNET)
        with w:
            w.write(b"abc", TS)
        (rec,) = read_capture(f.getvalue())
        assert (bytes(rec.data), rec.ts_ns, rec.linktype) == (b"abc", TS, LINKTYPE.ETHERNET)
