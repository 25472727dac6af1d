"""nfnetlink_log constants, with their kernel names.

Source: ``include/uapi/linux/netfilter/nfnetlink_log.h`` (message types,
attributes, config commands, copy modes, config flags); the limits and
instance defaults are ``#define``\\ s of ``net/netfilter/nfnetlink_log.c``.
Checked against Linux 6.18.  Subsystem, hooks and families are shared with
every nfnetlink subsystem: :mod:`netring.subsystems.nfnetlink.constants`.

Every integer attribute is big-endian on the wire, and the kernel writes them
with ``nla_put_be32``/``nla_put_be16``, which do **not** set
``NLA_F_NET_BYTEORDER``: read them as big-endian whatever the flag says.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

from ..constants import NFNL_SUBSYS, nfnl_msg_type

__all__ = [
    "NFULNL_MSG", "NFULA", "NFULA_VLAN", "NFULA_CFG", "NFULNL_CFG_CMD", "NFULNL_COPY",
    "NFULNL_CFG_F", "NFULNL_COPY_RANGE_MAX", "NFULNL_NLBUFSIZ_MAX", "NFULNL_TIMEOUT_DEFAULT",
    "NFULNL_QTHRESH_DEFAULT", "NFULNL_MSG_TYPE_PACKET", "NFULNL_MSG_TYPE_CONFIG",
]


class NFULNL_MSG(IntEnum):
    """Message types of subsystem ``NFNL_SUBSYS_ULOG`` (``enum nfulnl_msg_types``)."""

    PACKET = 0  # kernel -> user: one logged packet
    CONFIG = 1  # user -> kernel: bind, unbind, parameters


#: ``nlmsg_type`` of a logged packet (``NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET``)
NFULNL_MSG_TYPE_PACKET = nfnl_msg_type(NFNL_SUBSYS.ULOG, NFULNL_MSG.PACKET)
#: ``nlmsg_type`` of a configuration request
NFULNL_MSG_TYPE_CONFIG = nfnl_msg_type(NFNL_SUBSYS.ULOG, NFULNL_MSG.CONFIG)


class NFULA(IntEnum):
    """Attributes of a logged packet (``enum nfulnl_attr_type``, ``NFULA_*``)."""

    UNSPEC = 0
    PACKET_HDR = 1  # struct nfulnl_msg_packet_hdr (always first)
    MARK = 2  # be32 skb->mark (only when non-zero)
    TIMESTAMP = 3  # struct nfulnl_msg_packet_timestamp (hooks up to FORWARD only)
    IFINDEX_INDEV = 4  # be32
    IFINDEX_OUTDEV = 5  # be32
    IFINDEX_PHYSINDEV = 6  # be32 (bridge netfilter)
    IFINDEX_PHYSOUTDEV = 7  # be32 (bridge netfilter)
    HWADDR = 8  # struct nfulnl_msg_packet_hw
    PAYLOAD = 9  # the packet from its network header, copy_range bytes at most
    PREFIX = 10  # NUL-terminated string: the rule's log prefix
    UID = 11  # be32 fsuid of the sending socket's file
    SEQ = 12  # be32 instance-local sequence number (NFULNL_CFG_F_SEQ)
    SEQ_GLOBAL = 13  # be32 per-namespace sequence number (NFULNL_CFG_F_SEQ_GLOBAL)
    GID = 14  # be32 fsgid of the sending socket's file
    HWTYPE = 15  # be16 ARPHRD_* of the input device
    HWHEADER = 16  # the link-layer header, hard_header_len bytes
    HWLEN = 17  # be16 hard_header_len
    CT = 18  # nested conntrack attributes (nfnetlink_conntrack.h), NFULNL_CFG_F_CONNTRACK
    CT_INFO = 19  # be32 enum ip_conntrack_info
    VLAN = 20  # nested NFULA_VLAN_* (bridge and netdev families)
    L2HDR = 21  # the full link-layer header (bridge and netdev families)


class NFULA_VLAN(IntEnum):
    """Attributes nested in ``NFULA_VLAN`` (``enum nfulnl_vlan_attr``)."""

    UNSPEC = 0
    PROTO = 1  # be16 skb->vlan_proto
    TCI = 2  # be16 skb->vlan_tci


class NFULA_CFG(IntEnum):
    """Attributes of a ``NFULNL_MSG_CONFIG`` request (``enum nfulnl_attr_config``)."""

    UNSPEC = 0
    CMD = 1  # struct nfulnl_msg_config_cmd
    MODE = 2  # struct nfulnl_msg_config_mode
    NLBUFSIZ = 3  # be32 bytes of the batch skb (NLMSG_GOODSIZE .. 131072, else ignored)
    TIMEOUT = 4  # be32 flush timeout in 1/100 s
    QTHRESH = 5  # be32 messages per batch at most
    FLAGS = 6  # be16 NFULNL_CFG_F_* (replaces every flag; there is no mask)


class NFULNL_CFG_CMD(IntEnum):
    """``nfulnl_msg_config_cmd.command`` (``enum nfulnl_msg_config_cmds``)."""

    NONE = 0
    BIND = 1
    UNBIND = 2
    PF_BIND = 3
    PF_UNBIND = 4


class NFULNL_COPY(IntEnum):
    """``nfulnl_msg_config_mode.copy_mode`` (``NFULNL_COPY_*``; 0xff is reserved)."""

    NONE = 0x00
    META = 0x01
    PACKET = 0x02


class NFULNL_CFG_F(IntFlag):
    """``NFULA_CFG_FLAGS`` bits (``NFULNL_CFG_F_*``)."""

    SEQ = 0x0001
    SEQ_GLOBAL = 0x0002
    CONNTRACK = 0x0004


#: largest copy range: the payload attribute's 16-bit nla_len less its header
#: (``NFULNL_COPY_RANGE_MAX``, nfnetlink_log.c)
NFULNL_COPY_RANGE_MAX = 0xFFFF - 4
#: largest batch buffer the kernel accepts (``nfulnl_set_nlbufsiz``, nfnetlink_log.c)
NFULNL_NLBUFSIZ_MAX = 131072
#: flush timeout of a new instance, 1/100 s (``NFULNL_TIMEOUT_DEFAULT``)
NFULNL_TIMEOUT_DEFAULT = 100
#: batch threshold of a new instance (``NFULNL_QTHRESH_DEFAULT``)
NFULNL_QTHRESH_DEFAULT = 100
