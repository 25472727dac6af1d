"""A small, pure decoder for one-line packet summaries (tcpdump's default line).

Reads only what the line shows: Ethernet (and one 802.1Q/802.1ad tag), ARP,
IPv4 and IPv6 addresses, the transport protocol and its ports.  Anything
shorter than its header is shown as far as it goes, never an exception::

    12:00:01.000123 In  IP 10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 18
    12:00:01.000456 Out IP6 fd00::1 > fd00::2: ICMP6, length 64
    12:00:01.000789 In  vlan 5, ARP, length 42
    12:00:01.001000 In  ethertype 0x88b5, length 60
"""

from __future__ import annotations

import struct
import time as _time

from .constants import ETH_P

__all__ = ["decode", "summary_line", "format_time", "insert_vlan_tag"]

#: tcpdump's direction marks (print-sll.c) by the walker's direction words
_MARKS = {"in": "In", "out": "Out", "broadcast": "B", "multicast": "M", "otherhost": "P"}
_PROTO = {0: "HBH", 1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 47: "GRE", 50: "ESP", 58: "ICMP6",
          132: "SCTP"}
_VLAN_TYPES = (ETH_P.P_8021Q, ETH_P.P_8021AD)


def _ip4(b: bytes | memoryview) -> str:
    return ".".join(str(x) for x in bytes(b))


def _ip6(b: bytes | memoryview) -> str:
    words = struct.unpack("!8H", bytes(b))
    # RFC 5952: the longest run (>= 2) of zero words becomes "::"
    best, best_len, i = -1, 1, 0
    while i < 8:
        if words[i] == 0:
            j = i
            while j < 8 and words[j] == 0:
                j += 1
            if j - i > best_len:
                best, best_len = i, j - i
            i = j
        else:
            i += 1
    parts = [f"{w:x}" for w in words]
    if best < 0:
        return ":".join(parts)
    return ":".join(parts[:best]) + "::" + ":".join(parts[best + best_len:])


def decode(data: bytes | memoryview, vlan: int | None = None) -> dict[str, object]:
    """The summary fields of an Ethernet frame (missing ones absent).

    Keys: ``ethertype``, ``vlan`` (from the frame or ``vlan``, the tag the kernel
    took off), ``proto`` (``"IP"``, ``"IP6"``, ``"ARP"``), ``src``, ``dst``,
    ``l4`` (``"UDP"``, ...), ``sport``, ``dport``.
    """
    out: dict[str, object] = {}
    if vlan is not None:
        out["vlan"] = vlan & 0xFFF
    if len(data) < 14:
        return out
    et = struct.unpack_from("!H", data, 12)[0]
    off = 14
    if et in _VLAN_TYPES and len(data) >= 18:
        out["vlan"] = struct.unpack_from("!H", data, 14)[0] & 0xFFF
        et = struct.unpack_from("!H", data, 16)[0]
        off = 18
    out["ethertype"] = et
    l4 = None
    if et == ETH_P.IP and len(data) >= off + 20:
        ihl = (data[off] & 0xF) * 4
        out.update(proto="IP", src=_ip4(data[off + 12:off + 16]), dst=_ip4(data[off + 16:off + 20]))
        l4 = data[off + 9]
        frag = struct.unpack_from("!H", data, off + 6)[0] & 0x1FFF
        off = off + ihl if not frag else -1
    elif et == ETH_P.IPV6 and len(data) >= off + 40:
        out.update(proto="IP6", src=_ip6(data[off + 8:off + 24]), dst=_ip6(data[off + 24:off + 40]))
        l4 = data[off + 6]
        off += 40
    elif et == ETH_P.ARP:
        out["proto"] = "ARP"
    if l4 is not None:
        out["l4"] = _PROTO.get(l4, f"ip-proto-{l4}")
        if l4 in (6, 17, 132) and off >= 0 and len(data) >= off + 4:
            out["sport"], out["dport"] = struct.unpack_from("!HH", data, off)
    return out


def format_time(ts_ns: int) -> str:
    """``HH:MM:SS.ffffff`` in local time, as tcpdump prints it."""
    t = _time.localtime(ts_ns // 1_000_000_000)
    return f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ts_ns // 1000 % 1000000:06d}"


def summary_line(ts_ns: int, direction: str, data: bytes | memoryview, wirelen: int,
                 vlan: int | None = None) -> str:
    """tcpdump's one line for a packet (time, direction, protocol, addresses, length)."""
    d = decode(data, vlan)
    head = f"{format_time(ts_ns)} {_MARKS.get(direction, direction):<3} "
    if "vlan" in d:
        head += f"vlan {d['vlan']}, "
    proto = d.get("proto")
    if proto in ("IP", "IP6"):
        l4 = d.get("l4", "")
        src, dst = d["src"], d["dst"]
        if "sport" in d:
            src, dst = f"{src}.{d['sport']}", f"{dst}.{d['dport']}"
        return f"{head}{proto} {src} > {dst}: {l4}, length {wirelen}"
    if proto == "ARP":
        return f"{head}ARP, length {wirelen}"
    if "ethertype" in d:
        return f"{head}ethertype {int(d['ethertype']):#06x}, length {wirelen}"  # type: ignore[call-overload]
    return f"{head}length {wirelen}"


def insert_vlan_tag(data: bytes | memoryview, tci: int, tpid: int | None = None) -> bytes:
    """The frame with the 802.1Q/802.1ad tag the kernel took off put back after the
    MAC addresses (as libpcap does before it hands a packet over)."""
    tag = struct.pack("!HH", tpid or ETH_P.P_8021Q, tci & 0xFFFF)
    return bytes(data[:12]) + tag + bytes(data[12:])
