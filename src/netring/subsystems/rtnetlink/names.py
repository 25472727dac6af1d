"""iproute2's names for rtnetlink numbers, so ``to_dict()`` prints what ``ip -j`` prints.

The tables mirror iproute2's compiled-in defaults plus the stock
``/etc/iproute2/rt_protos`` (``lib/rt_names.c``, ``lib/ll_types.c``).  A number
without a name prints as its decimal string, as iproute2 does.

Addresses are formatted like glibc's ``inet_ntop`` (IPv4-mapped IPv6 addresses
keep their dotted tail), which Python's :mod:`ipaddress` does not do on 3.11.
"""

from __future__ import annotations

__all__ = [
    "rtprot_name", "rtscope_name", "rttable_name", "rtntype_name", "operstate_name",
    "linkmode_name", "group_name", "lltype_name", "family_name", "realm_name",
    "ntop", "ntop4", "ntop6", "lladdr_str", "link_flag_names", "nud_state_names",
    "route_flag_names", "ipproto_name", "dsfield_name",
]

_RTPROT = {
    0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated", 9: "ra",
    10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk", 16: "dhcp",
    18: "keepalived", 42: "babel", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf",
    189: "rip", 192: "eigrp",
}
_RTSCOPE = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}
_RTTABLE = {0: "unspec", 253: "default", 254: "main", 255: "local"}
_RTNTYPE = (
    "unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole",
    "unreachable", "prohibit", "throw", "nat", "xresolve",
)
_OPERSTATE = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")
_LINKMODE = ("DEFAULT", "DORMANT", "TESTING")
_FAMILY = {0: "unspec", 2: "inet", 10: "inet6", 7: "bridge", 17: "link", 28: "mpls", 4: "ipx",
           12: "dnet"}
# lib/ll_types.c
_LLTYPE = {
    0: "netrom", 1: "ether", 2: "eether", 3: "ax25", 4: "pronet", 5: "chaos", 6: "ieee802",
    7: "arcnet", 8: "atalk", 15: "dlci", 19: "atm", 23: "metricom", 24: "ieee1394",
    27: "eui64", 32: "infiniband", 256: "slip", 257: "cslip", 258: "slip6", 259: "cslip6",
    260: "rsrvd", 264: "adapt", 270: "rose", 271: "x25", 272: "hwx25", 280: "can",
    512: "ppp", 513: "cisco", 516: "lapb", 517: "ddcmp", 518: "rawhdlc", 519: "rawip",
    768: "ipip", 769: "tunnel6", 770: "frad", 771: "skip", 772: "loopback", 773: "localtlk",
    774: "fddi", 775: "bif", 776: "sit", 777: "ip/ddp", 778: "gre", 779: "pimreg",
    780: "hippi", 781: "ash", 782: "econet", 783: "irda", 784: "fcpp", 785: "fcal",
    786: "fcpl", 787: "fcfb", 800: "tr", 801: "tr+rif", 802: "ieee802.11",
    803: "ieee802.11/prism", 804: "ieee802.11/radiotap", 805: "ieee802.15.4",
    806: "ieee802.15.4/monitor", 820: "phonet", 821: "phonet_pipe", 822: "caif",
    823: "ip6gre", 824: "netlink", 825: "6lowpan", 826: "vsockmon", 0xFFFE: "none",
    0xFFFF: "void",
}
# link types whose 4/16-byte hardware address is an IP address (ll_addr_n2a)
_IP_HW_TYPES = frozenset((768, 769, 776, 778, 823))

_LINK_FLAGS = (
    (1 << 3, "LOOPBACK"), (1 << 1, "BROADCAST"), (1 << 4, "POINTOPOINT"),
    (1 << 12, "MULTICAST"), (1 << 7, "NOARP"), (1 << 9, "ALLMULTI"), (1 << 8, "PROMISC"),
    (1 << 5, "NOTRAILERS"), (1 << 2, "DEBUG"), (1 << 15, "DYNAMIC"), (1 << 14, "AUTOMEDIA"),
    (1 << 13, "PORTSEL"), (1 << 10, "MASTER"), (1 << 11, "SLAVE"), (1 << 0, "UP"),
    (1 << 16, "LOWER_UP"), (1 << 17, "DORMANT"), (1 << 18, "ECHO"),
)
_NUD = (
    (0x01, "INCOMPLETE"), (0x02, "REACHABLE"), (0x04, "STALE"), (0x08, "DELAY"),
    (0x10, "PROBE"), (0x20, "FAILED"), (0x40, "NOARP"), (0x80, "PERMANENT"),
)
_RT_FLAGS = (
    (1, "dead"), (4, "onlink"), (2, "pervasive"), (8, "offload"), (64, "trap"),
    (0x100, "notify"), (16, "linkdown"), (32, "unresolved"), (0x4000, "rt_offload"),
    (0x8000, "rt_trap"), (0x20000000, "rt_offload_failed"),
)


def rtprot_name(n: int) -> str:
    """``rtnl_rtprot_n2a``: ``"kernel"``, ``"static"``, ... or the number."""
    return _RTPROT.get(n) or str(n)


def rtscope_name(n: int) -> str:
    """``rtnl_rtscope_n2a``: ``"global"``, ``"link"``, ``"host"``, ... or the number."""
    return _RTSCOPE.get(n) or str(n)


def rttable_name(n: int) -> str:
    """``rtnl_rttable_n2a``: ``"main"``, ``"local"``, ``"default"`` or the number."""
    return _RTTABLE.get(n) or str(n)


def rtntype_name(n: int) -> str:
    """``rtnl_rtntype_n2a``: ``"unicast"``, ``"blackhole"``, ... or the number."""
    return _RTNTYPE[n] if 0 <= n < len(_RTNTYPE) else str(n)


def operstate_name(n: int) -> str:
    """``IF_OPER_*`` name as iproute2 prints it, else the number."""
    return _OPERSTATE[n] if 0 <= n < len(_OPERSTATE) else str(n)


def linkmode_name(n: int) -> str:
    """``IF_LINK_MODE_*`` name as iproute2 prints it, else the number."""
    return _LINKMODE[n] if 0 <= n < len(_LINKMODE) else str(n)


def group_name(n: int) -> str:
    """``rtnl_group_n2a``: ``"default"`` for 0, else the number."""
    return "default" if n == 0 else str(n)


def lltype_name(n: int) -> str:
    """``ll_type_n2a``: ``"ether"``, ``"loopback"``, ... else ``"[N]"``."""
    return _LLTYPE.get(n) or f"[{n}]"


def family_name(n: int) -> str:
    """``family_name``: ``"inet"``, ``"inet6"``, ... else ``"???"``."""
    return _FAMILY.get(n, "???")


def realm_name(n: int) -> str:
    """``rtnl_rtrealm_n2a``: ``"cosmos"`` for 0, else the number."""
    return "cosmos" if n == 0 else str(n)


_IPPROTO = {0: "ip", 1: "icmp", 2: "igmp", 4: "ipencap", 6: "tcp", 17: "udp", 41: "ipv6",
            47: "gre", 50: "esp", 51: "ah", 58: "ipv6-icmp", 103: "pim", 112: "vrrp",
            132: "sctp", 136: "udplite"}


# stock /etc/iproute2/rt_dsfield
_DSFIELD = {0x00: "default", 0x28: "AF11", 0x30: "AF12", 0x38: "AF13", 0x48: "AF21",
            0x50: "AF22", 0x58: "AF23", 0x68: "AF31", 0x70: "AF32", 0x78: "AF33",
            0x88: "AF41", 0x90: "AF42", 0x98: "AF43", 0x20: "CS1", 0x40: "CS2", 0x60: "CS3",
            0x80: "CS4", 0xA0: "CS5", 0xC0: "CS6", 0xE0: "CS7", 0xB8: "EF"}


def dsfield_name(n: int) -> str:
    """``rtnl_dsfield_n2a``: the stock ``rt_dsfield`` name, else ``0x%02x``."""
    return _DSFIELD.get(n) or f"0x{n:02x}"


def ipproto_name(n: int) -> str:
    """``inet_proto_n2a``: ``/etc/protocols`` name (common ones) else ``ipproto-N``."""
    return _IPPROTO.get(n) or f"ipproto-{n}"


def ntop4(b: bytes | bytearray | memoryview) -> str:
    """Dotted quad of 4 bytes."""
    return f"{b[0]}.{b[1]}.{b[2]}.{b[3]}"


def ntop6(b: bytes | bytearray | memoryview) -> str:
    """IPv6 text form exactly as glibc ``inet_ntop(AF_INET6)`` writes it."""
    w = [(b[i] << 8) | b[i + 1] for i in range(0, 16, 2)]
    best_base, best_len, cur_base, cur_len = -1, 0, -1, 0
    for i in range(8):
        if w[i] == 0:
            if cur_base < 0:
                cur_base, cur_len = i, 1
            else:
                cur_len += 1
        elif cur_base >= 0:
            if cur_len > best_len:
                best_base, best_len = cur_base, cur_len
            cur_base = -1
    if cur_base >= 0 and cur_len > best_len:
        best_base, best_len = cur_base, cur_len
    if best_len < 2:
        return ":".join(f"{x:x}" for x in w)
    if best_base == 0 and (best_len == 6 or (best_len == 5 and w[5] == 0xFFFF)):
        return ("::ffff:" if best_len == 5 else "::") + ntop4(b[12:16])
    head = ":".join(f"{x:x}" for x in w[:best_base])
    tail = ":".join(f"{x:x}" for x in w[best_base + best_len:])
    return head + "::" + tail


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


def link_flag_names(flags: int, master_down: bool = False) -> list[str]:
    """``print_link_flags``: iproute2's order, ``NO-CARRIER``, hex rest, ``M-DOWN``."""
    out: list[str] = []
    if flags & 1 and not flags & (1 << 6):
        out.append("NO-CARRIER")
    flags &= ~(1 << 6)
    for bit, name in _LINK_FLAGS:
        if flags & bit:
            out.append(name)
            flags &= ~bit
    if flags:
        out.append(f"{flags:x}")
    if master_down:
        out.append("M-DOWN")
    return out


def nud_state_names(state: int) -> list[str]:
    """``print_neigh_state``: NUD names in bit order, then the rest in hex."""
    out: list[str] = []
    for bit, name in _NUD:
        if state & bit:
            out.append(name)
            state &= ~bit
    if state:
        out.append(f"{state:#x}")
    return out


def route_flag_names(flags: int) -> list[str]:
    """``print_rt_flags``: the route / next-hop flag names iproute2 prints."""
    return [name for bit, name in _RT_FLAGS if flags & bit]
