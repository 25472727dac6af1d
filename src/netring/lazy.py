"""Names a package resolves on first use (PEP 562), written once for every lazy package.

A package lists where each of its lazy names lives and hands the list over::

    _HOME = {"Rtnl": "edge.rtnl", "IFLA": "constants.link"}   # module paths below it
    __getattr__, __dir__ = lazy_names(__name__, globals(), _HOME)

The first ``pkg.Rtnl`` (or ``from pkg import Rtnl``) imports ``pkg.edge.rtnl`` and
stores the value in the package's namespace, so every later use is a plain
attribute lookup.  Keeping heavy modules (ctypes, sockets, enum tables) out of a
package's import is what keeps a command's start-up to what it uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping

__all__ = ["lazy_names"]


def lazy_names(package: str, namespace: MutableMapping[str, object],
               homes: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: name ``n`` comes from the module
    ``package + "." + homes[n]`` and is cached in ``namespace`` (the package's globals)."""

    def __getattr__(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(homes))

    return __getattr__, __dir__
