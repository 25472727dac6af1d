"""nfqueue consumers for benchmarks, each one call: bind, accept everything, time it.

Every consumer binds ``queue`` (in ``netns``), calls ``ready()`` once it is bound,
accepts every packet until ``count`` packets or ``idle`` seconds without one,
and returns ``(packets, seconds)`` from the first packet received to the last
verdict sent::

    run_netring(queue, count, batch=64)          Queue.batches(): recvmmsg + one
                                                 VERDICT_BATCH per batch (the hot path)
    run_netring_packets(queue, count, batch=64)  Queue.packets(): a Packet per packet,
                                                 pkt.accept() (the batcher coalesces)
    run_netring_single(queue, count)             Queue(batch=1): one recv and one
                                                 verdict message per packet
    run_raw(queue, count, batch=64)              no Queue: MMsgBatch + a hand-built
                                                 VERDICT_BATCH (the floor for Python)

The ``netring bench queue`` harness and ``benchmarks/bench_nfqueue_paths.py`` use them.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable

from .. import _sys
from ..codec.types import TYPE_CHECKING
from ..subsystems.nfnetlink.edge.queue import Queue

if TYPE_CHECKING:
    from typing import Any

__all__ = ["run_netring", "run_netring_packets", "run_netring_single", "run_raw"]

Result = tuple[int, float]


def _noop() -> None:
    return None


def run_netring(queue: int, count: int, batch: int = 64, *, netns: str | None = None,
                ready: Callable[[], None] = _noop, idle: float = 0.5,
                maxlen: int = 16384, rcvbuf: int = 8 << 20, **queue_args: Any) -> Result:
    """netring's hot path: ``for b in q.batches(): b.accept()``."""
    with Queue(queue, netns=netns, batch=batch, maxlen=maxlen, rcvbuf=rcvbuf,
               **queue_args) as q:
        ready()
        got = 0
        first = last = 0.0
        b = q.recv_batch(timeout=10.0)
        if b:
            first = time.perf_counter()
        while b:
            b.accept()
            got += len(b)
            if got >= count:
                break
            last = time.perf_counter()  # (its verdicts go out first thing in the next call)
            b = q.recv_batch(timeout=idle, limit=count - got)
        q.flush()
        if got >= count:
            last = time.perf_counter()
        return got, max(last - first, 1e-9)


def run_netring_packets(queue: int, count: int, batch: int = 64, *, netns: str | None = None,
                        ready: Callable[[], None] = _noop, idle: float = 0.5,
                        maxlen: int = 16384, rcvbuf: int = 8 << 20) -> Result:
    """One :class:`Packet` view per packet: ``for p in q.packets(): p.accept()``."""
    with Queue(queue, netns=netns, batch=batch, maxlen=maxlen, rcvbuf=rcvbuf) as q:
        ready()
        got = 0
        first = last = 0.0
        b = q.recv_batch(timeout=10.0)
        if b:
            first = time.perf_counter()
        while b:
            for pkt in b:
                pkt.accept()
            got += len(b)
            if got >= count:
                break
            last = time.perf_counter()  # (its verdicts go out first thing in the next call)
            b = q.recv_batch(timeout=idle, limit=count - got)
        q.flush()
        if got >= count:
            last = time.perf_counter()
        return got, max(last - first, 1e-9)


def run_netring_single(queue: int, count: int, *, netns: str | None = None,
                       ready: Callable[[], None] = _noop, idle: float = 0.5,
                       maxlen: int = 16384, rcvbuf: int = 8 << 20) -> Result:
    """One receive and one verdict message per packet (``Queue(batch=1)``)."""
    return run_netring_packets(queue, count, 1, netns=netns, ready=ready, idle=idle,
                               maxlen=maxlen, rcvbuf=rcvbuf)


def run_raw(queue: int, count: int, batch: int = 64, *, netns: str | None = None,
            ready: Callable[[], None] = _noop, idle: float = 0.5,
            maxlen: int = 16384, rcvbuf: int = 8 << 20) -> Result:
    """The floor: a socket, ``MMsgBatch`` and hand-packed messages; no netring objects."""
    from ..netns import socket_in

    fd_sock = socket_in(netns, socket.AF_NETLINK, socket.SOCK_RAW, 12)
    fd_sock.setsockopt(socket.SOL_SOCKET, 33, rcvbuf)  # SO_RCVBUFFORCE
    fd_sock.bind((0, 0))
    seq = 0

    def config(attrs: bytes) -> None:
        nonlocal seq
        seq += 1
        body = struct.pack("!BBH", 0, 0, queue) + attrs
        fd_sock.send(struct.pack("=IHHII", 16 + len(body), 0x0302, 5, seq, 0) + body)
        ack = fd_sock.recv(8192)
        if struct.unpack_from("=i", ack, 16)[0]:
            raise OSError(-struct.unpack_from("=i", ack, 16)[0], "nfqueue config")

    config(struct.pack("=HH", 8, 1) + struct.pack("!BxH", 1, 0))  # BIND
    config(struct.pack("=HH", 9, 2) + struct.pack("!IB", 0xFFFF, 2) + b"\0\0\0"
           + struct.pack("=HH", 8, 3) + struct.pack("!I", maxlen))
    ready()
    slot = 2048
    arena = bytearray(slot * batch)
    mv = memoryview(arena)
    mb = _sys.MMsgBatch([mv[i * slot:(i + 1) * slot] for i in range(batch)], name=False,
                        control=0)
    verdict = bytearray(struct.pack("=IHHII", 32, 0x0303, 1, 0, 0) + struct.pack("!BBH", 0, 0, queue)
                        + struct.pack("=HH", 12, 2) + struct.pack("!II", 1, 0))
    ids = struct.Struct("!" + f"24xI{slot - 28}x" * (batch - 1) + "24xI")
    fd = fd_sock.fileno()
    poll = _sys_poll(fd)
    got = 0
    first = last = 0.0
    try:
        while got < count:
            n = mb.recv(fd, _sys.MSG_DONTWAIT)
            if not n:
                if not poll(idle if got else 10.0):
                    break
                continue
            if not got:
                first = time.perf_counter()
            last_id = ids.unpack_from(arena)[n - 1]
            struct.pack_into("!I", verdict, 28, last_id)
            fd_sock.send(verdict)
            got += n
            last = time.perf_counter()
    finally:
        mb.close()
        fd_sock.close()
    return got, max(last - first, 1e-9)


def _sys_poll(fd: int) -> Callable[[float], bool]:
    from .._sys.poll import Readable

    r = Readable(fd)
    return r.wait
