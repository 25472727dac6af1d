"""eventfd(2) wake-ups between processes sharing a ring: create, signal, drain.

OS edge module (``os``).  A producer signals "data ready", a consumer "room
again"; the waiting side polls the descriptor and drains it before it looks at
the ring again::

    create() -> fd          EFD_CLOEXEC | EFD_NONBLOCK, counter 0
    signal(fd)              counter += 1 (the poller wakes)
    drain(fd)               counter = 0 (no-op when already 0)
"""

from __future__ import annotations

import os

__all__ = ["create", "signal", "drain"]


def create() -> int:
    """A non-blocking, close-on-exec eventfd with counter 0."""
    return os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)


def signal(fd: int) -> None:
    """Wake whoever polls ``fd`` (adds 1 to the counter)."""
    os.eventfd_write(fd, 1)


def drain(fd: int) -> None:
    """Reset the counter to 0 so that the next poll waits for a new signal."""
    try:
        os.eventfd_read(fd)
    except BlockingIOError:
        pass
