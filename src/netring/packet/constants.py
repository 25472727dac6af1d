"""AF_PACKET constants, kernel names kept, each declared once.

Sources: ``include/uapi/linux/if_packet.h`` (socket options, ring versions,
status words, fanout), ``include/uapi/linux/if_ether.h`` (``ETH_P_*``),
``include/uapi/linux/net_tstamp.h`` (``SOF_TIMESTAMPING_*``, hardware
timestamping configuration), ``include/uapi/linux/sockios.h`` (ioctls) and
``include/uapi/linux/if_arp.h`` (``ARPHRD_*``).

A fanout ``setsockopt`` value packs three fields (``fanout_add``)::

    bit 31       24 23       16 15                       0
       +-----------+-----------+--------------------------+
       |   flags   |   mode    |        group id          |
       +-----------+-----------+--------------------------+
    PACKET_FANOUT_FLAG_* are written in the upper 16 bits' own space
    (``type_flags = val >> 16``): ROLLOVER 0x1000 ... DEFRAG 0x8000.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "SOL_PACKET",
    "PACKET",
    "PACKET_TYPE",
    "PACKET_MR",
    "TPACKET_VERSION",
    "TP_STATUS",
    "TP_STATUS_TX",
    "TP_FT_REQ_FILL_RXHASH",
    "TPACKET_ALIGNMENT",
    "tpacket_align",
    "V3_ALIGNMENT",
    "v3_align",
    "ETH_P",
    "ETH_HLEN",
    "VLAN_HLEN",
    "ARPHRD_ETHER",
    "ARPHRD_LOOPBACK",
    "PACKET_FANOUT",
    "PACKET_FANOUT_FLAG",
    "PACKET_FANOUT_MAX",
    "SOF_TIMESTAMPING",
    "HWTSTAMP_TX",
    "HWTSTAMP_FILTER",
    "SIOCGIFINDEX",
    "SIOCSHWTSTAMP",
    "SIOCGHWTSTAMP",
    "DEFAULT_PRB_RETIRE_TOV",
]

SOL_PACKET = 263  # include/linux/socket.h


class PACKET(IntEnum):
    """``SOL_PACKET`` socket options (``PACKET_*``, uapi/linux/if_packet.h)."""

    ADD_MEMBERSHIP = 1
    DROP_MEMBERSHIP = 2
    RECV_OUTPUT = 3
    RX_RING = 5
    STATISTICS = 6
    COPY_THRESH = 7
    AUXDATA = 8
    ORIGDEV = 9
    VERSION = 10
    HDRLEN = 11
    RESERVE = 12
    TX_RING = 13
    LOSS = 14
    VNET_HDR = 15
    TX_TIMESTAMP = 16
    TIMESTAMP = 17
    FANOUT = 18
    TX_HAS_OFF = 19
    QDISC_BYPASS = 20
    ROLLOVER_STATS = 21
    FANOUT_DATA = 22
    IGNORE_OUTGOING = 23
    VNET_HDR_SZ = 24


class PACKET_TYPE(IntEnum):
    """``sll_pkttype``: the direction/class of a packet (``PACKET_HOST`` ..., if_packet.h)."""

    HOST = 0
    BROADCAST = 1
    MULTICAST = 2
    OTHERHOST = 3
    OUTGOING = 4
    LOOPBACK = 5
    USER = 6
    KERNEL = 7


class PACKET_MR(IntEnum):
    """``packet_mreq.mr_type`` (``PACKET_MR_*``, if_packet.h)."""

    MULTICAST = 0
    PROMISC = 1
    ALLMULTI = 2
    UNICAST = 3


class TPACKET_VERSION(IntEnum):
    """``enum tpacket_versions`` (if_packet.h): the ``PACKET_VERSION`` value."""

    V1 = 0
    V2 = 1
    V3 = 2


class TP_STATUS(IntFlag):
    """RX frame/block status word (``tp_status``, V3 ``block_status``; if_packet.h)."""

    KERNEL = 0
    USER = 1 << 0
    COPY = 1 << 1
    LOSING = 1 << 2
    CSUMNOTREADY = 1 << 3
    VLAN_VALID = 1 << 4
    BLK_TMO = 1 << 5
    VLAN_TPID_VALID = 1 << 6
    CSUM_VALID = 1 << 7
    GSO_TCP = 1 << 8
    TS_SOFTWARE = 1 << 29
    TS_SYS_HARDWARE = 1 << 30  # deprecated, never set
    TS_RAW_HARDWARE = 1 << 31


class TP_STATUS_TX(IntFlag):
    """TX frame status word (``TP_STATUS_AVAILABLE`` ..., if_packet.h)."""

    AVAILABLE = 0
    SEND_REQUEST = 1 << 0
    SENDING = 1 << 1
    WRONG_FORMAT = 1 << 2
    TS_SOFTWARE = 1 << 29
    TS_RAW_HARDWARE = 1 << 31


TP_FT_REQ_FILL_RXHASH = 0x1  # tpacket_req3.tp_feature_req_word (if_packet.h)

TPACKET_ALIGNMENT = 16  # if_packet.h


def tpacket_align(x: int) -> int:
    """``TPACKET_ALIGN(x)``: ``x`` rounded up to :data:`TPACKET_ALIGNMENT`."""
    return (x + TPACKET_ALIGNMENT - 1) & ~(TPACKET_ALIGNMENT - 1)


V3_ALIGNMENT = 8  # net/packet/af_packet.c (V3 packets are packed on 8 bytes)


def v3_align(x: int) -> int:
    """``ALIGN(x, V3_ALIGNMENT)`` (net/packet/af_packet.c)."""
    return (x + V3_ALIGNMENT - 1) & ~(V3_ALIGNMENT - 1)


class ETH_P(IntEnum):
    """Ethernet protocol ids (``ETH_P_*``, uapi/linux/if_ether.h), host-order values."""

    LOOP = 0x0060
    ALL = 0x0003
    IP = 0x0800
    ARP = 0x0806
    IPV6 = 0x86DD
    P_8021Q = 0x8100
    P_8021AD = 0x88A8
    LLDP = 0x88CC


ETH_HLEN = 14  # if_ether.h
VLAN_HLEN = 4  # include/linux/if_vlan.h
ARPHRD_ETHER = 1  # uapi/linux/if_arp.h
ARPHRD_LOOPBACK = 772


class PACKET_FANOUT(IntEnum):
    """Fanout modes (``PACKET_FANOUT_*``, if_packet.h)."""

    HASH = 0
    LB = 1
    CPU = 2
    ROLLOVER = 3
    RND = 4
    QM = 5
    CBPF = 6
    EBPF = 7


class PACKET_FANOUT_FLAG(IntFlag):
    """Fanout flags, in the ``type_flags`` (upper 16 bits) space (if_packet.h)."""

    ROLLOVER = 0x1000
    UNIQUEID = 0x2000
    IGNORE_OUTGOING = 0x4000
    DEFRAG = 0x8000


PACKET_FANOUT_MAX = 1 << 16  # net/packet/internal.h (256 before fanout_args)


class SOF_TIMESTAMPING(IntFlag):
    """``SOF_TIMESTAMPING_*`` (uapi/linux/net_tstamp.h); ``PACKET_TIMESTAMP`` takes these."""

    TX_HARDWARE = 1 << 0
    TX_SOFTWARE = 1 << 1
    RX_HARDWARE = 1 << 2
    RX_SOFTWARE = 1 << 3
    SOFTWARE = 1 << 4
    SYS_HARDWARE = 1 << 5
    RAW_HARDWARE = 1 << 6
    OPT_ID = 1 << 7
    TX_SCHED = 1 << 8
    TX_ACK = 1 << 9
    OPT_CMSG = 1 << 10
    OPT_TSONLY = 1 << 11
    OPT_STATS = 1 << 12
    OPT_PKTINFO = 1 << 13
    OPT_TX_SWHW = 1 << 14
    BIND_PHC = 1 << 15


class HWTSTAMP_TX(IntEnum):
    """``enum hwtstamp_tx_types`` (uapi/linux/net_tstamp.h)."""

    OFF = 0
    ON = 1
    ONESTEP_SYNC = 2
    ONESTEP_P2P = 3


class HWTSTAMP_FILTER(IntEnum):
    """``enum hwtstamp_rx_filters`` (uapi/linux/net_tstamp.h), the ones capture uses."""

    NONE = 0
    ALL = 1
    SOME = 2


SIOCGIFINDEX = 0x8933  # uapi/linux/sockios.h
SIOCSHWTSTAMP = 0x89B0
SIOCGHWTSTAMP = 0x89B1

DEFAULT_PRB_RETIRE_TOV = 8  # ms, net/packet/internal.h: V3 retire timeout when none is given
