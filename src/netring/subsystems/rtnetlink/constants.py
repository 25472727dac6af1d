"""rtnetlink constants with their kernel names.

Sources: ``include/uapi/linux/rtnetlink.h`` (RTM, RTA, RTN, RTPROT, RT_SCOPE,
RT_TABLE, RTM_F, RTNH_F, RTAX, RTNLGRP), ``if_link.h`` (IFLA, IFLA_INFO),
``if.h`` (IFF, IF_OPER), ``if_addr.h`` (IFA, IFA_F), ``neighbour.h`` (NDA, NUD,
NTF), ``fib_rules.h`` (FRA, FR_ACT, FIB_RULE), ``if_arp.h`` (ARPHRD).  Values
checked against the shared ABI notes (docs section 5) and Linux 6.x headers.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "AF_UNSPEC", "AF_INET", "AF_INET6", "AF_BRIDGE", "AF_PACKET", "AF_MPLS", "AF_IPX",
    "AF_DECnet", "USER_HZ", "RTAX_FEATURE",
    "RTM", "RTA", "RTAX", "RTN", "RTPROT", "RT_SCOPE", "RT_TABLE", "RTM_F", "RTNH_F",
    "RTNLGRP", "IFLA", "IFLA_INFO", "IFF", "IF_OPER", "IF_LINK_MODE", "IFA", "IFA_F",
    "NDA", "NUD", "NTF", "FRA", "FR_ACT", "FIB_RULE", "ARPHRD", "VETH_INFO",
    "IFLA_VLAN", "IFLA_MACVLAN", "MACVLAN_MODE", "MACVLAN_FLAG", "IFLA_VXLAN", "VXLAN_DF",
    "IFLA_BR", "IFLA_BRPORT", "BR_STATE", "BR_BOOLOPT", "IFLA_INET6", "IN6_ADDR_GEN_MODE",
    "RTEXT_FILTER",
    "ICMPV6_ROUTER_PREF", "NETNSA", "NETNSA_NSID_NOT_ASSIGNED",
]

# address families (linux/socket.h); kept here so pure code need not import socket
AF_UNSPEC = 0
AF_INET = 2
AF_IPX = 4
AF_BRIDGE = 7
AF_INET6 = 10
AF_DECnet = 12
AF_PACKET = 17
AF_MPLS = 28

#: clock ticks per second of the ``clock_t`` values rtnetlink reports (``USER_HZ``,
#: 100 on every Linux architecture's user ABI)
USER_HZ = 100


class RTM(IntEnum):
    """rtnetlink message types (``RTM_*``)."""

    NEWLINK = 16
    DELLINK = 17
    GETLINK = 18
    SETLINK = 19
    NEWADDR = 20
    DELADDR = 21
    GETADDR = 22
    NEWROUTE = 24
    DELROUTE = 25
    GETROUTE = 26
    NEWNEIGH = 28
    DELNEIGH = 29
    GETNEIGH = 30
    NEWRULE = 32
    DELRULE = 33
    GETRULE = 34
    NEWQDISC = 36
    DELQDISC = 37
    GETQDISC = 38
    NEWNSID = 88
    DELNSID = 89
    GETNSID = 90
    NEWNEXTHOP = 104
    DELNEXTHOP = 105
    GETNEXTHOP = 106


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


class RTNLGRP(IntEnum):
    """rtnetlink multicast groups (``RTNLGRP_*``); join with NETLINK_ADD_MEMBERSHIP."""

    NONE = 0
    LINK = 1
    NOTIFY = 2
    NEIGH = 3
    TC = 4
    IPV4_IFADDR = 5
    IPV4_MROUTE = 6
    IPV4_ROUTE = 7
    IPV4_RULE = 8
    IPV6_IFADDR = 9
    IPV6_MROUTE = 10
    IPV6_ROUTE = 11
    IPV6_IFINFO = 12
    DECnet_IFADDR = 13
    NOP2 = 14
    DECnet_ROUTE = 15
    DECnet_RULE = 16
    NOP4 = 17
    IPV6_PREFIX = 18
    IPV6_RULE = 19
    ND_USEROPT = 20
    PHONET_IFADDR = 21
    PHONET_ROUTE = 22
    DCB = 23
    IPV4_NETCONF = 24
    IPV6_NETCONF = 25
    MDB = 26
    MPLS_ROUTE = 27
    NSID = 28
    MPLS_NETCONF = 29
    IPV4_MROUTE_R = 30
    IPV6_MROUTE_R = 31
    NEXTHOP = 32
    BRVLAN = 33
    MCTP_IFADDR = 34
    TUNNEL = 35
    STATS = 36


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


class VETH_INFO(IntEnum):
    """veth ``IFLA_INFO_DATA`` attributes (``VETH_INFO_*``, uapi/linux/veth.h)."""

    UNSPEC = 0
    PEER = 1


class IFLA_VLAN(IntEnum):
    """vlan ``IFLA_INFO_DATA`` attributes (``IFLA_VLAN_*``, if_link.h)."""

    UNSPEC = 0
    ID = 1
    FLAGS = 2
    EGRESS_QOS = 3
    INGRESS_QOS = 4
    PROTOCOL = 5


class IFLA_MACVLAN(IntEnum):
    """macvlan ``IFLA_INFO_DATA`` attributes (``IFLA_MACVLAN_*``, uapi/linux/if_link.h)."""

    UNSPEC = 0
    MODE = 1
    FLAGS = 2
    MACADDR_MODE = 3
    MACADDR = 4
    MACADDR_DATA = 5
    MACADDR_COUNT = 6
    BC_QUEUE_LEN = 7
    BC_QUEUE_LEN_USED = 8


class MACVLAN_MODE(IntEnum):
    """macvlan modes (``MACVLAN_MODE_*``)."""

    PRIVATE = 1
    VEPA = 2
    BRIDGE = 4
    PASSTHRU = 8
    SOURCE = 16


class IFLA_VXLAN(IntEnum):
    """vxlan ``IFLA_INFO_DATA`` attributes (``IFLA_VXLAN_*``, uapi/linux/if_link.h)."""

    UNSPEC = 0
    ID = 1
    GROUP = 2
    LINK = 3
    LOCAL = 4
    TTL = 5
    TOS = 6
    LEARNING = 7
    AGEING = 8
    LIMIT = 9
    PORT_RANGE = 10
    PROXY = 11
    RSC = 12
    L2MISS = 13
    L3MISS = 14
    PORT = 15
    GROUP6 = 16
    LOCAL6 = 17
    UDP_CSUM = 18
    UDP_ZERO_CSUM6_TX = 19
    UDP_ZERO_CSUM6_RX = 20
    REMCSUM_TX = 21
    REMCSUM_RX = 22
    GBP = 23
    REMCSUM_NOPARTIAL = 24
    COLLECT_METADATA = 25
    LABEL = 26
    GPE = 27
    TTL_INHERIT = 28
    DF = 29
    VNIFILTER = 30



class IFLA_BR(IntEnum):
    """bridge ``IFLA_INFO_DATA`` attributes (``IFLA_BR_*``, uapi/linux/if_link.h)."""

    UNSPEC = 0
    FORWARD_DELAY = 1
    HELLO_TIME = 2
    MAX_AGE = 3
    AGEING_TIME = 4
    STP_STATE = 5
    PRIORITY = 6
    VLAN_FILTERING = 7
    VLAN_PROTOCOL = 8
    GROUP_FWD_MASK = 9
    ROOT_ID = 10
    BRIDGE_ID = 11
    ROOT_PORT = 12
    ROOT_PATH_COST = 13
    TOPOLOGY_CHANGE = 14
    TOPOLOGY_CHANGE_DETECTED = 15
    HELLO_TIMER = 16
    TCN_TIMER = 17
    TOPOLOGY_CHANGE_TIMER = 18
    GC_TIMER = 19
    GROUP_ADDR = 20
    FDB_FLUSH = 21
    MCAST_ROUTER = 22
    MCAST_SNOOPING = 23
    MCAST_QUERY_USE_IFADDR = 24
    MCAST_QUERIER = 25
    MCAST_HASH_ELASTICITY = 26
    MCAST_HASH_MAX = 27
    MCAST_LAST_MEMBER_CNT = 28
    MCAST_STARTUP_QUERY_CNT = 29
    MCAST_LAST_MEMBER_INTVL = 30
    MCAST_MEMBERSHIP_INTVL = 31
    MCAST_QUERIER_INTVL = 32
    MCAST_QUERY_INTVL = 33
    MCAST_QUERY_RESPONSE_INTVL = 34
    MCAST_STARTUP_QUERY_INTVL = 35
    NF_CALL_IPTABLES = 36
    NF_CALL_IP6TABLES = 37
    NF_CALL_ARPTABLES = 38
    VLAN_DEFAULT_PVID = 39
    PAD = 40
    VLAN_STATS_ENABLED = 41
    MCAST_STATS_ENABLED = 42
    MCAST_IGMP_VERSION = 43
    MCAST_MLD_VERSION = 44
    VLAN_STATS_PER_PORT = 45
    MULTI_BOOLOPT = 46
    MCAST_QUERIER_STATE = 47



class IFLA_BRPORT(IntEnum):
    """bridge port ``IFLA_INFO_SLAVE_DATA`` attributes (``IFLA_BRPORT_*``, uapi/linux/if_link.h)."""

    UNSPEC = 0
    STATE = 1
    PRIORITY = 2
    COST = 3
    MODE = 4
    GUARD = 5
    PROTECT = 6
    FAST_LEAVE = 7
    LEARNING = 8
    UNICAST_FLOOD = 9
    PROXYARP = 10
    LEARNING_SYNC = 11
    PROXYARP_WIFI = 12
    ROOT_ID = 13
    BRIDGE_ID = 14
    DESIGNATED_PORT = 15
    DESIGNATED_COST = 16
    ID = 17
    NO = 18
    TOPOLOGY_CHANGE_ACK = 19
    CONFIG_PENDING = 20
    MESSAGE_AGE_TIMER = 21
    FORWARD_DELAY_TIMER = 22
    HOLD_TIMER = 23
    FLUSH = 24
    MULTICAST_ROUTER = 25
    PAD = 26
    MCAST_FLOOD = 27
    MCAST_TO_UCAST = 28
    VLAN_TUNNEL = 29
    BCAST_FLOOD = 30
    GROUP_FWD_MASK = 31
    NEIGH_SUPPRESS = 32
    ISOLATED = 33
    BACKUP_PORT = 34
    MRP_RING_OPEN = 35
    MRP_IN_OPEN = 36
    MCAST_EHT_HOSTS_LIMIT = 37
    MCAST_EHT_HOSTS_CNT = 38
    LOCKED = 39



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



class BR_STATE(IntEnum):
    """Bridge port STP states (``IFLA_BRPORT_STATE``, ``BR_STATE_*``, uapi/linux/if_bridge.h)."""

    DISABLED = 0
    LISTENING = 1
    LEARNING = 2
    FORWARDING = 3
    BLOCKING = 4



class BR_BOOLOPT(IntEnum):
    """Bit numbers of ``struct br_boolopt_multi`` (``BR_BOOLOPT_*``, uapi/linux/if_bridge.h)."""

    NO_LL_LEARN = 0
    MCAST_VLAN_SNOOPING = 1
    MST_ENABLE = 2



class MACVLAN_FLAG(IntFlag):
    """``IFLA_MACVLAN_FLAGS`` bits (``MACVLAN_FLAG_*``, uapi/linux/if_link.h)."""

    NOPROMISC = 1
    NODST = 2



class VXLAN_DF(IntEnum):
    """``IFLA_VXLAN_DF`` values (``VXLAN_DF_*``, uapi/linux/if_link.h)."""

    UNSET = 0
    SET = 1
    INHERIT = 2


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


class IFA(IntEnum):
    """Address attributes (``IFA_*``) following ``struct ifaddrmsg``."""

    UNSPEC = 0
    ADDRESS = 1
    LOCAL = 2
    LABEL = 3
    BROADCAST = 4
    ANYCAST = 5
    CACHEINFO = 6
    MULTICAST = 7
    FLAGS = 8
    RT_PRIORITY = 9
    TARGET_NETNSID = 10
    PROTO = 11


class IFA_F(IntFlag):
    """Address flags (``ifa_flags`` / ``IFA_FLAGS``, ``IFA_F_*``)."""

    SECONDARY = 0x01
    NODAD = 0x02
    OPTIMISTIC = 0x04
    DADFAILED = 0x08
    HOMEADDRESS = 0x10
    DEPRECATED = 0x20
    TENTATIVE = 0x40
    PERMANENT = 0x80
    MANAGETEMPADDR = 0x100
    NOPREFIXROUTE = 0x200
    MCAUTOJOIN = 0x400
    STABLE_PRIVACY = 0x800


class NDA(IntEnum):
    """Neighbour attributes (``NDA_*``) following ``struct ndmsg``."""

    UNSPEC = 0
    DST = 1
    LLADDR = 2
    CACHEINFO = 3
    PROBES = 4
    VLAN = 5
    PORT = 6
    VNI = 7
    IFINDEX = 8
    MASTER = 9
    LINK_NETNSID = 10
    SRC_VNI = 11
    PROTOCOL = 12
    NH_ID = 13
    FDB_EXT_ATTRS = 14
    FLAGS_EXT = 15
    NDM_STATE_MASK = 16
    NDM_FLAGS_MASK = 17


class NUD(IntFlag):
    """Neighbour states (``ndm_state``, ``NUD_*``)."""

    NONE = 0x00
    INCOMPLETE = 0x01
    REACHABLE = 0x02
    STALE = 0x04
    DELAY = 0x08
    PROBE = 0x10
    FAILED = 0x20
    NOARP = 0x40
    PERMANENT = 0x80


class NTF(IntFlag):
    """Neighbour flags (``ndm_flags``, ``NTF_*``)."""

    USE = 0x01
    SELF = 0x02
    MASTER = 0x04
    PROXY = 0x08
    EXT_LEARNED = 0x10
    OFFLOADED = 0x20
    STICKY = 0x40
    ROUTER = 0x80


class FRA(IntEnum):
    """Rule attributes (``FRA_*``) following ``struct fib_rule_hdr``."""

    UNSPEC = 0
    DST = 1
    SRC = 2
    IIFNAME = 3
    GOTO = 4
    UNUSED2 = 5
    PRIORITY = 6
    UNUSED3 = 7
    UNUSED4 = 8
    UNUSED5 = 9
    FWMARK = 10
    FLOW = 11
    TUN_ID = 12
    SUPPRESS_IFGROUP = 13
    SUPPRESS_PREFIXLEN = 14
    TABLE = 15
    FWMASK = 16
    OIFNAME = 17
    PAD = 18
    L3MDEV = 19
    UID_RANGE = 20
    PROTOCOL = 21
    IP_PROTO = 22
    SPORT_RANGE = 23
    DPORT_RANGE = 24
    DSCP = 25
    FLOWLABEL = 26
    FLOWLABEL_MASK = 27
    SPORT_MASK = 28
    DPORT_MASK = 29
    DSCP_MASK = 30


class FR_ACT(IntEnum):
    """Rule actions (``fib_rule_hdr.action``, ``FR_ACT_*``)."""

    UNSPEC = 0
    TO_TBL = 1
    GOTO = 2
    NOP = 3
    RES3 = 4
    RES4 = 5
    BLACKHOLE = 6
    UNREACHABLE = 7
    PROHIBIT = 8


class FIB_RULE(IntFlag):
    """Rule flags (``fib_rule_hdr.flags``, ``FIB_RULE_*``)."""

    PERMANENT = 0x1
    INVERT = 0x2
    UNRESOLVED = 0x4
    IIF_DETACHED = 0x8
    OIF_DETACHED = 0x10
    FIND_SADDR = 0x10000


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


class ICMPV6_ROUTER_PREF(IntEnum):
    """IPv6 route preference (``RTA_PREF``, uapi/linux/icmpv6.h)."""

    MEDIUM = 0
    HIGH = 1
    INVALID = 2
    LOW = 3


class NETNSA(IntEnum):
    """``RTM_*NSID`` attributes (``NETNSA_*``, uapi/linux/net_namespace.h)."""

    NONE = 0
    NSID = 1
    PID = 2
    FD = 3
    TARGET_NSID = 4
    CURRENT_NSID = 5


NETNSA_NSID_NOT_ASSIGNED = -1  # uapi/linux/net_namespace.h
