"""The one consumer API shared by kernel rings and user-space rings (pure).

A backend supplies an :class:`~netring.nlmmap.cursor.RxConsumer` and a way to
wait; everything the program calls lives here, so code written against a ring
does not know which backend fills it::

    ring = netring.nlmmap.open_ring(sock)          # kernel ring or user-space engine
    for msg in ring.messages(timeout=1.0):       # views, valid until the next one
        handle(msg)
    f = ring.recv()                              # or frame by frame:
    ring.skip(f)  ...  ring.release(f)           # keep some, release later

Waiting happens only when no frame is ready: while VALID frames wait in the
ring, reading them makes no system call.
"""

from __future__ import annotations

from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

import time
from collections.abc import Iterator, Sequence
from operator import length_hint

from ..codec.message import Message, iter_messages
from ..errors import Overrun, RingError
from .cursor import Frame, RxConsumer, TxProducer

__all__ = ["RingBase", "FlushResult"]


class FlushResult:
    """What one :meth:`RingBase.flush` did.

    Attributes:
        frames: frames sent.
        bytes: bytes handed to the kernel.
        syscalls: ``sendmsg`` calls made (1 unless IOV_MAX or the socket's send
            buffer forced a split).
        bad: frames not sent because they were malformed (:class:`~netring.nlmmap.cursor.BadFrame`);
            they are released, the others are sent.
    """

    __slots__ = ("frames", "bytes", "syscalls", "bad")

    def __init__(self, frames: int = 0, nbytes: int = 0, syscalls: int = 0,
                 bad: list[Any] | None = None) -> None:
        self.frames = frames
        self.bytes = nbytes
        self.syscalls = syscalls
        self.bad = bad or []

    def __repr__(self) -> str:
        return (f"<FlushResult frames={self.frames} bytes={self.bytes} "
                f"syscalls={self.syscalls} bad={len(self.bad)}>")


class RingBase:
    """Consumer (RX) and producer (TX) API common to every backend.

    Subclasses set ``rx`` (an :class:`RxConsumer` or ``None``), ``tx`` (a
    :class:`TxProducer` or ``None``), ``backend`` and ``reason``, and implement
    :meth:`_wait` and :meth:`flush`.  A backend that can hand :meth:`data` its
    datagrams where they lie overrides :meth:`_take_run` and :meth:`_settle_run`;
    the receive loop itself (idle time, deadline, room, overruns, waiting) is
    written once, here.
    """

    backend = "?"
    reason = ""
    rx: RxConsumer | None = None
    tx: TxProducer | None = None

    # -- to implement ------------------------------------------------------------------
    def _wait(self, timeout: float | None) -> bool:
        """Block until frames may be ready (or ``timeout``); False on timeout."""
        raise NotImplementedError

    def _overruns(self) -> int:
        """Kernel overruns (ENOBUFS) seen so far for the ring's socket."""
        return 0

    def _room(self) -> None:
        """Called after frames were released (user-space engine: wake a paused producer)."""

    def _take_run(self, limit: int) -> tuple[Any, list[int], list[int]] | None:
        """Up to ``limit`` datagrams :meth:`data` may read where they lie, as
        ``(buffer, starts, lengths)`` (each view ``buffer[start : start + length]``),
        or ``None`` (the default): read the consumer's frames.  A backend that returns
        runs (io_uring: datagrams straight from the completions, no frame header
        written) learns from :meth:`_settle_run` how many were taken."""
        return None

    def _take_views(self, limit: int) -> Sequence[Any] | None:
        """:meth:`_take_run` as one view per datagram (what :meth:`data` yields); a
        backend may hand out the same view objects again while their lengths stay."""
        run = self._take_run(limit)
        if run is None:
            return None
        buf, starts, lens = run
        return [buf[d : d + ln] for d, ln in zip(starts, lens)]  # noqa: B905

    def _settle_run(self, taken: int) -> None:
        """``taken`` datagrams of the last :meth:`_take_run` were delivered (more of
        the same run may be settled by later calls, while :meth:`_run_positions` is
        unchanged since the last one)."""

    def _run_positions(self) -> tuple[int, int] | None:
        """``(consumer position, producer position)`` of a backend that hands out runs
        (anything that reads the ring moves one of them), else ``None``."""
        return None

    def flush(self, portid: int = 0, groups: int = 0) -> FlushResult:
        """Send every VALID TX frame in ring order with one ``sendmsg``."""
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        """Counters of the ring (backend specific; :meth:`rx_stats` at least)."""
        return self.rx_stats()

    def rx_stats(self) -> dict[str, Any]:
        """The consumer's counters: ``delivered``, ``empty_released`` (zero-length
        frames released, not delivered), ``copies_fetched``, ``corrupt`` (frames
        or words the other side broke: dropped, repaired or ignored),
        ``last_error`` (what the last one was, or ``None``) and ``deferred``
        (released kept frames not handed back to the producer yet)."""
        rx = self.rx
        if rx is None:
            return {}
        return {"delivered": rx.delivered, "empty_released": rx.empty_released,
                "copies_fetched": rx.copies, "corrupt": rx.corrupt,
                "last_error": rx.last_error, "deferred": rx.deferred}

    @property
    def last_error(self) -> str | None:
        """What the last frame the other side broke was (``None``: none so far)."""
        return self.rx.last_error if self.rx is not None else None

    def close(self) -> None:
        """Unmap the ring; frames and views become invalid."""

    def __enter__(self) -> RingBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- RX --------------------------------------------------------------------------------
    def _rx(self) -> RxConsumer:
        if self.rx is None:
            raise RingError(f"{self!r} has no RX ring")
        return self.rx

    def _check_overrun(self) -> None:
        n = self._overruns()
        if n > self._seen_overruns:
            self._seen_overruns = n
            raise Overrun(n)

    _seen_overruns = 0

    def recv(self, timeout: float | None = None) -> Frame | None:
        """The next frame, waiting up to ``timeout`` seconds (None: forever).

        The frame is yours until :meth:`release` (or :meth:`skip`, then
        :meth:`release`).  Returns ``None`` on timeout.

        Raises:
            Overrun: the kernel dropped messages for the socket (ENOBUFS) since the
                last check; the ring stays usable.
        """
        rx = self._rx()
        deadline = None if timeout is None else time.monotonic() + timeout
        tried = False
        while True:
            f = rx.next()
            if f is not None:
                return f
            self._room()
            self._check_overrun()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                if tried:
                    return None
                left = 0.0  # timeout 0: one non-blocking look (an in-process ring fills)
            self._wait(left)
            tried = True

    def release(self, frame: Frame) -> None:
        """Give a frame back (its data views become invalid)."""
        self._rx().release(frame)
        self._room()  # a producer waiting for room is woken (one load when none waits)

    def skip(self, frame: Frame) -> None:
        """Keep a frame (SKIP) and read on; release it later, in any order."""
        self._rx().skip(frame)
        self._room()  # a paused producer may step over the kept frame now

    def data(self, timeout: float | None = None, count: int | None = None,
             batch: int = 256) -> Iterator[memoryview]:
        """Yield each frame's message bytes (COPY frames included) in ring order.

        Each view is valid until the next iteration step; the frame is released
        then.  Stops after ``count`` frames, or when nothing arrives for
        ``timeout`` seconds (None: never).

        Each step reads up to ``batch`` messages: a run the backend hands out in
        place (:meth:`_take_run`), one generator step per datagram, or else the
        consumer's frames (:meth:`~netring.nlmmap.cursor.RxConsumer.iter_data`);
        only when neither has anything does it release room, check for overruns
        and wait.
        """
        rx = self._rx()
        take_views, settle_run = self._take_views, self._settle_run
        left = -1 if count is None else count
        deadline = None if timeout is None else time.monotonic() + timeout
        tried = False
        while left != 0:
            lim = batch if left < 0 else min(batch, left)
            views = take_views(lim)
            if views is None:
                got = yield from rx.iter_data(lim)
            else:
                got = len(views)
                it = iter(views)
                try:
                    yield from it
                finally:
                    got -= length_hint(it)  # the view out at a close was taken
                    settle_run(got)
            if got:
                tried = False
                left -= got if left > 0 else 0
                self._room()
                if timeout is not None:
                    deadline = time.monotonic() + timeout
                continue
            if rx.ready():
                continue
            self._room()
            self._check_overrun()
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                if tried:
                    return
                wait = 0.0  # one non-blocking look before giving up
            self._wait(wait)
            tried = True

    def messages(self, timeout: float | None = None, count: int | None = None
                 ) -> Iterator[Message]:
        """Yield the netlink messages of each frame (a frame may hold several).

        Views, valid until the iterator moves to the next frame.  ``count`` and
        ``timeout`` count frames and idle time as in :meth:`data`.
        """
        for v in self.data(timeout, count):
            yield from iter_messages(v)

    # -- TX -------------------------------------------------------------------------------
    def _tx(self) -> TxProducer:
        if self.tx is None:
            raise RingError(f"{self!r} has no TX ring")
        return self.tx

    def tx_frame(self, timeout: float | None = 0.0) -> memoryview | None:
        """Writable data area of the next free TX frame.

        Args:
            timeout: seconds to wait for the frame to become free (0, the default:
                do not wait; ``None``: forever).  Only a ring whose TX frames a peer
                drains (a mapped ring) frees frames while this waits; elsewhere
                :meth:`flush` frees them.

        Returns:
            The view, or ``None`` when the ring is still full.
        """
        tx = self._tx()
        view = tx.frame()
        if view is not None or timeout == 0:
            return view
        deadline = None if timeout is None else time.monotonic() + timeout
        while view is None:
            if not self._wait_tx(deadline):
                return None
            view = tx.frame()
        return view

    def _wait_tx(self, deadline: float | None) -> bool:
        """Wait until the TX head frame may be free; False at ``deadline``.  Only
        rings whose TX frames another party drains can free one while waiting."""
        return False

    def commit(self, length: int) -> int:
        """Mark the frame from :meth:`tx_frame` VALID with ``nm_len = length``."""
        return self._tx().commit(length)

    def send_frames(self, payloads: list[bytes]) -> FlushResult:
        """Copy each payload into its own TX frame, then :meth:`flush` (convenience)."""
        total = FlushResult()
        for p in payloads:
            v = self.tx_frame()
            if v is None:
                r = self.flush()
                total.frames += r.frames
                total.bytes += r.bytes
                total.syscalls += r.syscalls
                total.bad += r.bad
                v = self.tx_frame()
                if v is None:
                    raise RingError("TX ring still full after a flush")
            v[: len(p)] = p
            self.commit(len(p))
        r = self.flush()
        total.frames += r.frames
        total.bytes += r.bytes
        total.syscalls += r.syscalls
        total.bad += r.bad
        return total

    def __iter__(self) -> Iterator[Message]:
        return self.messages()
