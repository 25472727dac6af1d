"""Per-kind link data (veth, vlan, macvlan, vxlan, bridge and its ports; veth.h, if_link.h, if_bridge.h)."""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = ["VETH_INFO", "IFLA_VLAN", "IFLA_MACVLAN", "MACVLAN_MODE", "MACVLAN_FLAG", "IFLA_VXLAN", "VXLAN_DF", "IFLA_BR", "IFLA_BRPORT", "BR_STATE", "BR_BOOLOPT"]

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
