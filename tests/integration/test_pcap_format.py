"""The pcap/pcapng wire facts, checked by independent readers (tcpdump, tshark)."""

from __future__ import annotations

import pathlib
import shutil
import struct
import subprocess

import pytest

from netring.pcap import (
    LINKTYPE,
    PCAP_MAGIC_NS,
    PCAPNG_BLOCK,
    PCAPNG_BYTE_ORDER_MAGIC,
    pcap_file_header,
    pcap_record_header,
    pcapng_block_header,
)
from netring.pcap.format import PCAP_VERSION, PCAPNG_VERSION

# an Ethernet frame carrying a UDP datagram 10.0.0.1:1000 -> 10.0.0.2:2000, "hi"
FRAME = bytes.fromhex(
    "020000000002" "020000000001" "0800"
    "4500001e00000000401166cb0a0000010a000002"
    "03e807d0000a0000" "6869"
)


def _block(type_: int, body: bytes) -> bytes:
    body += bytes(-len(body) & 3)
    total = 12 + len(body)
    return pcapng_block_header.pack(type_, total) + body + struct.pack("=I", total)


def test_pcap_with_nanosecond_magic_reads_back(tmp_path: pathlib.Path) -> None:
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump is not installed")
    f = tmp_path / "one.pcap"
    f.write_bytes(pcap_file_header.pack(PCAP_MAGIC_NS, *PCAP_VERSION, 0, 0, 65535,
                                        LINKTYPE.ETHERNET)
                  + pcap_record_header.pack(1_700_000_000, 123_456_789, len(FRAME), len(FRAME))
                  + FRAME)
    out = subprocess.run(["tcpdump", "-nn", "-r", str(f), "--time-stamp-precision=nano",
                          "-tt"], capture_output=True, text=True, check=True).stdout
    assert "1700000000.123456789" in out and "10.0.0.1.1000 > 10.0.0.2.2000: UDP, length 2" in out


def test_pcapng_blocks_read_back(tmp_path: pathlib.Path) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    shb = _block(PCAPNG_BLOCK.SECTION_HEADER,
                 struct.pack("=IHHq", PCAPNG_BYTE_ORDER_MAGIC, *PCAPNG_VERSION, -1))
    idb = _block(PCAPNG_BLOCK.INTERFACE_DESCRIPTION, struct.pack("=HHI", LINKTYPE.ETHERNET, 0,
                                                                  65535))
    ts = 1_700_000_000 * 1_000_000 + 5  # default resolution: microseconds
    epb = _block(PCAPNG_BLOCK.ENHANCED_PACKET,
                 struct.pack("=IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(FRAME), len(FRAME))
                 + FRAME)
    f = tmp_path / "one.pcapng"
    f.write_bytes(shb + idb + epb)
    out = subprocess.run(["tshark", "-r", str(f), "-T", "fields", "-e", "frame.time_epoch",
                          "-e", "udp.dstport", "-e", "data.data"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[0].startswith("1700000000.000005") and out[1:] == ["2000", "6869"]
