"""netring: high-throughput Linux kernel <-> user messaging through memory-mapped rings.

The public API is re-exported here; see the README for a tour.  The pure names
(codec, errors) load with the package; the OS edge (sockets, rtnetlink, rings)
loads on first use of one of its names, so ``import netring`` and
``import netring.codec`` stay cheap and load no ``ctypes``, ``socket`` or ``mmap``.
"""

from __future__ import annotations

import os as _os
import sys as _sysmod

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
from .lazy import lazy_names

if _os.environ.get("NETRING_PURE", "") not in ("", "0"):
    # the pure-Python code even where the optional C accelerator is built (nothing
    # above loads it: netring.strided picks its functions when first imported)
    _sysmod.modules.setdefault(__name__ + "._accel", None)  # type: ignore[arg-type]
del _os, _sysmod  # (netring._sys is a subpackage: no module attribute of that name here)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from .conn import Connection
    from .nlmmap import open_mapped_ring
    from .socket import NetlinkSocket
    from .subsystems.rtnetlink.edge import Event, Monitor, Rtnl

__version__ = "0.1.0"

#: edge names, imported on first attribute access
_LAZY = {
    "Connection": "conn",
    "NetlinkSocket": "socket",
    "Rtnl": "subsystems.rtnetlink.edge",
    "Monitor": "subsystems.rtnetlink.edge",
    "Event": "subsystems.rtnetlink.edge",
    "open_mapped_ring": "nlmmap",
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

__getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY)
