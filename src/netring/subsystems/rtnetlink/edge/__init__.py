"""The rtnetlink edge: :class:`~.rtnl.Rtnl` (dumps, gets, changes over a connection)
and :class:`~.monitor.Monitor` (notifications with resync).

Each name loads its module on first use, so a dump loads no monitor machinery.
"""

from __future__ import annotations

from ....codec.types import TYPE_CHECKING
from ....lazy import lazy_names

if TYPE_CHECKING:
    from .monitor import Event, Monitor
    from .rtnl import Rtnl

__all__ = ["Rtnl", "Monitor", "Event"]

_LAZY = {"Rtnl": "rtnl", "Monitor": "monitor", "Event": "monitor"}

__getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY)
