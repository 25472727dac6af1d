"""Address attributes and flags (IFA, IFA_F; if_addr.h)."""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = ["IFA", "IFA_F"]

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
