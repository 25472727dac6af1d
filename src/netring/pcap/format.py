"""Wire facts of the pcap and pcapng capture formats, each declared once.

pcap (libpcap's ``pcap/pcap.h``; the format as documented with libpcap and in
the IETF draft ``draft-ietf-opsawg-pcap``)::

    file header (24 bytes)                      record header (16 bytes), then incl_len bytes
    +-------+-----+-----+------+-----+------+   +--------+---------+----------+----------+
    | magic | maj | min | zone | sig | snap |   | ts_sec | ts_frac | incl_len | orig_len |
    |  u32  | u16 | u16 | s32  | u32 | u32  |   |  u32   |   u32   |   u32    |   u32    |
    +-------+-----+-----+------+-----+------+   +--------+---------+----------+----------+
    + linktype u32                               ts_frac: microseconds, or nanoseconds with
                                                 the nanosecond magic

pcapng (IETF draft ``draft-ietf-opsawg-pcapng``): a sequence of blocks, each
``type u32 | total length u32 | body | options | total length u32``, bodies
padded to 32 bits; options are ``code u16 | length u16 | value`` (padded),
ended by ``opt_endofopt``.  Files are written in host byte order; readers
detect the order from the section header's byte-order magic.
"""

from __future__ import annotations

import struct
from enum import IntEnum

__all__ = [
    "PCAP_MAGIC_US",
    "PCAP_MAGIC_NS",
    "PCAP_VERSION",
    "PCAPNG_BYTE_ORDER_MAGIC",
    "PCAPNG_VERSION",
    "LINKTYPE",
    "PCAPNG_BLOCK",
    "PCAPNG_OPT",
    "PCAPNG_IDB_OPT",
    "PCAPNG_EPB_OPT",
    "PCAPNG_ISB_OPT",
    "pcap_file_header",
    "pcap_record_header",
    "pcapng_block_header",
]

PCAP_MAGIC_US = 0xA1B2C3D4  # timestamps in microseconds (TCPDUMP_MAGIC, pcap/pcap.h)
PCAP_MAGIC_NS = 0xA1B23C4D  # timestamps in nanoseconds (NSEC_TCPDUMP_MAGIC)
PCAP_VERSION = (2, 4)  # PCAP_VERSION_MAJOR, PCAP_VERSION_MINOR
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D  # section header block byte-order magic
PCAPNG_VERSION = (1, 0)

# struct pcap_file_header { bpf_u_int32 magic; u_short version_major, version_minor;
#   bpf_int32 thiszone; bpf_u_int32 sigfigs, snaplen, linktype; };       pcap/pcap.h
pcap_file_header = struct.Struct("=IHHiIII")
assert pcap_file_header.size == 24

# struct pcap_sf_pkthdr { bpf_int32 ts_sec, ts_frac; bpf_u_int32 caplen, len; }  sf-pcap.c
pcap_record_header = struct.Struct("=IIII")
assert pcap_record_header.size == 16

# every pcapng block starts with { u32 block_type; u32 block_total_length; }
pcapng_block_header = struct.Struct("=II")
assert pcapng_block_header.size == 8


class LINKTYPE(IntEnum):
    """Link-layer header types (``LINKTYPE_*``, the tcpdump.org registry)."""

    NULL = 0
    ETHERNET = 1
    RAW = 101
    LINUX_SLL = 113
    IPV4 = 228
    IPV6 = 229
    NFLOG = 239
    NETLINK = 253
    LINUX_SLL2 = 276


class PCAPNG_BLOCK(IntEnum):
    """pcapng block types."""

    SECTION_HEADER = 0x0A0D0D0A
    INTERFACE_DESCRIPTION = 0x00000001
    SIMPLE_PACKET = 0x00000003
    NAME_RESOLUTION = 0x00000004
    INTERFACE_STATISTICS = 0x00000005
    ENHANCED_PACKET = 0x00000006
    DECRYPTION_SECRETS = 0x0000000A


class PCAPNG_OPT(IntEnum):
    """Options valid in every pcapng block."""

    ENDOFOPT = 0
    COMMENT = 1


class PCAPNG_IDB_OPT(IntEnum):
    """Interface description block options (``if_*``)."""

    NAME = 2
    DESCRIPTION = 3
    IPV4ADDR = 4
    IPV6ADDR = 5
    MACADDR = 6
    EUIADDR = 7
    SPEED = 8
    TSRESOL = 9
    TZONE = 10
    FILTER = 11
    OS = 12
    FCSLEN = 13
    TSOFFSET = 14
    HARDWARE = 15


class PCAPNG_EPB_OPT(IntEnum):
    """Enhanced packet block options (``epb_*``)."""

    FLAGS = 2
    HASH = 3
    DROPCOUNT = 4
    PACKETID = 5
    QUEUE = 6
    VERDICT = 7


class PCAPNG_ISB_OPT(IntEnum):
    """Interface statistics block options (``isb_*``)."""

    STARTTIME = 2
    ENDTIME = 3
    IFRECV = 4
    IFDROP = 5
    FILTERACCEPT = 6
    OSDROP = 7
    USRDELIV = 8
