"""Netlink alignment helpers (``NLMSG_ALIGN``, ``NLA_ALIGN``; uapi/linux/netlink.h)."""

from __future__ import annotations

__all__ = [
    "NLMSG_ALIGNTO",
    "NLMSG_HDRLEN",
    "NLA_ALIGNTO",
    "NLA_HDRLEN",
    "nlmsg_align",
    "nla_align",
    "nlmsg_length",
    "nlmsg_space",
]

NLMSG_ALIGNTO = 4
NLMSG_HDRLEN = 16
NLA_ALIGNTO = 4
NLA_HDRLEN = 4


def nlmsg_align(n: int) -> int:
    """Round ``n`` up to the 4-byte netlink message alignment."""
    return (n + 3) & ~3


def nla_align(n: int) -> int:
    """Round ``n`` up to the 4-byte attribute alignment."""
    return (n + 3) & ~3


def nlmsg_length(payload: int) -> int:
    """``NLMSG_LENGTH``: header plus ``payload`` bytes, unpadded."""
    return payload + NLMSG_HDRLEN


def nlmsg_space(payload: int) -> int:
    """``NLMSG_SPACE``: header plus ``payload`` bytes, padded."""
    return (payload + NLMSG_HDRLEN + 3) & ~3
