"""nfnetlink edges: the objects that own a ``NETLINK_NETFILTER`` socket.

:class:`~.queue.Queue` (nfnetlink_queue) loads its module on first use.
"""

from __future__ import annotations

import importlib

from ....codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from .queue import PacketBatch, Queue

__all__ = ["Queue", "PacketBatch"]

_LAZY = {"Queue": "queue", "PacketBatch": "queue"}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
