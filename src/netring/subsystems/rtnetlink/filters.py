"""Pure rtnetlink request arguments: names to numbers, and the filters a dump
applies again in user space when the kernel did not (no strict checking).

Shared by :class:`netring.Rtnl` and the CLI; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import EncodeError
from . import requests as rq
from .constants import AF_INET, AF_INET6, AF_UNSPEC, RTM_F
from .route import Route

__all__ = ["family_of", "table_id", "protocol_id", "scope_id", "filter_routes"]

_FAMILY_NAMES = {
    "inet": AF_INET, "4": AF_INET, "ipv4": AF_INET, "-4": AF_INET,
    "inet6": AF_INET6, "6": AF_INET6, "ipv6": AF_INET6, "-6": AF_INET6,
}


def family_of(text: str | None) -> int:
    """``"inet"``/``"4"``/``"ipv4"`` -> AF_INET, ``"inet6"``/``"6"`` -> AF_INET6, else AF_UNSPEC."""
    return _FAMILY_NAMES.get(text or "", AF_UNSPEC)


def _number(kind: str, value: int | str, names: dict[str, int], bits: int) -> int:
    if isinstance(value, str):
        if value in names:
            return names[value]
        try:
            n = int(value, 0)
        except ValueError:
            raise EncodeError(
                f"unknown {kind} {value!r}: a number or one of {', '.join(sorted(names))}"
            ) from None
    else:
        n = int(value)
    if not 0 <= n < 1 << bits:
        raise EncodeError(f"{kind} {value!r} outside 0..{(1 << bits) - 1}")
    return n


def table_id(table: int | str) -> int:
    """A routing table by number or name (``main``, ``local``, ``default``)."""
    return _number("routing table", table, rq.TABLE_BY_NAME, 32)


def protocol_id(proto: int | str | None) -> int | None:
    """A route protocol by number or name (``static``, ``kernel``, ``boot`` ...)."""
    return None if proto is None else _number("route protocol", proto, rq.RTPROT_BY_NAME, 8)


def scope_id(scope: int | str | None) -> int | None:
    """A route/address scope by number or name (``global``, ``link``, ``host`` ...)."""
    return None if scope is None else _number("scope", scope, rq.SCOPE_BY_NAME, 8)


def filter_routes(routes: Sequence[Route], *, strict: bool, family: int, table: int | None,
                  oif: int | None, protocol: int | None, rtype: int | None) -> list[Route]:
    """Apply a route dump's filters in user space, as ``ip route show`` does.

    Without strict checking the kernel ignores the filters and adds IPv4 route
    exceptions (``RTM_F_CLONED``), which ``ip route show`` leaves out too; with it,
    only the filters the kernel does not apply itself remain.
    """
    out = list(routes) if strict else [r for r in routes if not r.flags & RTM_F.CLONED]
    if table is None and oif is None and not protocol and not rtype and (strict or not family):
        return out
    return [
        r for r in out
        if (table is None or r.table == table) and (oif is None or r.oif == oif)
        and (not protocol or r.protocol == protocol) and (not rtype or r.type == rtype)
        and (not family or r.family == family)
    ]
