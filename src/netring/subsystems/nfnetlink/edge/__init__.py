"""nfnetlink edges: the objects that own a ``NETLINK_NETFILTER`` socket.

:class:`~.queue.Queue` (nfnetlink_queue) and :class:`~.pool.QueuePool` (worker processes
behind one queue) load their modules on first use.
"""

from __future__ import annotations

from ....codec.types import TYPE_CHECKING
from ....lazy import lazy_names

if TYPE_CHECKING:
    from .pool import QueuePool
    from .queue import PacketBatch, Queue

__all__ = ["Queue", "PacketBatch", "QueuePool"]

__getattr__, __dir__ = lazy_names(__name__, globals(), {"Queue": "queue", "PacketBatch": "queue",
                                                        "QueuePool": "pool"})
