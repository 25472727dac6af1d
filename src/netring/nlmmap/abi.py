"""The memory-mapped netlink ABI (Linux 3.10 - 4.5), kept byte for byte.

Source: ``include/uapi/linux/netlink.h`` of Linux 4.5 (the definitions are still in
today's headers although the kernel code was removed in 4.6).  Host byte order.

A frame, as the kernel and user space both see it::

    frame + 0                      + 24 (NL_MMAP_HDRLEN)              + frame_size
    +-----------+--------+----------+--------+--------+--------+---------------------+
    | nm_status | nm_len | nm_group | nm_pid | nm_uid | nm_gid | data: nm_len bytes  |
    +-----------+--------+----------+--------+--------+--------+---------------------+
       u32         u32      u32        u32      u32      u32     one or more netlink
                                                                 messages (or nothing
                                                                 for a COPY frame)
"""

from __future__ import annotations

import struct
from enum import IntEnum

__all__ = [
    "nl_mmap_req",
    "nl_mmap_hdr",
    "NL_MMAP_STATUS",
    "NL_MMAP_HDRLEN",
    "NL_MMAP_MSG_ALIGNMENT",
    "NM_STATUS",
    "NM_LEN",
    "NM_GROUP",
    "NM_PID",
    "NM_UID",
    "NM_GID",
]

# struct nl_mmap_req {
#     unsigned int nm_block_size;
#     unsigned int nm_block_nr;
#     unsigned int nm_frame_size;
#     unsigned int nm_frame_nr;
# };                                               include/uapi/linux/netlink.h (3.10 - today)
nl_mmap_req = struct.Struct("=IIII")
assert nl_mmap_req.size == 16

# struct nl_mmap_hdr {
#     unsigned int nm_status;
#     unsigned int nm_len;
#     __u32        nm_group;
#     /* credentials */
#     __u32        nm_pid;
#     __u32        nm_uid;
#     __u32        nm_gid;
# };                                               include/uapi/linux/netlink.h (3.10 - today)
nl_mmap_hdr = struct.Struct("=IIIIII")
assert nl_mmap_hdr.size == 24

# Index of each nl_mmap_hdr field in 32-bit words from the frame start (for a
# memoryview cast to "I": ``words[frame // 4 + NM_LEN]``).
NM_STATUS = 0
NM_LEN = 1
NM_GROUP = 2
NM_PID = 3
NM_UID = 4
NM_GID = 5


class NL_MMAP_STATUS(IntEnum):
    """``enum nl_mmap_status`` (include/uapi/linux/netlink.h): who owns a frame."""

    UNUSED = 0
    RESERVED = 1
    VALID = 2
    COPY = 3
    SKIP = 4


# #define NL_MMAP_MSG_ALIGNMENT NLMSG_ALIGNTO      include/uapi/linux/netlink.h
NL_MMAP_MSG_ALIGNMENT = 4
# #define NL_MMAP_HDRLEN NL_MMAP_MSG_ALIGN(sizeof(struct nl_mmap_hdr))
NL_MMAP_HDRLEN = (nl_mmap_hdr.size + NL_MMAP_MSG_ALIGNMENT - 1) & ~(NL_MMAP_MSG_ALIGNMENT - 1)
assert NL_MMAP_HDRLEN == 24
