"""Waiting until a descriptor is readable, with a deadline: one helper for every edge.

OS edge module (``select``).  ``poll(2)`` takes milliseconds (-1: forever); the
callers think in seconds and deadlines::

    timeout (s) | None ──timeout_ms()──> poll ms (ceil, so a wait never ends early
                                                   and never spins at 0 ms)
    deadline = deadline_after(timeout)   # time.monotonic() based, None: forever
    ms_left(deadline, slice_ms=None)     # what is left, cut to a slice (re-check often)

    Readable(fd, ...).wait(timeout) -> bool   a poll object built once (hot paths)
    wait_readable(fd, timeout) -> bool        a one-off wait
"""

from __future__ import annotations

import math
import select
import time

__all__ = ["POLLIN", "POLLERR", "Readable", "wait_readable", "timeout_ms", "deadline_after",
           "ms_left"]

POLLIN = select.POLLIN
POLLERR = select.POLLERR


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
