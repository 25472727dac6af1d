"""The rtnetlink edge: :class:`~.rtnl.Rtnl` (dumps, gets, changes over a connection)
and :class:`~.monitor.Monitor` (notifications with resync)."""

from __future__ import annotations

from .monitor import Event, Monitor
from .rtnl import Rtnl

__all__ = ["Rtnl", "Monitor", "Event"]
