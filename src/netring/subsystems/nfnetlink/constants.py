"""Constants every nfnetlink subsystem shares, with their kernel names.

The protocol number itself is ``netring.codec.constants.NETLINK.NETFILTER``.

Sources: ``include/uapi/linux/netfilter/nfnetlink.h`` (NFNL_SUBSYS, NFNETLINK_V0,
NFNL_MSG_BATCH_*, NFNLGRP), ``include/uapi/linux/netfilter.h`` (NF verdicts and
verdict bits, NF_INET hooks, NFPROTO).  Checked against Linux 6.x headers.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "NFNETLINK_V0", "NFNL_SUBSYS", "NFNL_MSG_BATCH", "NFNLGRP", "NF",
    "NF_VERDICT_MASK", "NF_VERDICT_FLAG_QUEUE_BYPASS", "NF_VERDICT_QMASK", "NF_VERDICT_QBITS",
    "NF_INET", "NFPROTO", "nfnl_msg_type", "nfnl_subsys_id", "nf_queue_nr",
]

#: the only nfgenmsg version (uapi/linux/netfilter/nfnetlink.h)
NFNETLINK_V0 = 0


class NFNL_SUBSYS(IntEnum):
    """Subsystem ids, the high byte of ``nlmsg_type`` (uapi/linux/netfilter/nfnetlink.h)."""

    NONE = 0
    CTNETLINK = 1
    CTNETLINK_EXP = 2
    QUEUE = 3
    ULOG = 4
    OSF = 5
    IPSET = 6
    ACCT = 7
    CTNETLINK_TIMEOUT = 8
    CTHELPER = 9
    NFTABLES = 10
    NFT_COMPAT = 11
    HOOK = 12


class NFNL_MSG_BATCH(IntEnum):
    """Batch delimiters (``NFNL_MSG_BATCH_BEGIN``/``_END``, NLMSG_MIN_TYPE and next)."""

    BEGIN = 0x10
    END = 0x11


class NFNLGRP(IntEnum):
    """nfnetlink multicast groups (``enum nfnetlink_groups``)."""

    NONE = 0
    CONNTRACK_NEW = 1
    CONNTRACK_UPDATE = 2
    CONNTRACK_DESTROY = 3
    CONNTRACK_EXP_NEW = 4
    CONNTRACK_EXP_UPDATE = 5
    CONNTRACK_EXP_DESTROY = 6
    NFTABLES = 7
    ACCT_QUOTA = 8
    NFTRACE = 9


class NF(IntEnum):
    """Netfilter verdicts (``NF_DROP`` ... ``NF_STOP``, uapi/linux/netfilter.h)."""

    DROP = 0
    ACCEPT = 1
    STOLEN = 2
    QUEUE = 3
    REPEAT = 4
    STOP = 5


#: the verdict proper is the low byte (``NF_VERDICT_MASK``)
NF_VERDICT_MASK = 0x000000FF
#: continue through the hooks when no one listens on the target queue
NF_VERDICT_FLAG_QUEUE_BYPASS = 0x00008000
#: target queue number of an NF_QUEUE verdict, in the upper 16 bits
NF_VERDICT_QMASK = 0xFFFF0000
NF_VERDICT_QBITS = 16


class NF_INET(IntEnum):
    """IPv4/IPv6 netfilter hooks (``enum nf_inet_hooks``)."""

    PRE_ROUTING = 0
    LOCAL_IN = 1
    FORWARD = 2
    LOCAL_OUT = 3
    POST_ROUTING = 4
    INGRESS = 5


class NFPROTO(IntEnum):
    """Netfilter protocol families (``NFPROTO_*``, uapi/linux/netfilter.h)."""

    UNSPEC = 0
    INET = 1
    IPV4 = 2
    ARP = 3
    NETDEV = 5
    BRIDGE = 7
    IPV6 = 10
    DECNET = 12


def nfnl_msg_type(subsys: int, msg: int) -> int:
    """``nlmsg_type`` of message ``msg`` of subsystem ``subsys`` (``subsys << 8 | msg``)."""
    return (subsys << 8) | msg


def nfnl_subsys_id(nlmsg_type: int) -> int:
    """The subsystem of an ``nlmsg_type`` (``NFNL_SUBSYS_ID``)."""
    return (nlmsg_type & 0xFF00) >> 8


def nf_queue_nr(queue: int) -> int:
    """The verdict word sending a packet to ``queue`` (``NF_QUEUE_NR``)."""
    return ((queue << NF_VERDICT_QBITS) & NF_VERDICT_QMASK) | NF.QUEUE
