"""AF_PACKET wire structs, one :class:`struct.Struct` each, host byte order.

Every layout is ``include/uapi/linux/if_packet.h`` unless said otherwise; sizes
are asserted (x86-64 measured, see the ABI notes).  ``sockaddr_ll.sll_protocol``
is the one big-endian field: :data:`sockaddr_ll` reads it as raw host order, so
swap it with :func:`ntohs` (or pack with ``!H``).

A V1/V2 RX frame, and a V3 block with its packets::

    frame:  | tpacket(2)_hdr | sockaddr_ll | pad | (reserve) | mac ... | net ... |
            0                32 (V1 64-bit, V2)               tp_mac    tp_net
    block:  | tpacket_block_desc (48) | priv | tpacket3_hdr + sockaddr_ll | pkt | pad8 | next ...
            0                         48      offset_to_first_pkt          +tp_mac       +tp_next_offset
"""

from __future__ import annotations

import struct

__all__ = [
    "LONG_SIZE",
    "tpacket_req",
    "tpacket_req3",
    "tpacket_hdr",
    "tpacket2_hdr",
    "tpacket3_hdr",
    "tpacket_block_desc",
    "tpacket_stats",
    "tpacket_stats_v3",
    "tpacket_rollover_stats",
    "tpacket_auxdata",
    "sockaddr_ll",
    "packet_mreq",
    "fanout_args",
    "hwtstamp_config",
    "TPACKET_HDRLEN",
    "TPACKET2_HDRLEN",
    "TPACKET3_HDRLEN",
    "HDR_SIZE",
    "ntohs",
]

LONG_SIZE = struct.calcsize("l")  # sizeof(unsigned long): V1's tp_status

# struct tpacket_req { unsigned int tp_block_size, tp_block_nr, tp_frame_size, tp_frame_nr; };
tpacket_req = struct.Struct("=IIII")
assert tpacket_req.size == 16

# struct tpacket_req3 { unsigned int tp_block_size, tp_block_nr, tp_frame_size, tp_frame_nr,
#                       tp_retire_blk_tov, tp_sizeof_priv, tp_feature_req_word; };
tpacket_req3 = struct.Struct("=IIIIIII")
assert tpacket_req3.size == 28

# struct tpacket_hdr { unsigned long tp_status; unsigned int tp_len, tp_snaplen;
#     unsigned short tp_mac, tp_net; unsigned int tp_sec, tp_usec; };   (TPACKET_V1)
tpacket_hdr = struct.Struct("=QIIHHII4x" if LONG_SIZE == 8 else "=IIIHHII")
assert tpacket_hdr.size == (32 if LONG_SIZE == 8 else 24)

# struct tpacket2_hdr { __u32 tp_status, tp_len, tp_snaplen; __u16 tp_mac, tp_net;
#     __u32 tp_sec, tp_nsec; __u16 tp_vlan_tci, tp_vlan_tpid; __u8 tp_padding[4]; };
tpacket2_hdr = struct.Struct("=IIIHHIIHH4x")
assert tpacket2_hdr.size == 32

# struct tpacket3_hdr { __u32 tp_next_offset, tp_sec, tp_nsec, tp_snaplen, tp_len, tp_status;
#     __u16 tp_mac, tp_net;
#     union { struct tpacket_hdr_variant1 { __u32 tp_rxhash, tp_vlan_tci;
#                                           __u16 tp_vlan_tpid, tp_padding; } hv1; };
#     __u8 tp_padding[8]; };
tpacket3_hdr = struct.Struct("=IIIIIIHHIIHH8x")
assert tpacket3_hdr.size == 48

# struct tpacket_block_desc { __u32 version, offset_to_priv;
#   union tpacket_bd_header_u { struct tpacket_hdr_v1 {
#     __u32 block_status, num_pkts, offset_to_first_pkt, blk_len; __aligned_u64 seq_num;
#     struct tpacket_bd_ts { unsigned int ts_sec; union { ts_usec; ts_nsec; }; } ts_first_pkt,
#     ts_last_pkt; } bh1; } hdr; };
tpacket_block_desc = struct.Struct("=IIIIIIQIIII")
assert tpacket_block_desc.size == 48

# struct tpacket_stats { unsigned int tp_packets, tp_drops; };
tpacket_stats = struct.Struct("=II")
assert tpacket_stats.size == 8
# struct tpacket_stats_v3 { unsigned int tp_packets, tp_drops, tp_freeze_q_cnt; };
tpacket_stats_v3 = struct.Struct("=III")
assert tpacket_stats_v3.size == 12
# struct tpacket_rollover_stats { __aligned_u64 tp_all, tp_huge, tp_failed; };
tpacket_rollover_stats = struct.Struct("=QQQ")
assert tpacket_rollover_stats.size == 24

# struct tpacket_auxdata { __u32 tp_status, tp_len, tp_snaplen; __u16 tp_mac, tp_net,
#                          tp_vlan_tci, tp_vlan_tpid; };     (PACKET_AUXDATA cmsg)
tpacket_auxdata = struct.Struct("=IIIHHHH")
assert tpacket_auxdata.size == 20

# struct sockaddr_ll { unsigned short sll_family; __be16 sll_protocol; int sll_ifindex;
#     unsigned short sll_hatype; unsigned char sll_pkttype, sll_halen, sll_addr[8]; };
sockaddr_ll = struct.Struct("=HHiHBB8s")
assert sockaddr_ll.size == 20

# struct packet_mreq { int mr_ifindex; unsigned short mr_type, mr_alen;
#                      unsigned char mr_address[8]; };
packet_mreq = struct.Struct("=iHH8s")
assert packet_mreq.size == 16

# struct fanout_args { __u16 id; __u16 type_flags; __u32 max_num_members; }  (the
# little-endian layout; big-endian kernels declare type_flags first, so that the first
# 4 bytes equal the legacy int there too: pack (id, type_flags) in the host's order)
fanout_args = struct.Struct("=HHI")
assert fanout_args.size == 8


# struct hwtstamp_config { int flags; int tx_type; int rx_filter; }   uapi/linux/net_tstamp.h
hwtstamp_config = struct.Struct("=iii")
assert hwtstamp_config.size == 12

TPACKET_HDRLEN = ((tpacket_hdr.size + 15) & ~15) + sockaddr_ll.size  # 52
TPACKET2_HDRLEN = ((tpacket2_hdr.size + 15) & ~15) + sockaddr_ll.size  # 52
TPACKET3_HDRLEN = ((tpacket3_hdr.size + 15) & ~15) + sockaddr_ll.size  # 68
assert TPACKET2_HDRLEN == 52 and TPACKET3_HDRLEN == 68

#: ``sizeof(tpacketN_hdr)`` by version number (what ``PACKET_HDRLEN`` answers)
HDR_SIZE = (tpacket_hdr.size, tpacket2_hdr.size, tpacket3_hdr.size)


def ntohs(x: int) -> int:
    """A 16-bit value read in host order from a big-endian field, swapped (little-endian hosts)."""
    if struct.pack("=H", 1) == b"\x00\x01":
        return x
    return ((x & 0xFF) << 8) | (x >> 8)
