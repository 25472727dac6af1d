"""Flow hashing for a worker pool: a symmetric hash of the 5-tuple, pure.

Both directions of a flow must reach the same worker, so the hash is taken over
the two endpoints in a canonical order (the lower one first)::

    IPv4 (RFC 791)      ver/IHL @0 | frag flags+offset @6 | protocol @9 | saddr @12 | daddr @16
                        ports at IHL*4 (first 4 bytes of the transport header)
    IPv6 (RFC 8200)     ver @0 | next header @6 | saddr @8 (16) | daddr @24 (16) | ports @40

    endpoint a = saddr << 16 | sport      endpoint b = daddr << 16 | dport
    lo, hi = (a, b) if a <= b else (b, a)                  -> the same for either direction
    x = fold(lo) * K1 + fold(hi) * K2 + (version << 8 | protocol)        (mod 2**64)
    flow_hash = x ^ x >> 32        (64-bit, the same in every process: the products carry
                                    every input bit upwards, the fold brings them down)

Ports are read for TCP (6), UDP (17), DCCP (33), SCTP (132) and UDP-Lite (136) only;
other protocols hash with ports 0, and so do IPv4 fragments (flags MF or an offset:
later fragments carry no ports, so the first one must hash like them) and IPv6
packets whose next header is not one of those (extension headers, fragments).
A payload too short for a field hashes without it; nothing here raises on packet
bytes.  Python's ``hash()`` is not used: bytes hash differently in every process.

:class:`MessageFlows` finds the payload inside ``NFQNL_MSG_PACKET`` messages.  The
payload is the last attribute and unpadded (``nla_len`` = 4 + its length, the
message ends with it), so a layout seen once -- the attribute headers before the
payload -- is checked for the next packet with one ``struct`` call over those
header words; a packet whose headers differ is walked and its layout remembered
(up to :data:`LAYOUTS` of them).
"""

from __future__ import annotations

import struct

from ....codec.types import ReadableBuffer
from ....strided import accelerator, uniform_fields
from .constants import NFQA

__all__ = ["flow_hash", "flow_tuple", "MessageFlows", "PORT_PROTOCOLS", "LAYOUTS"]

#: IP protocols whose first 4 transport bytes are source and destination port
PORT_PROTOCOLS = frozenset((6, 17, 33, 132, 136))
#: packet layouts :class:`MessageFlows` remembers at once
LAYOUTS = 8

_M64 = (1 << 64) - 1
_K1 = 0x9E3779B97F4A7C15
_K2 = 0xC2B2AE3D27D4EB4F
_v4 = struct.Struct("!B5xHxB2xII")  # ver/IHL, frag, protocol, saddr, daddr
_v4p = struct.Struct("!B5xHxB2xIIHH")  # the same and the ports of a 20-byte header
_ports = struct.Struct("!HH")
_v6 = struct.Struct("!B5xBx16s16s")  # ver, next header, saddr, daddr
_nla = struct.Struct("=HH")  # nla_len, nla_type (host order)
_NFQA_PAYLOAD = int(NFQA.PAYLOAD)
_NLA_TYPE_MASK = 0x3FFF  # ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER)
_ATTRS_AT = 20  # nlmsghdr (16) + nfgenmsg (4)
#: PORT_PROTOCOLS as a 256-bit map (bit p of byte p >> 3), for the C accelerator's hash
_PORT_BITS = bytes(sum(1 << (p & 7) for p in PORT_PROTOCOLS if p >> 3 == i) for i in range(32))
#: the C accelerator's bulk IPv4 hash (netring._accel.v4_flow_hashes), when it is in use
_v4_hashes_c = accelerator("v4_flow_hashes")


def _mix(x: int) -> int:
    """The final fold (see the module docstring) of a 64-bit sum."""
    return x ^ (x >> 32)


def _fold(x: int) -> int:
    """An IPv6 endpoint (144 bits) folded to 64."""
    return (x ^ (x >> 64) ^ (x >> 128)) & _M64


def flow_tuple(packet: ReadableBuffer, offset: int = 0, length: int | None = None
               ) -> tuple[int, int, int, int, int, int]:
    """``(version, protocol, saddr, sport, daddr, dport)`` of the IP packet at ``offset``
    (``length`` bytes, default: to the end), with the endpoints as they appear.

    Addresses are ints; ports are 0 where :func:`flow_hash` does not use them.
    ``version`` is 0 (and everything else 0) for what is neither IPv4 nor IPv6.
    """
    end = len(memoryview(packet)) if length is None else offset + length
    n = end - offset
    if n < 1:
        return (0, 0, 0, 0, 0, 0)
    ver = packet[offset] >> 4
    if ver == 4 and n >= 20:
        vi, frag, proto, sa, da = _v4.unpack_from(packet, offset)
        ihl = (vi & 15) * 4
        sp = dp = 0
        if proto in PORT_PROTOCOLS and not frag & 0x3FFF and ihl >= 20 and n >= ihl + 4:
            sp, dp = _ports.unpack_from(packet, offset + ihl)
        return (4, proto, sa, sp, da, dp)
    if ver == 6 and n >= 40:
        _v, nh, sab, dab = _v6.unpack_from(packet, offset)
        sp = dp = 0
        if nh in PORT_PROTOCOLS and n >= 44:
            sp, dp = _ports.unpack_from(packet, offset + 40)
        return (6, nh, int.from_bytes(sab, "big"), sp, int.from_bytes(dab, "big"), dp)
    return (0, 0, 0, 0, 0, 0)


def flow_hash(packet: ReadableBuffer, offset: int = 0, length: int | None = None) -> int:
    """The symmetric 64-bit flow hash of the IP packet at ``offset`` (see the module
    docstring): equal for both directions of a flow, and from process to process."""
    end = len(memoryview(packet)) if length is None else offset + length
    n = end - offset
    if n < 20:
        return _mix(0)
    ver = packet[offset] >> 4
    if ver == 4:
        vi, frag, proto, sa, da = _v4.unpack_from(packet, offset)
        ihl = (vi & 15) * 4
        a = sa << 16
        b = da << 16
        if proto in PORT_PROTOCOLS and not frag & 0x3FFF and ihl >= 20 and n >= ihl + 4:
            sp, dp = _ports.unpack_from(packet, offset + ihl)
            a |= sp
            b |= dp
        if a > b:
            a, b = b, a
        return _mix((a * _K1 + b * _K2 + (0x400 | proto)) & _M64)
    if ver == 6 and n >= 40:
        _v, nh, sab, dab = _v6.unpack_from(packet, offset)
        a = int.from_bytes(sab, "big") << 16
        b = int.from_bytes(dab, "big") << 16
        if nh in PORT_PROTOCOLS and n >= 44:
            sp, dp = _ports.unpack_from(packet, offset + 40)
            a |= sp
            b |= dp
        if a > b:
            a, b = b, a
        return _mix((_fold(a) * _K1 + _fold(b) * _K2 + (0x600 | nh)) & _M64)
    return _mix(0)


def _v4_hash(frag: int, proto: int, sa: int, da: int, sp: int, dp: int) -> int:
    """:func:`flow_hash` of an IPv4 packet with a 20-byte header, from its fields."""
    if proto in PORT_PROTOCOLS and not frag & 0x3FFF:
        a = sa << 16 | sp
        b = da << 16 | dp
    else:
        a = sa << 16
        b = da << 16
    if a > b:
        a, b = b, a
    x = (a * _K1 + b * _K2 + (0x400 | proto)) & _M64
    return x ^ (x >> 32)


class _Layout:
    """Attribute headers before the payload of one packet layout, checked in one call."""

    __slots__ = ("check", "words", "at", "fields")

    def __init__(self, positions: list[int], words: tuple[int, ...], at: int) -> None:
        fmt = "="
        prev = 0
        for p in positions:
            fmt += f"{p - prev}xI" if p > prev else "I"
            prev = p + 4
        self.check = struct.Struct(fmt)  # every header word up to and including the payload's
        self.words = words  # the words before the payload's, as seen
        self.at = at  # offset of the payload attribute in the message
        # what must be alike in a run of messages of this layout (uniform_fields): every
        # attribute header word, and the IPv4 version/IHL byte of the payload
        self.fields = tuple((q, 4) for q in positions) + ((at + 4, 1),)


class MessageFlows:
    """Flow hashes of ``NFQNL_MSG_PACKET`` messages (the payload found by remembered
    layouts; see the module docstring)."""

    __slots__ = ("_layouts", "_columns")

    def __init__(self) -> None:
        self._layouts: list[_Layout] = []
        self._columns: dict[tuple[int, int, int], struct.Struct] = {}

    def payload_at(self, msg: ReadableBuffer, length: int) -> int:
        """Offset of the ``NFQA_PAYLOAD`` attribute in the packet message ``msg`` of
        ``length`` bytes, or -1 (none, or malformed attributes)."""
        for lay in self._layouts:
            if length >= lay.at + 4:
                got = lay.check.unpack_from(msg)
                last = got[-1]
                if got[:-1] == lay.words and last >> 16 == _NFQA_PAYLOAD and (
                        last & 0xFFFF) == length - lay.at:
                    return lay.at
        return self._learn(msg, length)

    def _learn(self, msg: ReadableBuffer, length: int) -> int:
        pos = _ATTRS_AT
        positions: list[int] = []
        words: list[int] = []
        while pos + 4 <= length:
            nla_len, nla_type = _nla.unpack_from(msg, pos)
            if nla_len < 4 or pos + nla_len > length:
                return -1
            positions.append(pos)
            if nla_type & _NLA_TYPE_MASK == _NFQA_PAYLOAD:
                if nla_type != _NFQA_PAYLOAD or pos + nla_len != length:
                    return pos  # found, but not a layout the fast check can trust
                lay = _Layout(positions, tuple(words), pos)
                if len(self._layouts) >= LAYOUTS:
                    self._layouts.pop()
                self._layouts.insert(0, lay)
                return pos
            words.append(nla_len | nla_type << 16)
            pos += (nla_len + 3) & ~3
        return -1

    def hash(self, msg: ReadableBuffer, length: int | None = None) -> int:
        """The flow hash of the packet in the message ``msg`` (``length`` bytes, default
        all of it); a message without a payload hashes as an empty packet.  Equal to
        :func:`flow_hash` of the payload; the common case (a remembered layout, IPv4
        with a 20-byte header) takes two ``struct`` calls."""
        n = len(memoryview(msg)) if length is None else length
        lay = self._layouts[0] if self._layouts else None
        if lay is not None and n >= lay.at + 28:  # the nlattr, 20 IPv4 bytes, the ports
            got = lay.check.unpack_from(msg)
            last = got[-1]
            if got[:-1] == lay.words and last >> 16 == _NFQA_PAYLOAD and (
                    last & 0xFFFF) == n - lay.at:
                vi, frag, proto, sa, da, sp, dp = _v4p.unpack_from(msg, lay.at + 4)
                if vi == 0x45:
                    return _v4_hash(frag, proto, sa, da, sp, dp)
        at = self.payload_at(msg, n)
        if at < 0:
            return _mix(0)
        plen = _nla.unpack_from(msg, at)[0] - 4
        return flow_hash(msg, at + 4, min(plen, n - at - 4))

    def hashes(self, buf: ReadableBuffer, stride: int, count: int, length: int
               ) -> list[int] | None:
        """:meth:`hash` of ``count`` messages of ``length`` bytes each at ``buf[i *
        stride]`` (a batch in its receive slots), in bulk: one check that they all share
        the remembered layout and a 20-byte IPv4 header, one ``struct`` call for their
        fragment words, protocols, addresses and ports; else ``None`` (hash them one
        by one)."""
        lays = self._layouts
        if count <= 0 or not lays or stride <= 0:
            return None
        lay = lays[0]
        at = lay.at
        mv = memoryview(buf).cast("B")
        if length < at + 28 or (count - 1) * stride + length > len(mv) or stride < length:
            return None
        got = lay.check.unpack_from(mv)
        last = got[-1]
        if (got[:-1] != lay.words or last >> 16 != _NFQA_PAYLOAD
                or (last & 0xFFFF) != length - at or mv[at + 4] != 0x45):
            return None
        if not uniform_fields(mv, stride, count, lay.fields):
            return None
        if _v4_hashes_c is not None:  # the same hash, one loop in C
            return _v4_hashes_c(mv, at + 4, stride, count, _K1, _K2, _PORT_BITS)  # type: ignore[no-any-return]
        key = (at, stride, count)
        rows = self._columns.get(key)
        if rows is None:
            if len(self._columns) >= 64:
                self._columns.clear()
            one = f"{at + 10}xHxB2xIIHH"  # frag @6, protocol @9, addrs @12, ports @20
            pad = f"{stride - (at + 28)}x" if stride > at + 28 else ""
            rows = self._columns[key] = struct.Struct("!" + (one + pad) * (count - 1) + one)
        v = rows.unpack_from(mv)
        return list(map(_v4_hash, v[0::6], v[1::6], v[2::6], v[3::6], v[4::6], v[5::6]))
