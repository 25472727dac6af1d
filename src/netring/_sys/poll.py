"""Waiting until a descriptor is readable, with a deadline: one helper for every edge.

OS edge module (``select``).  ``poll(2)`` takes milliseconds (-1: forever); the
callers think in seconds and deadlines::

    timeout (s) | None ──timeout_ms()──> poll ms (ceil, so a wait never ends early
                                                   and never spins at 0 ms)
    deadline = deadline_after(timeout)   # time.monotonic() based, None: forever
    ms_left(deadline, slice_ms=None)     # what is left, cut to a slice (re-check often)

    Readable(fd, ...).wait(timeout) -> bool   a poll object built once (hot paths)
    wait_readable(fd, timeout) -> bool        a one-off wait

Waiting for a condition nobody signals (a frame status another process stores
in shared memory), with :class:`Backoff`::

    ready()? --spin (SPIN_CHECKS looks, a few us)--> sleep 20us, 40us, 80us ... max_sleep
                                                     (0.5 ms; re-check after each)
    any descriptor readable (an eventfd a producer writes) -> woken(fd) decides
"""

from __future__ import annotations

import math
import select
import time
from collections.abc import Callable

__all__ = ["POLLIN", "POLLERR", "Readable", "wait_readable", "timeout_ms", "deadline_after",
           "ms_left", "Backoff", "SPIN_CHECKS", "FIRST_SLEEP", "MAX_SLEEP"]

POLLIN = select.POLLIN
POLLERR = select.POLLERR

SPIN_CHECKS = 64  # looks at the condition before the first sleep (a few microseconds)
FIRST_SLEEP = 20e-6  # seconds; doubled after each sleep ...
MAX_SLEEP = 0.0005  # ... up to this: a condition that comes true is seen within ~0.6 ms
_FD_SETSIZE = 1024  # select(2) takes only descriptors below it


def timeout_ms(timeout: float | None) -> int:
    """``poll(2)``'s timeout for ``timeout`` seconds: -1 for ``None``, else whole ms rounded up."""
    if timeout is None:
        return -1
    return max(0, math.ceil(timeout * 1000))


def deadline_after(timeout: float | None) -> float | None:
    """The ``time.monotonic()`` instant ``timeout`` seconds from now (``None``: never)."""
    return None if timeout is None else time.monotonic() + timeout


def ms_left(deadline: float | None, slice_ms: int | None = None) -> int:
    """Milliseconds until ``deadline`` (0 when past; -1 for ``None``), at most ``slice_ms``."""
    if deadline is None:
        return -1 if slice_ms is None else slice_ms
    left = max(0, math.ceil((deadline - time.monotonic()) * 1000))
    return left if slice_ms is None else min(slice_ms, left)


class Readable:
    """A ``poll`` object over one or more descriptors, built once and reused.

    Args:
        fds: descriptors to wait on.
        events: ``poll`` events (default ``POLLIN``).
    """

    __slots__ = ("_poll",)

    def __init__(self, *fds: int, events: int = POLLIN) -> None:
        self._poll = select.poll()
        for fd in fds:
            self._poll.register(fd, events)

    def events(self, timeout: float | None) -> list[tuple[int, int]]:
        """``(fd, revents)`` of the descriptors ready within ``timeout`` seconds."""
        return self._poll.poll(timeout_ms(timeout))

    def wait(self, timeout: float | None) -> bool:
        """True once a descriptor is ready, False after ``timeout`` seconds (``None``: forever)."""
        return bool(self._poll.poll(timeout_ms(timeout)))

    def wait_ms(self, ms: int) -> bool:
        """As :meth:`wait`, with ``poll``'s own milliseconds (-1: forever)."""
        return bool(self._poll.poll(ms))


def wait_readable(fd: int, timeout: float | None, events: int = POLLIN | POLLERR) -> bool:
    """True once ``fd`` is readable (or has an error), False after ``timeout`` seconds."""
    p = select.poll()
    p.register(fd, events)
    return bool(p.poll(timeout_ms(timeout)))


class Backoff:
    """Wait until ``ready()`` is true: spin briefly, then sleep in slices that
    double up to ``max_sleep``, waking early when a descriptor becomes readable.

    For conditions that no system call announces, such as a status word another
    process stores in shared memory: the cost of an idle wait is one wake-up per
    ``max_sleep`` (about 2000 a second at 0.5 ms), and a condition that comes true
    is seen within ``max_sleep`` plus the kernel's timer slack.  Sleeps shorter
    than a millisecond use ``select(2)`` (microseconds) when every descriptor is
    below ``FD_SETSIZE``, else ``poll(2)`` with its whole milliseconds.

    Args:
        fds: descriptors that end a sleep early when readable (e.g. an eventfd).
        max_sleep: the longest single sleep, in seconds.

    Attributes:
        sleeps: sleeps taken so far (for statistics).
    """

    __slots__ = ("fds", "max_sleep", "sleeps", "_poll", "_select")

    def __init__(self, *fds: int, max_sleep: float = MAX_SLEEP) -> None:
        self.fds = list(fds)
        self.max_sleep = max_sleep
        self.sleeps = 0
        self._poll = select.poll()
        for fd in fds:
            self._poll.register(fd, POLLIN)
        self._select = all(0 <= fd < _FD_SETSIZE for fd in fds)

    def _nap(self, seconds: float) -> list[int]:
        self.sleeps += 1
        if not self.fds:
            time.sleep(seconds)
            return []
        if self._select:
            r, _w, _x = select.select(self.fds, [], [], seconds)
            return list(r)
        return [fd for fd, _ev in self._poll.poll(max(1, math.ceil(seconds * 1000)))]

    def wait(self, ready: Callable[[], bool], deadline: float | None, *,
             spin: int = SPIN_CHECKS, before_sleep: Callable[[], None] | None = None,
             woken: Callable[[int], bool] | None = None) -> bool:
        """True as soon as ``ready()`` is; False once ``deadline`` (``time.monotonic()``,
        ``None``: never) has passed with ``ready()`` still false.

        Args:
            spin: looks at ``ready()`` before the first sleep.
            before_sleep: called once, before the first sleep (announce the wait).
            woken: called with each descriptor found readable; True ends the wait
                (as if ready), False sleeps on (it should drain the descriptor).
        """
        for _ in range(spin):
            if ready():
                return True
        if before_sleep is not None:
            before_sleep()
        nap = FIRST_SLEEP
        while True:
            if ready():
                return True
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                nap = min(nap, left)
            for fd in self._nap(nap):
                if woken is None or woken(fd):
                    return True
            nap = min(2 * nap, self.max_sleep)
