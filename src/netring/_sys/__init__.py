"""Shared OS helpers, once: the libc binding, batches, cmsgs, polling, eventfds, mappings.

OS edge package.  One concept per module::

    libc      the one ctypes.CDLL(None) and the raw calls (recvmmsg, sendmmsg, sendmsg,
              sendto, setns, unshare), struct iovec/msghdr/mmsghdr, MSG_* flags
    mmsg      MMsgBatch: family-neutral mmsghdr batches over caller buffers
    nladdr    struct sockaddr_nl over those batches (destinations, senders)
    cmsg      parse_cmsgs, cmsg_space, decode_netlink_cmsgs -> (group, creds)
    poll      wait until readable, with a deadline
    eventfd   create / signal / drain
    mapping   sealed memfd, shared mmap, pinning a buffer for C

The names below are what the socket edge and the tests use.
"""

from __future__ import annotations

from ..codec.types import TYPE_CHECKING
from ..lazy import lazy_names
from .cmsg import (
    NETLINK_PKTINFO,
    SCM_CREDENTIALS,
    SOL_NETLINK,
    SOL_SOCKET,
    cmsg_space,
    decode_netlink_cmsgs,
    parse_cmsgs,
)

if TYPE_CHECKING:
    from .libc import (
        CLONE_NEWNET,
        IOV_MAX,
        MSG_CTRUNC,
        MSG_DONTWAIT,
        MSG_PEEK,
        MSG_TRUNC,
        MSG_WAITFORONE,
        gettid,
        have_recvmmsg,
        iovec,
        mmsghdr,
        recvmmsg_raw,
        sendmmsg_raw,
        setns,
    )
    from .mmsg import MMsgBatch
    from .nladdr import nl_address, sendmmsg, sendmsg, sockaddr_nl_bytes

#: names that load ctypes, imported on first use (a dump in our own namespace needs none)
_LAZY = {
    **dict.fromkeys(("CLONE_NEWNET", "IOV_MAX", "MSG_CTRUNC", "MSG_DONTWAIT", "MSG_PEEK",
                     "MSG_TRUNC", "MSG_WAITFORONE", "gettid", "have_recvmmsg", "iovec",
                     "mmsghdr", "recvmmsg_raw", "sendmmsg_raw", "setns"), "libc"),
    "MMsgBatch": "mmsg",
    **dict.fromkeys(("nl_address", "sendmmsg", "sendmsg", "sockaddr_nl_bytes"), "nladdr"),
}




__getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY)

__all__ = [
    "MMsgBatch",
    "recvmmsg_raw",
    "sendmmsg_raw",
    "mmsghdr",
    "iovec",
    "parse_cmsgs",
    "decode_netlink_cmsgs",
    "cmsg_space",
    "nl_address",
    "sockaddr_nl_bytes",
    "sendmmsg",
    "sendmsg",
    "setns",
    "gettid",
    "have_recvmmsg",
    "MSG_PEEK",
    "MSG_TRUNC",
    "MSG_DONTWAIT",
    "MSG_CTRUNC",
    "MSG_WAITFORONE",
    "CLONE_NEWNET",
    "SOL_SOCKET",
    "SCM_CREDENTIALS",
    "SOL_NETLINK",
    "NETLINK_PKTINFO",
    "IOV_MAX",
]
