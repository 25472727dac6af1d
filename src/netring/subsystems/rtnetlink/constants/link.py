"""Link attributes and flags (IFLA, IFLA_INFO, IFF, IF_OPER, ARPHRD, RTEXT_FILTER; if_link.h, if.h, if_arp.h)."""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = ["IFLA", "IFLA_INFO", "IFF", "IF_OPER", "IF_LINK_MODE", "ARPHRD", "RTEXT_FILTER", "IFLA_INET6", "IN6_ADDR_GEN_MODE"]

class IFLA(IntEnum):
    """Link attributes (``IFLA_*``) following ``struct ifinfomsg``."""

    UNSPEC = 0
    ADDRESS = 1
    BROADCAST = 2
    IFNAME = 3
    MTU = 4
    LINK = 5
    QDISC = 6
    STATS = 7
    COST = 8
    PRIORITY = 9
    MASTER = 10
    WIRELESS = 11
    PROTINFO = 12
    TXQLEN = 13
    MAP = 14
    WEIGHT = 15
    OPERSTATE = 16
    LINKMODE = 17
    LINKINFO = 18
    NET_NS_PID = 19
    IFALIAS = 20
    NUM_VF = 21
    VFINFO_LIST = 22
    STATS64 = 23
    VF_PORTS = 24
    PORT_SELF = 25
    AF_SPEC = 26
    GROUP = 27
    NET_NS_FD = 28
    EXT_MASK = 29
    PROMISCUITY = 30
    NUM_TX_QUEUES = 31
    NUM_RX_QUEUES = 32
    CARRIER = 33
    PHYS_PORT_ID = 34
    CARRIER_CHANGES = 35
    PHYS_SWITCH_ID = 36
    LINK_NETNSID = 37
    PHYS_PORT_NAME = 38
    PROTO_DOWN = 39
    GSO_MAX_SEGS = 40
    GSO_MAX_SIZE = 41
    PAD = 42
    XDP = 43
    EVENT = 44
    NEW_NETNSID = 45
    TARGET_NETNSID = 46
    CARRIER_UP_COUNT = 47
    CARRIER_DOWN_COUNT = 48
    NEW_IFINDEX = 49
    MIN_MTU = 50
    MAX_MTU = 51
    PROP_LIST = 52
    ALT_IFNAME = 53
    PERM_ADDRESS = 54
    PROTO_DOWN_REASON = 55
    PARENT_DEV_NAME = 56
    PARENT_DEV_BUS_NAME = 57
    GRO_MAX_SIZE = 58
    TSO_MAX_SIZE = 59
    TSO_MAX_SEGS = 60
    ALLMULTI = 61
    DEVLINK_PORT = 62
    GSO_IPV4_MAX_SIZE = 63
    GRO_IPV4_MAX_SIZE = 64
    DPLL_PIN = 65
    MAX_PACING_OFFLOAD_HORIZON = 66
    NETNS_IMMUTABLE = 67
    HEADROOM = 68
    TAILROOM = 69


class IFLA_INFO(IntEnum):
    """Attributes nested in ``IFLA_LINKINFO`` (``IFLA_INFO_*``)."""

    UNSPEC = 0
    KIND = 1
    DATA = 2
    XSTATS = 3
    SLAVE_KIND = 4
    SLAVE_DATA = 5


class IFLA_INET6(IntEnum):
    """``AF_INET6`` attributes nested in ``IFLA_AF_SPEC`` (``IFLA_INET6_*``, uapi/linux/if_link.h)."""

    UNSPEC = 0
    FLAGS = 1
    CONF = 2
    STATS = 3
    MCAST = 4
    CACHEINFO = 5
    ICMP6STATS = 6
    TOKEN = 7
    ADDR_GEN_MODE = 8
    RA_MTU = 9


class IN6_ADDR_GEN_MODE(IntEnum):
    """``IFLA_INET6_ADDR_GEN_MODE`` values (``IN6_ADDR_GEN_MODE_*``, uapi/linux/if_link.h)."""

    EUI64 = 0
    NONE = 1
    STABLE_PRIVACY = 2
    RANDOM = 3


class IFF(IntFlag):
    """Interface flags (``ifi_flags``, ``IFF_*``, uapi/linux/if.h)."""

    UP = 1 << 0
    BROADCAST = 1 << 1
    DEBUG = 1 << 2
    LOOPBACK = 1 << 3
    POINTOPOINT = 1 << 4
    NOTRAILERS = 1 << 5
    RUNNING = 1 << 6
    NOARP = 1 << 7
    PROMISC = 1 << 8
    ALLMULTI = 1 << 9
    MASTER = 1 << 10
    SLAVE = 1 << 11
    MULTICAST = 1 << 12
    PORTSEL = 1 << 13
    AUTOMEDIA = 1 << 14
    DYNAMIC = 1 << 15
    LOWER_UP = 1 << 16
    DORMANT = 1 << 17
    ECHO = 1 << 18


class IF_OPER(IntEnum):
    """RFC 2863 operational state (``IFLA_OPERSTATE``, ``IF_OPER_*``)."""

    UNKNOWN = 0
    NOTPRESENT = 1
    DOWN = 2
    LOWERLAYERDOWN = 3
    TESTING = 4
    DORMANT = 5
    UP = 6


class IF_LINK_MODE(IntEnum):
    """``IFLA_LINKMODE`` values (``IF_LINK_MODE_*``)."""

    DEFAULT = 0
    DORMANT = 1
    TESTING = 2


class ARPHRD(IntEnum):
    """Link-layer types (``ifi_type``, ``ARPHRD_*``, uapi/linux/if_arp.h; common ones)."""

    NETROM = 0
    ETHER = 1
    IEEE802 = 6
    INFINIBAND = 32
    TUNNEL = 768
    TUNNEL6 = 769
    SIT = 776
    IPGRE = 778
    LOOPBACK = 772
    IP6GRE = 823
    NETLINK = 824
    NONE = 0xFFFE
    VOID = 0xFFFF


class RTEXT_FILTER(IntFlag):
    """``IFLA_EXT_MASK`` bits for link dumps (``RTEXT_FILTER_*``)."""

    VF = 1 << 0
    BRVLAN = 1 << 1
    BRVLAN_COMPRESSED = 1 << 2
    SKIP_STATS = 1 << 3
    MRP = 1 << 4
    CFM_CONFIG = 1 << 5
    CFM_STATUS = 1 << 6
    MST = 1 << 7
