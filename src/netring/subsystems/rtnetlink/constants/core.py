"""Message types, families and namespace ids (rtnetlink.h, socket.h, net_namespace.h)."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["AF_UNSPEC", "AF_INET", "AF_IPX", "AF_BRIDGE", "AF_INET6", "AF_DECnet", "AF_PACKET", "AF_MPLS", "USER_HZ", "RTM", "NETNSA", "NETNSA_NSID_NOT_ASSIGNED"]

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


class NETNSA(IntEnum):
    """``RTM_*NSID`` attributes (``NETNSA_*``, uapi/linux/net_namespace.h)."""

    NONE = 0
    NSID = 1
    PID = 2
    FD = 3
    TARGET_NSID = 4
    CURRENT_NSID = 5


NETNSA_NSID_NOT_ASSIGNED = -1  # uapi/linux/net_namespace.h
