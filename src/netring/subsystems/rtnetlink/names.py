"""iproute2's names for rtnetlink numbers, so ``to_dict()`` prints what ``ip -j`` prints.

The tables mirror iproute2's compiled-in defaults plus the stock
``/etc/iproute2/rt_protos`` (``lib/rt_names.c``, ``lib/ll_types.c``).  A number
without a name prints as its decimal string, as iproute2 does.

Addresses are formatted like glibc's ``inet_ntop`` (:mod:`netring.codec.inet`).
"""

from __future__ import annotations

from ...codec.inet import ntop4, ntop6
from .constants import (
    AF_BRIDGE,
    AF_INET,
    AF_INET6,
    AF_IPX,
    AF_MPLS,
    AF_PACKET,
    AF_UNSPEC,
    ARPHRD,
    IF_LINK_MODE,
    IF_OPER,
    IFF,
    NUD,
    RT_SCOPE,
    RT_TABLE,
    RTAX,
    RTM_F,
    RTN,
    RTNH_F,
    RTPROT,
    AF_DECnet,
)

__all__ = [
    "rtprot_name", "rtscope_name", "rttable_name", "rtntype_name", "operstate_name",
    "linkmode_name", "group_name", "lltype_name", "family_name", "realm_name",
    "ntop", "lladdr_str", "link_flag_names", "nud_state_names",
    "route_flag_names", "ipproto_name", "dsfield_name",
    "RTN_BY_NAME", "RTPROT_BY_NAME", "SCOPE_BY_NAME", "TABLE_BY_NAME",
]

# Where iproute2's name is the kernel name in lower case, the table is derived from
# the enum; the exceptions are spelled out.
# lib/rt_names.c rtnl_rtprot_tab + stock rt_protos: no name for mrouted or ovn
_RTPROT = {int(p): p.name.lower() for p in RTPROT if p not in (RTPROT.MROUTED, RTPROT.OVN)}
# rtnl_rtscope_n2a calls RT_SCOPE_UNIVERSE "global"
_RTSCOPE = {int(s): s.name.lower() for s in RT_SCOPE} | {int(RT_SCOPE.UNIVERSE): "global"}
# rtnl_rttable_n2a knows no name for RT_TABLE_COMPAT
_RTTABLE = {int(t): t.name.lower() for t in RT_TABLE if t != RT_TABLE.COMPAT}
_RTNTYPE = {int(t): t.name.lower() for t in RTN}

# the reverse tables: the names ``ip`` accepts on its command line
RTN_BY_NAME = {m.name.lower(): int(m) for m in RTN}
RTPROT_BY_NAME = {m.name.lower(): int(m) for m in RTPROT}
#: scope names as ``ip`` accepts them: the kernel names, and "global" for universe
SCOPE_BY_NAME = {m.name.lower(): int(m) for m in RT_SCOPE} | {"global": int(RT_SCOPE.UNIVERSE)}
#: table names as ``ip`` accepts them (it has no name for RT_TABLE_COMPAT)
TABLE_BY_NAME = {m.name.lower(): int(m) for m in RT_TABLE if m != RT_TABLE.COMPAT}
_OPERSTATE = {int(s): s.name for s in IF_OPER}
_LINKMODE = {int(m): m.name for m in IF_LINK_MODE}
_FAMILY = {AF_UNSPEC: "unspec", AF_INET: "inet", AF_INET6: "inet6", AF_BRIDGE: "bridge",
           AF_PACKET: "link", AF_MPLS: "mpls", AF_IPX: "ipx", AF_DECnet: "dnet"}
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
_IP_HW_TYPES = frozenset(int(t) for t in (
    ARPHRD.TUNNEL, ARPHRD.TUNNEL6, ARPHRD.SIT, ARPHRD.IPGRE, ARPHRD.IP6GRE))

# print_link_flags' order (ip/ipaddress.c, iproute2 6.1); the names are the IFF_* names
_LINK_FLAGS = tuple((int(f), str(f.name)) for f in (
    IFF.LOOPBACK, IFF.BROADCAST, IFF.POINTOPOINT, IFF.MULTICAST, IFF.NOARP, IFF.ALLMULTI,
    IFF.PROMISC, IFF.MASTER, IFF.SLAVE, IFF.DEBUG, IFF.DYNAMIC, IFF.AUTOMEDIA, IFF.PORTSEL,
    IFF.NOTRAILERS, IFF.UP, IFF.LOWER_UP, IFF.DORMANT, IFF.ECHO))
# print_neigh_state: NUD_* names in bit order
_NUD = tuple((int(s), str(s.name)) for s in NUD if s)
# print_rt_flags (next-hop and route flags), in iproute2's order
_RT_FLAGS = tuple((int(bit), name) for bit, name in (
    (RTNH_F.DEAD, "dead"), (RTNH_F.ONLINK, "onlink"), (RTNH_F.PERVASIVE, "pervasive"),
    (RTNH_F.OFFLOAD, "offload"), (RTNH_F.TRAP, "trap"), (RTM_F.NOTIFY, "notify"),
    (RTNH_F.LINKDOWN, "linkdown"), (RTNH_F.UNRESOLVED, "unresolved"),
    (RTM_F.OFFLOAD, "rt_offload"), (RTM_F.TRAP, "rt_trap"),
    (RTM_F.OFFLOAD_FAILED, "rt_offload_failed")))
_IFF_UP = int(IFF.UP)
_IFF_RUNNING = int(IFF.RUNNING)


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
    return _RTNTYPE.get(n) or str(n)


def operstate_name(n: int) -> str:
    """``IF_OPER_*`` name as iproute2 prints it, else the number."""
    return _OPERSTATE.get(n) or str(n)


def linkmode_name(n: int) -> str:
    """``IF_LINK_MODE_*`` name as iproute2 prints it, else the number."""
    return _LINKMODE.get(n) or str(n)


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
    if flags & _IFF_UP and not flags & _IFF_RUNNING:
        out.append("NO-CARRIER")
    flags &= ~_IFF_RUNNING
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


#: iproute2's names for the RTAX_* route metrics (``mx_names`` in ip/iproute.c)
METRIC_TEXT: dict[int, str] = {
    RTAX.MTU: "mtu", RTAX.WINDOW: "window", RTAX.RTT: "rtt", RTAX.RTTVAR: "rttvar",
    RTAX.SSTHRESH: "ssthresh", RTAX.CWND: "cwnd", RTAX.ADVMSS: "advmss",
    RTAX.REORDERING: "reordering", RTAX.HOPLIMIT: "hoplimit", RTAX.INITCWND: "initcwnd",
    RTAX.FEATURES: "features", RTAX.RTO_MIN: "rto_min", RTAX.INITRWND: "initrwnd",
    RTAX.QUICKACK: "quickack", RTAX.CC_ALGO: "congctl",
    RTAX.FASTOPEN_NO_COOKIE: "fastopen_no_cookie",
}

#: an IPv6 route's RTAX_HOPLIMIT when none was set (-1 as u32), which ip does not print
HOPLIMIT_UNSET = 0xFFFFFFFF
