"""Netlink core constants, kernel names kept (``include/uapi/linux/netlink.h``).

Values are the kernel's; :func:`nlm_f_str` prints message flags the way a person
debugging netlink wants to read them (``request|multi|0x100``), since the meaning
of the upper byte depends on the request kind.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "NETLINK",
    "NLMSG",
    "NLM_F",
    "NLA_F",
    "NLA_TYPE_MASK",
    "NLMSGERR_ATTR",
    "SOL_NETLINK",
    "NETLINK_ADD_MEMBERSHIP",
    "NETLINK_DROP_MEMBERSHIP",
    "NETLINK_PKTINFO",
    "NETLINK_BROADCAST_ERROR",
    "NETLINK_NO_ENOBUFS",
    "NETLINK_RX_RING",
    "NETLINK_TX_RING",
    "NETLINK_LISTEN_ALL_NSID",
    "NETLINK_LIST_MEMBERSHIPS",
    "NETLINK_CAP_ACK",
    "NETLINK_EXT_ACK",
    "NETLINK_GET_STRICT_CHK",
    "nlm_f_str",
]


class NETLINK(IntEnum):
    """Netlink protocol numbers (``NETLINK_*``, uapi/linux/netlink.h)."""

    ROUTE = 0
    UNUSED = 1
    USERSOCK = 2
    FIREWALL = 3
    SOCK_DIAG = 4
    NFLOG = 5
    XFRM = 6
    SELINUX = 7
    ISCSI = 8
    AUDIT = 9
    FIB_LOOKUP = 10
    CONNECTOR = 11
    NETFILTER = 12
    IP6_FW = 13
    DNRTMSG = 14
    KOBJECT_UEVENT = 15
    GENERIC = 16
    SCSITRANSPORT = 18
    ECRYPTFS = 19
    RDMA = 20
    CRYPTO = 21
    SMC = 22


class NLMSG(IntEnum):
    """Netlink control message types (``NLMSG_*``); types below ``MIN_TYPE`` are reserved."""

    NOOP = 0x1
    ERROR = 0x2
    DONE = 0x3
    OVERRUN = 0x4
    MIN_TYPE = 0x10


class NLM_F(IntFlag):
    """``nlmsg_flags`` bits (``NLM_F_*``).

    The upper byte is reused by request kind: GET (ROOT, MATCH, ATOMIC, DUMP),
    NEW (REPLACE, EXCL, CREATE, APPEND), DELETE (NONREC, BULK) and ACK
    (CAPPED, ACK_TLVS).  The aliases below share values on purpose.
    """

    REQUEST = 0x01
    MULTI = 0x02
    ACK = 0x04
    ECHO = 0x08
    DUMP_INTR = 0x10
    DUMP_FILTERED = 0x20
    # GET requests
    ROOT = 0x100
    MATCH = 0x200
    ATOMIC = 0x400
    DUMP = 0x300
    # NEW requests
    REPLACE = 0x100
    EXCL = 0x200
    CREATE = 0x400
    APPEND = 0x800
    # DELETE requests
    NONREC = 0x100
    BULK = 0x200
    # ACK messages (kernel -> user)
    CAPPED = 0x100
    ACK_TLVS = 0x200


_LOW_FLAGS = (
    (0x01, "request"),
    (0x02, "multi"),
    (0x04, "ack"),
    (0x08, "echo"),
    (0x10, "dump_intr"),
    (0x20, "dump_filtered"),
)

_KIND_FLAGS: dict[str, tuple[tuple[int, str], ...]] = {
    "get": ((0x100, "root"), (0x200, "match"), (0x400, "atomic")),
    "new": ((0x100, "replace"), (0x200, "excl"), (0x400, "create"), (0x800, "append")),
    "delete": ((0x100, "nonrec"), (0x200, "bulk")),
    "ack": ((0x100, "capped"), (0x200, "ack_tlvs")),
}


def nlm_f_str(flags: int, kind: str | None = None) -> str:
    """Render ``nlmsg_flags`` readably, e.g. ``request|multi|0x100``.

    Args:
        flags: the 16-bit flags word.
        kind: ``"get"``, ``"new"``, ``"delete"`` or ``"ack"`` to name the upper
            byte; without it the upper bits are printed in hex.
    """
    parts: list[str] = []
    rest = flags
    for bit, name in _LOW_FLAGS:
        if flags & bit:
            parts.append(name)
            rest &= ~bit
    if kind is not None:
        for bit, name in _KIND_FLAGS[kind]:
            if rest & bit:
                parts.append(name)
                rest &= ~bit
    if rest:
        parts.append(hex(rest))
    return "|".join(parts) if parts else "0"


class NLA_F(IntFlag):
    """Attribute type flag bits (``NLA_F_*``)."""

    NESTED = 1 << 15
    NET_BYTEORDER = 1 << 14


NLA_TYPE_MASK = ~(NLA_F.NESTED | NLA_F.NET_BYTEORDER) & 0xFFFF


class NLMSGERR_ATTR(IntEnum):
    """Extended-ack TLVs following ``struct nlmsgerr`` (``NLMSGERR_ATTR_*``)."""

    UNUSED = 0
    MSG = 1
    OFFS = 2
    COOKIE = 3
    POLICY = 4
    MISS_TYPE = 5
    MISS_NEST = 6


# SOL_NETLINK socket options (uapi/linux/netlink.h)
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_DROP_MEMBERSHIP = 2
NETLINK_PKTINFO = 3
NETLINK_BROADCAST_ERROR = 4
NETLINK_NO_ENOBUFS = 5
NETLINK_RX_RING = 6
NETLINK_TX_RING = 7
NETLINK_LISTEN_ALL_NSID = 8
NETLINK_LIST_MEMBERSHIPS = 9
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12


class SO(IntEnum):
    """``SOL_SOCKET`` options netring sets on its sockets (uapi/asm-generic/socket.h).

    Python's :mod:`socket` module lacks the ``*FORCE``, ``MEMINFO``, filter and timestamp
    ones.  ``ATTACH_FILTER`` is also ``SO_GET_FILTER`` (getsockopt).  These are the
    asm-generic numbers (x86, ARM, arm64 and most others; alpha, mips, parisc, powerpc
    and sparc differ in places).  ``TIMESTAMPNS`` and ``TIMESTAMPING`` are the ``*_OLD``
    numbers, which carry the same 64-bit times on 64-bit hosts.
    """

    PASSCRED = 16
    ATTACH_FILTER = 26
    DETACH_FILTER = 27
    TIMESTAMP = 29
    SNDBUFFORCE = 32
    RCVBUFFORCE = 33
    TIMESTAMPNS = 35
    TIMESTAMPING = 37
    LOCK_FILTER = 44
    MEMINFO = 55


SCM_CREDENTIALS = 2  # SOL_SOCKET control message: struct ucred (uapi/linux/socket.h)
SK_MEMINFO_DROPS = 8  # index of sk_drops in SO_MEMINFO's u32 array (uapi/linux/sock_diag.h)
SK_MEMINFO_VARS = 9  # u32 words SO_MEMINFO returns (SK_MEMINFO_VARS, uapi/linux/sock_diag.h)
