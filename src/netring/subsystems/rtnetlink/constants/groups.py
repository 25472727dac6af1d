"""rtnetlink multicast groups (``RTNLGRP_*``, rtnetlink.h): what a monitor joins."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["RTNLGRP"]


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
