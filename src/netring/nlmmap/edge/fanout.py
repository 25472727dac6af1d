"""Fanout: one netlink socket drained into K shared rings, consumed by K workers.

OS edge module.  A :class:`Feeder` runs in the feeder process and owns K
:class:`~netring.nlmmap.edge.filler.RingFiller` (one per ring)::

    round-robin (key=None): batch 1 -> ring 0, batch 2 -> ring 1, ...   zero copy
    keyed:  recvmmsg into staging slots, ring = key(message) % K        one copy each

            netlink socket --> Feeder --+--> ring 0 --> worker 0 (UserRing.attach)
                                        +--> ring 1 --> worker 1
                                        +--> ...

Order within a ring is socket order.  When the target rings are full the feeder
sets ``PAUSED`` in their headers and sleeps on their room eventfds; a consumer
that releases frames writes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ..._sys import eventfd
from ..._sys.cmsg import decode_netlink_cmsgs
from ..._sys.libc import MSG_DONTWAIT, MSG_WAITFORONE, fileno
from ..._sys.mmsg import MMsgBatch
from ..._sys.poll import Readable, timeout_ms
from ...codec.types import TYPE_CHECKING
from ...errors import RingError
from ..abi import NL_MMAP_STATUS
from .filler import CONTROL_SPACE, RingFiller
from .shm import HeaderWord, SharedRing

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Feeder"]

ROOM_WAIT = 0.05  # seconds a paused feeder sleeps before it re-checks the rings
IDLE_POLL = 0.1  # seconds a feeder with nothing to read waits per round


class Feeder:
    """Drains one socket into K shared rings (fanout), in the feeder process.

    Args:
        sock: the netlink socket.
        rings: K :class:`SharedRing` objects created in this process.
        key: ``None`` for round-robin by batch (zero copy: each ``recvmmsg``
            fills one ring, the next batch the next ring); or a function of a
            message's bytes whose value ``% K`` picks the ring (one copy per message).
        batch, spill, meta: as for :class:`RingFiller`.
    """

    def __init__(self, sock: Any, rings: Sequence[SharedRing], *,
                 key: Callable[[memoryview], int] | None = None, batch: int = 64,
                 spill: int = 256 << 10, meta: bool = True) -> None:
        if not rings:
            raise RingError("a feeder needs at least one ring")
        self.sock = sock
        self.fd = fileno(sock)
        self.rings = list(rings)
        self.key = key
        self.meta = meta
        self.fillers = [RingFiller(sock, r, batch=batch, spill=spill if key is None else 0,
                                   meta=meta) for r in self.rings]
        self._rr = 0
        self.messages = 0
        self.per_ring = [0] * len(self.rings)
        self._stage: Any = None
        if key is not None:
            ds = max(r.layout.rx.data_size for r in self.rings if r.layout.rx)
            self._stage_bufs = [bytearray(max(ds, 16384) + spill) for _ in range(batch)]
            self._stage = MMsgBatch(self._stage_bufs, name=False,
                                    control=CONTROL_SPACE if meta else 0)

    def step(self, block: bool = False) -> int:
        """Move one batch from the socket into the rings; -1 when the target rings are full."""
        if self.key is None:
            k = len(self.fillers)
            full = 0
            for t in range(k):
                idx = (self._rr + t) % k
                got = self.fillers[idx].fill(block=block)
                if got > 0:
                    self._rr = (idx + 1) % k
                    self.messages += got
                    self.per_ring[idx] += got
                    return got
                if got == 0:
                    return 0
                full += 1
            return -1
        return self._step_keyed(block)

    def _step_keyed(self, block: bool) -> int:
        fillers = self.fillers
        k = len(fillers)
        # room check: a message may go to any ring, so read only as many as every ring holds
        room = min(f.prod.reserve(len(self._stage_bufs))[1] for f in fillers)
        if room == 0:
            return -1
        got: int = self._stage.recv(self.fd, MSG_DONTWAIT if not block else MSG_WAITFORONE,
                                    n=room)
        key = self.key
        assert key is not None
        for m in range(got):
            view = self._stage.view(m)
            idx = key(view) % k
            f = fillers[idx]
            start, cnt = f.prod.reserve(1)
            if cnt == 0:  # cannot happen: every ring had `room` free frames in a row
                raise RingError(f"ring {idx} unexpectedly full")
            ln = len(view)
            if self._stage.truncated(m):  # larger than a staging slot: cannot be whole
                f.truncated += 1
                f.ring.q[HeaderWord.TRUNCATED] += 1
                ln = 0
            group, creds = 0, None
            if self.meta:
                group, creds = decode_netlink_cmsgs(self._stage.cmsgs(m))
            if ln <= f.geometry.data_size:
                f.prod.data_view(start)[:ln] = view[:ln]
                f.prod.publish_one(ln, group=group, creds=creds)
            else:  # COPY: the bytes follow on the stream
                f.prod.publish_one(ln, status=NL_MMAP_STATUS.COPY, group=group, creds=creds)
                assert f.ring.copy_sock is not None
                f.ring.copy_sock.sendall(view)
            f.ring.q[HeaderWord.MESSAGES] += 1
            self.per_ring[idx] += 1
        if got:
            for f in fillers:
                eventfd.signal(f.ring.data_efd)
        self.messages += got
        return got

    def run(self, *, count: int | None = None, duration: float | None = None,
            idle: float | None = None, stop: Callable[[], bool] | None = None) -> int:
        """Feed until ``count`` messages, ``duration`` seconds, ``idle`` seconds with
        no message, or ``stop()`` is true.  Returns messages fed.
        """
        readable = Readable(self.fd)  # waiting for messages
        # waiting for room (the socket stays readable meanwhile)
        room = Readable(*(r.space_efd for r in self.rings))
        t0 = time.monotonic()
        last = t0
        start_count = self.messages
        while True:
            if count is not None and self.messages - start_count >= count:
                break
            now = time.monotonic()
            if duration is not None and now - t0 >= duration:
                break
            if idle is not None and now - last >= idle:
                break
            if stop is not None and stop():
                break
            got = self.step()
            if got > 0:
                last = now
                continue
            if got < 0:
                for r in self.rings:
                    r.q[HeaderWord.PAUSED] = 1
                if self.step() != -1:  # re-check after announcing the pause
                    for r in self.rings:
                        r.q[HeaderWord.PAUSED] = 0
                    continue
                room.wait(ROOM_WAIT)  # a consumer writes space_efd when it releases frames
                for r in self.rings:
                    r.q[HeaderWord.PAUSED] = 0
                    eventfd.drain(r.space_efd)
                last = time.monotonic()  # a paused feeder is not idle
                continue
            cap = timeout_ms(IDLE_POLL)
            readable.wait_ms(cap if idle is None else max(1, min(cap, timeout_ms(idle))))
        return self.messages - start_count

    def close(self) -> None:
        """Release the fillers (the rings stay open)."""
        for f in self.fillers:
            f.close()
        if self._stage is not None:
            self._stage.close()


