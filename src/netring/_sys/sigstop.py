"""A stop signal as a flag and a readable descriptor, for loops that choose where to stop.

OS edge module (``signal``, ``os``).  A handler that raises (as SIGINT's
``KeyboardInterrupt`` does) ends a loop wherever the interpreter happens to be:
half-way through verdict bookkeeping, or inside a finaliser (``__del__``), where
Python swallows the exception and the loop then sleeps on, the signal lost.
:class:`SignalStop` instead only records the request::

    SIGTERM --C handler--> one byte into the wake pipe (set_wakeup_fd): a poll wakes
            --Python handler--> requested = True
    loop: checks ``requested`` at its safe points (between packets, before and after
          each sleep) and polls ``fd`` with its own descriptor, so a request that
          arrives just before the sleep still ends it

Only for the main thread (``signal.signal``'s rule); the previous handler and
wake-up descriptor are restored on exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from ..errors import EncodeError
from .poll import Readable, wait_readable

__all__ = ["SignalStop", "StopOnSignal", "wait_or_stop"]


class SignalStop:
    """Records ``signum`` (default SIGTERM) while active, and wakes polls on ``fd``.

    Use as a context manager (main thread only)::

        with SignalStop() as stop:
            while not stop.requested:
                ... poll((sock, stop.fd)) ...; stop.drain()
    """

    __slots__ = ("signum", "requested", "_r", "_w", "_old_handler", "_old_fd")

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        self.signum = signum
        #: true once the signal arrived
        self.requested = False
        self._r = self._w = -1
        self._old_handler: object = None
        self._old_fd = -1

    @property
    def fd(self) -> int:
        """The read end of the wake pipe: readable after any signal (poll it)."""
        return self._r

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def drain(self) -> None:
        """Empty the wake pipe (other signals write to it too)."""
        while True:
            try:
                if not os.read(self._r, 256):
                    return
            except BlockingIOError:
                return

    def __enter__(self) -> SignalStop:
        if threading.current_thread() is not threading.main_thread():
            raise EncodeError("a stop signal can be watched only from the main thread")
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            self._old_fd = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
            try:
                self._old_handler = signal.signal(self.signum, self._on_signal)
            except (OSError, ValueError) as exc:  # SIGKILL, SIGSTOP, a number out of range
                signal.set_wakeup_fd(self._old_fd)
                raise EncodeError(f"signal {self.signum}: cannot be watched ({exc})") from None
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            old = self._old_handler
            # None: a handler installed outside Python (restored as the default)
            signal.signal(self.signum, signal.SIG_DFL if old is None else old)  # type: ignore[arg-type]
            signal.set_wakeup_fd(self._old_fd)
        finally:
            self._close()

    def _close(self) -> None:
        r, w = self._r, self._w
        self._r = self._w = -1
        os.close(r)
        os.close(w)


class StopOnSignal:
    """Mixin for a consumer whose loops look at ``self._stop``: :meth:`stop_on_signal`.

    A subclass checks :meth:`_stop_requested` at its safe points and waits with the
    request's :attr:`SignalStop.fd` among its descriptors (:func:`wait_or_stop`).
    """

    _stop: SignalStop | None = None

    @contextlib.contextmanager
    def stop_on_signal(self, signum: int = signal.SIGTERM) -> Iterator[SignalStop]:
        """While active (main thread only), ``signum`` ends this consumer's loops at
        their next safe point (after the batch in hand, or at once while waiting);
        ``.requested`` of what this yields tells whether it came.

        The handler only records the request, so the signal never lands in the middle
        of the consumer's bookkeeping (or a file record being written), nor in a
        finaliser, where an exception raised by a handler would be lost.
        """
        with SignalStop(signum) as stop:
            self._stop = stop
            self._stopping(stop)
            try:
                yield stop
            finally:
                self._stop = None
                self._stopping(None)

    def _stopping(self, stop: SignalStop | None) -> None:
        """Hook: ``stop`` is now watched (``None``: no longer)."""

    def _stop_requested(self) -> bool:
        stop = self._stop
        return stop is not None and stop.requested


def wait_or_stop(fd: int, timeout: float | None, stop: SignalStop | None,
                 poll: Readable | None = None) -> bool:
    """Wait until ``fd`` is readable (True), ``timeout`` seconds passed, or a stop is
    requested (False for both; ``stop`` ``None``: an ordinary wait).  ``poll``: a
    :class:`Readable` over ``fd`` and ``stop.fd`` made once by a caller that waits
    often (else one is made here)."""
    if stop is None:
        return wait_readable(fd, timeout)
    if stop.requested:
        return False
    ready = (poll if poll is not None else Readable(fd, stop.fd)).events(timeout)
    if stop.requested:
        return False
    if any(rfd == stop.fd for rfd, _ev in ready):
        stop.drain()  # another signal's byte: wake-ups only
    return any(rfd == fd for rfd, _ev in ready)
