"""Names shared by every object: address families, addresses (``inet_ntop``, ``ll_addr_n2a``)."""

from __future__ import annotations

from ....codec.inet import ntop4, ntop6
from ..constants import (
    AF_BRIDGE,
    AF_INET,
    AF_INET6,
    AF_IPX,
    AF_MPLS,
    AF_PACKET,
    AF_UNSPEC,
    ARPHRD,
    AF_DECnet,
)

__all__ = ["family_name", "family_of", "ntop", "lladdr_str"]

_FAMILY = {AF_UNSPEC: "unspec", AF_INET: "inet", AF_INET6: "inet6", AF_BRIDGE: "bridge",
           AF_PACKET: "link", AF_MPLS: "mpls", AF_IPX: "ipx", AF_DECnet: "dnet"}


# link types whose 4/16-byte hardware address is an IP address (ll_addr_n2a)
_IP_HW_TYPES = frozenset(int(t) for t in (
    ARPHRD.TUNNEL, ARPHRD.TUNNEL6, ARPHRD.SIT, ARPHRD.IPGRE, ARPHRD.IP6GRE))


def family_name(n: int) -> str:
    """``family_name``: ``"inet"``, ``"inet6"``, ... else ``"???"``."""
    return _FAMILY.get(n, "???")


def ntop(b: bytes | bytearray | memoryview) -> str:
    """IPv4 (4 bytes) or IPv6 (16 bytes) address text; other lengths as hex pairs."""
    n = len(b)
    if n == 4:
        return ntop4(b)
    if n == 16:
        return ntop6(b)
    return lladdr_str(b)


def lladdr_str(b: bytes | bytearray | memoryview, ll_type: int = 1) -> str:
    """``ll_addr_n2a``: ``aa:bb:...`` (tunnel types with an IP-sized address print the IP)."""
    if ll_type in _IP_HW_TYPES and len(b) in (4, 16):
        return ntop(b)
    return ":".join(f"{x:02x}" for x in b)


# the family words the command line accepts (ip -4/-6, -f inet/inet6)
_FAMILY_NAMES = {
    "inet": AF_INET, "4": AF_INET, "ipv4": AF_INET, "-4": AF_INET,
    "inet6": AF_INET6, "6": AF_INET6, "ipv6": AF_INET6, "-6": AF_INET6,
}


def family_of(text: str | None) -> int:
    """``"inet"``/``"4"``/``"ipv4"`` -> AF_INET, ``"inet6"``/``"6"`` -> AF_INET6, else AF_UNSPEC."""
    return _FAMILY_NAMES.get(text or "", AF_UNSPEC)
