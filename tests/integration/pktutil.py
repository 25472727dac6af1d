"""Frames and helpers shared by the AF_PACKET integration tests."""

from __future__ import annotations

import hashlib
import struct

ETH_DST = b"\x02\x00\x00\x00\x00\x02"
ETH_SRC = b"\x02\x00\x00\x00\x00\x01"
EXP_TYPE = 0x88B5  # IEEE local experimental ethertype: nothing in the kernel answers it


def exp_frame(i: int, size: int = 60) -> bytes:
    """An experimental-ethertype frame numbered ``i`` with a position-dependent body."""
    body = struct.pack("!I", i) + bytes((i * 7 + j) & 0xFF for j in range(size - 18))
    return ETH_DST + ETH_SRC + struct.pack("!H", EXP_TYPE) + body


def udp_frame(src: str, dst: str, sport: int, dport: int, payload: bytes = b"x" * 18,
              smac: bytes = ETH_SRC, dmac: bytes = ETH_DST, vlan: tuple[int, int] | None = None
              ) -> bytes:
    """Ethernet / IPv4 / UDP (checksums 0; the flow dissector does not look at them)."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + len(payload), 1, 0, 64, 17, 0,
                     bytes(int(x) for x in src.split(".")), bytes(int(x) for x in dst.split(".")))
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    tag = b"" if vlan is None else struct.pack("!HH", vlan[0], vlan[1])
    return dmac + smac + tag + b"\x08\x00" + ip + udp + payload


def digest(frames: list[bytes]) -> str:
    h = hashlib.sha256()
    for f in frames:
        h.update(struct.pack("!I", len(f)) + f)
    return h.hexdigest()


def is_exp(data: bytes | memoryview) -> bool:
    return bytes(data[12:14]) == struct.pack("!H", EXP_TYPE)
