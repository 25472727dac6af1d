"""The one struct every nfnetlink message shares.

nfnetlink's own fields are big-endian (``!``); only the netlink header is host order.
"""

from __future__ import annotations

import struct

__all__ = ["nfgenmsg"]

# struct nfgenmsg { __u8 nfgen_family; __u8 version; __be16 res_id; };
#                                        uapi/linux/netfilter/nfnetlink.h
nfgenmsg = struct.Struct("!BBH")
assert nfgenmsg.size == 4
