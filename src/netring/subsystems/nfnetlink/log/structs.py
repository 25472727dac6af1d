"""nfnetlink_log wire structs, one :class:`struct.Struct` each.

All of them are big-endian (``!``); ``uapi/linux/netfilter/nfnetlink_log.h``.
The common ``struct nfgenmsg`` is :data:`netring.subsystems.nfnetlink.structs.nfgenmsg`.
"""

from __future__ import annotations

import struct

__all__ = [
    "nfulnl_msg_packet_hdr", "nfulnl_msg_packet_hw", "nfulnl_msg_packet_timestamp",
    "nfulnl_msg_config_cmd", "nfulnl_msg_config_mode",
]

# struct nfulnl_msg_packet_hdr { __be16 hw_protocol; __u8 hook; __u8 _pad; };
nfulnl_msg_packet_hdr = struct.Struct("!HBx")
assert nfulnl_msg_packet_hdr.size == 4

# struct nfulnl_msg_packet_hw { __be16 hw_addrlen; __u16 _pad; __u8 hw_addr[8]; };
# (the same layout as nfqueue's nfqnl_msg_packet_hw, but its own kernel struct)
nfulnl_msg_packet_hw = struct.Struct("!H2x8s")
assert nfulnl_msg_packet_hw.size == 12

# struct nfulnl_msg_packet_timestamp { __aligned_be64 sec; __aligned_be64 usec; };
nfulnl_msg_packet_timestamp = struct.Struct("!QQ")
assert nfulnl_msg_packet_timestamp.size == 16

# struct nfulnl_msg_config_cmd { __u8 command; } __attribute__ ((packed));
nfulnl_msg_config_cmd = struct.Struct("!B")
assert nfulnl_msg_config_cmd.size == 1

# struct nfulnl_msg_config_mode { __be32 copy_range; __u8 copy_mode; __u8 _pad; }
#                                                   __attribute__ ((packed));
nfulnl_msg_config_mode = struct.Struct("!IBx")
assert nfulnl_msg_config_mode.size == 6
