"""netring: high-throughput Linux kernel <-> user messaging through memory-mapped rings.

The public API is re-exported here; see the README for a tour.  The pure names
(codec, errors) load with the package; the OS edge (sockets, rtnetlink, rings)
loads on first use of one of its names, so ``import netring`` and
``import netring.codec`` stay cheap and load no ``ctypes``, ``socket`` or ``mmap``.
"""

from __future__ import annotations

import importlib

from .codec import (
    NETLINK,
    NLA_F,
    NLM_F,
    NLMSG,
    NLMSGERR_ATTR,
    Attr,
    Builder,
    ErrorMessage,
    Message,
    MessageView,
    iter_attrs,
    iter_messages,
)
from .errors import (
    DecodeError,
    DumpInterrupted,
    EncodeError,
    NetlinkError,
    NetringError,
    NotSupportedError,
    Overrun,
    RingError,
    TruncatedError,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from .conn import Connection
    from .nlmmap import open_mapped_ring
    from .socket import NetlinkSocket
    from .subsystems.rtnetlink.edge import Event, Monitor, Rtnl

__version__ = "0.1.0"

#: edge names, imported on first attribute access
_LAZY = {
    "Connection": "netring.conn",
    "NetlinkSocket": "netring.socket",
    "Rtnl": "netring.subsystems.rtnetlink.edge",
    "Monitor": "netring.subsystems.rtnetlink.edge",
    "Event": "netring.subsystems.rtnetlink.edge",
    "open_mapped_ring": "netring.nlmmap",
}

__all__ = [
    "__version__",
    "NETLINK",
    "NLA_F",
    "NLM_F",
    "NLMSG",
    "NLMSGERR_ATTR",
    "Attr",
    "Builder",
    "ErrorMessage",
    "Message",
    "MessageView",
    "iter_attrs",
    "iter_messages",
    "Connection",
    "NetlinkSocket",
    "Rtnl",
    "Monitor",
    "Event",
    "open_mapped_ring",
    "DecodeError",
    "DumpInterrupted",
    "EncodeError",
    "NetlinkError",
    "NetringError",
    "NotSupportedError",
    "Overrun",
    "RingError",
    "TruncatedError",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netring' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
