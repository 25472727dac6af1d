"""Demo traffic through netlink mmap rings: a USERSOCK sequence and a measured stream.

Used by ``netring demo``, the ring benchmark and the integration tests::

    child process                                   this process
    send_sequence(portid, count)                    demo_stream(count)
      FrameSender: nlmsghdr{len, type 0x10, seq}      open_ring(USERSOCK socket)
      one sendmmsg per batch of frames  ---------->   ring.data() -> check seq 0, 1, 2 ...

Each message is ``size`` bytes: a ``struct nlmsghdr`` with ``nlmsg_seq``
counting up, the rest zero.
"""

from __future__ import annotations

import os
import socket
import time
from array import array

from .._sys.libc import SIZE_FMT
from ..codec.constants import NETLINK, NLMSG, SO
from ..codec.structs import nlmsghdr
from ..codec.types import TYPE_CHECKING
from ..netns import socket_in
from ..nlmmap.abi import NL_MMAP_HDRLEN
from ..nlmmap.cursor import TxProducer
from ..nlmmap.edge.factory import default_geometry, open_ring
from ..nlmmap.edge.shm import PAGE_SIZE
from ..nlmmap.edge.tx import FrameSender
from ..nlmmap.edge.user import UserRing
from ..nlmmap.geometry import RingGeometry

if TYPE_CHECKING:
    from typing import Any

__all__ = ["demo_stream", "send_sequence"]

_SEQ_OFFSET = 8  # nlmsghdr.nlmsg_seq: bytes from the message start


def demo_stream(netns_path: str | None = None, count: int = 100_000,
                size: int = 64) -> dict[str, Any]:
    """Stream ``count`` USERSOCK messages from a child process through a ring.

    The child sends ``size``-byte messages (``nlmsg_seq`` = 0, 1, 2, ...) with
    ``sendmmsg``; this process reads them through :func:`open_ring`.

    Returns:
        ``{"backend", "reason", "messages", "seconds", "msgs_per_s", "in_order",
        "copies", "ring_full", "enobufs"}``
    """
    recv = socket_in(netns_path, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK)
    recv.bind((0, 0))
    try:
        recv.setsockopt(socket.SOL_SOCKET, SO.RCVBUFFORCE, 8 << 20)
    except OSError:
        recv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    portid = recv.getsockname()[0]
    ring = open_ring(recv, default_geometry(256, 4096), None, meta=False)
    pid = os.fork()
    if pid == 0:  # child: the sender
        code = 0
        try:
            send_sequence(netns_path, portid, count, size)
        except BaseException:
            code = 1
        os._exit(code)
    t0 = time.perf_counter()
    got = 0
    expect = 0
    in_order = True
    o = _SEQ_OFFSET
    for v in ring.data(timeout=5.0, count=count):
        if (v[o] | v[o + 1] << 8 | v[o + 2] << 16 | v[o + 3] << 24) != expect & 0xFFFFFFFF:
            in_order = False
        expect += 1
        got += 1
    dt = time.perf_counter() - t0
    os.waitpid(pid, 0)
    st = ring.stats() if isinstance(ring, UserRing) else {}
    out = {
        "backend": ring.backend, "reason": ring.reason, "messages": got,
        "seconds": round(dt, 4), "msgs_per_s": round(got / dt) if dt else 0,
        "in_order": in_order and got == count, "copies": st.get("copies", 0),
        "ring_full": st.get("ring_full", 0), "enobufs": st.get("enobufs", 0),
    }
    close = getattr(ring, "close", None)
    if close is not None:
        close()
    recv.close()
    return out


def send_sequence(netns_path: str | None, portid: int, count: int, size: int = 64,
                  batch: int = 256, first_seq: int = 0) -> int:
    """Send ``count`` ``size``-byte USERSOCK messages to ``portid``, ``nlmsg_seq``
    counting up from ``first_seq``, ``batch`` per ``sendmmsg``.  Returns messages sent."""
    s = socket_in(netns_path, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK)
    s.bind((0, 0))
    g = RingGeometry.for_frames(max(size, nlmsghdr.size) + NL_MMAP_HDRLEN, batch,
                                page_size=PAGE_SIZE)
    buf = bytearray(g.size)
    tx = TxProducer(buf, g)
    words = tx.ring.words
    for i in range(g.frame_nr):
        nlmsghdr.pack_into(buf, tx.ring.data[i], size, NLMSG.MIN_TYPE, 0, 0, 0)
    seq_w = [(d + _SEQ_OFFSET) >> 2 for d in tx.ring.data]
    sender = FrameSender(buf, g, dest_portid=portid)
    lens = array(SIZE_FMT, [size]) * batch
    uniform = g.uniform
    stride = g.frame_size >> 2
    sent = 0
    seq = first_seq
    try:
        while sent < count:
            k = min(batch, count - sent, g.frame_nr)
            if uniform:
                words[seq_w[0] : seq_w[0] + k * stride : stride] = array("I", range(seq, seq + k))
            else:
                for j in range(k):
                    words[seq_w[j]] = (seq + j) & 0xFFFFFFFF
            n = sender.send(s.fileno(), 0, lens[:k])
            sent += n
            seq += n
            if n < k:
                break
    finally:
        sender.close()
        del words
        tx.ring.words.release()
        tx.ring.buf.release()
        s.close()
    return sent

