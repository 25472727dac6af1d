"""The io_uring ABI a kernel-filled netlink RX ring needs (pure: structs and constants).

Source: ``include/uapi/linux/io_uring.h`` of Linux 6.x (6.0 for multishot
``IORING_OP_RECVMSG``, 5.19 for provided-buffer rings).  Host byte order.

The three shared areas of one ring and who writes what::

    SQ ring + SQE array      user: sqe, array[tail & mask] = idx, then tail  (kernel: head)
    CQ ring                  kernel: cqe (user_data, res, flags), then tail  (user: head)
    provided-buffer ring     user: bufs[t & mask] = {addr, len, bid}, then the u16 tail
    (io_uring_buf_ring)      kernel: its own head, private (IORING_REGISTER_PBUF_STATUS)

    struct io_uring_buf_ring: the ring tail overlays bufs[0].resv
    +------------------------------+------------------------------+-----
    | bufs[0]: addr u64, len u32,  | bufs[1]: addr, len, bid,     | ...
    |   bid u16, resv u16 == TAIL  |   resv (unused)              |
    +------------------------------+------------------------------+-----
      byte 14 of the ring: the tail user space stores, bufs[0].resv never written

One multishot ``IORING_OP_RECVMSG`` with ``IOSQE_BUFFER_SELECT`` fills one provided
buffer per datagram, laid out by ``io_recvmsg_multishot()`` (io_uring/net.c)::

    buffer + 0                + 16          + 16 + namelen      + 16 + namelen + controllen
    +-------------------------+-------------+-------------------+-------------------- ...
    | io_uring_recvmsg_out    | sockaddr_nl | control (cmsgs)   | payload (the datagram,
    | namelen, controllen,    | (namelen)   | (controllen       |  at most len - prefix
    | payloadlen, flags       |             |  reserved)        |  bytes; MSG_TRUNC past)
    +-------------------------+-------------+-------------------+-------------------- ...
    cqe.res = 16 + namelen + controllen + bytes copied;  cqe.flags = bid << 16 | F_BUFFER
    | F_MORE while the request goes on.
"""

from __future__ import annotations

import struct
from enum import IntEnum, IntFlag

__all__ = [
    "io_uring_sqe",
    "io_uring_cqe",
    "io_sqring_offsets",
    "io_cqring_offsets",
    "io_uring_params",
    "io_uring_buf",
    "io_uring_buf_fields",
    "io_uring_buf_reg",
    "io_uring_buf_status",
    "io_uring_recvmsg_out",
    "io_uring_getevents_arg",
    "io_uring_probe",
    "io_uring_probe_op",
    "kernel_timespec",
    "IORING_OP",
    "IOSQE",
    "IORING_SETUP",
    "IORING_FEAT",
    "IORING_ENTER",
    "IORING_REGISTER",
    "IORING_UNREGISTER",
    "IORING_SQ",
    "IORING_CQE_F",
    "IORING_CQE_BUFFER_SHIFT",
    "IORING_ASYNC_CANCEL",
    "IOU_PBUF_RING",
    "IO_URING_OP_SUPPORTED",
    "IORING_RECVSEND_POLL_FIRST",
    "IORING_RECV_MULTISHOT",
    "IORING_RECVSEND_BUNDLE",
    "IORING_OFF_SQ_RING",
    "IORING_OFF_CQ_RING",
    "IORING_OFF_SQES",
    "PBUF_RING_MAX_ENTRIES",
    "PBUF_RING_TAIL_OFFSET",
]

# struct io_uring_sqe {                          64 bytes; the members a receive uses
#     __u8 opcode; __u8 flags; __u16 ioprio; __s32 fd;
#     union { __u64 off; __u64 addr2; ... };     (0 for RECVMSG: -EINVAL otherwise)
#     union { __u64 addr; ... };                 RECVMSG: struct msghdr *
#     __u32 len;                                 RECVMSG: 1 (iovecs in the msghdr)
#     union { __u32 msg_flags; ... };            recvmsg(2) flags (MSG_TRUNC: real sizes)
#     __u64 user_data;                           handed back in every cqe
#     union { __u16 buf_index; __u16 buf_group; } __attribute__((packed));
#     __u16 personality;
#     union { __s32 splice_fd_in; __u32 file_index; ... };
#     union { struct { __u64 addr3; __u64 __pad2[1]; }; ... };
# };                                             include/uapi/linux/io_uring.h
io_uring_sqe = struct.Struct("=BBHiQQIIQHHiQQ")
assert io_uring_sqe.size == 64

# struct io_uring_cqe { __u64 user_data; __s32 res; __u32 flags; };   (no CQE32 here)
io_uring_cqe = struct.Struct("=QiI")
assert io_uring_cqe.size == 16

# struct io_sqring_offsets { __u32 head, tail, ring_mask, ring_entries, flags, dropped,
#                            array, resv1; __u64 user_addr; };
# OFFSETS (bytes) of those words inside the mapped SQ ring, not their values.
io_sqring_offsets = struct.Struct("=IIIIIIIIQ")
assert io_sqring_offsets.size == 40

# struct io_cqring_offsets { __u32 head, tail, ring_mask, ring_entries, overflow, cqes,
#                            flags, resv1; __u64 user_addr; };   (offsets, as above)
io_cqring_offsets = struct.Struct("=IIIIIIIIQ")
assert io_cqring_offsets.size == 40

# struct io_uring_params { __u32 sq_entries, cq_entries, flags, sq_thread_cpu,
#     sq_thread_idle, features, wq_fd, resv[3];
#     struct io_sqring_offsets sq_off; struct io_cqring_offsets cq_off; };
io_uring_params = struct.Struct("=IIIIIIIIII" + "IIIIIIIIQ" + "IIIIIIIIQ")
assert io_uring_params.size == 120
#: byte offsets of sq_off and cq_off inside io_uring_params
PARAMS_SQ_OFF = 40
PARAMS_CQ_OFF = 80

# struct io_uring_buf { __u64 addr; __u32 len; __u16 bid; __u16 resv; };
io_uring_buf = struct.Struct("=QIHH")
assert io_uring_buf.size == 16
#: the part of io_uring_buf user space writes (addr, len, bid): bytes 0-13.  Bytes
#: 14-15 of bufs[0] are the ring tail (struct io_uring_buf_ring), never written as resv.
io_uring_buf_fields = struct.Struct("=QIH")
assert io_uring_buf_fields.size == 14
#: struct io_uring_buf_ring { ... __u16 tail; } overlays bufs[0].resv
PBUF_RING_TAIL_OFFSET = 14
#: ring_entries must be a power of two below 65536 (io_register_pbuf_ring)
PBUF_RING_MAX_ENTRIES = 32768

# struct io_uring_buf_reg { __u64 ring_addr; __u32 ring_entries; __u16 bgid;
#                           __u16 flags; __u64 resv[3]; };   IORING_(UN)REGISTER_PBUF_RING
io_uring_buf_reg = struct.Struct("=QIHHQQQ")
assert io_uring_buf_reg.size == 40

# struct io_uring_buf_status { __u32 buf_group; __u32 head; __u32 resv[8]; };  (6.8)
io_uring_buf_status = struct.Struct("=II8I")
assert io_uring_buf_status.size == 40

# struct io_uring_recvmsg_out { __u32 namelen; __u32 controllen; __u32 payloadlen;
#                               __u32 flags; };
# namelen: the sender address length before truncation; controllen: control bytes
# used; payloadlen: what recvmsg returned (the datagram's real length when the sqe
# had MSG_TRUNC), even past the buffer; flags: the recvmsg msg_flags (MSG_TRUNC,
# MSG_CTRUNC).
io_uring_recvmsg_out = struct.Struct("=IIII")
assert io_uring_recvmsg_out.size == 16

# struct io_uring_getevents_arg { __u64 sigmask; __u32 sigmask_sz; __u32 min_wait_usec;
#                                 __u64 ts; };   io_uring_enter(IORING_ENTER_EXT_ARG)
io_uring_getevents_arg = struct.Struct("=QIIQ")
assert io_uring_getevents_arg.size == 24

# struct __kernel_timespec { __kernel_time64_t tv_sec; long long tv_nsec; };
# include/uapi/linux/time_types.h
kernel_timespec = struct.Struct("=qq")
assert kernel_timespec.size == 16

# struct io_uring_probe { __u8 last_op; __u8 ops_len; __u16 resv; __u32 resv2[3];
#                         struct io_uring_probe_op ops[]; };
io_uring_probe = struct.Struct("=BBHIII")
assert io_uring_probe.size == 16
# struct io_uring_probe_op { __u8 op; __u8 resv; __u16 flags; __u32 resv2; };
io_uring_probe_op = struct.Struct("=BBHI")
assert io_uring_probe_op.size == 8
#: io_uring_probe_op.flags: the opcode is supported
IO_URING_OP_SUPPORTED = 1 << 0


class IORING_OP(IntEnum):
    """``enum io_uring_op`` (the opcodes netring issues or probes)."""

    NOP = 0
    RECVMSG = 10
    ASYNC_CANCEL = 14
    RECV = 27
    PROVIDE_BUFFERS = 31


class IOSQE(IntFlag):
    """``sqe->flags`` (``IOSQE_*``)."""

    FIXED_FILE = 1 << 0
    IO_DRAIN = 1 << 1
    IO_LINK = 1 << 2
    IO_HARDLINK = 1 << 3
    ASYNC = 1 << 4
    BUFFER_SELECT = 1 << 5  # select a buffer from sqe->buf_group
    CQE_SKIP_SUCCESS = 1 << 6


class IORING_SETUP(IntFlag):
    """``io_uring_setup()`` flags (``IORING_SETUP_*``)."""

    IOPOLL = 1 << 0
    SQPOLL = 1 << 1
    SQ_AFF = 1 << 2
    CQSIZE = 1 << 3  # cq_entries is given
    CLAMP = 1 << 4  # clamp sq/cq sizes to the maximum instead of EINVAL
    ATTACH_WQ = 1 << 5
    R_DISABLED = 1 << 6
    SUBMIT_ALL = 1 << 7
    COOP_TASKRUN = 1 << 8
    TASKRUN_FLAG = 1 << 9
    SQE128 = 1 << 10
    CQE32 = 1 << 11
    SINGLE_ISSUER = 1 << 12
    DEFER_TASKRUN = 1 << 13
    NO_MMAP = 1 << 14
    REGISTERED_FD_ONLY = 1 << 15
    NO_SQARRAY = 1 << 16
    HYBRID_IOPOLL = 1 << 17


class IORING_FEAT(IntFlag):
    """``io_uring_params.features`` (``IORING_FEAT_*``)."""

    SINGLE_MMAP = 1 << 0  # SQ and CQ ring share one mapping
    NODROP = 1 << 1  # completions beyond a full CQ are kept, not dropped
    SUBMIT_STABLE = 1 << 2
    RW_CUR_POS = 1 << 3
    CUR_PERSONALITY = 1 << 4
    FAST_POLL = 1 << 5  # poll-driven retries: receives complete without io-wq
    POLL_32BITS = 1 << 6
    SQPOLL_NONFIXED = 1 << 7
    EXT_ARG = 1 << 8  # io_uring_enter takes io_uring_getevents_arg (a timeout)
    NATIVE_WORKERS = 1 << 9
    RSRC_TAGS = 1 << 10
    CQE_SKIP = 1 << 11
    LINKED_FILE = 1 << 12
    REG_REG_RING = 1 << 13
    RECVSEND_BUNDLE = 1 << 14
    MIN_TIMEOUT = 1 << 15
    RW_ATTR = 1 << 16
    NO_IOWAIT = 1 << 17


class IORING_ENTER(IntFlag):
    """``io_uring_enter()`` flags (``IORING_ENTER_*``)."""

    GETEVENTS = 1 << 0
    SQ_WAKEUP = 1 << 1
    SQ_WAIT = 1 << 2
    EXT_ARG = 1 << 3
    REGISTERED_RING = 1 << 4
    ABS_TIMER = 1 << 5
    EXT_ARG_REG = 1 << 6
    NO_IOWAIT = 1 << 7


class IORING_REGISTER(IntEnum):
    """``enum io_uring_register_op``: the ``IORING_REGISTER_*`` opcodes used here."""

    PROBE = 8
    PBUF_RING = 22
    SYNC_CANCEL = 24
    PBUF_STATUS = 26


class IORING_UNREGISTER(IntEnum):
    """``enum io_uring_register_op``: the ``IORING_UNREGISTER_*`` opcodes used here."""

    PBUF_RING = 23


class IORING_SQ(IntFlag):
    """``sq_ring->flags`` (``IORING_SQ_*``)."""

    NEED_WAKEUP = 1 << 0
    CQ_OVERFLOW = 1 << 1  # completions wait in the kernel's overflow list
    TASKRUN = 1 << 2


class IORING_CQE_F(IntFlag):
    """``cqe->flags`` (``IORING_CQE_F_*``); a buffer id sits in the upper 16 bits."""

    BUFFER = 1 << 0  # the upper 16 bits are the buffer id
    MORE = 1 << 1  # the request goes on: more cqes follow
    SOCK_NONEMPTY = 1 << 2
    NOTIF = 1 << 3
    BUF_MORE = 1 << 4  # incremental buffer: more completions use this buffer


IORING_CQE_BUFFER_SHIFT = 16


class IORING_ASYNC_CANCEL(IntFlag):
    """``IORING_OP_ASYNC_CANCEL`` flags (``sqe->cancel_flags``)."""

    ALL = 1 << 0
    FD = 1 << 1
    ANY = 1 << 2
    FD_FIXED = 1 << 3
    USERDATA = 1 << 4
    OP = 1 << 5


class IOU_PBUF_RING(IntFlag):
    """``enum io_uring_register_pbuf_ring_flags`` (``io_uring_buf_reg.flags``)."""

    MMAP = 1  # the kernel allocates the ring; user space mmaps it
    INC = 2  # incremental consumption (one buffer takes several receives)


# send/sendmsg and recv/recvmsg flags, in sqe->ioprio (the kernel names mix prefixes)
IORING_RECVSEND_POLL_FIRST = 1 << 0
IORING_RECV_MULTISHOT = 1 << 1
IORING_RECVSEND_BUNDLE = 1 << 4

# magic mmap offsets of the io_uring fd
IORING_OFF_SQ_RING = 0
IORING_OFF_CQ_RING = 0x8000000
IORING_OFF_SQES = 0x10000000
