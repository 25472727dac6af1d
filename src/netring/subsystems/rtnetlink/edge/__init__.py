"""The rtnetlink edge: :class:`~.rtnl.Rtnl` (dumps, gets, changes over a connection)
and :class:`~.monitor.Monitor` (notifications with resync).

Each name loads its module on first use, so a dump loads no monitor machinery.
"""

from __future__ import annotations

import importlib

from ....codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from .monitor import Event, Monitor
    from .rtnl import Rtnl

__all__ = ["Rtnl", "Monitor", "Event"]

_LAZY = {"Rtnl": "rtnl", "Monitor": "monitor", "Event": "monitor"}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
