"""netring: high-throughput Linux kernel <-> user messaging through memory-mapped rings.

The public API is re-exported here; see the README for a tour.
"""

from __future__ import annotations

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
)
from .rtnl import Event, Monitor, Rtnl
from .socket import NetlinkSocket

__version__ = "0.1.0"

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
    "NetlinkSocket",
    "Rtnl",
    "Monitor",
    "Event",
    "DecodeError",
    "DumpInterrupted",
    "EncodeError",
    "NetlinkError",
    "NetringError",
    "NotSupportedError",
    "Overrun",
    "RingError",
]
