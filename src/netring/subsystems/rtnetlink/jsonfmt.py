"""Shared pieces of the ``ip -j`` rendering of rtnetlink objects.

Each object kind's ``to_dict()`` (in its own module) builds the dict iproute2's
JSON printer would; the helpers here are the parts several kinds print the same
way: interface names, route realms, host prefix lengths.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import names as _n
from .constants import AF_INET, AF_INET6

__all__ = ["dev_name", "flow_json", "host_prefix_len", "split_realms"]

_HOST_PREFIX_LEN = {AF_INET: 32, AF_INET6: 128}

#: realms: ``RTA_FLOW`` / ``FRA_FLOW`` hold ``from << 16 | to``
_REALM_BITS = 16
_REALM_MASK = (1 << _REALM_BITS) - 1


def dev_name(names: Mapping[int, str] | None, index: int) -> str:
    """The interface name of ``index`` from ``names``, else ``ifN`` (as ``ll_index_to_name``)."""
    if names is not None:
        name = names.get(index)
        if name is not None:
            return name
    return f"if{index}"


def host_prefix_len(family: int) -> int:
    """Prefix length of a single host (32, 128), or -1 for another family."""
    return _HOST_PREFIX_LEN.get(family, -1)


def split_realms(value: int) -> tuple[int, int]:
    """``(from, to)`` realms of an ``RTA_FLOW`` / ``FRA_FLOW`` value."""
    return value >> _REALM_BITS, value & _REALM_MASK


def flow_json(value: int) -> dict[str, str]:
    """The ``flow`` object of ``ip -j route`` (``from`` omitted for realm 0)."""
    frm, to = split_realms(value)
    d: dict[str, str] = {}
    if frm:
        d["from"] = _n.realm_name(frm)
    d["to"] = _n.realm_name(to)
    return d
