"""nfnetlink_queue constants with their kernel names.

Source: ``include/uapi/linux/netfilter/nfnetlink_queue.h`` (checked against the
Linux 6.18 kernel this project runs on) and ``net/netfilter/nfnetlink_queue.c``
(NFQNL_QMAX_DEFAULT, NFQNL_MAX_COPY_RANGE).  Verdicts, hooks and families shared
with the other nfnetlink subsystems are in :mod:`netring.subsystems.nfnetlink.constants`.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "NFQNL_MSG", "NFQA", "NFQA_VLAN", "NFQNL_CFG_CMD", "NFQNL_COPY", "NFQA_CFG", "NFQA_CFG_F",
    "NFQA_CFG_F_MAX", "NFQA_SKB", "NFQNL_QMAX_DEFAULT", "NFQNL_MAX_COPY_RANGE",
]


class NFQNL_MSG(IntEnum):
    """Message types of subsystem ``NFNL_SUBSYS_QUEUE`` (``enum nfqnl_msg_types``)."""

    PACKET = 0  # packet from kernel to userspace
    VERDICT = 1  # verdict from userspace to kernel
    CONFIG = 2  # connect to a particular queue
    VERDICT_BATCH = 3  # batch verdict from userspace to kernel


class NFQA(IntEnum):
    """Packet and verdict attributes (``enum nfqnl_attr_type``)."""

    UNSPEC = 0
    PACKET_HDR = 1  # struct nfqnl_msg_packet_hdr
    VERDICT_HDR = 2  # struct nfqnl_msg_verdict_hdr
    MARK = 3  # __u32 nfmark
    TIMESTAMP = 4  # struct nfqnl_msg_packet_timestamp
    IFINDEX_INDEV = 5  # __u32 ifindex
    IFINDEX_OUTDEV = 6  # __u32 ifindex
    IFINDEX_PHYSINDEV = 7  # __u32 ifindex
    IFINDEX_PHYSOUTDEV = 8  # __u32 ifindex
    HWADDR = 9  # struct nfqnl_msg_packet_hw
    PAYLOAD = 10  # opaque data payload
    CT = 11  # nested: nfnetlink_conntrack.h attributes
    CT_INFO = 12  # enum ip_conntrack_info
    CAP_LEN = 13  # __u32 length of captured packet
    SKB_INFO = 14  # __u32 skb meta information
    EXP = 15  # nested: nfnetlink_conntrack.h expectation
    UID = 16  # __u32 sk uid
    GID = 17  # __u32 sk gid
    SECCTX = 18  # security context string
    VLAN = 19  # nested: packet vlan info (NFQA_VLAN_*)
    L2HDR = 20  # full L2 header
    PRIORITY = 21  # skb->priority
    CGROUP_CLASSID = 22  # __u32 cgroup classid


class NFQA_VLAN(IntEnum):
    """Attributes nested in ``NFQA_VLAN`` (``enum nfqnl_vlan_attr``)."""

    UNSPEC = 0
    PROTO = 1  # __be16 skb vlan_proto
    TCI = 2  # __be16 skb htons(vlan_tci)


class NFQNL_CFG_CMD(IntEnum):
    """``nfqnl_msg_config_cmd.command`` (``enum nfqnl_msg_config_cmds``)."""

    NONE = 0
    BIND = 1
    UNBIND = 2
    PF_BIND = 3  # accepted and ignored since Linux 3.8
    PF_UNBIND = 4  # accepted and ignored since Linux 3.8


class NFQNL_COPY(IntEnum):
    """``nfqnl_msg_config_params.copy_mode`` (``enum nfqnl_config_mode``)."""

    NONE = 0  # a new queue's mode: packets cannot be queued until it changes
    META = 1
    PACKET = 2


class NFQA_CFG(IntEnum):
    """Configuration attributes (``enum nfqnl_attr_config``)."""

    UNSPEC = 0
    CMD = 1  # struct nfqnl_msg_config_cmd
    PARAMS = 2  # struct nfqnl_msg_config_params
    QUEUE_MAXLEN = 3  # __u32
    MASK = 4  # identify which flags to change
    FLAGS = 5  # value of these flags (__u32)


class NFQA_CFG_F(IntFlag):
    """Queue flags (``NFQA_CFG_F_*``), set with a mask: new = (old & ~mask) | (flags & mask)."""

    FAIL_OPEN = 1 << 0
    CONNTRACK = 1 << 1
    GSO = 1 << 2
    UID_GID = 1 << 3
    SECCTX = 1 << 4


#: ``NFQA_CFG_F_MAX``: flags at or above it are refused with EOPNOTSUPP
NFQA_CFG_F_MAX = 1 << 5


class NFQA_SKB(IntFlag):
    """``NFQA_SKB_INFO`` bits (``NFQA_SKB_*``)."""

    CSUMNOTREADY = 1 << 0  # packet's checksum is not yet computed (CHECKSUM_PARTIAL)
    GSO = 1 << 1  # a GSO super-packet (only with NFQA_CFG_F_GSO)
    CSUM_NOTVERIFIED = 1 << 2  # checksum not yet verified by the stack


#: a new queue's ``queue_maxlen`` (net/netfilter/nfnetlink_queue.c)
NFQNL_QMAX_DEFAULT = 1024
#: the largest copy range: a 16-bit nla_len less its 4-byte header (0xffff - NLA_HDRLEN)
NFQNL_MAX_COPY_RANGE = 0xFFFF - 4
