"""A netlink ring as the transport of the one conversation.

OS edge module.  :class:`RingTransport` implements :class:`netring.conn.Transport`
over any ring backend (the kernel's 3.10-4.5 rings, the user-space engine, a
ring another process fills), so a request, a dump or a whole subsystem runs
over a ring with no other code::

    Connection.request()/dump()/dump_with()          (netring.conn, pure)
          |  send(buffers)                 ^  recv() -> Chunk(frame data, group, creds)
          v                                |
    socket.sendmsg (the kernel copies)   ring.recv(): next VALID/COPY frame; the
                                         previous one is released first

    conn = RingTransport.connect(NetlinkSocket(NETLINK.ROUTE))
    Rtnl(sock=conn).routes()                          # the dump is read from ring frames

Lifetimes: a chunk is the frame's data area (or, for a COPY frame, the message
fetched whole); it stays valid until the next :meth:`RingTransport.recv`, which
releases the frame - exactly the conversation's rule for any transport.

What a ring frame does not carry: the sender's port id (``nl_mmap_hdr`` has the
destination group and the sender's credentials, not its ``nl_pid``), so every
chunk is reported as coming from port 0, the kernel - true for the kernel's
rings and for rings filled from a kernel socket's replies.  Requests are sent
with ``sendmsg`` on the socket (the kernel copies them before parsing, so
nothing is validated on memory the program can still change).
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Sequence

from ...codec.types import TYPE_CHECKING, ReadableBuffer
from ...conn import Chunk, Connection
from ...errors import Overrun
from ..abi import NL_MMAP_HDRLEN
from ..base import RingBase
from ..cursor import Frame
from ..geometry import RingGeometry

if TYPE_CHECKING:
    from typing import Any

    from ...socket import NetlinkSocket

__all__ = ["RingTransport", "DUMP_FRAME_SIZE"]

DUMP_FRAME_SIZE = 32768 + NL_MMAP_HDRLEN
"""Frames that hold a whole dump datagram (the kernel sizes dump skbs to at most
32 KiB), so a dump needs no COPY frames."""


class RingTransport:
    """:class:`netring.conn.Transport` whose receive side is a ring.

    Args:
        ring: the ring (RX side used; :func:`netring.nlmmap.open_ring` makes one).
        sock: the bound netlink socket the ring belongs to (requests go out on it).
        creds: report each frame's ``nm_pid``/``nm_uid``/``nm_gid`` as the chunk's
            credentials (meaningful when the ring records them).

    Attributes:
        ring: the ring.
        portid: the socket's port id.
        frames: frames received through this transport.
    """

    def __init__(self, ring: RingBase, sock: NetlinkSocket, *, creds: bool = False) -> None:
        self.ring = ring
        self.sock = sock
        self.portid = sock.portid
        self.creds = creds
        self.frames = 0
        self._held: Frame | None = None

    @classmethod
    def connect(cls, sock: NetlinkSocket, rx: RingGeometry | None = None, *,
                backend: str = "auto", creds: bool = False, **ring_options: Any) -> Connection:
        """A :class:`~netring.conn.Connection` reading ``sock``'s replies from a new ring.

        Args:
            sock: a bound :class:`~netring.NetlinkSocket` (the ring is opened on it).
            rx: the RX ring geometry (default: 64 frames of :data:`DUMP_FRAME_SIZE`).
            backend: ``"auto"``, ``"kernel"`` or ``"user"`` (see :func:`netring.nlmmap.open_ring`).
            ring_options: passed to :func:`netring.nlmmap.open_ring`.
        """
        from .factory import open_ring

        ring = open_ring(sock.socket, rx or RingGeometry.for_frames(DUMP_FRAME_SIZE, 64), None,
                         backend=backend, **ring_options)
        return Connection(cls(ring, sock, creds=creds), debug_log=sock.debug_log)

    def fileno(self) -> int:
        """The descriptor to poll: the ring's own when it has one (io_uring: readable
        when completions wait), else the socket's (readable when the ring has
        something to fill)."""
        ring_fd = getattr(self.ring, "fileno", None)
        return int(ring_fd()) if ring_fd is not None else self.sock.fileno()

    def drops(self) -> int | None:
        """The socket's kernel drop counter."""
        return self.sock.drops()

    def send(self, buffers: Sequence[ReadableBuffer], portid: int, groups: int) -> int:
        """One datagram through the socket's transport."""
        return self.sock.transport.send(buffers, portid, groups)

    def release(self) -> None:
        """Give back the frame of the last chunk (done by the next :meth:`recv` too)."""
        held = self._held
        if held is not None:
            self._held = None
            self.ring.release(held)

    def recv(self, block: bool, timeout: float | None) -> Chunk | None:
        """The next frame as a chunk (the previous frame is released first).

        Raises:
            OSError: ``ENOBUFS`` when the ring's socket overran (counted by the connection).
            TimeoutError: nothing arrived within ``timeout`` seconds.
        """
        self.release()
        try:
            frame = self.ring.recv(timeout=timeout if block else 0.0)
        except Overrun as exc:
            raise OSError(_errno.ENOBUFS, f"ring socket overrun: {exc}") from None
        if frame is None:
            if block:
                raise TimeoutError(f"netlink ring: nothing received within {timeout} s")
            return None
        self._held = frame
        self.frames += 1
        creds = (frame.pid, frame.uid, frame.gid) if self.creds else None
        return Chunk(frame.data, 0, frame.group, creds)

    def close(self) -> None:
        """Release the held frame and close the ring (not the socket)."""
        self.release()
        self.ring.close()

    def __repr__(self) -> str:
        return f"<RingTransport portid={self.portid} frames={self.frames} {self.ring!r}>"
