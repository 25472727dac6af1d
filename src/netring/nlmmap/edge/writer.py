"""A direct ring producer: a peer process writes netlink messages straight into a
shared RX ring -- no socket, no system call per message.

OS edge module (``os``, eventfds and polling from :mod:`netring._sys`).  This is the user-space counterpart of the
kernel constructing messages in a mapped RX ring (``netlink_mmap`` 3.10-4.5):
the frame logic is the pure :class:`~netring.nlmmap.cursor.RxProducer`; this
module adds the producer claim, the credentials and the two wake-ups::

    writer process                      shared memfd ring (RX)             consumer process
    --------------                      ----------------------             ----------------
    view = w.frame(64)   UNUSED -> RESERVED  [..][RES][..]
    build in place                            data at frame + 24
    w.commit(64)         nm_len, nm_group, nm_pid/uid/gid, RESERVED -> VALID  ring.data()
    w.send_many(msgs)    one copy per message, headers by strided slices,     walks VALID
                         VALID stored last, producer position published      frames, no
                                                                              syscall
    wake-up   : writer loads q[WAITING] after publishing; only when set it clears it and
                writes the data eventfd (one syscall per consumer sleep, none per message)
    ring full : writer sets q[PAUSED], sleeps on the room eventfd; the consumer clears
                PAUSED and writes it when it releases frames; nothing is dropped

Credentials: ``nm_pid``/``nm_uid``/``nm_gid`` are the writer's own pid, uid and
gid, *claimed by the producer*, not verified by a kernel as they are for
messages that came through a netlink socket (``SCM_CREDENTIALS``).  Anyone who
holds the memfd can write any frame; only processes given the ring's
descriptors (``fork`` or ``SCM_RIGHTS``; the file is mode 0600) can write at all.
Trust them as you trust those processes.

One producer per ring: a second :class:`RingWriter`, or a socket filler
(:class:`~netring.nlmmap.edge.filler.RingFiller`, :class:`~netring.nlmmap.edge.fanout.Feeder`),
on the same ring is refused (:meth:`SharedRing.claim_producer`).  A process that
forks must not write from both sides of the fork with the same writer.

Messages larger than a frame's data area (``frame_size - 24``) are refused with
:class:`~netring.errors.RingError` before anything is written.  The socket
filler's COPY side channel is not used: its sending end stays in the process
that created the ring, which a peer writer is usually not.  Choose the frame
size for the largest message.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Sequence

from ..._sys import eventfd
from ..._sys.poll import Readable, deadline_after, ms_left
from ...codec.types import TYPE_CHECKING
from ...errors import RingError
from ..cursor import RxProducer
from .shm import HeaderWord, SharedRing

if TYPE_CHECKING:
    from typing import Any

__all__ = ["RingWriter", "RingTimeout", "WRITER_KIND"]

WRITER_KIND = 2  # q[HeaderWord.PRODUCER_KIND] of a RingWriter (shm.PRODUCER_KINDS)
ROOM_SLICE_MS = 20  # a writer waiting for room re-checks the ring at least this often


class RingTimeout(RingError, TimeoutError):
    """The ring stayed full for the whole timeout: the consumer released nothing.

    Attributes:
        sent: messages of the failed call that were published before it gave up
            (the rest were not written; nothing is half-written).
    """

    def __init__(self, message: str, sent: int = 0) -> None:
        super().__init__(message)
        self.sent = sent


class RingWriter:
    """Write netlink messages directly into a :class:`SharedRing`'s RX ring.

    The consumer reads them with the ordinary ring API
    (:meth:`UserRing.attach(shared) <netring.nlmmap.edge.user.UserRing.attach>`, then
    ``messages()``, ``data()``, ``recv()``/``release()``/``skip()``)::

        shared = SharedRing.receive(unix_sock)        # or inherited through fork
        with RingWriter(shared) as w:
            view = w.frame(len(msg))                  # build in place ...
            view[:] = msg
            w.commit(len(msg))
            w.send(msg)                               # ... or copy one in
            w.send_many([m1, m2, m3])                 # a batch: one copy each

    Args:
        shared: the ring (created here, or attached with ``from_fds``/``receive``).
        group: ``nm_group`` stored with each message unless a call gives one.
        timeout: how long a call waits for the consumer to free a frame before it
            raises :class:`RingTimeout` (the wait restarts whenever room appears).

    Raises:
        RingError: the ring has no RX ring, or already has a producer.

    Frames follow :data:`~netring.nlmmap.states.TRANSITIONS`: ``frame()`` moves the
    head frame UNUSED -> RESERVED, ``commit()`` RESERVED -> VALID (headers first,
    status last); ``send_many()`` moves runs UNUSED -> VALID.  Frames the consumer
    keeps (SKIP) are stepped over, as the kernel's ``netlink_forward_ring`` does,
    and the writer never runs more than one lap ahead of the consumer's
    committed position, so released frames cannot reorder messages.

    Taking over: a writer starts at the producer position in the header.  If a
    previous writer died between ``frame()`` and ``commit()``, that RESERVED
    frame is published empty (``nm_len`` 0; consumers release it at once).
    """

    def __init__(self, shared: SharedRing, *, group: int = 0, timeout: float = 10.0) -> None:
        rx = shared.layout.rx
        if rx is None:
            raise RingError("the shared ring has no RX ring to write into")
        shared.claim_producer(WRITER_KIND)
        try:
            q = shared.q
            self.shared = shared
            self.geometry = rx
            self.group = group
            self.timeout = timeout
            self.pid, self.uid, self.gid = os.getpid(), os.getuid(), os.getgid()
            self.prod = RxProducer(shared.mm, rx, shared.rx_base, position=int(q[HeaderWord.RX_PROD]),
                                   publish_position=self._publish_position,
                                   consumer_position=self._consumer_position)
            n = rx.frame_nr
            self._creds = (self.pid & 0xFFFFFFFF, self.uid, self.gid)
            self._pids = memoryview(array("I", [self._creds[0]]) * n)
            self._uids = memoryview(array("I", [self.uid]) * n)
            self._gids = memoryview(array("I", [self.gid]) * n)
            self._groups: dict[int, memoryview] = {}
            self._reserved: int | None = None
            self._q = q
            self._data_efd = shared.data_efd
            self._space_efd = shared.space_efd
            self._room = Readable(shared.space_efd)
            self.messages = 0
            self.bytes = 0
            self.ring_full = 0
            self.wakeups = 0
            self.recovered = self.prod.drop_reserved()
        except BaseException:
            shared.release_producer()
            raise
        self._closed = False

    # -- shared header -------------------------------------------------------------------
    def _publish_position(self, pos: int) -> None:
        self._q[HeaderWord.RX_PROD] = pos

    def _consumer_position(self) -> int:
        return int(self._q[HeaderWord.RX_CONS])

    def _wake(self) -> None:
        """Write the data eventfd if (and only if) a consumer announced it sleeps."""
        q = self._q
        if q[HeaderWord.WAITING]:
            q[HeaderWord.WAITING] = 0  # one wake-up per sleep; the consumer sets it again
            eventfd.signal(self._data_efd)
            self.wakeups += 1
            q[HeaderWord.WAKEUPS] += 1

    def _wait_room(self, timeout: float, sent: int) -> None:
        """Sleep until the consumer frees a frame (or steps the writer over a kept
        one); :class:`RingTimeout` after ``timeout`` seconds with no room.

        Same fence argument as the consumer's wait: the eventfd read after setting
        PAUSED is a syscall (a full fence here), the consumer's release is not, so
        a wake-up can still be missed; the poll runs in slices of
        :data:`ROOM_SLICE_MS` and re-checks the ring after each.
        """
        q = self._q
        self.ring_full += 1
        q[HeaderWord.RING_FULL] += 1
        self._wake()  # the consumer may be asleep with frames to read
        deadline = deadline_after(timeout)
        try:
            while True:
                # (re-)announce: the consumer clears PAUSED when it wakes us, and a
                # wake-up may bring no room at the head (a kept frame released elsewhere)
                q[HeaderWord.PAUSED] = 1
                eventfd.drain(self._space_efd)
                if self.prod.reserve(1)[1]:
                    return
                if not q[HeaderWord.PAUSED]:
                    continue  # woken between the store and the drain: look again
                ms = ms_left(deadline, ROOM_SLICE_MS)
                if ms == 0:
                    raise RingTimeout(
                        f"ring full for {timeout:g}s: the consumer released no frame "
                        f"({sent} messages of this call were written)", sent)
                self._room.wait_ms(ms)
        finally:
            q[HeaderWord.PAUSED] = 0

    def _check_size(self, length: int, what: str = "message") -> None:
        ds = self.geometry.data_size
        if not 0 < length <= ds:
            if length > ds:
                raise RingError(f"{what} of {length} bytes does not fit a frame's data area "
                                f"({ds} bytes = frame_size {self.geometry.frame_size} - 24); "
                                f"use a larger frame size")
            raise RingError(f"{what} of {length} bytes: a message has at least 1 byte")

    def _group_view(self, group: int) -> memoryview:
        v = self._groups.get(group)
        if v is None:
            v = self._groups[group] = memoryview(array("I", [group]) * self.geometry.frame_nr)
        return v

    def _alive(self) -> None:
        if self._closed:
            raise RingError("this RingWriter is closed")

    # -- build in place --------------------------------------------------------------------
    def frame(self, size: int | None = None, *, wait: bool = True,
              timeout: float | None = None) -> memoryview | None:
        """The writable data area of the next free frame, reserved for this writer.

        Build one or more netlink messages into it (e.g. ``Builder(view)``), then
        :meth:`commit` the length.  Calling it again before :meth:`commit` returns
        the same frame.

        Args:
            size: bytes needed; the view is cut to it (default: the whole data area).
            wait: when the ring is full, wait for room (up to ``timeout``, default
                the writer's) instead of returning ``None``.

        Raises:
            RingError: ``size`` does not fit a frame.
            RingTimeout: still full after ``timeout`` seconds.
        """
        self._alive()
        ds = self.geometry.data_size
        if size is not None:
            self._check_size(size)
        i = self._reserved
        while i is None:
            i = self.prod.reserve_frame()
            if i is not None:
                self._reserved = i
                break
            if not wait:
                return None
            self._wait_room(self.timeout if timeout is None else timeout, 0)
        d = self.prod.ring.data[i]
        return self.prod.ring.buf[d : d + (ds if size is None else size)]

    def commit(self, length: int, group: int | None = None) -> int:
        """Publish the frame from :meth:`frame`: ``nm_len = length``, ``nm_group``,
        the writer's credentials, then VALID.  Wakes the consumer if it sleeps.

        Returns:
            The frame's ring index.
        """
        self._alive()
        i = self._reserved
        if i is None:
            raise RingError("commit() without a frame from frame()")
        self._check_size(length)
        self.prod.publish_one(length, group=self.group if group is None else group,
                              creds=self._creds)
        self._reserved = None
        q = self._q
        q[HeaderWord.MESSAGES] += 1
        q[HeaderWord.BYTES] += length
        self.messages += 1
        self.bytes += length
        self._wake()
        return i

    def cancel(self) -> None:
        """Give up the frame from :meth:`frame` without a message: it is published
        empty (``nm_len`` 0, the kernel's "dropped" frame), which consumers release
        at once.  No-op without a reserved frame."""
        if self._reserved is not None:
            self.prod.publish_one(0)
            self._reserved = None

    # -- copy in -----------------------------------------------------------------------------
    def send(self, data: Any, group: int | None = None, timeout: float | None = None) -> None:
        """Copy one message (bytes-like) into the next frame and publish it."""
        self.send_many((data,), group, timeout)

    def send_many(self, msgs: Sequence[Any], group: int | None = None,
                  timeout: float | None = None) -> int:
        """Copy each message (bytes-like, one per frame) into the ring, in order.

        Runs of free frames are filled with one copy per message, then their
        headers are written with one strided slice per field and VALID stored
        last, so the consumer sees whole runs.  Waits for room when the ring is
        full (nothing is dropped).

        Returns:
            ``len(msgs)``.

        Raises:
            RingError: a message is empty or larger than a frame's data area
                (checked before anything is written).
            RingTimeout: the ring stayed full for ``timeout`` seconds (default the
                writer's); ``.sent`` says how many were published.
        """
        self._alive()
        if self._reserved is not None:
            raise RingError("a frame from frame() is not committed yet")
        total = len(msgs)
        if total == 0:
            return 0
        lens = array("I", [len(m) for m in msgs])
        ds = self.geometry.data_size
        if max(lens) > ds or min(lens) == 0:
            k = next(j for j, x in enumerate(lens) if x > ds or x == 0)
            self._check_size(lens[k], f"message {k}")
        wait = self.timeout if timeout is None else timeout
        groups = self._group_view(self.group if group is None else group)
        prod = self.prod
        buf, datas = prod.ring.buf, prod.ring.data
        q = self._q
        pids, uids, gids = self._pids, self._uids, self._gids
        done = 0
        while done < total:
            start, cnt = prod.reserve(total - done)
            if cnt == 0:
                self._wait_room(wait, done)
                continue
            run = lens[done : done + cnt]
            for d, ln, m in zip(datas[start : start + cnt], run, msgs[done : done + cnt],
                                strict=True):
                buf[d : d + ln] = m
            prod.publish(start, run, groups=groups, pids=pids, uids=uids, gids=gids)
            done += cnt
            nbytes = sum(run)
            q[HeaderWord.MESSAGES] += cnt
            q[HeaderWord.BYTES] += nbytes
            self.messages += cnt
            self.bytes += nbytes
            self._wake()
        return total

    # -- lifetime ----------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """This writer's counters: messages, bytes, ring_full (waits for room),
        wakeups (data eventfd writes), position."""
        return {"messages": self.messages, "bytes": self.bytes, "ring_full": self.ring_full,
                "wakeups": self.wakeups, "position": self.prod.position}

    def close(self) -> None:
        """Publish any reserved frame empty, give up the producer role and drop
        the views into the mapping (the :class:`SharedRing` stays open)."""
        if self._closed:
            return
        self.cancel()
        self._closed = True
        for v in (self._pids, self._uids, self._gids, *self._groups.values()):
            v.release()
        self.prod.ring.words.release()
        self.prod.ring.buf.release()
        self.shared.release_producer()

    def __enter__(self) -> RingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        g = self.geometry
        return (f"<RingWriter pid={self.pid} frames={g.frame_nr}x{g.frame_size} "
                f"position={self.prod.position} messages={self.messages}>")
