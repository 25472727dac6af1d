"""Public test helpers: a handler-driven fake netlink socket and byte builders.

See :mod:`netring.testing.fake`.  Nothing here needs root or a kernel.
"""

from __future__ import annotations

from .fake import (
    Datagram,
    FakeSocket,
    Handler,
    Reply,
    ack,
    done,
    dump_reply,
    error,
    message,
    overrun,
)

__all__ = [
    "Datagram",
    "FakeSocket",
    "Handler",
    "Reply",
    "ack",
    "done",
    "dump_reply",
    "error",
    "message",
    "overrun",
]
