"""The rtnetlink edge: :class:`~.rtnl.Rtnl` (dumps, gets, changes over a connection)
and :class:`~.monitor.Monitor` (notifications with resync)."""

from __future__ import annotations

from .monitor import Event, Monitor
from .rtnl import GROUPS, KIND_OF_CLASS, KINDS, Rtnl

__all__ = ["Rtnl", "Monitor", "Event", "KINDS", "GROUPS", "KIND_OF_CLASS"]
