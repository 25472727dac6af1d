"""netring's capture files against the real tools, both ways.

Files netring writes are read by tshark (payload bytes, timestamps and every
EPB/ISB option), capinfos (count, encapsulation, precision, interfaces) and
tcpdump; files tcpdump captures on loopback in a private namespace, and files
editcap, tshark and mergecap rewrite, are read by ``read_capture`` with the
same bytes tshark sees.
"""

from __future__ import annotations

import json
import pathlib
import random
import shutil
import subprocess
import sys
import time

import pytest
from nsutil import Netns

from netring.pcap import (
    LINKTYPE,
    PCAPNG_EPB_DIRECTION,
    PCAPNG_EPB_FLAG,
    PCAPNG_EPB_RECEPTION,
    PCAPNG_HASH,
    PCAPNG_VERDICT_TYPE,
    CaptureReader,
    PcapngWriter,
    PcapWriter,
    epb_flags,
    make_verdict,
    read_capture,
)

TS = 1_700_000_000_123_456_789
TIMEOUT = 60


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


def run(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True,
                          timeout=TIMEOUT).stdout


def tshark_fields(path: pathlib.Path, *fields: str, extra: tuple[str, ...] = ()) -> list[list[str]]:
    args = ["tshark", "-n", "-r", str(path), *extra, "-T", "fields", "-E", "separator=|"]
    for f in fields:
        args += ["-e", f]
    return [line.split("|") for line in run(*args).splitlines()]


def tshark_raw(path: pathlib.Path) -> list[bytes]:
    """Each frame's captured bytes as tshark sees them."""
    packets = json.loads(run("tshark", "-n", "-r", str(path), "-T", "json", "-x"))
    return [bytes.fromhex(p["_source"]["layers"]["frame_raw"][0]) for p in packets]


def capinfos(path: pathlib.Path) -> str:
    return run("capinfos", "-M", str(path))


def payloads(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [bytes(rng.getrandbits(8) for _ in range(rng.randrange(14, 300))) for _ in range(n)]


# -- files netring writes -----------------------------------------------------------------


@pytest.mark.parametrize("ns", [True, False])
def test_pcap_file_read_by_tshark_capinfos_and_tcpdump(tmp_path: pathlib.Path,
                                                       ns: bool) -> None:
    need("tshark", "capinfos", "tcpdump")
    data = payloads(50, 1)
    path = tmp_path / "w.pcap"
    with path.open("wb") as f, PcapWriter(f, LINKTYPE.ETHERNET, 200, nanoseconds=ns) as w:
        w.write_many((d, TS + i * 1_000_003, None) for i, d in enumerate(data[:25]))
        for i, d in enumerate(data[25:], 25):
            w.write(d, TS + i * 1_000_003, len(d) + 4)
    assert tshark_raw(path) == [d[:200] for d in data]
    lens = tshark_fields(path, "frame.len", "frame.cap_len", "frame.time_epoch")
    for i, (d, (wire, cap, epoch)) in enumerate(zip(data, lens, strict=True)):
        assert int(wire) == len(d) + (4 if i >= 25 else 0) and int(cap) == min(len(d), 200)
        ts = TS + i * 1_000_003
        want = f"{ts // 10**9}.{ts % 10**9:09d}" if ns else f"{ts // 10**9}.{ts % 10**9 // 1000:06d}"
        assert epoch.startswith(want)
    info = capinfos(path)
    assert "Number of packets:   50" in info
    assert "File encapsulation:  ether" in info
    assert ("nanoseconds (9)" if ns else "microseconds (6)") in info
    out = run("tcpdump", "-nn", "-r", str(path), "-tt", "--time-stamp-precision=nano")
    lines = [line for line in out.splitlines() if not line.startswith("\t")]  # no hex dumps
    assert len(lines) == 50 and lines[0].startswith(f"{TS // 10**9}.")


def test_pcapng_file_options_read_by_tshark(tmp_path: pathlib.Path) -> None:
    need("tshark")
    path = tmp_path / "w.pcapng"
    word = epb_flags(reception=PCAPNG_EPB_RECEPTION.BROADCAST, flags=PCAPNG_EPB_FLAG.CRC_ERROR)
    with path.open("wb") as f, PcapngWriter(f, shb_comment="section note") as w:
        w.add_interface(LINKTYPE.ETHERNET, name="veth0", description="left")
        w.add_interface(LINKTYPE.RAW, 1000, name="nflog:5", tsresol=6)
        w.write(b"\x02" * 14 + b"plain", TS)
        w.write(bytes(range(40)), TS + 1, 99, direction=PCAPNG_EPB_DIRECTION.OUTBOUND,
                flags=word, hash=bytes([PCAPNG_HASH.CRC32]) + b"\x11\x22\x33\x44",
                dropcount=7, packetid=12345, queue=3, comment="accepted by rule 5",
                verdict=[make_verdict(PCAPNG_VERDICT_TYPE.LINUX_EBPF_XDP, 2),
                         make_verdict(PCAPNG_VERDICT_TYPE.LINUX_EBPF_TC, -1),
                         make_verdict(PCAPNG_VERDICT_TYPE.HARDWARE, b"\xab\xcd")])
        w.write(b"\x45" + bytes(19), TS + 2, interface=1,
                direction=PCAPNG_EPB_DIRECTION.INBOUND, comment="prefix: DROP ")
    rows = tshark_fields(path, "frame.interface_id", "frame.interface_name", "frame.len",
                         "frame.cap_len", "frame.time_epoch", "frame.comment",
                         "frame.packet_flags_direction", "frame.packet_flags_reception_type",
                         "frame.packet_flags_crc_error", "frame.drop_count", "frame.packet_id",
                         "frame.interface_queue", "frame.verdict.ebpf_xdp",
                         "frame.verdict.ebpf_tc", "frame.verdict.hw")
    a, b, c = rows
    assert a[:5] == ["0", "veth0", "19", "19", "1700000000.123456789"]
    assert a[5:] == [""] * 10
    assert b[:6] == ["0", "veth0", "99", "40", "1700000000.123456790", "accepted by rule 5"]
    assert int(b[6], 0) == PCAPNG_EPB_DIRECTION.OUTBOUND and int(b[7], 0) == 3
    assert b[8] == "1" and b[9:12] == ["7", "12345", "3"]
    assert (b[12], b[13], b[14].replace(":", "").replace(" ", "")) == ("2", "-1", "abcd")
    assert c[:6] == ["1", "nflog:5", "20", "20", "1700000000.123456000", "prefix: DROP "]
    assert int(c[6], 0) == PCAPNG_EPB_DIRECTION.INBOUND
    assert tshark_raw(path) == [b"\x02" * 14 + b"plain", bytes(range(40)), b"\x45" + bytes(19)]
    # the hash, as the pcapng file dissector reads the block
    (hashes,) = tshark_fields(path, "pcapng.options.option.data.packet.hash.algorithm",
                              "pcapng.options.option.data.packet.hash.data",
                              "pcapng.options.option.data.comment",
                              "pcapng.options.option.data.user_application",
                              extra=("-X", "read_format:MIME Files Format"))
    assert hashes[0] == str(PCAPNG_HASH.CRC32)
    assert hashes[1].replace(":", "") == "11223344"
    assert hashes[2].split(",") == ["section note", "accepted by rule 5", "prefix: DROP "]
    assert hashes[3] == "netring"


def test_pcapng_statistics_read_by_tshark_and_capinfos(tmp_path: pathlib.Path) -> None:
    need("tshark", "capinfos")
    path = tmp_path / "s.pcapng"
    with path.open("wb") as f, PcapngWriter(f) as w:
        w.add_interface(LINKTYPE.ETHERNET, name="eth0")
        w.add_interface(LINKTYPE.ETHERNET, name="eth1")
        w.write(bytes(60), TS)
        w.write(bytes(60), TS + 1, interface=1)
        w.write_stats(1, TS + 10, received=1000, dropped=5, filter_accepted=900,
                      os_dropped=3, delivered=897, starttime_ns=TS - 10**9, endtime_ns=TS + 10)
    (row,) = tshark_fields(path, "pcapng.options.option.data.interface.received",
                           "pcapng.options.option.data.interface.dropped",
                           "pcapng.options.option.data.interface.accepted_by_filter",
                           "pcapng.options.option.data.interface.dropped_by_os",
                           "pcapng.options.option.data.interface.delivered_to_user",
                           extra=("-X", "read_format:MIME Files Format"))
    assert row == ["1000", "5", "900", "3", "897"]
    info = capinfos(path)
    assert "Number of interfaces in file: 2" in info and "Number of packets:   2" in info
    assert "Number of stat entries = 1" in info and "nanoseconds (9)" in info


def test_pcapng_file_read_by_tcpdump(tmp_path: pathlib.Path) -> None:
    need("tcpdump")
    path = tmp_path / "t.pcapng"
    frame = bytes.fromhex("020000000002020000000001080045000020000000004011"
                          "66c90a0000010a00000203e807d0000c0000" + "68692121")
    with path.open("wb") as f, PcapngWriter(f) as w:
        w.add_interface(LINKTYPE.ETHERNET)
        w.write_many([(frame, TS + i, None) for i in range(20)])
        w.write(frame, TS + 20, comment="with a comment")
    lines = run("tcpdump", "-nn", "-r", str(path), "-tt", "--time-stamp-precision=nano"
                ).splitlines()
    assert len(lines) == 21
    assert lines[0] == "1700000000.123456789 IP 10.0.0.1.1000 > 10.0.0.2.2000: UDP, length 4"


# -- files the tools write ----------------------------------------------------------------


PAYLOAD = 100  # bytes of UDP payload in each datagram sent on loopback
PORT = 9999
_SENDER = (f"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
           f"[s.sendto(bytes([i]) * {PAYLOAD}, ('127.0.0.1', {PORT})) for i in range(4)]")


def _tcpdump_capture(ns: Netns, path: pathlib.Path, count: int, *args: str) -> None:
    """tcpdump -c COUNT on lo of the namespace while a child sends UDP datagrams."""
    proc = subprocess.Popen(["timeout", "30", "ip", "netns", "exec", ns.name, "tcpdump", "-i",
                             "lo", "-n", "-c", str(count), "-w", str(path), *args, "udp", "port",
                             str(PORT)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # "tcpdump: listening on lo, ..." once it captures
        assert "listening on lo" in line, line
        deadline = time.monotonic() + 25
        while proc.poll() is None and time.monotonic() < deadline:
            subprocess.run(["ip", "netns", "exec", ns.name, sys.executable, "-c", _SENDER],
                           check=True, capture_output=True, timeout=10)
            time.sleep(0.05)
        assert proc.wait(timeout=10) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("nano", [False, True])
def test_tcpdump_capture_reads_back_identically(netns: Netns, tmp_path: pathlib.Path,
                                                nano: bool) -> None:
    need("tcpdump", "tshark", "timeout")
    path = tmp_path / "lo.pcap"
    _tcpdump_capture(netns, path, 8, *(["--time-stamp-precision=nano"] if nano else []))
    r = CaptureReader(path.read_bytes())
    recs = list(r)
    assert r.header is not None and r.header.nanoseconds == nano
    assert r.header.linktype == LINKTYPE.ETHERNET  # loopback frames are Ethernet-shaped
    assert len(recs) == 8
    assert [bytes(x.data) for x in recs] == tshark_raw(path)
    epochs = [row[0] for row in tshark_fields(path, "frame.time_epoch")]
    for rec, epoch in zip(recs, epochs, strict=True):
        sec, frac = epoch.split(".")
        want = int(sec) * 10**9 + int(frac.ljust(9, "0")[:9])
        assert rec.ts_ns == want
        assert rec.wirelen == rec.caplen == 14 + 20 + 8 + PAYLOAD


def test_editcap_and_tshark_pcapng_read_back_identically(netns: Netns,
                                                         tmp_path: pathlib.Path) -> None:
    need("tcpdump", "tshark", "editcap", "timeout")
    src = tmp_path / "lo.pcap"
    _tcpdump_capture(netns, src, 6, "--time-stamp-precision=nano")
    original = [(bytes(x.data), x.ts_ns, x.wirelen) for x in read_capture(src.read_bytes())]
    ng = tmp_path / "lo.pcapng"
    run("editcap", "-F", "pcapng", "-a", "2:second packet", "-a", "5:fifth", str(src), str(ng))
    r = CaptureReader(ng.read_bytes())
    recs = list(r)
    assert [(bytes(x.data), x.ts_ns, x.wirelen) for x in recs] == original
    assert [x.comments for x in recs] == [(), ("second packet",), (), (), ("fifth",), ()]
    assert r.interfaces[0].linktype == LINKTYPE.ETHERNET and r.interfaces[0].tsresol == 9
    assert r.sections[0].application  # editcap names itself
    ts = tmp_path / "ts.pcapng"
    run("tshark", "-r", str(src), "-F", "pcapng", "-w", str(ts))
    assert [(bytes(x.data), x.ts_ns) for x in read_capture(ts.read_bytes())] == \
        [(d, t) for d, t, _ in original]
    us = tmp_path / "us.pcap"  # editcap's microsecond pcap
    run("editcap", "-F", "pcap", str(ng), str(us))
    assert [(bytes(x.data), x.ts_ns) for x in read_capture(us.read_bytes())] == \
        [(d, t // 1000 * 1000) for d, t, _ in original]


def test_mergecap_multi_interface_pcapng_reads_back(tmp_path: pathlib.Path) -> None:
    need("mergecap", "tshark")
    a, b = tmp_path / "a.pcap", tmp_path / "b.pcap"
    with a.open("wb") as f, PcapWriter(f, LINKTYPE.ETHERNET) as w:
        for i, d in enumerate(payloads(5, 2)):
            w.write(d, TS + 2 * i)
    with b.open("wb") as f, PcapWriter(f, LINKTYPE.RAW) as w:
        for i in range(5):
            w.write(b"\x45" + bytes(19 + i), TS + 2 * i + 1)
    out = tmp_path / "m.pcapng"
    run("mergecap", "-F", "pcapng", "-w", str(out), str(a), str(b))
    r = CaptureReader(out.read_bytes())
    recs = list(r)
    assert sorted(i.linktype for i in r.interfaces) == [LINKTYPE.ETHERNET, LINKTYPE.RAW]
    assert [x.ts_ns for x in recs] == [TS + i for i in range(10)]
    assert [x.linktype for x in recs] == [LINKTYPE.ETHERNET, LINKTYPE.RAW] * 5
    assert [bytes(x.data) for x in recs] == tshark_raw(out)
