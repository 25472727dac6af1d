"""Neighbour attributes, states and flags (NDA, NUD, NTF; neighbour.h)."""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = ["NDA", "NUD", "NTF"]

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
