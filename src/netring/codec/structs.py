"""Netlink core wire structs, one precompiled :class:`struct.Struct` each.

All netlink framing is host byte order (``=``, no padding).
"""

from __future__ import annotations

import struct

__all__ = [
    "nlmsghdr",
    "nlattr",
    "nlmsgerr_error",
    "sockaddr_nl",
    "nl_pktinfo",
    "ucred",
    "u8",
    "u16",
    "u32",
    "u64",
    "s8",
    "s16",
    "s32",
    "s64",
    "be16",
    "be32",
    "be64",
]

# struct nlmsghdr { __u32 nlmsg_len; __u16 nlmsg_type; __u16 nlmsg_flags;
#                   __u32 nlmsg_seq; __u32 nlmsg_pid; };      uapi/linux/netlink.h
nlmsghdr = struct.Struct("=IHHII")
assert nlmsghdr.size == 16

# struct nlattr { __u16 nla_len; __u16 nla_type; };          uapi/linux/netlink.h
nlattr = struct.Struct("=HH")
assert nlattr.size == 4

# struct nlmsgerr { int error; struct nlmsghdr msg; };      uapi/linux/netlink.h
# (the error int alone; the embedded header is read with nlmsghdr at +4)
nlmsgerr_error = struct.Struct("=i")
assert nlmsgerr_error.size == 4

# struct sockaddr_nl { __kernel_sa_family_t nl_family; unsigned short nl_pad;
#                      __u32 nl_pid; __u32 nl_groups; };      uapi/linux/netlink.h
sockaddr_nl = struct.Struct("=HHII")
assert sockaddr_nl.size == 12

# struct nl_pktinfo { __u32 group; };                         uapi/linux/netlink.h
nl_pktinfo = struct.Struct("=I")
assert nl_pktinfo.size == 4

# struct ucred { __u32 pid; __u32 uid; __u32 gid; };          linux/socket.h (SCM_CREDENTIALS)
ucred = struct.Struct("=iII")
assert ucred.size == 12

# scalar attribute payloads
u8 = struct.Struct("=B")
u16 = struct.Struct("=H")
u32 = struct.Struct("=I")
u64 = struct.Struct("=Q")
s8 = struct.Struct("=b")
s16 = struct.Struct("=h")
s32 = struct.Struct("=i")
s64 = struct.Struct("=q")
be16 = struct.Struct("!H")
be32 = struct.Struct("!I")
be64 = struct.Struct("!Q")
