"""Message types, groups, families and namespace ids (rtnetlink.h, socket.h, net_namespace.h)."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["AF_UNSPEC", "AF_INET", "AF_IPX", "AF_BRIDGE", "AF_INET6", "AF_DECnet", "AF_PACKET", "AF_MPLS", "USER_HZ", "RTM", "RTNLGRP", "NETNSA", "NETNSA_NSID_NOT_ASSIGNED"]

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


class NETNSA(IntEnum):
    """``RTM_*NSID`` attributes (``NETNSA_*``, uapi/linux/net_namespace.h)."""

    NONE = 0
    NSID = 1
    PID = 2
    FD = 3
    TARGET_NSID = 4
    CURRENT_NSID = 5


NETNSA_NSID_NOT_ASSIGNED = -1  # uapi/linux/net_namespace.h
