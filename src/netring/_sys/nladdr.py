"""Netlink addresses over the family-neutral batch calls: ``struct sockaddr_nl``.

OS edge module (it builds on :mod:`netring._sys.mmsg`).  The struct itself is
:data:`netring.codec.structs.sockaddr_nl`; this module only packs a destination
and decodes a sender::

    struct sockaddr_nl { sa_family_t nl_family; u16 nl_pad; u32 nl_pid; u32 nl_groups; }
                                                                uapi/linux/netlink.h
    sockaddr_nl_bytes(portid, groups) -> 12 bytes (AF_NETLINK)   destination of a send
    nl_address(batch, i) -> (nl_pid, nl_groups)                  sender of batch slot i
    sendmmsg(fd, buffers, dest_portid=0, dest_groups=0, flags=0) one datagram per buffer
    sendmsg(fd, buffers, dest_portid=0, dest_groups=0, flags=0)  one datagram, many iovecs
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from ..codec.structs import sockaddr_nl
from ..codec.types import TYPE_CHECKING
from .mmsg import MMsgBatch, sendmmsg_to, sendmsg_to

if TYPE_CHECKING:
    from typing import Any

__all__ = ["sockaddr_nl_bytes", "nl_address", "sendmmsg", "sendmsg"]

AF_NETLINK = socket.AF_NETLINK


def sockaddr_nl_bytes(portid: int = 0, groups: int = 0) -> bytes:
    """A ``struct sockaddr_nl`` for ``portid``/``groups`` (both 0: the kernel)."""
    return sockaddr_nl.pack(AF_NETLINK, 0, portid, groups)


def nl_address(batch: MMsgBatch, i: int) -> tuple[int, int]:
    """``(nl_pid, nl_groups)`` of slot ``i``'s sender (``(0, 0)``: none, or not netlink).

    ``nl_pid`` 0 is the kernel; ``nl_groups`` is non-zero for a multicast
    (``1 << (group - 1)`` for groups 1..32).
    """
    name = batch.name_view(i)
    if len(name) < sockaddr_nl.size:
        return 0, 0
    fam, _pad, portid, groups = sockaddr_nl.unpack_from(name)
    if fam != AF_NETLINK:
        return 0, 0
    return int(portid), int(groups)


def sendmmsg(fd: int, buffers: Sequence[Any], dest_portid: int = 0, dest_groups: int = 0,
             flags: int = 0) -> int:
    """Send each buffer as its own netlink datagram with one ``sendmmsg``.

    Returns:
        Datagrams sent (may be fewer than ``len(buffers)``).
    """
    return sendmmsg_to(fd, buffers, sockaddr_nl_bytes(dest_portid, dest_groups), flags)


def sendmsg(fd: int, buffers: Sequence[Any], dest_portid: int = 0, dest_groups: int = 0,
            flags: int = 0) -> int:
    """Send the buffers as ONE netlink datagram, one iovec per buffer (scatter-gather).

    The concatenation must be whole messages; the kernel walks them in order and
    answers each (one skb per call).  At most ``IOV_MAX`` buffers.

    Returns:
        Bytes sent.
    """
    return sendmsg_to(fd, buffers, sockaddr_nl_bytes(dest_portid, dest_groups), flags)
