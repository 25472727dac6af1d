"""nfnetlink_queue wire structs, one :class:`struct.Struct` each.

All of them are big-endian (``!``) and packed as the kernel declares them
(``include/uapi/linux/netfilter/nfnetlink_queue.h``)::

    nfqnl_msg_packet_hdr  (packed, 7)   packet_id be32 | hw_protocol be16 | hook u8
    nfqnl_msg_packet_hw   (12)          hw_addrlen be16 | _pad u16 | hw_addr[8]
    nfqnl_msg_packet_timestamp (16)     sec be64 | usec be64
    nfqnl_msg_verdict_hdr (8)           verdict be32 | id be32
    nfqnl_msg_config_cmd  (4)           command u8 | _pad u8 | pf be16
    nfqnl_msg_config_params (packed, 5) copy_range be32 | copy_mode u8
"""

from __future__ import annotations

import struct

__all__ = [
    "nfqnl_msg_packet_hdr", "nfqnl_msg_packet_hw", "nfqnl_msg_packet_timestamp",
    "nfqnl_msg_verdict_hdr", "nfqnl_msg_config_cmd", "nfqnl_msg_config_params",
]

# struct nfqnl_msg_packet_hdr { __be32 packet_id; __be16 hw_protocol; __u8 hook; }
#   __attribute__ ((packed));
nfqnl_msg_packet_hdr = struct.Struct("!IHB")
assert nfqnl_msg_packet_hdr.size == 7

# struct nfqnl_msg_packet_hw { __be16 hw_addrlen; __u16 _pad; __u8 hw_addr[8]; };
nfqnl_msg_packet_hw = struct.Struct("!H2x8s")
assert nfqnl_msg_packet_hw.size == 12

# struct nfqnl_msg_packet_timestamp { __aligned_be64 sec; __aligned_be64 usec; };
nfqnl_msg_packet_timestamp = struct.Struct("!QQ")
assert nfqnl_msg_packet_timestamp.size == 16

# struct nfqnl_msg_verdict_hdr { __be32 verdict; __be32 id; };
nfqnl_msg_verdict_hdr = struct.Struct("!II")
assert nfqnl_msg_verdict_hdr.size == 8

# struct nfqnl_msg_config_cmd { __u8 command; __u8 _pad; __be16 pf; };
nfqnl_msg_config_cmd = struct.Struct("!BxH")
assert nfqnl_msg_config_cmd.size == 4

# struct nfqnl_msg_config_params { __be32 copy_range; __u8 copy_mode; }
#   __attribute__ ((packed));
nfqnl_msg_config_params = struct.Struct("!IB")
assert nfqnl_msg_config_params.size == 5
