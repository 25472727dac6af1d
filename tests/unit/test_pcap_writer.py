"""pcap and pcapng writers: exact bytes against hand-built records, buffering,
options, errors, and the bulk path matching the per-packet one."""

from __future__ import annotations

import io
import struct

import pytest

from netring import EncodeError
from netring.pcap import (
    LINKTYPE,
    PCAP_MAGIC_NS,
    PCAP_MAGIC_US,
    PCAPNG_BLOCK,
    PCAPNG_EPB_DIRECTION,
    PCAPNG_EPB_FLAG,
    PCAPNG_EPB_RECEPTION,
    PCAPNG_HASH,
    PCAPNG_TSRESOL_BASE2,
    PCAPNG_VERDICT_TYPE,
    CaptureReader,
    PcapngWriter,
    PcapWriter,
    epb_flags,
    make_verdict,
    open_writer,
    read_capture,
)
from netring.pcap.format import PCAPNG_EPB_OPT, PCAPNG_OPT

TS = 1_700_000_000_123_456_789


class Chunks:
    """A file object that records every write as a separate chunk."""

    def __init__(self, short: int | None = None) -> None:
        self.chunks: list[bytes] = []
        self.flushes = 0
        self.short = short  # accept at most this many bytes per call, like a raw file

    def write(self, data: memoryview) -> int:
        b = bytes(data if self.short is None else data[:self.short])
        self.chunks.append(b)
        return len(b)

    def flush(self) -> None:
        self.flushes += 1

    def getvalue(self) -> bytes:
        return b"".join(self.chunks)


def pcap_record(sec: int, frac: int, data: bytes, wirelen: int | None = None) -> bytes:
    return struct.pack("=IIII", sec, frac, len(data), len(data) if wirelen is None else wirelen) \
        + data


def epb(interface: int, ts: int, data: bytes, wirelen: int | None = None,
        opts: bytes = b"") -> bytes:
    body = struct.pack("=IIIII", interface, ts >> 32, ts & 0xFFFFFFFF, len(data),
                       len(data) if wirelen is None else wirelen)
    body += data + bytes(-len(data) & 3) + opts
    total = 12 + len(body)
    return struct.pack("=II", PCAPNG_BLOCK.ENHANCED_PACKET, total) + body \
        + struct.pack("=I", total)


def option(code: int, value: bytes) -> bytes:
    return struct.pack("=HH", code, len(value)) + value + bytes(-len(value) & 3)


# -- pcap ---------------------------------------------------------------------------------


def test_pcap_header_is_written_at_once_with_the_nanosecond_magic() -> None:
    f = Chunks()
    PcapWriter(f, LINKTYPE.ETHERNET, 1500)
    assert f.chunks == [struct.pack("=IHHiIII", PCAP_MAGIC_NS, 2, 4, 0, 0, 1500, 1)]


def test_pcap_records_are_exact_in_ns_and_us() -> None:
    for ns, frac in ((True, 123_456_789), (False, 123_456)):
        f = io.BytesIO()
        with PcapWriter(f, LINKTYPE.RAW, nanoseconds=ns) as w:
            w.write(b"abc", TS)
            w.write(memoryview(b"defgh"), TS + 1_000_000_000, wirelen=90)
        magic = PCAP_MAGIC_NS if ns else PCAP_MAGIC_US
        assert f.getvalue() == (struct.pack("=IHHiIII", magic, 2, 4, 0, 0, 262144, 101)
                                + pcap_record(1_700_000_000, frac, b"abc")
                                + pcap_record(1_700_000_001, frac, b"defgh", 90))


def test_pcap_snaplen_cuts_data_and_keeps_the_wire_length() -> None:
    f = io.BytesIO()
    with PcapWriter(f, LINKTYPE.ETHERNET, snaplen=4) as w:
        w.write(b"0123456789", TS)
    assert f.getvalue()[24:] == pcap_record(1_700_000_000, 123_456_789, b"0123", 10)


def test_pcap_timestamps_going_back_across_seconds_are_right() -> None:
    stamps = [TS, TS + 2_000_000_000, TS - 5, TS + 999, 0, (1 << 32) * 10**9 - 1]
    f = io.BytesIO()
    with PcapWriter(f, LINKTYPE.ETHERNET) as w:
        for t in stamps:
            w.write(b"x", t)
    want = b"".join(pcap_record(t // 10**9, t % 10**9, b"x") for t in stamps)
    assert f.getvalue()[24:] == want


def test_pcap_buffers_until_full_and_flushes_in_buffer_sized_chunks() -> None:
    f = Chunks()
    w = PcapWriter(f, LINKTYPE.ETHERNET, bufsize=4096)
    pkt = bytes(range(64))
    for i in range(200):  # 80 bytes each: 51 records fill a 4096-byte buffer
        w.write(pkt, TS + i)
    assert len(f.chunks) == 1 + 3  # the header, then three full buffers
    assert all(len(c) <= 4096 for c in f.chunks[1:])
    assert w.bytes == 24 + 200 * 80 and w.packets == 200
    w.flush()
    assert f.flushes == 1 and len(f.getvalue()) == 24 + 200 * 80
    assert [bytes(r.data) for r in read_capture(f.getvalue())] == [pkt] * 200


def test_pcap_packet_larger_than_the_buffer_keeps_its_place() -> None:
    f = Chunks()
    big = bytes(range(256)) * 40  # 10240 bytes > 4096
    with PcapWriter(f, LINKTYPE.ETHERNET, bufsize=4096) as w:
        w.write(b"first", TS)
        w.write(big, TS + 1)
        w.write(b"last", TS + 2)
    assert [bytes(r.data) for r in read_capture(f.getvalue())] == [b"first", big, b"last"]


def test_short_writes_are_followed_to_the_end() -> None:
    f = Chunks(short=7)
    with PcapWriter(f, LINKTYPE.ETHERNET, bufsize=4096) as w:
        for i in range(100):
            w.write(b"payload-%d" % i, TS + i)
    assert [bytes(r.data) for r in read_capture(f.getvalue())] == \
        [b"payload-%d" % i for i in range(100)]


def test_a_file_that_accepts_nothing_is_an_error_not_a_loop() -> None:
    class Stuck:
        def write(self, data: memoryview) -> int:
            return 0

    with pytest.raises(BlockingIOError):
        PcapWriter(Stuck(), LINKTYPE.ETHERNET)


def test_close_flushes_but_leaves_the_file_open_and_refuses_more() -> None:
    f = io.BytesIO()
    w = PcapWriter(f, LINKTYPE.ETHERNET)
    w.write(b"x", TS)
    w.close()
    w.close()
    assert not f.closed and len(f.getvalue()) == 24 + 17
    with pytest.raises(EncodeError, match="closed"):
        w.write(b"y", TS)
    with pytest.raises(EncodeError, match="closed"):
        w.write_many([(b"y", TS, None)])


def test_a_failed_file_write_poisons_the_writer() -> None:
    class Full:
        def __init__(self) -> None:
            self.calls = 0

        def write(self, data: memoryview) -> int:
            self.calls += 1
            if self.calls > 1:
                raise OSError(28, "No space left on device")
            return len(data)

    w = PcapWriter(Full(), LINKTYPE.ETHERNET, bufsize=4096)
    with pytest.raises(OSError):
        for i in range(1000):
            w.write(bytes(64), TS + i)
    with pytest.raises(EncodeError, match="failed write"):
        w.write(b"x", TS)
    w.close()  # nothing more reaches the file


@pytest.mark.parametrize("ts", [-1, (1 << 32) * 10**9, 1.5])
def test_pcap_timestamps_out_of_range_are_encode_errors(ts: object) -> None:
    w = PcapWriter(io.BytesIO(), LINKTYPE.ETHERNET)
    with pytest.raises(EncodeError, match="ts_ns"):
        w.write(b"x", ts)  # type: ignore[arg-type]
    assert w.packets == 0


def test_pcap_caller_mistakes_are_encode_errors() -> None:
    with pytest.raises(EncodeError, match="file object"):
        PcapWriter("out.pcap", LINKTYPE.ETHERNET)  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match="snaplen"):
        PcapWriter(io.BytesIO(), LINKTYPE.ETHERNET, snaplen=0)
    with pytest.raises(EncodeError, match="bufsize"):
        PcapWriter(io.BytesIO(), LINKTYPE.ETHERNET, bufsize=100)
    w = PcapWriter(io.BytesIO(), LINKTYPE.ETHERNET)
    with pytest.raises(EncodeError, match="wirelen"):
        w.write(b"x", TS, wirelen=-1)
    with pytest.raises(EncodeError, match="flat buffers of bytes"):
        w.write(memoryview(struct.pack("=II", 1, 2)).cast("I"), TS)
    assert w.packets == 0


def test_pcap_write_many_matches_write_for_every_path() -> None:
    big = bytes(5000)
    packets = [(bytes([i % 256]) * (i % 300), TS + i * 7_000_000, None if i % 3 else i + 1000)
               for i in range(600)]
    packets[10] = (big, TS - 3_000_000_000, None)  # larger than the buffer, earlier second
    packets[11] = (b"z" * 70000, TS, None)  # cut by the snaplen below
    for ns in (True, False):
        one, many = io.BytesIO(), io.BytesIO()
        with PcapWriter(one, LINKTYPE.ETHERNET, 65535, nanoseconds=ns, bufsize=4096) as w:
            for p in packets:
                w.write(*p)
        with PcapWriter(many, LINKTYPE.ETHERNET, 65535, nanoseconds=ns, bufsize=4096) as m:
            assert m.write_many(iter(packets)) == len(packets)
            assert m.packets == len(packets) and m.bytes == w.bytes
        assert many.getvalue() == one.getvalue()


def test_write_many_refuses_data_whose_len_is_not_its_bytes() -> None:
    words = memoryview(struct.pack("=II", 1, 2)).cast("I")  # len 2, 8 bytes
    f, g = io.BytesIO(), io.BytesIO()
    w = PcapWriter(f, LINKTYPE.ETHERNET)
    n = PcapngWriter(g)
    n.add_interface(LINKTYPE.ETHERNET)
    for writer, out in ((w, f), (n, g)):
        writer.write(b"first", TS)  # the second is known: the bulk path takes the rest
        with pytest.raises(EncodeError, match="flat buffers of bytes"):
            writer.write_many([(b"ok", TS, None), (words, TS, None), (b"never", TS, None)])
        assert writer.packets == 2
        writer.close()
        assert [bytes(r.data) for r in read_capture(out.getvalue())] == [b"first", b"ok"]


def test_write_many_takes_a_generator_longer_than_a_chunk() -> None:
    f = io.BytesIO()
    with PcapngWriter(f, bufsize=4096) as w:
        w.add_interface(LINKTYPE.ETHERNET)
        assert w.write_many((bytes([i % 256]) * 50, TS + i, None) for i in range(3000)) == 3000
    recs = list(read_capture(f.getvalue()))
    assert [(bytes(r.data), r.ts_ns) for r in recs] == \
        [(bytes([i % 256]) * 50, TS + i) for i in range(3000)]


def test_pcap_write_many_stops_cleanly_on_a_bad_record() -> None:
    f = io.BytesIO()
    w = PcapWriter(f, LINKTYPE.ETHERNET)
    with pytest.raises(EncodeError):
        w.write_many([(b"a", TS, None), (b"b", -5, None), (b"c", TS, None)])
    assert w.packets == 1
    w.close()
    assert [bytes(r.data) for r in read_capture(f.getvalue())] == [b"a"]


# -- pcapng -------------------------------------------------------------------------------


def test_pcapng_epb_without_options_is_exact() -> None:
    f = io.BytesIO()
    with PcapngWriter(f, application=None) as w:
        assert w.add_interface(LINKTYPE.ETHERNET, 1500, tsresol=6) == 0
        assert w.add_interface(LINKTYPE.RAW) == 1
        for n in range(5):  # every padding length
            w.write(b"d" * n, TS, interface=1)
        w.write(b"abcde", TS, 99, interface=0)
    data = f.getvalue()
    shb_len = 28  # no options: the fixed 24 bytes and the trailer
    idb0 = struct.pack("=IIHHI", 1, 20, 1, 0, 1500) + struct.pack("=I", 20)  # 6: no if_tsresol
    assert data[shb_len:shb_len + 20] == idb0
    idb1 = struct.pack("=IIHHI", 1, 32, LINKTYPE.RAW, 0, 262144) + option(9, b"\x09") \
        + b"\0\0\0\0" + struct.pack("=I", 32)
    off = shb_len + 20
    assert data[off:off + 32] == idb1
    off += 32
    want = b"".join(epb(1, TS, b"d" * n) for n in range(5)) + epb(0, TS // 1000, b"abcde", 99)
    assert data[off:] == want


def test_pcapng_shb_and_idb_options_read_back() -> None:
    f = io.BytesIO()
    with PcapngWriter(f, shb_comment="made for a test", hardware="x86_64", os_name="Linux") as w:
        w.add_interface(LINKTYPE.ETHERNET, name="veth0", description="left side", fcslen=32,
                        comment="first")
        w.add_interface(LINKTYPE.NFLOG, 0, tsresol=PCAPNG_TSRESOL_BASE2 | 30)
    r = CaptureReader(f.getvalue())
    assert list(r) == []
    (s,) = r.sections
    assert (s.comments, s.hardware, s.os, s.application) == (("made for a test",), "x86_64",
                                                            "Linux", "netring")
    a, b = r.interfaces
    assert (a.name, a.description, a.fcslen, a.comments, a.tsresol) == \
        ("veth0", "left side", 32, ("first",), 9)
    assert (b.linktype, b.snaplen, b.tsresol) == (LINKTYPE.NFLOG, 0, 0x80 | 30)


def test_pcapng_every_epb_option_round_trips() -> None:
    f = io.BytesIO()
    word = epb_flags(reception=PCAPNG_EPB_RECEPTION.MULTICAST, fcslen=4,
                     flags=PCAPNG_EPB_FLAG.CRC_ERROR | PCAPNG_EPB_FLAG.CHECKSUM_VALID)
    verdicts = [make_verdict(PCAPNG_VERDICT_TYPE.LINUX_EBPF_TC, -1),
                make_verdict(PCAPNG_VERDICT_TYPE.LINUX_EBPF_XDP, 2),
                make_verdict(PCAPNG_VERDICT_TYPE.HARDWARE, b"\x07\x08\x09")]
    hsh = bytes([PCAPNG_HASH.CRC32]) + b"\x01\x02\x03\x04"
    with PcapngWriter(f) as w:
        w.add_interface(LINKTYPE.ETHERNET)
        w.write(b"packet", TS, 60, direction=PCAPNG_EPB_DIRECTION.INBOUND, flags=word, hash=hsh,
                dropcount=3, packetid=1 << 63, queue=7, verdict=verdicts,
                comment="accepted: rule 5\nsecond line")
        w.write(b"two", TS + 1, direction=PCAPNG_EPB_DIRECTION.OUTBOUND)
        w.write(b"three", TS + 2, comment="")
    a, b, c = read_capture(f.getvalue())
    assert (bytes(a.data), a.ts_ns, a.caplen, a.wirelen) == (b"packet", TS, 6, 60)
    assert a.flags == word | PCAPNG_EPB_DIRECTION.INBOUND
    assert a.direction == PCAPNG_EPB_DIRECTION.INBOUND
    assert a.reception == PCAPNG_EPB_RECEPTION.MULTICAST
    assert (a.hash, a.dropcount, a.packetid, a.queue) == (hsh, 3, 1 << 63, 7)
    assert a.verdict == tuple(verdicts)
    assert a.verdicts == [(PCAPNG_VERDICT_TYPE.LINUX_EBPF_TC, -1),
                          (PCAPNG_VERDICT_TYPE.LINUX_EBPF_XDP, 2),
                          (PCAPNG_VERDICT_TYPE.HARDWARE, b"\x07\x08\x09")]
    assert a.comments == ("accepted: rule 5\nsecond line",)
    assert b.flags == PCAPNG_EPB_DIRECTION.OUTBOUND and b.hash is None and b.comments == ()
    assert c.comments == ("",) and c.flags is None


def test_pcapng_options_are_laid_out_as_the_draft_says() -> None:
    f = io.BytesIO()
    with PcapngWriter(f, application=None) as w:
        w.add_interface(LINKTYPE.ETHERNET)
        w.write(b"p", TS, queue=5, comment="hi")
    opts = option(PCAPNG_OPT.COMMENT, b"hi") + option(PCAPNG_EPB_OPT.QUEUE,
                                                      struct.pack("=I", 5)) + b"\0" * 4
    assert f.getvalue().endswith(epb(0, TS, b"p", opts=opts))


def test_pcapng_flags_only_fast_path_matches_the_option_encoder() -> None:
    word = epb_flags(reception=PCAPNG_EPB_RECEPTION.UNICAST)
    cases = [dict(direction=PCAPNG_EPB_DIRECTION.INBOUND), dict(flags=word),
             dict(direction=PCAPNG_EPB_DIRECTION.OUTBOUND, flags=word),
             dict(direction=PCAPNG_EPB_DIRECTION.UNKNOWN)]
    for kw in cases:
        for n in range(5):
            data = b"q" * n
            f = io.BytesIO()
            with PcapngWriter(f, application=None) as w:
                w.add_interface(LINKTYPE.ETHERNET)
                w.write(data, TS, **kw)  # the first stamp: the careful way
                w.write(data, TS, **kw)  # the same second: the fast path
            value = kw.get("flags", 0) | kw.get("direction", 0)
            opts = option(PCAPNG_EPB_OPT.FLAGS, struct.pack("=I", value)) + b"\0" * 4
            block = epb(0, TS, data, opts=opts)
            assert f.getvalue().endswith(block + block), kw


def test_pcapng_option_mistakes_are_encode_errors() -> None:
    w = PcapngWriter(io.BytesIO())
    with pytest.raises(EncodeError, match="interface 0 was not added"):
        w.write(b"x", TS)
    w.add_interface(LINKTYPE.ETHERNET)
    cases = [
        dict(direction=1, flags=PCAPNG_EPB_DIRECTION.OUTBOUND),
        dict(direction=3),
        dict(flags=1 << 32),
        dict(hash=b""),
        dict(verdict=b"\x01" * 9),
        dict(verdict=[b""]),
        dict(verdict=[b"\x01\x00"]),
        dict(comment="a\0b"),
        dict(comment="x" * 70000),
        dict(dropcount=-1),
        dict(packetid=1 << 64),
        dict(queue=1 << 32),
    ]
    w.write(b"x", TS)  # the second is known: mistakes must not slip through the fast path
    cases += [dict(direction=-1), dict(flags=-4), dict(direction="in")]
    for kw in cases:
        with pytest.raises(EncodeError):
            w.write(b"x", TS, **kw)  # type: ignore[arg-type]
    for bad in (1, -1, "0"):
        with pytest.raises(EncodeError, match="interface"):
            w.write(b"x", TS, interface=bad)  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match="ts_ns"):
        w.write(b"x", -1)
    with pytest.raises(EncodeError, match="ts_ns"):
        w.write(b"x", 1 << 64)
    assert w.packets == 1


def test_pcapng_interface_mistakes_are_encode_errors() -> None:
    w = PcapngWriter(io.BytesIO())
    for kw in (dict(linktype=1 << 16), dict(linktype=1, snaplen=-1),
               dict(linktype=1, tsresol=20), dict(linktype=1, tsresol=0x80 | 64),
               dict(linktype=1, tsresol=256), dict(linktype=1, fcslen=256),
               dict(linktype=1, name="a\0")):
        with pytest.raises(EncodeError):
            w.add_interface(**kw)
    assert w.interfaces == 0


@pytest.mark.parametrize("tsresol,exact", [(9, True), (6, False), (3, False),
                                           (0x80 | 32, True), (0x80 | 10, False), (10, True)])
def test_pcapng_timestamp_resolutions(tsresol: int, exact: bool) -> None:
    f = io.BytesIO()
    stamps = [TS, TS + 1, TS + 999_999_999, 0, 5]
    with PcapngWriter(f) as w:
        w.add_interface(LINKTYPE.ETHERNET, tsresol=tsresol)
        for t in stamps:
            w.write(b"x", t)
        w.write_many([(b"y", t, None) for t in stamps])
    got = [r.ts_ns for r in read_capture(f.getvalue())]
    if exact:
        assert got == stamps * 2
    else:  # truncated to the resolution, never later than the stamp
        exp = tsresol & 0x7F
        unit = 10 ** (9 - exp) if not tsresol & 0x80 else 10**9 / 2**exp
        for want, t in zip(stamps * 2, got, strict=True):
            assert want - unit <= t <= want


def test_pcapng_stats_round_trip() -> None:
    f = io.BytesIO()
    with PcapngWriter(f) as w:
        w.add_interface(LINKTYPE.ETHERNET)
        w.add_interface(LINKTYPE.ETHERNET, tsresol=6)
        w.write(b"x", TS, interface=1)
        w.write_stats(1, TS + 5_000, received=100, dropped=2, starttime_ns=TS - 10**9,
                      endtime_ns=TS + 10**9, filter_accepted=90, os_dropped=1, delivered=89,
                      comment="at exit")
        w.write_stats(0, TS)
    r = CaptureReader(f.getvalue())
    assert len(list(r)) == 1
    a, b = r.stats
    assert (a.interface, a.ts_ns, a.received, a.dropped, a.starttime_ns, a.endtime_ns,
            a.filter_accepted, a.os_dropped, a.delivered, a.comments) == \
        (1, (TS + 5_000) // 1000 * 1000, 100, 2, (TS - 10**9) // 1000 * 1000,
         (TS + 10**9) // 1000 * 1000, 90, 1, 89, ("at exit",))
    assert (b.interface, b.ts_ns, b.received, b.comments) == (0, TS, None, ())
    with pytest.raises(EncodeError, match="interface 2"):
        PcapngWriter(io.BytesIO()).write_stats(2, TS)
    w2 = PcapngWriter(io.BytesIO())
    w2.add_interface(1)
    with pytest.raises(EncodeError, match="isb_ifrecv"):
        w2.write_stats(0, TS, received=-1)
    with pytest.raises(EncodeError, match="isb_starttime"):
        w2.write_stats(0, TS, starttime_ns=-1)


def test_pcapng_write_many_matches_write() -> None:
    packets = [(bytes([i % 256]) * (i % 200), TS + i * (1 << 29), None if i % 4 else 7000)
               for i in range(500)]
    packets[3] = (bytes(9000), TS - 10**10, None)  # larger than the buffer, earlier
    for tsresol, snap in ((9, 262144), (6, 100), (9, 0)):
        one, many = io.BytesIO(), io.BytesIO()
        with PcapngWriter(one, bufsize=4096) as w:
            w.add_interface(LINKTYPE.ETHERNET)
            w.add_interface(LINKTYPE.ETHERNET, snap, tsresol=tsresol)
            for p in packets:
                w.write(*p, interface=1)
        with PcapngWriter(many, bufsize=4096) as m:
            m.add_interface(LINKTYPE.ETHERNET)
            m.add_interface(LINKTYPE.ETHERNET, snap, tsresol=tsresol)
            assert m.write_many(packets, interface=1) == len(packets)
            assert m.packets == w.packets == len(packets)
        assert many.getvalue() == one.getvalue()
    with pytest.raises(EncodeError, match="interface 5"):
        m.write_many([], interface=5)


def test_epb_flags_and_make_verdict() -> None:
    assert epb_flags() == 0
    assert epb_flags(PCAPNG_EPB_DIRECTION.OUTBOUND, PCAPNG_EPB_RECEPTION.PROMISCUOUS, 15,
                     PCAPNG_EPB_FLAG.SYMBOL_ERROR) == 2 | 4 << 2 | 15 << 5 | 1 << 31
    for kw in (dict(direction=3), dict(reception=5), dict(fcslen=16), dict(flags=1),
               dict(flags=1 << 32)):
        with pytest.raises(EncodeError):
            epb_flags(**kw)
    assert make_verdict(PCAPNG_VERDICT_TYPE.LINUX_EBPF_XDP, 2) == b"\x02" + struct.pack("=Q", 2)
    assert make_verdict(PCAPNG_VERDICT_TYPE.LINUX_EBPF_TC, -1) == b"\x01" + b"\xff" * 8
    assert make_verdict(PCAPNG_VERDICT_TYPE.HARDWARE, b"\x05") == b"\x00\x05"
    assert make_verdict(200, b"") == b"\xc8"
    for args in ((1, b"x"), (0, 5), (2, 1 << 64), (256, b"")):
        with pytest.raises(EncodeError):
            make_verdict(*args)


def test_open_writer_routes_keywords_and_names_unknown_formats() -> None:
    f = io.BytesIO()
    w = open_writer(f, "pcap", LINKTYPE.ETHERNET, 128, nanoseconds=False)
    assert isinstance(w, PcapWriter) and w.snaplen == 128 and not w.nanoseconds
    g = io.BytesIO()
    n = open_writer(g, "pcapng", LINKTYPE.RAW, 64, name="lo", shb_comment="c", tsresol=6)
    assert isinstance(n, PcapngWriter) and n.interfaces == 1
    n.write(b"x", TS)
    n.close()
    r = CaptureReader(g.getvalue())
    (rec,) = r
    assert (r.interfaces[0].name, r.interfaces[0].snaplen, r.interfaces[0].linktype,
            r.sections[0].comments, rec.ts_ns) == ("lo", 64, 101, ("c",), TS // 1000 * 1000)
    with pytest.raises(EncodeError, match="'pcapx'"):
        open_writer(io.BytesIO(), "pcapx", 1)
    with pytest.raises(EncodeError, match="name"):
        open_writer(io.BytesIO(), "pcap", 1, name="eth0")
    with pytest.raises(EncodeError, match="nanoseconds"):
        open_writer(io.BytesIO(), "pcapng", 1, nanoseconds=True)


# -- write_from: packets where they lie in one buffer ---------------------------------------

def _laid_out(n: int, length: int | None, step: int = 144, data_at: int = 82,
              nsec: object = None) -> tuple[bytearray, range, range]:
    """``n`` packets at ``step`` apart: a 16-byte stamp at +4, the data at ``data_at``
    (``length`` None: lengths vary)."""
    buf = bytearray(64 + n * step + 300)
    for i in range(n):
        o = 64 + i * step
        cap = length if length is not None else 20 + i % 40
        ns = (i * 1_000_003) % 10**9 if nsec is None else nsec(i)  # type: ignore[operator]
        struct.pack_into("=IIII", buf, o + 4, 1_700_000_000 + i // 500, ns, cap, cap + i % 3)
        buf[o + data_at:o + data_at + cap] = bytes((i * 7 + j) & 0xFF for j in range(cap))
    return buf, range(68, 68 + n * step, step), range(64 + data_at, 64 + data_at + n * step, step)


def _one_by_one(w: PcapWriter | PcapngWriter, buf: bytearray, heads: range, datas: range,
                direction: bytes | None = None) -> None:
    for i, (h, d) in enumerate(zip(heads, datas, strict=True)):
        sec, ns, cap, wirelen = struct.unpack_from("=IIII", buf, h)
        if isinstance(w, PcapngWriter):
            w.write(buf[d:d + cap], sec * 10**9 + ns, wirelen,
                    direction=None if direction is None else direction[i])
        else:
            w.write(buf[d:d + cap], sec * 10**9 + ns, wirelen)


@pytest.mark.parametrize("length", [60, 61, 62, 0, 1, 256, 300, None])
@pytest.mark.parametrize("bufsize", [4096, 1 << 20])
def test_pcap_write_from_matches_write(length: int | None, bufsize: int) -> None:
    n = 1200
    buf, heads, datas = _laid_out(n, length, step=144 if (length or 0) <= 62 else 448)
    a, b = io.BytesIO(), io.BytesIO()
    with PcapWriter(a, 1, bufsize=bufsize) as wa, PcapWriter(b, 1, bufsize=bufsize) as wb:
        assert wa.write_from(buf, heads, datas) == n and wa.packets == n
        _one_by_one(wb, buf, heads, datas)
    assert a.getvalue() == b.getvalue()


@pytest.mark.parametrize("with_direction", [False, True])
@pytest.mark.parametrize("length", [60, 61, 63, 0, None])
def test_pcapng_write_from_matches_write(length: int | None, with_direction: bool) -> None:
    n = 900
    buf, heads, datas = _laid_out(n, length)
    dirs = bytes((i * 5) % 3 for i in range(n)) if with_direction else None
    a, b = io.BytesIO(), io.BytesIO()
    with PcapngWriter(a, bufsize=4096) as wa, PcapngWriter(b, bufsize=4096) as wb:
        wa.add_interface(1)
        wb.add_interface(1)
        assert wa.write_from(buf, heads, datas, direction=dirs) == n
        _one_by_one(wb, buf, heads, datas, dirs)
    assert a.getvalue() == b.getvalue()


def test_write_from_careful_cases_match_write() -> None:
    """A snaplen cut, a nanosecond field of 10**9 or more, stamps on both sides of a
    2**32 ns window, microsecond pcap, offsets as lists: the same bytes as write()."""
    cases: list[tuple[dict[str, object], object]] = [
        ({"snaplen": 50}, None), ({"nanoseconds": False}, None),
        ({}, lambda i: 10**9 + i if i == 7 else i)]
    for kw, nsec in cases:
        buf, heads, datas = _laid_out(40, 60, nsec=nsec)
        a, b = io.BytesIO(), io.BytesIO()
        with PcapWriter(a, 1, **kw) as wa, PcapWriter(b, 1, **kw) as wb:  # type: ignore[arg-type]
            wa.write_from(buf, list(heads), datas)
            wa.write_from(buf, heads, datas)
            _one_by_one(wb, buf, heads, datas)
            _one_by_one(wb, buf, heads, datas)
        assert a.getvalue() == b.getvalue(), kw
    # pcapng: 1_700_000_004.294967 s is a 2**32 ns window edge, crossed within the batch
    edge = (1_700_000_000 * 10**9 >> 32) + 1 << 32
    buf, heads, datas = _laid_out(30, 60)
    for i, h in enumerate(heads):
        ts = edge - 15 + i
        struct.pack_into("=II", buf, h, ts // 10**9, ts % 10**9)
    a, b = io.BytesIO(), io.BytesIO()
    with PcapngWriter(a) as wa, PcapngWriter(b) as wb:
        for w in (wa, wb):
            w.add_interface(1, 40)
            w.add_interface(1, tsresol=6)
        wa.write_from(buf, heads, datas)
        wa.write_from(buf, heads, datas, 1)
        _one_by_one(wb, buf, heads, datas)
        for h, d in zip(heads, datas, strict=True):
            sec, ns, cap, wirelen = struct.unpack_from("=IIII", buf, h)
            wb.write(buf[d:d + cap], sec * 10**9 + ns, wirelen, 1)
    assert a.getvalue() == b.getvalue()


def test_write_from_refuses_what_lies_outside_the_buffer() -> None:
    buf, heads, datas = _laid_out(10, 60)
    w = PcapWriter(io.BytesIO(), 1)
    with pytest.raises(EncodeError, match="data offsets"):
        w.write_from(buf, heads, datas[:5])
    with pytest.raises(EncodeError, match="outside the buffer"):
        w.write_from(buf, [len(buf) - 8], [0])
    with pytest.raises(EncodeError, match="reach outside"):
        w.write_from(buf, [heads[0]], [len(buf) - 10])
    g = PcapngWriter(io.BytesIO())
    g.add_interface(1)
    with pytest.raises(EncodeError, match="direction 3"):
        g.write_from(buf, heads, datas, direction=bytes([1] * 9 + [3]))
    with pytest.raises(EncodeError, match="directions"):
        g.write_from(buf, heads, datas, direction=b"\1")
    with pytest.raises(EncodeError, match="interface 2"):
        g.write_from(buf, heads, datas, 2)
    assert w.write_from(buf, [], []) == 0 and w.packets == 0


def test_write_from_assembles_equal_frames_without_a_per_packet_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import netring.pcap.writer as writer_module

    def refuse(*a: object) -> None:
        raise AssertionError("the per-packet path was taken")

    monkeypatch.setattr(writer_module, "_tuples_from", refuse)
    buf, heads, datas = _laid_out(3000, 60)
    w = PcapWriter(io.BytesIO(), 1)
    assert w.write_from(buf, heads, datas) == 3000
    g = PcapngWriter(io.BytesIO())
    g.add_interface(1)
    buf, heads, datas = _laid_out(1000, 60)  # 2 s: one 2**32 ns window
    assert g.write_from(buf, heads, datas, direction=bytes(1000)) == 1000
    with pytest.raises(AssertionError):  # lengths vary: the careful way
        w.write_from(*_laid_out(10, None))


def test_pcapng_write_from_stamps_out_of_order_across_seconds() -> None:
    """Lower stamp words computed for a whole batch at once: seconds and nanoseconds
    in any order (the smallest not first), within one 2**32 ns window."""
    import random

    rnd = random.Random(7)
    window = (1_700_000_000 * 10**9 >> 32) + 2 << 32  # a window start, in ns
    buf, heads, datas = _laid_out(700, 60)
    for h in heads:
        ts = window + rnd.randrange(0, (1 << 32) - 1)
        struct.pack_into("=II", buf, h, ts // 10**9, ts % 10**9)
    a, b = io.BytesIO(), io.BytesIO()
    with PcapngWriter(a) as wa, PcapngWriter(b) as wb:
        wa.add_interface(1)
        wb.add_interface(1)
        wa.write_from(buf, heads, datas)
        _one_by_one(wb, buf, heads, datas)
    assert a.getvalue() == b.getvalue()


@pytest.mark.parametrize("start_ns", [
    ((1_700_000_003 * 10**9 >> 32) + 1 << 32) - 10**9 + 5,  # 1 s before a 2**32 ns boundary
    ((1_700_000_003 * 10**9 >> 32) + 1 << 32) - 3_000,      # 3 us before it: all past it but two
    ((1_700_000_003 * 10**9 >> 32) + 1 << 32) + 7,          # just after it
])
def test_pcapng_write_from_takes_the_bulk_path_wherever_a_second_lies(
        monkeypatch: pytest.MonkeyPatch, start_ns: int) -> None:
    """The stamps' shared upper word is found from the stamps themselves, not from a
    bound on their seconds: a block of stamps within one 2**32 ns window takes the
    bulk path even when its second starts late in that window (about a quarter of
    all seconds), and one that straddles the window's end is written one by one;
    both equal the per-packet path byte for byte."""
    import netring.pcap.writer as writer_module

    buf, heads, datas = _laid_out(400, 60)
    stamps = [start_ns + i * 1_500 for i in range(400)]  # 1.5 us apart
    for h, ts in zip(heads, stamps, strict=True):
        struct.pack_into("=II", buf, h, ts // 10**9, ts % 10**9)
    boundary = (start_ns >> 32) + 1 << 32
    straddles = stamps[0] < boundary <= stamps[-1]
    calls: list[int] = []
    real = writer_module._tuples_from

    def spy(*a: object) -> object:
        calls.append(1)
        return real(*a)  # type: ignore[arg-type]

    monkeypatch.setattr(writer_module, "_tuples_from", spy)
    a, b = io.BytesIO(), io.BytesIO()
    with PcapngWriter(a) as wa, PcapngWriter(b) as wb:
        wa.add_interface(1)
        wb.add_interface(1)
        wa.write_from(buf, heads, datas, direction=bytes(400))
        _one_by_one(wb, buf, heads, datas, direction=bytes(400))
    assert bool(calls) == straddles
    assert a.getvalue() == b.getvalue()
