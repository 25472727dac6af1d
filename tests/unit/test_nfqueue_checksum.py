"""Checksum fix-ups, byte-identical against a straightforward reference implementation
and against packets the kernel itself built (tests/golden/nfqueue)."""

from __future__ import annotations

import pathlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netring.errors import EncodeError
from netring.subsystems.nfnetlink.queue import Packet
from netring.subsystems.nfnetlink.queue.checksum import fix_packet, inet_checksum

GOLDEN = pathlib.Path(__file__).resolve().parent.parent / "golden" / "nfqueue"


def ref_sum(data: bytes) -> int:
    """RFC 1071 the long way: big-endian 16-bit words, end-around carry, inverted."""
    if len(data) % 2:
        data += b"\0"
    s = 0
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ref_fix(pkt: bytes) -> bytes:
    """Reference fix-up for IPv4/IPv6 + UDP/TCP without extension headers or options walk
    beyond IHL (what the corpus holds)."""
    b = bytearray(pkt)
    if b[0] >> 4 == 4:
        ihl = (b[0] & 15) * 4
        b[2:4] = struct.pack("!H", len(b))
        b[10:12] = b"\0\0"
        b[10:12] = struct.pack("!H", ref_sum(bytes(b[:ihl])))
        proto, src, dst, l4 = b[9], bytes(b[12:16]), bytes(b[16:20]), ihl
    else:
        b[4:6] = struct.pack("!H", len(b) - 40)
        proto, src, dst, l4 = b[6], bytes(b[8:24]), bytes(b[24:40]), 40
    n = len(b) - l4
    if proto == 17:
        b[l4 + 4:l4 + 6] = struct.pack("!H", n)
        if b[0] >> 4 == 4 and b[l4 + 6:l4 + 8] == b"\0\0":
            return bytes(b)
        off = l4 + 6
    elif proto == 6:
        off = l4 + 16
    else:
        return bytes(b)
    b[off:off + 2] = b"\0\0"
    if b[0] >> 4 == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, proto, n)
    else:
        pseudo = src + dst + struct.pack("!IxxxB", n, proto)
    c = ref_sum(pseudo + bytes(b[l4:]))
    if c == 0 and proto == 17:
        c = 0xFFFF
    b[off:off + 2] = struct.pack("!H", c)
    return bytes(b)


def golden_payloads() -> list[bytes]:
    data = (GOLDEN / "packets.bin").read_bytes()
    out, off = [], 0
    while off < len(data):
        (n,) = struct.unpack_from("<I", data, off)
        p = Packet(data[off + 4:off + 4 + n])
        if not p.truncated:
            out.append(p.payload.tobytes())
        off += 4 + n
    return out


def test_rfc1071_examples() -> None:
    assert inet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D
    hdr = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert inet_checksum(hdr) == 0xB861
    assert inet_checksum(b"\x01") == ref_sum(b"\x01")


@settings(max_examples=300)
@given(st.binary(max_size=3000), st.integers(0, 0xFFFF))
def test_inet_checksum_matches_the_reference(data: bytes, initial: int) -> None:
    assert inet_checksum(data) == ref_sum(data)
    # a partial sum folds in like one more word
    assert inet_checksum(data, initial) == ref_sum(struct.pack("!H", initial) + data
                                                   if len(data) % 2 == 0 else
                                                   data + b"\0" + struct.pack("!H", initial))


def test_the_kernels_own_checksums_are_reproduced_byte_for_byte() -> None:
    payloads = golden_payloads()
    assert len(payloads) >= 5
    for pkt in payloads:
        broken = bytearray(pkt)
        if broken[0] >> 4 == 4:
            broken[10:12] = b"\xde\xad"
            broken[2:4] = b"\0\0"
            l4, proto = (broken[0] & 15) * 4, broken[9]
        else:
            broken[4:6] = b"\0\0"
            l4, proto = 40, broken[6]
        if proto == 17:
            broken[l4 + 6:l4 + 8] = b"\x12\x34"
        elif proto == 6:
            broken[l4 + 16:l4 + 18] = b"\x12\x34"
        fix_packet(broken)
        assert bytes(broken) == pkt, pkt.hex()
        assert ref_fix(pkt) == pkt


def _udp4(payload: bytes, csum: bool = True) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 1, 0, 64, 17, 0, bytes([10, 0, 0, 1]),
                     bytes([10, 0, 0, 2]))
    udp = struct.pack("!HHHH", 1000, 2000, 0, 1 if csum else 0)
    return ip + udp + payload


def _tcp6(payload: bytes) -> bytes:
    ip = struct.pack("!IHBB16s16s", 6 << 28, 0, 6, 64, b"\x20\x01" + b"\0" * 13 + b"\1",
                     b"\x20\x01" + b"\0" * 13 + b"\2")
    tcp = struct.pack("!HHIIBBHHH", 80, 1234, 1, 2, 5 << 4, 0x18, 1000, 0, 0)
    return ip + tcp + payload


@settings(max_examples=200)
@given(st.binary(max_size=1500), st.sampled_from(["udp4", "tcp6", "udp4-nocsum"]))
def test_fix_packet_matches_the_reference_after_mangling(payload: bytes, kind: str) -> None:
    pkt = _tcp6(payload) if kind == "tcp6" else _udp4(payload, kind == "udp4")
    b = bytearray(pkt)
    fix_packet(b)
    assert bytes(b) == ref_fix(pkt)
    if kind == "udp4-nocsum":
        assert b[26:28] == b"\0\0"  # "no checksum" stays so


def test_fragments_keep_their_l4_bytes() -> None:
    pkt = bytearray(_udp4(b"abcdefgh"))
    pkt[6] = 0x20  # more fragments
    before = bytes(pkt[20:])
    fix_packet(pkt)
    assert bytes(pkt[20:]) == before
    assert inet_checksum(pkt[:20]) == 0  # the IP header is still fixed


def test_ipv6_extension_headers_are_walked() -> None:
    base = _tcp6(b"data")
    ip, tcp = bytearray(base[:40]), base[40:]
    ip[6] = 60  # destination options, then TCP
    dst_opts = bytes([6, 0, 1, 4, 0, 0, 0, 0])
    pkt = bytearray(ip + dst_opts + tcp)
    fix_packet(pkt)
    ref = bytearray(base)
    fix_packet(ref)
    # the TCP checksum does not cover extension headers: the same as without them
    assert pkt[48 + 16:48 + 18] == ref[40 + 16:40 + 18]
    assert struct.unpack_from("!H", pkt, 4)[0] == len(pkt) - 40


def test_bad_input_is_an_encode_error() -> None:
    with pytest.raises(EncodeError, match="not an IP packet"):
        fix_packet(bytearray(b"\x10" + b"\0" * 30))
    with pytest.raises(EncodeError, match="writable"):
        fix_packet(memoryview(b"\x45" + b"\0" * 30))  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match="IPv6 header"):
        fix_packet(bytearray(b"\x60" + b"\0" * 10))
