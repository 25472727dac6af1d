"""Control messages (``cmsg(3)``): walking a control buffer, and the netlink ones.

A control buffer as ``recvmsg``/``recvmmsg`` fill it (``<bits/socket.h>``)::

    +--------------------------------+------------+-----+-------------------- ...
    | cmsg_len (size_t) | level | type | data       | pad | next cmsghdr
    +--------------------------------+------------+-----+-------------------- ...
    |<------ CMSG_HDRLEN ----------->|<- cmsg_len - CMSG_HDRLEN ->|
    |<------------------ CMSG_SPACE(datalen), size_t aligned --------->|

A netlink socket with ``NETLINK_PKTINFO`` and ``SO_PASSCRED`` gets two of them
per datagram, in this order (``netlink_recvmsg``: ``netlink_cmsg_recv_pktinfo``,
then ``scm_recv``)::

    SOL_NETLINK / NETLINK_PKTINFO   struct nl_pktinfo { __u32 group; }
    SOL_SOCKET  / SCM_CREDENTIALS   struct ucred { pid; uid; gid; }

:func:`decode_netlink_cmsgs` is the one decoder of that pair, used by the socket
edge, :class:`~netring._sys.mmsg.MMsgBatch` users and the ring filler.
"""

from __future__ import annotations

import _socket
import struct
from collections.abc import Iterable

from ..codec.constants import NETLINK_PKTINFO, SOL_NETLINK
from ..codec.structs import nl_pktinfo, ucred
from .sizes import SIZE_FMT, SIZE_T

__all__ = [
    "cmsghdr",
    "CMSG_HDRLEN",
    "NETLINK_CMSG_SPACE",
    "cmsg_align",
    "cmsg_space",
    "parse_cmsgs",
    "decode_netlink_cmsgs",
    "SOL_SOCKET",
    "SCM_CREDENTIALS",
    "SOL_NETLINK",
    "NETLINK_PKTINFO",
]

# <bits/socket.h>, as Python's socket module names them
SOL_SOCKET = _socket.SOL_SOCKET
SCM_CREDENTIALS = _socket.SCM_CREDENTIALS

# struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }  <bits/socket.h>
cmsghdr = struct.Struct(f"={SIZE_FMT}ii")
assert cmsghdr.size == 2 * SIZE_T
CMSG_HDRLEN = cmsghdr.size

Creds = tuple[int, int, int]


def cmsg_align(n: int) -> int:
    """``CMSG_ALIGN(n)``: ``n`` rounded up to a multiple of ``sizeof(size_t)``."""
    return (n + SIZE_T - 1) & ~(SIZE_T - 1)


def cmsg_space(datalen: int) -> int:
    """``CMSG_SPACE(datalen)``: control bytes one cmsg of ``datalen`` bytes needs."""
    return CMSG_HDRLEN + cmsg_align(datalen)


#: control bytes for ``NETLINK_PKTINFO`` plus ``SCM_CREDENTIALS`` (56 on 64-bit)
NETLINK_CMSG_SPACE = cmsg_space(nl_pktinfo.size) + cmsg_space(ucred.size)


def parse_cmsgs(raw: bytes) -> list[tuple[int, int, bytes]]:
    """``[(cmsg_level, cmsg_type, data), ...]`` of a control buffer (a truncated
    trailing cmsg is dropped, never an exception)."""
    out: list[tuple[int, int, bytes]] = []
    off = 0
    hlen = CMSG_HDRLEN
    while off + hlen <= len(raw):
        clen, level, ctype = cmsghdr.unpack_from(raw, off)
        if clen < hlen or off + clen > len(raw):
            break
        out.append((level, ctype, raw[off + hlen : off + clen]))
        off += cmsg_align(clen)
    return out


def decode_netlink_cmsgs(cmsgs: Iterable[tuple[int, int, bytes]]) -> tuple[int, Creds | None]:
    """``(group, creds)`` from a datagram's ``(level, type, data)`` control messages.

    ``group`` is the ``NETLINK_PKTINFO`` destination group (0 when absent or
    unicast); ``creds`` the ``SCM_CREDENTIALS`` ``(pid, uid, gid)`` or ``None``.
    Takes what :func:`parse_cmsgs` returns, and also the ancillary list of
    :meth:`socket.socket.recvmsg`.
    """
    group = 0
    creds: Creds | None = None
    for level, ctype, data in cmsgs:
        if level == SOL_NETLINK and ctype == NETLINK_PKTINFO and len(data) >= nl_pktinfo.size:
            group = int(nl_pktinfo.unpack_from(data)[0])
        elif level == SOL_SOCKET and ctype == SCM_CREDENTIALS and len(data) >= ucred.size:
            pid, uid, gid = ucred.unpack_from(data)
            creds = (int(pid), int(uid), int(gid))
    return group, creds
