"""What every text renderer needs besides the object: names and ``ip``'s options."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["TextContext"]

_EMPTY: Mapping[int, str] = {}


class TextContext:
    """Rendering context shared by the text renderers of every kind.

    Attributes:
        names: ifindex -> interface name (``dev`` words, ``master``, ``@peer``).
        netns_names: netnsid -> namespace name, for ``link-netns NAME`` (else
            ``link-netnsid N`` is printed).
        details: ``ip -d``.
        stats: ``ip -s`` (given twice: ``stats_level`` 2).
        stats_level: how many ``-s`` were given.
        brief: ``ip -br``.
        oneline: ``ip -o``.

    A slotted class rather than a dataclass: importing :mod:`dataclasses` (and
    :mod:`inspect` behind it) would cost the CLI more start-up than rendering.
    """

    __slots__ = ("names", "netns_names", "details", "stats", "stats_level", "brief", "oneline")

    def __init__(self, names: Mapping[int, str] = _EMPTY,
                 netns_names: Mapping[int, str] = _EMPTY, details: bool = False,
                 stats: bool = False, stats_level: int = 0, brief: bool = False,
                 oneline: bool = False) -> None:
        self.names = names
        self.netns_names = netns_names
        self.details = details
        self.stats = stats
        self.stats_level = stats_level
        self.brief = brief
        self.oneline = oneline
