"""Length and checksum fix-ups for a replacement payload (IPv4/IPv6, TCP/UDP), pure.

A verdict may replace the packet (``NFQA_PAYLOAD``); the kernel then trusts the
bytes as they are (``skb->ip_summed = CHECKSUM_NONE``), so a receiver drops a
packet whose checksums no longer match.  :func:`fix_packet` makes them match::

    IPv4  total length = len(packet)      header checksum recomputed
    IPv6  payload length = len - 40       (extension headers walked to the L4 header)
    UDP   length = bytes from the UDP header on; checksum over the pseudo-header
          (a zero IPv4 UDP checksum, "none", stays zero; a computed 0 is sent as 0xffff)
    TCP   checksum over the pseudo-header

Fragments (other than a first fragment carrying the whole L4 header) and other
protocols keep their L4 bytes; the IP header is still fixed.

:func:`inet_checksum` is the RFC 1071 ones'-complement sum, computed with one
``sum()`` over the buffer cast to 16-bit words (the sum is byte-order
independent up to a final swap, RFC 1071 section 2(B)).
"""

from __future__ import annotations

import struct
import sys

from ....codec.types import ReadableBuffer
from ....errors import EncodeError

__all__ = ["inet_checksum", "fix_packet", "IPPROTO_TCP", "IPPROTO_UDP", "IPPROTO_UDPLITE"]

IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_UDPLITE = 136
_IPV6_EXT = {0, 43, 60}  # hop-by-hop, routing, destination options: (next, len8) headers
_IPV6_FRAG = 44
_IPV6_AH = 51
_LITTLE = sys.byteorder == "little"
_be16 = struct.Struct("!H")


def _fold(s: int) -> int:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def _sum16(data: memoryview) -> int:
    """Ones'-complement sum (not inverted) of ``data`` as big-endian 16-bit words."""
    n = len(data)
    s = sum(data[:n & ~1].cast("H")) if n > 1 else 0
    s = _fold(s)
    if _LITTLE:
        s = ((s & 0xFF) << 8) | (s >> 8)
    if n & 1:
        s += data[n - 1] << 8
    return _fold(s)


def inet_checksum(data: ReadableBuffer, initial: int = 0) -> int:
    """The Internet checksum of ``data`` (RFC 1071), starting from the partial sum ``initial``.

    Returns the value to store in the checksum field (the inverted folded sum).
    """
    mv = memoryview(data)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return (~_fold(_sum16(mv) + initial)) & 0xFFFF


def _pseudo(src: memoryview, dst: memoryview, proto: int, length: int) -> int:
    s = _sum16(src) + _sum16(dst) + proto + (length & 0xFFFF) + (length >> 16)
    return _fold(s)


def _fix_l4(buf: memoryview, l4: int, proto: int, src: memoryview, dst: memoryview,
            v4: bool) -> None:
    n = len(buf) - l4
    if proto == IPPROTO_UDP:
        if n < 8:
            return
        _be16.pack_into(buf, l4 + 4, n)
        if v4 and buf[l4 + 6] == 0 and buf[l4 + 7] == 0:
            return  # IPv4 UDP without a checksum stays without one
        field = l4 + 6
    elif proto == IPPROTO_TCP:
        if n < 20:
            return
        field = l4 + 16
    else:
        return
    buf[field] = buf[field + 1] = 0
    c = inet_checksum(buf[l4:], _pseudo(src, dst, proto, n))
    if c == 0 and proto == IPPROTO_UDP:
        c = 0xFFFF  # 0 means "no checksum" for UDP
    _be16.pack_into(buf, field, c)


def fix_packet(packet: bytearray | memoryview) -> None:
    """Fix the lengths and checksums of an IPv4 or IPv6 packet in place.

    Args:
        packet: the packet from its network header, writable.

    Raises:
        EncodeError: not an IPv4/IPv6 packet, or a header runs past its end.
    """
    buf = memoryview(packet)
    if buf.readonly:
        raise EncodeError("fix_packet needs a writable buffer (a bytearray)")
    if buf.format != "B" or buf.ndim != 1:
        buf = buf.cast("B")
    n = len(buf)
    if n < 1:
        raise EncodeError("empty packet")
    version = buf[0] >> 4
    if version == 4:
        ihl = (buf[0] & 0x0F) * 4
        if ihl < 20 or n < ihl:
            raise EncodeError(f"IPv4 header of {ihl} bytes in a {n}-byte packet")
        if n > 0xFFFF:
            raise EncodeError(f"IPv4 packet of {n} bytes exceeds 65535")
        _be16.pack_into(buf, 2, n)
        buf[10] = buf[11] = 0
        _be16.pack_into(buf, 10, inet_checksum(buf[:ihl]))
        frag = (buf[6] << 8) | buf[7]
        if frag & 0x3FFF:  # MF set or a non-zero offset: L4 spans fragments
            return
        _fix_l4(buf, ihl, buf[9], buf[12:16], buf[16:20], True)
        return
    if version == 6:
        if n < 40:
            raise EncodeError(f"IPv6 header needs 40 bytes, the packet has {n}")
        if n - 40 > 0xFFFF:
            raise EncodeError(f"IPv6 payload of {n - 40} bytes exceeds 65535 (jumbograms unsupported)")
        _be16.pack_into(buf, 4, n - 40)
        nxt, off = buf[6], 40
        while nxt in _IPV6_EXT or nxt == _IPV6_AH or nxt == _IPV6_FRAG:
            if off + 8 > n:
                raise EncodeError(f"IPv6 extension header at {off} runs past the packet")
            if nxt == _IPV6_FRAG:
                fo = (buf[off + 2] << 8) | buf[off + 3]
                if fo & 0xFFF9:  # offset != 0 or M set
                    return
                nxt, off = buf[off], off + 8
            elif nxt == _IPV6_AH:
                nxt, off = buf[off], off + (buf[off + 1] + 2) * 4
            else:
                nxt, off = buf[off], off + (buf[off + 1] + 1) * 8
        if off > n:
            raise EncodeError(f"IPv6 extension headers run past the packet ({off} > {n})")
        _fix_l4(buf, off, nxt, buf[8:24], buf[24:40], False)
        return
    raise EncodeError(f"not an IP packet (version {version})")
