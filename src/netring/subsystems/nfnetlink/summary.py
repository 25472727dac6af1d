"""One-line summaries of IPv4 and IPv6 packets, for logs and captures (pure, small).

What ``tcpdump -n`` prints for the common cases, from the bytes at the network
header (what nfnetlink_log and nfnetlink_queue deliver)::

    IP 10.0.0.1.40000 > 10.0.0.2.53: UDP, length 32          UDP: its payload length
    IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S.], length 0    TCP: flags, payload length
    IP 10.0.0.1 > 10.0.0.2: ICMP echo request, length 64     ICMP: type, ICMP length
    IP6 2001:db8::1.5353 > ff02::fb.5353: UDP, length 40
    IP6 fe80::1 > ff02::1: ICMP6, neighbor advertisement, length 32
    IP 10.0.0.1 > 10.0.0.2: ip-proto-99, length 24           anything else: its number

:func:`summarize` returns a :class:`PacketSummary` (``None`` for bytes that are
not IPv4/IPv6); :meth:`PacketSummary.text` is the line.  Bytes cut short by a
snap length give what they hold (no ports when the transport header is missing).
IPv6 extension headers (hop-by-hop, routing, fragment, destination options) are
skipped to find the transport.
"""

from __future__ import annotations

from ...codec.inet import ntop4, ntop6

__all__ = ["PacketSummary", "summarize", "ip_length", "IPPROTO_NAMES"]

#: transport names (``IPPROTO_*`` numbers, uapi/linux/in.h and in6.h) as tcpdump prints
IPPROTO_NAMES = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 47: "GRE", 50: "ESP",
                 51: "AH", 58: "ICMP6", 132: "SCTP", 136: "UDPLITE"}
_PORTS = (6, 17, 132, 136)
_V6_EXT = (0, 43, 44, 60)  # hop-by-hop, routing, fragment, destination options
_ICMP = {0: "echo reply", 3: "unreachable", 5: "redirect", 8: "echo request",
         11: "time exceeded", 12: "parameter problem", 13: "time stamp request",
         14: "time stamp reply"}
_ICMP6 = {1: "destination unreachable", 2: "packet too big", 3: "time exceeded",
          4: "parameter problem", 128: "echo request", 129: "echo reply",
          133: "router solicitation", 134: "router advertisement",
          135: "neighbor solicitation", 136: "neighbor advertisement"}
_TCP_FLAGS = ((0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x10, "."),
              (0x20, "U"), (0x40, "E"), (0x80, "W"))


class PacketSummary:
    """What a packet's IP and transport headers say.

    Attributes:
        version: 4 or 6.
        src, dst: address text.
        proto: transport protocol number (after IPv6 extension headers).
        length: the packet's length by its IP header (the wire length when the
            snap length cut it).
        sport, dport: ports (TCP, UDP, SCTP, UDP-Lite), ``None`` when absent.
        detail: the transport part of the line (``"UDP, length 32"``).
    """

    __slots__ = ("version", "src", "dst", "proto", "length", "sport", "dport", "detail")

    def __init__(self, version: int, src: str, dst: str, proto: int, length: int,
                 sport: int | None, dport: int | None, detail: str) -> None:
        self.version = version
        self.src = src
        self.dst = dst
        self.proto = proto
        self.length = length
        self.sport = sport
        self.dport = dport
        self.detail = detail

    def text(self) -> str:
        """The tcpdump-style line (see the module docstring)."""
        fam = "IP" if self.version == 4 else "IP6"
        if self.sport is None:
            return f"{fam} {self.src} > {self.dst}: {self.detail}"
        return f"{fam} {self.src}.{self.sport} > {self.dst}.{self.dport}: {self.detail}"

    def to_dict(self) -> dict[str, object]:
        """``{"ip": 4, "src", "dst", "proto", "length"[, "sport", "dport"]}``."""
        d: dict[str, object] = {"ip": self.version, "src": self.src, "dst": self.dst,
                                "proto": IPPROTO_NAMES.get(self.proto, str(self.proto)).lower(),
                                "length": self.length}
        if self.sport is not None:
            d["sport"] = self.sport
            d["dport"] = self.dport
        return d


def ip_length(data: bytes | bytearray | memoryview) -> int | None:
    """The packet's length by its IPv4/IPv6 header (``None``: no IP header there)."""
    n = len(data)
    if n < 1:
        return None
    v = data[0] >> 4
    if v == 4 and n >= 4:
        return (data[2] << 8) | data[3]
    if v == 6 and n >= 6:
        return 40 + ((data[4] << 8) | data[5])
    return None


def _transport(data: bytes | bytearray | memoryview, at: int, proto: int,
               tlen: int, first: bool) -> tuple[int | None, int | None, str]:
    """Ports and the detail text of the transport header at ``at`` (``tlen``: its length
    by the IP header; ``first``: it is the first fragment or the whole packet)."""
    n = len(data)
    name = IPPROTO_NAMES.get(proto, f"ip-proto-{proto}")
    if not first:
        return None, None, f"{name} (fragment), length {tlen}"
    sport = dport = None
    if proto in _PORTS and n >= at + 4:
        sport = (data[at] << 8) | data[at + 1]
        dport = (data[at + 2] << 8) | data[at + 3]
    if proto == 17 or proto == 136:
        return sport, dport, f"{name}, length {max(tlen - 8, 0)}"
    if proto == 6:
        if n >= at + 14:
            doff = (data[at + 12] >> 4) * 4
            fl = data[at + 13]
            flags = "".join(c for bit, c in _TCP_FLAGS if fl & bit) or "none"
            return sport, dport, f"Flags [{flags}], length {max(tlen - doff, 0)}"
        return sport, dport, f"TCP, length {tlen}"
    if proto == 1 or proto == 58:
        table = _ICMP if proto == 1 else _ICMP6
        if n > at:
            kind = table.get(data[at], f"type {data[at]}")
            sep = " " if proto == 1 else ", "
            return None, None, f"{name}{sep}{kind}, length {tlen}"
    return sport, dport, f"{name}, length {tlen}"


def summarize(data: bytes | bytearray | memoryview) -> PacketSummary | None:
    """The summary of the IPv4/IPv6 packet in ``data`` (``None``: neither, or a header
    cut short)."""
    n = len(data)
    if n < 1:
        return None
    v = data[0] >> 4
    if v == 4:
        ihl = (data[0] & 0x0F) * 4
        if n < 20 or ihl < 20:
            return None
        total = (data[2] << 8) | data[3]
        frag = ((data[6] & 0x1F) << 8) | data[7]
        proto = data[9]
        sport, dport, detail = _transport(data, ihl, proto, max(total - ihl, 0), frag == 0)
        return PacketSummary(4, ntop4(data, 12), ntop4(data, 16), proto, total,
                             sport, dport, detail)
    if v == 6:
        if n < 40:
            return None
        plen = (data[4] << 8) | data[5]
        proto = data[6]
        at = 40
        first = True
        while proto in _V6_EXT and n >= at + 8:
            if proto == 44:
                first = (((data[at + 2] << 8) | data[at + 3]) & 0xFFF8) == 0
                ext = 8
            else:
                ext = (data[at + 1] + 1) * 8
            proto = data[at]
            at += ext
        sport, dport, detail = _transport(data, at, proto, max(40 + plen - at, 0), first)
        return PacketSummary(6, ntop6(data[8:24]), ntop6(data[24:40]), proto, 40 + plen,
                             sport, dport, detail)
    return None
