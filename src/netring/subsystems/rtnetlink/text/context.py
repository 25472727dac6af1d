"""What every text renderer needs besides the object: names and ``ip``'s options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["TextContext"]


@dataclass(frozen=True)
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
    """

    names: Mapping[int, str] = field(default_factory=dict)
    netns_names: Mapping[int, str] = field(default_factory=dict)
    details: bool = False
    stats: bool = False
    stats_level: int = 0
    brief: bool = False
    oneline: bool = False
