"""Fanout groups across processes: open members, hand sockets to unprivileged workers.

OS edge module.  A root parent can open every member of a group (CAP_NET_RAW is
needed only to create the sockets) and pass each descriptor to a worker over a
unix socket with ``SCM_RIGHTS``; the worker may drop privileges first, then set
up its ring on the socket it received (``PACKET_RX_RING`` and ``mmap`` check no
capability)::

    parent (root)                                  worker (uid 65534)
    members = open_members("eth0", 4, group=7)     setgid/setuid(65534)
    send_socket(chan, members[i])  --SCM_RIGHTS--> sock = recv_socket(chan)
                                                   ring = CaptureRing(sock)
"""

from __future__ import annotations

import json
import socket

from ...codec.types import TYPE_CHECKING
from ...errors import NetringError
from ..constants import ETH_P
from .sock import PacketSocket

if TYPE_CHECKING:
    from typing import Any

__all__ = ["open_members", "send_socket", "recv_socket"]


def open_members(ifname: str | None, n: int, group: int, mode: str | int = "hash",
                 flags: Any = None, *, protocol: int = ETH_P.ALL, netns: str | None = None,
                 kind: str = "raw") -> list[PacketSocket]:
    """``n`` packet sockets on ``ifname``, all joined to fanout ``group``.

    With the ``uniqueid`` flag pass ``group=0``: the first member gets an unused
    id from the kernel and the others join that id (the flag is dropped for them).
    """
    out: list[PacketSocket] = []
    try:
        for _ in range(n):
            s = PacketSocket(ifname, protocol, kind=kind, netns=netns)
            out.append(s)
            got = s.join_fanout(group, mode, flags)
            if group == 0:
                group = got
                if isinstance(flags, str):
                    flags = ",".join(f for f in flags.split(",") if f.strip() != "uniqueid")
                elif isinstance(flags, int):
                    flags &= ~0x2000
    except BaseException:
        for s in out:
            s.close()
        raise
    return out


def send_socket(chan: socket.socket, sock: PacketSocket | int, **meta: Any) -> None:
    """Pass a packet socket's descriptor over the unix socket ``chan`` (``SCM_RIGHTS``),
    with ``meta`` (interface, protocol, kind, anything JSON) as the message body."""
    fd = sock if isinstance(sock, int) else sock.fileno()
    if not isinstance(sock, int):
        meta.setdefault("ifname", sock.ifname)
        meta.setdefault("protocol", sock.protocol)
        meta.setdefault("kind", sock.kind)
    socket.send_fds(chan, [json.dumps(meta).encode()], [fd])


def recv_socket(chan: socket.socket, timeout: float | None = 10.0) -> PacketSocket:
    """The packet socket the other end passed with :func:`send_socket`."""
    chan.settimeout(timeout)
    msg, fds, _flags, _addr = socket.recv_fds(chan, 4096, 1)
    if not fds:
        raise NetringError("no descriptor came with the message (SCM_RIGHTS)")
    meta = json.loads(msg.decode() or "{}")
    s = PacketSocket(protocol=int(meta.get("protocol", ETH_P.ALL)),
                     kind=str(meta.get("kind", "raw")), fd=fds[0])
    return s
