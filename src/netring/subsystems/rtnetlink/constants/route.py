"""Route attributes and values (RTA, RTAX, RTN, RTPROT, RT_SCOPE, RT_TABLE, RTM_F, RTNH_F; rtnetlink.h, icmpv6.h)."""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = ["RTA", "RTAX", "RTAX_FEATURE", "RTN", "RTPROT", "RT_SCOPE", "RT_TABLE", "RTM_F", "RTNH_F", "ICMPV6_ROUTER_PREF"]

class RTA(IntEnum):
    """Route attributes (``RTA_*``) following ``struct rtmsg``."""

    UNSPEC = 0
    DST = 1
    SRC = 2
    IIF = 3
    OIF = 4
    GATEWAY = 5
    PRIORITY = 6
    PREFSRC = 7
    METRICS = 8
    MULTIPATH = 9
    PROTOINFO = 10
    FLOW = 11
    CACHEINFO = 12
    SESSION = 13
    MP_ALGO = 14
    TABLE = 15
    MARK = 16
    MFC_STATS = 17
    VIA = 18
    NEWDST = 19
    PREF = 20
    ENCAP_TYPE = 21
    ENCAP = 22
    EXPIRES = 23
    PAD = 24
    UID = 25
    TTL_PROPAGATE = 26
    IP_PROTO = 27
    SPORT = 28
    DPORT = 29
    NH_ID = 30
    FLOWLABEL = 31


class RTAX(IntEnum):
    """Route metrics nested in ``RTA_METRICS`` (``RTAX_*``)."""

    UNSPEC = 0
    LOCK = 1
    MTU = 2
    WINDOW = 3
    RTT = 4
    RTTVAR = 5
    SSTHRESH = 6
    CWND = 7
    ADVMSS = 8
    REORDERING = 9
    HOPLIMIT = 10
    INITCWND = 11
    FEATURES = 12
    RTO_MIN = 13
    INITRWND = 14
    QUICKACK = 15
    CC_ALGO = 16
    FASTOPEN_NO_COOKIE = 17


class RTAX_FEATURE(IntFlag):
    """Bits of the ``RTAX_FEATURES`` metric (``RTAX_FEATURE_*``)."""

    ECN = 1 << 0
    SACK = 1 << 1
    TIMESTAMP = 1 << 2
    ALLFRAG = 1 << 3
    TCP_USEC_TS = 1 << 4


class RTN(IntEnum):
    """Route types (``rtm_type``, ``RTN_*``)."""

    UNSPEC = 0
    UNICAST = 1
    LOCAL = 2
    BROADCAST = 3
    ANYCAST = 4
    MULTICAST = 5
    BLACKHOLE = 6
    UNREACHABLE = 7
    PROHIBIT = 8
    THROW = 9
    NAT = 10
    XRESOLVE = 11


class RTPROT(IntEnum):
    """Route origin (``rtm_protocol``, ``RTPROT_*``)."""

    UNSPEC = 0
    REDIRECT = 1
    KERNEL = 2
    BOOT = 3
    STATIC = 4
    GATED = 8
    RA = 9
    MRT = 10
    ZEBRA = 11
    BIRD = 12
    DNROUTED = 13
    XORP = 14
    NTK = 15
    DHCP = 16
    MROUTED = 17
    KEEPALIVED = 18
    BABEL = 42
    OVN = 84
    OPENR = 99
    BGP = 186
    ISIS = 187
    OSPF = 188
    RIP = 189
    EIGRP = 192


class RT_SCOPE(IntEnum):
    """Route / address scope (``RT_SCOPE_*``)."""

    UNIVERSE = 0
    SITE = 200
    LINK = 253
    HOST = 254
    NOWHERE = 255


class RT_TABLE(IntEnum):
    """Reserved routing table ids (``RT_TABLE_*``); ids > 255 travel in ``RTA_TABLE``."""

    UNSPEC = 0
    COMPAT = 252
    DEFAULT = 253
    MAIN = 254
    LOCAL = 255


class RTM_F(IntFlag):
    """``rtm_flags`` bits (``RTM_F_*``)."""

    NOTIFY = 0x100
    CLONED = 0x200
    EQUALIZE = 0x400
    PREFIX = 0x800
    LOOKUP_TABLE = 0x1000
    FIB_MATCH = 0x2000
    OFFLOAD = 0x4000
    TRAP = 0x8000
    OFFLOAD_FAILED = 0x20000000


class RTNH_F(IntFlag):
    """Next-hop flags (``rtnh_flags`` and low bits of ``rtm_flags``, ``RTNH_F_*``)."""

    DEAD = 1
    PERVASIVE = 2
    ONLINK = 4
    OFFLOAD = 8
    LINKDOWN = 16
    UNRESOLVED = 32
    TRAP = 64


class ICMPV6_ROUTER_PREF(IntEnum):
    """IPv6 route preference (``RTA_PREF``, uapi/linux/icmpv6.h)."""

    MEDIUM = 0
    HIGH = 1
    INVALID = 2
    LOW = 3
