"""rtnetlink family headers, one precompiled :class:`struct.Struct` each.

All rtnetlink fields are host byte order (``=``, no implicit padding).
"""

from __future__ import annotations

import struct

__all__ = [
    "rtgenmsg", "ifinfomsg", "ifaddrmsg", "rtmsg", "ndmsg", "fib_rule_hdr", "rtnexthop",
    "ifa_cacheinfo", "rta_cacheinfo", "nda_cacheinfo", "fib_rule_uid_range",
    "fib_rule_port_range", "ifla_vlan_flags",
]

# struct rtgenmsg { unsigned char rtgen_family; };   uapi/linux/rtnetlink.h (padded to 4)
rtgenmsg = struct.Struct("=B3x")
assert rtgenmsg.size == 4

# struct ifinfomsg { unsigned char ifi_family; unsigned char __ifi_pad;
#   unsigned short ifi_type; int ifi_index; unsigned ifi_flags; unsigned ifi_change; };
#                                                      uapi/linux/rtnetlink.h
ifinfomsg = struct.Struct("=BxHiII")
assert ifinfomsg.size == 16

# struct ifaddrmsg { __u8 ifa_family; __u8 ifa_prefixlen; __u8 ifa_flags;
#   __u8 ifa_scope; __u32 ifa_index; };                uapi/linux/if_addr.h
ifaddrmsg = struct.Struct("=BBBBI")
assert ifaddrmsg.size == 8

# struct rtmsg { unsigned char rtm_family, rtm_dst_len, rtm_src_len, rtm_tos,
#   rtm_table, rtm_protocol, rtm_scope, rtm_type; unsigned rtm_flags; };
#                                                      uapi/linux/rtnetlink.h
rtmsg = struct.Struct("=BBBBBBBBI")
assert rtmsg.size == 12

# struct ndmsg { __u8 ndm_family; __u8 ndm_pad1; __u16 ndm_pad2; __s32 ndm_ifindex;
#   __u16 ndm_state; __u8 ndm_flags; __u8 ndm_type; };  uapi/linux/neighbour.h
ndmsg = struct.Struct("=BxxxiHBB")
assert ndmsg.size == 12

# struct fib_rule_hdr { __u8 family, dst_len, src_len, tos, table, res1, res2, action;
#   __u32 flags; };                                     uapi/linux/fib_rules.h
fib_rule_hdr = struct.Struct("=BBBBBBBBI")
assert fib_rule_hdr.size == 12

# struct rtnexthop { unsigned short rtnh_len; unsigned char rtnh_flags;
#   unsigned char rtnh_hops; int rtnh_ifindex; };      uapi/linux/rtnetlink.h
rtnexthop = struct.Struct("=HBBi")
assert rtnexthop.size == 8

# struct ifa_cacheinfo { __u32 ifa_prefered, ifa_valid, cstamp, tstamp; };  if_addr.h
ifa_cacheinfo = struct.Struct("=IIII")
assert ifa_cacheinfo.size == 16

# struct rta_cacheinfo { __u32 rta_clntref, rta_lastuse; __s32 rta_expires;
#   __u32 rta_error, rta_used, rta_id, rta_ts, rta_tsage; };  rtnetlink.h
rta_cacheinfo = struct.Struct("=IIiIIIII")
assert rta_cacheinfo.size == 32

# struct nda_cacheinfo { __u32 ndm_confirmed, ndm_used, ndm_updated, ndm_refcnt; };
#                                                      uapi/linux/neighbour.h
nda_cacheinfo = struct.Struct("=IIII")
assert nda_cacheinfo.size == 16

# struct fib_rule_uid_range { __u32 start, end; };      uapi/linux/fib_rules.h
fib_rule_uid_range = struct.Struct("=II")
assert fib_rule_uid_range.size == 8

# struct fib_rule_port_range { __u16 start, end; };     uapi/linux/fib_rules.h
fib_rule_port_range = struct.Struct("=HH")
assert fib_rule_port_range.size == 4

# struct ifla_vlan_flags { __u32 flags, mask; };        uapi/linux/if_link.h
ifla_vlan_flags = struct.Struct("=II")
assert ifla_vlan_flags.size == 8
