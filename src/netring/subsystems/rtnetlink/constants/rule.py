"""Routing-rule attributes, actions and flags (FRA, FR_ACT, FIB_RULE; fib_rules.h)."""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = ["FRA", "FR_ACT", "FIB_RULE"]

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
