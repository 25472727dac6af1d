"""The nfnetlink_queue socket: :class:`Queue` (bind, configure, receive, verdicts, statistics).

::

    q = Queue(1, fail_open=True)                 # NETLINK_NETFILTER socket, queue 1 bound,
                                                 # copy mode PACKET set in the same message
    for pkt in q.packets(count=100):             # one Packet view at a time
        pkt.drop() if bad(pkt.payload) else pkt.accept(mark=7)
    q.run(callback, count=None, timeout=None)    # NetfilterQueue style: callback(pkt)
    for batch in q.batches():                    # the hot path: recvmmsg of up to 64
        batch.accept()                           # datagrams, ids read at their fixed offset;
                                                 # one VERDICT_BATCH when in order
    async for pkt in q.apackets(): ...           # asyncio (loop.add_reader, no threads)
    q.stats()                                    # QueueStats: every count and loss

Every request (bind, params, flags, unbind, acknowledged verdicts) goes through
the one conversation, the :class:`~netring.socket.NetlinkSocket` (a
:class:`~netring.conn.Connection`) in :attr:`Queue.sock`.  The receive path reads
datagrams straight from the socket with one ``recvmmsg`` into preallocated
slots (:class:`~netring._sys.mmsg.MMsgBatch`) and takes packets at their fixed
offsets; anything that is not a packet from the kernel goes through the
connection's primitives (``chunk_messages``, ``route``, ``overrun``) under the
one reply rule: with no request pending, a kernel message with a sequence
number is a stale reply -- here, the error answering a verdict, decoded into a
named :class:`~netring.errors.NetlinkError` and counted.  Packets that arrive
while a request waits are kept by the connection (notifications) and delivered
first by the next receive.  ``Queue(ring="uring")`` reads the datagrams from a
netlink RX ring io_uring fills instead (each through the same per-datagram path;
requests then read their replies from the ring too: see
:meth:`~.queue_receive.QueueReceive._recv_ring`).

Verdicts go through the :class:`~netring.subsystems.nfnetlink.queue.batch.Batcher`:
a ``VERDICT_BATCH`` only for the contiguous completed prefix, every other verdict
on its own and first, many messages per ``sendmsg``.  They are sent at the end
of every receive batch, before the socket blocks, when one waited ``delay``
seconds, and when the buffer fills.

Lifetimes: packets and batches view the receive slots: **valid until the next
receive**.  ``pkt.copy()`` detaches a packet that needs its verdict later (at
most ``window`` packets may wait: beyond it the oldest get the policy verdict).

Not thread-safe: one Queue per thread (or a lock around every call).

``Queue`` is one class (every hot-path call is a plain method lookup on it) made
of parts, one module each::

    queue.py           Queue: the constructor, lifetime (close), consumption styles
                       (batches, packets, run, abatches, apackets)
    queue_receive.py   QueueReceive: recv_batch, feed and taking datagrams apart,
                       from slots or ring frames           (built on QueueVerdicts)
    queue_verdicts.py  QueueVerdicts: set_verdict, verdict_now, flush and the
                       bookkeeping that gives every packet exactly one verdict;
                       PacketBatch, what a receive hands out and its verdicts
    queue_config.py    QueueConfig: bind/unbind, queue parameters, statistics, ifname
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator

from .... import _sys
from ...._sys.poll import Readable
from ....codec import NETLINK
from ....codec.types import TYPE_CHECKING
from ....conn import Connection
from ....errors import EncodeError, NetlinkError
from ....netns import netns_path
from ....nlmmap.edge.transport import RingTransport
from ....socket import NetlinkSocket
from ..constants import NF
from ..queue.batch import Batcher
from ..queue.constants import NFQA_CFG_F, NFQNL_COPY, NFQNL_MAX_COPY_RANGE
from ..queue.packet import Packet
from ..queue.requests import VerdictWriter
from ..queue.stats import QueueStats
from .queue_config import PROC_NFNETLINK_QUEUE, QueueConfig, _queue_list
from .queue_receive import QueueReceive, open_queue_ring
from .queue_verdicts import PacketBatch

if TYPE_CHECKING:
    from typing import Any

    from ....nlmmap.base import RingBase

__all__ = ["Queue", "PacketBatch", "DEFAULT_WINDOW", "DEFAULT_DELAY", "DEFAULT_RCVBUF",
           "PROC_NFNETLINK_QUEUE"]

#: packets that may wait for their verdict at once (see docs/nfqueue.md, "window":
#: the kernel finds a packet by walking its queue, so a verdict costs more the more
#: packets are queued; measured flat to 1024 and rising beyond)
DEFAULT_WINDOW = 1024
#: seconds a finished packet may wait for an earlier one before its verdict goes alone
DEFAULT_DELAY = 0.001
#: receive buffer asked for (SO_RCVBUFFORCE; the kernel doubles it)
DEFAULT_RCVBUF = 8 << 20

_POLICY_OK = (NF.ACCEPT, NF.DROP)


class Queue(QueueReceive, QueueConfig):
    """An nfnetlink_queue consumer: one ``NETLINK_NETFILTER`` socket, any number of queues.

    Args:
        queues: queue numbers to bind now (an int or an iterable; more with :meth:`bind`).
        netns: network namespace to open the socket in (name or path); the rules that
            queue packets and the statistics file are that namespace's.
        copy_mode: :class:`NFQNL_COPY` (``PACKET``: payloads; ``META``: metadata only).
        copy_range: bytes of each packet to copy (at most 65531; ``NFQA_CAP_LEN``
            tells the full length of a cut packet).
        maxlen: the kernel's queue length limit (``None``: the kernel's 1024).
        fail_open: ``NFQA_CFG_F_FAIL_OPEN``: accept packets when the queue is full
            or the socket buffer overflows, instead of dropping them.
        conntrack: ``NFQA_CFG_F_CONNTRACK``: attach conntrack (``pkt.ct``, ``ct_info``).
        gso: ``NFQA_CFG_F_GSO``: queue GSO super-packets whole (up to 64 KiB; the
            checksum may be unfinished: ``NFQA_SKB.CSUMNOTREADY``).
        uid_gid: ``NFQA_CFG_F_UID_GID``: the local socket owner's uid/gid.
        secctx: ``NFQA_CFG_F_SECCTX``: the security context.
        policy: the verdict a packet released without one gets (``NF.ACCEPT`` or
            ``NF.DROP``); counted in ``stats().released_without_verdict``.
        batch_verdict, batch_mark: the verdict (and mark) batch messages carry; other
            verdicts go on their own.
        window: most packets awaiting a verdict at once (beyond it the oldest get the
            policy verdict).
        delay: seconds a finished packet may wait for an earlier one before its verdict
            is sent on its own.
        batch: datagrams per ``recvmmsg`` (1..1024).
        rcvbuf: receive buffer to ask for (``SO_RCVBUFFORCE``).
        pf_bind: also send the ``PF_UNBIND``/``PF_BIND`` commands older kernels need
            (accepted and ignored by current ones).
        sock: use this connection instead of opening a socket (a NETLINK_NETFILTER
            :class:`~netring.socket.NetlinkSocket`).
        ring: receive from a netlink RX ring instead of ``recvmmsg``: ``"uring"``
            (io_uring fills the frames), ``"auto"`` (what
            :func:`~netring.nlmmap.edge.factory.open_ring` picks here), ``"kernel"`` or
            ``"user"``; ``None`` (the default): ``recvmmsg`` into fixed slots.  Frames hold
            a ``copy_range`` packet whole; verdicts still go out with ``sendmsg``.
            ``repr(q)`` and ``stats().receive`` name the path.

    Raises:
        NetlinkError: binding failed; EPERM names the port id holding the queue.
        NotSupportedError: ``SECCTX``/``CONNTRACK`` unsupported by this kernel; the
            ``ring`` backend asked for cannot be opened (io_uring disabled or refused).
    """

    def __init__(
        self,
        queues: int | Iterable[int] = (),
        *,
        netns: str | os.PathLike[str] | None = None,
        copy_mode: int = NFQNL_COPY.PACKET,
        copy_range: int = NFQNL_MAX_COPY_RANGE,
        maxlen: int | None = None,
        fail_open: bool = False,
        conntrack: bool = False,
        gso: bool = False,
        uid_gid: bool = False,
        secctx: bool = False,
        policy: int = NF.ACCEPT,
        batch_verdict: int = NF.ACCEPT,
        batch_mark: int | None = None,
        window: int = DEFAULT_WINDOW,
        delay: float = DEFAULT_DELAY,
        batch: int = 64,
        rcvbuf: int = DEFAULT_RCVBUF,
        pf_bind: bool = True,
        sock: NetlinkSocket | None = None,
        ring: str | None = None,
    ) -> None:
        if policy not in _POLICY_OK:
            raise EncodeError(f"policy must be NF.ACCEPT or NF.DROP, not {policy!r}")
        if not 1 <= batch <= 1024:
            raise EncodeError(f"batch {batch} outside 1..1024")
        if window < 1:
            raise EncodeError(f"window {window} must be at least 1")
        if not 0 <= copy_range <= NFQNL_MAX_COPY_RANGE:
            raise EncodeError(f"copy range {copy_range} outside 0..{NFQNL_MAX_COPY_RANGE}")
        self.netns = None if netns is None else netns_path(netns)
        self.sock: NetlinkSocket = sock if sock is not None else NetlinkSocket(
            NETLINK.NETFILTER, netns=self.netns, rcvbuf=rcvbuf, sndbuf=1 << 20, cap_ack=False)
        self.conn: Connection = self.sock
        self.copy_mode = int(copy_mode)
        self.copy_range = copy_range
        self.maxlen = maxlen
        self.flags = NFQA_CFG_F(0)
        for on, f in ((fail_open, NFQA_CFG_F.FAIL_OPEN), (conntrack, NFQA_CFG_F.CONNTRACK),
                      (gso, NFQA_CFG_F.GSO), (uid_gid, NFQA_CFG_F.UID_GID),
                      (secctx, NFQA_CFG_F.SECCTX)):
            if on:
                self.flags |= f
        self.policy = int(policy)
        self.window = window
        self.bound: list[int] = []
        self._pf_bound = not pf_bind
        self._closed = False
        # receive slots: one arena, fixed stride
        self._make_slots(copy_mode, copy_range, batch, ring=ring is not None)
        self._mb: Any = None  # MMsgBatch over the slots (made below, after the socket)
        self._ring = None
        self._rt: RingTransport | None = None
        self._frames = []
        # connected to port id 0: the kernel refuses unicasts to us from anyone but
        # itself (ECONNREFUSED), so every datagram received is the kernel's
        self.sock.socket.connect((0, 0))
        self._fd = self.sock.fileno()
        if ring is None:
            self._mb = _sys.MMsgBatch(self._regions, name=False, control=0)
        else:
            try:
                self._ring = open_queue_ring(self.sock.socket, ring, self._slot, batch)
            except BaseException:
                if sock is None:
                    self.sock.close()
                raise
            self._ring_opened(self._ring)
            # the ring takes every datagram the socket receives, the replies to our
            # requests too: the conversation reads them from the ring's frames
            self._rt = RingTransport(self._ring, self.sock)
            self.conn = Connection(self._rt, debug_log=self.sock.debug_log)
            self._fd = self._rt.fileno()  # the ring's own where it has one (io_uring's)
        self._poll = Readable(self._fd)
        self._send = self.sock.socket.send
        self._recv_into = self.sock.socket.recv_into
        self.writer = VerdictWriter(128 << 10)
        self.batcher = Batcher(self.writer, self.conn.next_seq, verdict=batch_verdict,
                               mark=batch_mark, delay=delay)
        self._stats = QueueStats()
        self._last_id: dict[int, int] = {}
        self._current: PacketBatch | None = None
        self._released: list[tuple[int, int]] = []
        self._held: set[tuple[int, int]] = set()
        self.errors: collections.deque[NetlinkError] = collections.deque(maxlen=64)
        self._names: dict[int, str] = {}
        try:
            for q in _queue_list(queues):
                self.bind(q)
        except BaseException:
            self.close()
            raise

    # -- plumbing ------------------------------------------------------------------------
    def fileno(self) -> int:
        """The descriptor to poll (readable when packets wait): the socket's, or with a
        ring the ring's own where it has one (io_uring's)."""
        return self._fd

    @property
    def receive_path(self) -> str:
        """How packets are received: ``"recvmmsg"``, or the ring backend's name
        (``"uring"``, ``"kernel"``, ``"user"``)."""
        return "recvmmsg" if self._ring is None else self._ring.backend

    @property
    def ring(self) -> RingBase | None:
        """The RX ring packets are read from (``None`` on the ``recvmmsg`` path)."""
        return self._ring

    @property
    def portid(self) -> int:
        """The socket's netlink port id (what ``/proc/.../nfnetlink_queue`` lists)."""
        return self.conn.portid

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def __enter__(self) -> Queue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<Queue queues={self.bound} portid={self.portid if not self._closed else None}"
                f" receive={self.receive_path}>")

    def close(self) -> None:
        """Give every packet still waiting the policy verdict, unbind, close (idempotent)."""
        if self._closed:
            return
        try:
            if not self.sock.closed:
                self._release_all()
                for q in list(self.bound):
                    try:
                        self.unbind(q)
                    except (NetlinkError, OSError) as exc:
                        # the socket closes next and the kernel destroys its queues anyway
                        self.errors.append(exc if isinstance(exc, NetlinkError) else
                                           NetlinkError(exc.errno or 0, f"unbind queue {q}"))
        finally:
            self._closed = True
            if self._mb is not None:
                self._mb.close()
                self._mb = None
            if self._ring is not None:
                self._release_frames()
                if self._rt is not None:
                    self._rt.release()
                self._ring.close()  # stops the receive before the socket goes
            self.sock.close()

    # -- consumption styles --------------------------------------------------------------
    def batches(self, count: int | None = None, timeout: float | None = None
                ) -> Iterator[PacketBatch]:
        """Iterate receive batches until ``count`` packets or ``timeout`` seconds.

        Packets of a batch left without a verdict when the iteration advances get the
        policy verdict (counted).  No batch takes more than ``count`` leaves to take
        (packets kept while a request waited excepted).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = 0
        try:
            while count is None or seen < count:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                batch = self.recv_batch(left, limit=None if count is None else count - seen)
                if not batch:
                    if self._stop_requested():
                        return
                    if deadline is not None and time.monotonic() >= deadline:
                        return
                    continue
                seen += len(batch)
                yield batch
                if self._stop_requested():
                    return  # stop_on_signal: after the batch in hand
        finally:
            if not self._closed:
                self._release_current()
                self._apply_released()
                self._flush(force=True)

    def packets(self, count: int | None = None, timeout: float | None = None
                ) -> Iterator[Packet]:
        """Iterate packets one by one until ``count`` packets or ``timeout`` seconds.

        A packet left without a verdict when the iteration advances gets the policy
        verdict (counted).  Views are valid until the next step.
        """
        for batch in self.batches(count, timeout):
            for pkt in batch._packets():
                yield pkt
                if not pkt._state:
                    pkt.release()
            self._apply_released()

    __iter__ = packets

    def run(self, callback: Callable[[Packet], object], count: int | None = None,
            timeout: float | None = None, *, handle_signals: bool = True) -> int:
        """Call ``callback(pkt)`` for every packet (NetfilterQueue's ``run``); returns how
        many packets were handled.

        A packet the callback gives no verdict gets the policy verdict (counted).  With
        ``handle_signals`` (main thread only), SIGTERM ends the loop after the packet
        being handled (:meth:`stop_on_signal`), and the queue is closed; SIGINT raises
        ``KeyboardInterrupt`` as usual.  Either way every waiting packet gets the
        policy verdict and the queues are unbound before returning or raising.
        """
        n = 0
        signals = handle_signals and threading.current_thread() is threading.main_thread()
        try:
            with self.stop_on_signal() if signals else contextlib.nullcontext() as stop:
                # packets() without its generator step: each batch's packets made in one
                # pass, each released after the callback when it gave no verdict
                for batch in self.batches(count, timeout):
                    for pkt in batch._packets():
                        callback(pkt)
                        n += 1
                        if not pkt._state:
                            pkt.release()
                        if stop is not None and stop.requested:
                            break
                    self._apply_released()
                    if stop is not None and stop.requested:
                        break
            if stop is not None and stop.requested:
                self.close()
        except BaseException:
            self.close()
            raise
        return n

    async def abatches(self) -> AsyncIterator[PacketBatch]:
        """Async :meth:`batches` (waits with ``loop.add_reader``; no threads)."""
        from .... import aio

        try:
            while True:
                batch = self.recv_batch(block=False)
                if not batch:
                    self._flush(force=True)
                    await aio.readable(self)
                    continue
                yield batch
        finally:
            if not self._closed:
                self._release_current()
                self._apply_released()
                self._flush(force=True)

    async def apackets(self) -> AsyncIterator[Packet]:
        """Async :meth:`packets`."""
        async for batch in self.abatches():
            for pkt in batch:
                yield pkt
                if not pkt._state:
                    pkt.release()
            self._apply_released()
