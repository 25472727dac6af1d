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

    the linktype word:  31..28 FCS len (16-bit words) | 27 R | 26 P (FCS len valid)
                        | 25..16 reserved | 15..0 LINKTYPE

pcapng (IETF draft ``draft-ietf-opsawg-pcapng``): a sequence of blocks, each
``type u32 | total length u32 | body | options | total length u32``, bodies
padded to 32 bits; options are ``code u16 | length u16 | value`` (padded),
ended by ``opt_endofopt``.  A file is one or more sections, each opened by a
section header block whose byte-order magic fixes the byte order of every
block up to the next one; interface ids count the interface description
blocks of their section from 0::

    SHB  | 0x0A0D0D0A | len | magic 0x1A2B3C4D | major 1 | minor 0 | section length s64 | opts | len |
    IDB  | 1 | len | linktype u16 | reserved u16 | snaplen u32 | opts | len |
    EPB  | 6 | len | interface u32 | ts high u32 | ts low u32 | caplen u32 | wirelen u32 |
         | data, padded to 32 bits | opts | len |
    SPB  | 3 | len | wirelen u32 | data, padded | len |           (interface 0, no timestamp)
    ISB  | 5 | len | interface u32 | ts high u32 | ts low u32 | opts | len |
    PB   | 2 | len | interface u16 | drops u16 | ts high | ts low | caplen | wirelen | data | opts | len |
         (obsolete; read, never written)

Timestamps are a 64-bit count of units of ``if_tsresol`` (10**-6 s when the
option is absent) plus ``if_tsoffset`` seconds.

The structs below are written with ``=`` (host order, what writers produce);
readers derive the ``<`` and ``>`` variants from the same format strings with
:func:`byte_order_variants`, so each layout exists once.
"""

from __future__ import annotations

import struct
from enum import IntEnum, IntFlag

__all__ = [
    "PCAP_MAGIC_US",
    "PCAP_MAGIC_NS",
    "PCAP_VERSION",
    "PCAP_LINKTYPE_MASK",
    "PCAP_FCS_PRESENT",
    "PCAP_FCS_LEN_SHIFT",
    "PCAPNG_BYTE_ORDER_MAGIC",
    "PCAPNG_VERSION",
    "PCAPNG_SECTION_LENGTH_UNKNOWN",
    "PCAPNG_TSRESOL_BASE2",
    "PCAPNG_TSRESOL_DEFAULT",
    "PCAPNG_EPB_DIRECTION_MASK",
    "PCAPNG_EPB_RECEPTION_SHIFT",
    "PCAPNG_EPB_RECEPTION_MASK",
    "PCAPNG_EPB_FCSLEN_SHIFT",
    "PCAPNG_EPB_FCSLEN_MASK",
    "LINKTYPE",
    "PCAPNG_BLOCK",
    "PCAPNG_OPT",
    "PCAPNG_SHB_OPT",
    "PCAPNG_IDB_OPT",
    "PCAPNG_EPB_OPT",
    "PCAPNG_ISB_OPT",
    "PCAPNG_EPB_DIRECTION",
    "PCAPNG_EPB_RECEPTION",
    "PCAPNG_EPB_FLAG",
    "PCAPNG_HASH",
    "PCAPNG_VERDICT_TYPE",
    "PCAPNG_TSRESOL_NS",
    "PCAPNG_IDB_OPT_LEN",
    "PCAPNG_EPB_OPT_LEN",
    "PCAPNG_ISB_OPT_LEN",
    "PCAPNG_VERDICT_LEN",
    "pcap_file_header",
    "pcap_record_header",
    "pcapng_block_header",
    "pcapng_block_trailer",
    "pcapng_option_header",
    "pcapng_shb",
    "pcapng_idb",
    "pcapng_epb",
    "pcapng_spb",
    "pcapng_isb",
    "pcapng_pb",
    "pcapng_timestamp",
    "byte_order_variants",
]

PCAP_MAGIC_US = 0xA1B2C3D4  # timestamps in microseconds (TCPDUMP_MAGIC, pcap/pcap.h)
PCAP_MAGIC_NS = 0xA1B23C4D  # timestamps in nanoseconds (NSEC_TCPDUMP_MAGIC)
PCAP_VERSION = (2, 4)  # PCAP_VERSION_MAJOR, PCAP_VERSION_MINOR

# the pcap file header's linktype word (draft-ietf-opsawg-pcap, "LinkType and
# additional information"; libpcap's LT_LINKTYPE / LT_FCS_LENGTH_PRESENT / LT_FCS_LENGTH)
PCAP_LINKTYPE_MASK = 0x0000FFFF  # bits 0-15: the LINKTYPE_* value
PCAP_FCS_PRESENT = 0x04000000  # the P bit: the FCS len field is valid
PCAP_FCS_LEN_SHIFT = 28  # bits 28-31: FCS length in 16-bit words

PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D  # section header block byte-order magic
PCAPNG_VERSION = (1, 0)  # the only version writers may write (readers accept 1.2 as 1.0)
PCAPNG_SECTION_LENGTH_UNKNOWN = -1  # SHB section length when not given

# if_tsresol: MSB clear = negative power of 10, MSB set = negative power of 2
PCAPNG_TSRESOL_BASE2 = 0x80
PCAPNG_TSRESOL_DEFAULT = 6  # resolution when an IDB has no if_tsresol: microseconds
PCAPNG_TSRESOL_NS = 9  # if_tsresol for nanoseconds

# the epb_flags word (draft-ietf-opsawg-pcapng, "Enhanced Packet Block Flags Word";
# bit 0 is the least significant bit)
PCAPNG_EPB_DIRECTION_MASK = 0x00000003  # bits 0-1: PCAPNG_EPB_DIRECTION
PCAPNG_EPB_RECEPTION_SHIFT = 2
PCAPNG_EPB_RECEPTION_MASK = 0x0000001C  # bits 2-4: PCAPNG_EPB_RECEPTION
PCAPNG_EPB_FCSLEN_SHIFT = 5
PCAPNG_EPB_FCSLEN_MASK = 0x000001E0  # bits 5-8: FCS length in octets

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

# ... and ends with { u32 block_total_length; } repeated
pcapng_block_trailer = struct.Struct("=I")
assert pcapng_block_trailer.size == 4

# an option: { u16 option_code; u16 option_length; } then the value, padded to 32 bits
pcapng_option_header = struct.Struct("=HH")
assert pcapng_option_header.size == 4

# The fixed part of each block as the draft draws it, block header included
# (options and the trailing length follow).
# Section Header Block: type, length, byte-order magic, major, minor, s64 section length
pcapng_shb = struct.Struct("=IIIHHq")
assert pcapng_shb.size == 24

# Interface Description Block: type, length, u16 linktype, u16 reserved, u32 snaplen
pcapng_idb = struct.Struct("=IIHHI")
assert pcapng_idb.size == 16

# Enhanced Packet Block: type, length, interface id, ts high, ts low, caplen, wirelen
pcapng_epb = struct.Struct("=IIIIIII")
assert pcapng_epb.size == 28

# Simple Packet Block: type, length, wirelen
pcapng_spb = struct.Struct("=III")
assert pcapng_spb.size == 12

# Interface Statistics Block: type, length, interface id, ts high, ts low
pcapng_isb = struct.Struct("=IIIII")
assert pcapng_isb.size == 20

# a timestamp (EPB, ISB, isb_starttime, isb_endtime): the upper, then the lower 32 bits
# of a 64-bit count of if_tsresol units
pcapng_timestamp = struct.Struct("=II")
assert pcapng_timestamp.size == 8

# (obsolete) Packet Block: type, length, u16 interface id, u16 drops count, ts high,
# ts low, caplen, wirelen
pcapng_pb = struct.Struct("=IIHHIIII")
assert pcapng_pb.size == 28


def byte_order_variants(s: struct.Struct) -> tuple[struct.Struct, struct.Struct]:
    """The little- and big-endian versions of a host-order (``=``) struct.

    Readers meet files written on either kind of host; deriving both from the
    one declaration keeps the layout in a single place.
    """
    fmt = s.format
    assert fmt[0] == "=", fmt
    return struct.Struct("<" + fmt[1:]), struct.Struct(">" + fmt[1:])


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
    """pcapng block types (draft-ietf-opsawg-pcapng, "Standardized Block Type Codes")."""

    SECTION_HEADER = 0x0A0D0D0A
    INTERFACE_DESCRIPTION = 0x00000001
    PACKET = 0x00000002  # obsolete Packet Block
    SIMPLE_PACKET = 0x00000003
    NAME_RESOLUTION = 0x00000004
    INTERFACE_STATISTICS = 0x00000005
    ENHANCED_PACKET = 0x00000006
    SYSTEMD_JOURNAL_EXPORT = 0x00000009
    DECRYPTION_SECRETS = 0x0000000A
    CUSTOM = 0x00000BAD  # custom block rewriters may copy
    CUSTOM_NOCOPY = 0x40000BAD  # custom block rewriters should not copy


class PCAPNG_OPT(IntEnum):
    """Options valid in every pcapng block (``opt_*``)."""

    ENDOFOPT = 0
    COMMENT = 1
    CUSTOM_STR = 2988  # UTF-8 custom data, may be copied
    CUSTOM_BIN = 2989  # binary custom data, may be copied
    CUSTOM_STR_NOCOPY = 19372
    CUSTOM_BIN_NOCOPY = 19373


class PCAPNG_SHB_OPT(IntEnum):
    """Section header block options (``shb_*``)."""

    HARDWARE = 2
    OS = 3
    USERAPPL = 4


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
    TXSPEED = 16
    RXSPEED = 17
    IANA_TZNAME = 18


class PCAPNG_EPB_OPT(IntEnum):
    """Enhanced packet block options (``epb_*``).

    The obsolete packet block's ``pack_flags`` (2) and ``pack_hash`` (3) have the
    same codes and values as ``epb_flags`` and ``epb_hash``.
    """

    FLAGS = 2
    HASH = 3
    DROPCOUNT = 4
    PACKETID = 5
    QUEUE = 6
    VERDICT = 7
    PROCESSID_THREADID = 8


class PCAPNG_ISB_OPT(IntEnum):
    """Interface statistics block options (``isb_*``)."""

    STARTTIME = 2
    ENDTIME = 3
    IFRECV = 4
    IFDROP = 5
    FILTERACCEPT = 6
    OSDROP = 7
    USRDELIV = 8


class PCAPNG_EPB_DIRECTION(IntEnum):
    """epb_flags bits 0-1: which way the packet went."""

    UNKNOWN = 0
    INBOUND = 1
    OUTBOUND = 2


class PCAPNG_EPB_RECEPTION(IntEnum):
    """epb_flags bits 2-4 (shifted down by ``PCAPNG_EPB_RECEPTION_SHIFT``): how it was received."""

    NOT_SPECIFIED = 0
    UNICAST = 1
    MULTICAST = 2
    BROADCAST = 3
    PROMISCUOUS = 4


class PCAPNG_EPB_FLAG(IntFlag):
    """The single-bit fields of the epb_flags word (bits 9-11, and 24-31:
    link-layer-dependent errors)."""

    CHECKSUM_NOT_READY = 1 << 9
    CHECKSUM_VALID = 1 << 10
    TCP_SEG_OFFLOADED = 1 << 11
    CRC_ERROR = 1 << 24
    PACKET_TOO_LONG = 1 << 25
    PACKET_TOO_SHORT = 1 << 26
    WRONG_INTER_FRAME_GAP = 1 << 27
    UNALIGNED_FRAME = 1 << 28
    START_FRAME_DELIMITER_ERROR = 1 << 29
    PREAMBLE_ERROR = 1 << 30
    SYMBOL_ERROR = 1 << 31


class PCAPNG_HASH(IntEnum):
    """epb_hash: the algorithm octet that starts the option value."""

    TWOS_COMPLEMENT = 0
    XOR = 1
    CRC32 = 2  # 4 octets of hash follow
    MD5 = 3  # 16
    SHA1 = 4  # 20
    TOEPLITZ = 5  # 4


class PCAPNG_VERDICT_TYPE(IntEnum):
    """epb_verdict: the type octet that starts the option value."""

    HARDWARE = 0  # variable-length verdict data
    LINUX_EBPF_TC = 1  # u64 TC_ACT_* (linux/pkt_cls.h), in the section's byte order
    LINUX_EBPF_XDP = 2  # u64 enum xdp_action (linux/bpf.h), in the section's byte order


# Option value lengths the draft fixes (options not listed: variable length).
PCAPNG_IDB_OPT_LEN: dict[int, int] = {
    PCAPNG_IDB_OPT.IPV4ADDR: 8, PCAPNG_IDB_OPT.IPV6ADDR: 17, PCAPNG_IDB_OPT.MACADDR: 6,
    PCAPNG_IDB_OPT.EUIADDR: 8, PCAPNG_IDB_OPT.SPEED: 8, PCAPNG_IDB_OPT.TSRESOL: 1,
    PCAPNG_IDB_OPT.TZONE: 4, PCAPNG_IDB_OPT.FCSLEN: 1, PCAPNG_IDB_OPT.TSOFFSET: 8,
    PCAPNG_IDB_OPT.TXSPEED: 8, PCAPNG_IDB_OPT.RXSPEED: 8,
}
PCAPNG_EPB_OPT_LEN: dict[int, int] = {
    PCAPNG_EPB_OPT.FLAGS: 4, PCAPNG_EPB_OPT.DROPCOUNT: 8, PCAPNG_EPB_OPT.PACKETID: 8,
    PCAPNG_EPB_OPT.QUEUE: 4, PCAPNG_EPB_OPT.PROCESSID_THREADID: 8,
}
PCAPNG_ISB_OPT_LEN: dict[int, int] = {code: 8 for code in PCAPNG_ISB_OPT}
# epb_verdict value lengths (type octet included) for the types of a fixed size
PCAPNG_VERDICT_LEN: dict[int, int] = {
    PCAPNG_VERDICT_TYPE.LINUX_EBPF_TC: 9, PCAPNG_VERDICT_TYPE.LINUX_EBPF_XDP: 9,
}
