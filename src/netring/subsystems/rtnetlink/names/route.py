"""iproute2's names for route and rule numbers: protocols, scopes, tables, types, realms, DS fields, IP protocols, flags, metrics (``lib/rt_names.c``, ``ip/iproute.c``), and the reverse tables the command line accepts."""

from __future__ import annotations

from ..constants import RT_SCOPE, RT_TABLE, RTAX, RTM_F, RTN, RTNH_F, RTPROT

__all__ = ["RTN_BY_NAME", "RTPROT_BY_NAME", "SCOPE_BY_NAME", "TABLE_BY_NAME", "rtprot_name", "rtscope_name", "rttable_name", "rtntype_name", "realm_name", "dsfield_name", "ipproto_name", "route_flag_names", "METRIC_TEXT", "HOPLIMIT_UNSET"]

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


# print_rt_flags (next-hop and route flags), in iproute2's order
_RT_FLAGS = tuple((int(bit), name) for bit, name in (
    (RTNH_F.DEAD, "dead"), (RTNH_F.ONLINK, "onlink"), (RTNH_F.PERVASIVE, "pervasive"),
    (RTNH_F.OFFLOAD, "offload"), (RTNH_F.TRAP, "trap"), (RTM_F.NOTIFY, "notify"),
    (RTNH_F.LINKDOWN, "linkdown"), (RTNH_F.UNRESOLVED, "unresolved"),
    (RTM_F.OFFLOAD, "rt_offload"), (RTM_F.TRAP, "rt_trap"),
    (RTM_F.OFFLOAD_FAILED, "rt_offload_failed")))


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
