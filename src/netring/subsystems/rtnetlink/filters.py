"""Pure rtnetlink request arguments: names to numbers, and the filters a dump
applies again in user space when the kernel did not (no strict checking).

Shared by :class:`netring.Rtnl` and the CLI; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...codec.types import TYPE_CHECKING
from ...errors import EncodeError
from . import names as _n
from .constants import AF_INET, AF_UNSPEC, RT_TABLE, RTA, RTM_F

if TYPE_CHECKING:
    from .route import Route

__all__ = ["table_id", "protocol_id", "scope_id", "type_id", "filter_routes",
           "RouteSelector", "route_selector_words", "PREFIX_MODES"]

#: ``ip route show`` destination selectors: ``root PFX`` (routes inside PFX),
#: ``match PFX`` (routes that contain PFX), ``exact PFX`` (or a bare PFX: that prefix)
PREFIX_MODES = ("root", "match", "exact")

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
    return _number("routing table", table, _n.TABLE_BY_NAME, 32)


def protocol_id(proto: int | str | None) -> int | None:
    """A route protocol by number or name (``static``, ``kernel``, ``boot`` ...)."""
    return None if proto is None else _number("route protocol", proto, _n.RTPROT_BY_NAME, 8)


def scope_id(scope: int | str | None) -> int | None:
    """A route/address scope by number or name (``global``, ``link``, ``host`` ...)."""
    return None if scope is None else _number("scope", scope, _n.SCOPE_BY_NAME, 8)


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


def type_id(rtype: int | str | None) -> int | None:
    """A route type by number or name (``unicast``, ``blackhole``, ``local`` ...)."""
    return None if rtype is None else _number("route type", rtype, _n.RTN_BY_NAME, 8)


def _bits_match(a: bytes, b: bytes, bits: int) -> bool:
    """The first ``bits`` bits of ``a`` and ``b`` are equal (``inet_addr_match``)."""
    if bits <= 0:
        return True
    whole, rest = divmod(bits, 8)
    if a[:whole] != b[:whole]:
        return False
    if not rest:
        return True
    mask = (0xFF << (8 - rest)) & 0xFF
    ax = a[whole] if whole < len(a) else 0
    bx = b[whole] if whole < len(b) else 0
    return (ax ^ bx) & mask == 0


class RouteSelector:
    """What ``ip route show`` selects, and which of its words it then leaves out.

    ``table`` defaults to main (``ip route show``); ``None`` is every table
    (``table all``).  ``None`` elsewhere means "any".  ``prefix`` is
    ``(mode, family, packed address, length)`` with ``mode`` one of :data:`PREFIX_MODES`.
    (A slotted class, not a dataclass: importing :mod:`dataclasses` costs the CLI
    more start-up than this whole module.)
    """

    __slots__ = ("family", "table", "oif", "protocol", "rtype", "scope", "prefix")

    def __init__(self, family: int = AF_UNSPEC, table: int | None = int(RT_TABLE.MAIN),
                 oif: int | None = None, protocol: int | None = None,
                 rtype: int | None = None, scope: int | None = None,
                 prefix: tuple[str, int, bytes, int] | None = None) -> None:
        self.family = family
        self.table = table
        self.oif = oif
        self.protocol = protocol
        self.rtype = rtype
        self.scope = scope
        self.prefix = prefix

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"RouteSelector({fields})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RouteSelector) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    @property
    def dump_family(self) -> int:
        """The family to dump: ``ip`` dumps IPv4 only when a table is chosen and no family."""
        if self.family == AF_UNSPEC and self.table is not None:
            return AF_INET
        if self.family == AF_UNSPEC and self.prefix is not None and self.prefix[1]:
            return self.prefix[1]
        return self.family

    def hidden(self) -> frozenset[str]:
        """JSON keys ``ip`` does not print because the filter fixes them."""
        out = []
        if self.table is not None:
            out.append("table")
        if self.oif is not None:
            out.append("dev")
        if self.protocol is not None:
            out.append("protocol")
        if self.scope is not None:
            out.append("scope")
        return frozenset(out)

    def shape_ok(self, r: Route) -> bool:
        """The filters on everything but the destination (user space: ``filter_nlmsg``)."""
        fam = self.dump_family
        if fam and r.family != fam:
            return False
        if r.flags & _CLONED:
            return False
        if self.table is not None and r.table != self.table:
            return False
        if self.protocol is not None and r.protocol != self.protocol:
            return False
        if self.scope is not None and r.scope != self.scope:
            return False
        if self.rtype is not None and r.type != self.rtype:
            return False
        return self.oif is None or (r.oif or 0) == self.oif

    def dst_ok(self, r: Route) -> bool:
        """The ``root``/``match``/``exact`` filter on the destination."""
        if self.prefix is None:
            return True
        mode, fam, raw, plen = self.prefix
        if fam and r.family != fam:
            return False
        dst = r._get_bytes(RTA.DST) or b""
        dlen = r.dst_len
        if mode in ("root", "exact"):
            if plen > dlen or not _bits_match(dst, raw, plen):
                return False
        if mode in ("match", "exact"):
            if plen < dlen or not _bits_match(dst, raw, dlen):
                return False
        return True


_CLONED = int(RTM_F.CLONED)
#: the selector words of ``ip route show`` that take a value, with the key they set
_ROUTE_WORDS = {"dev": "dev", "oif": "dev", "table": "table", "proto": "protocol",
                "protocol": "protocol", "type": "type", "scope": "scope"}


def route_selector_words(words: Sequence[str]) -> dict[str, str]:
    """``ip route show`` trailing selectors -> ``{"dev": .., "table": .., "protocol": ..,
    "type": .., "scope": .., "root"|"match"|"exact": PFX}`` (values unparsed).

    ``to`` may precede a prefix selector; a bare prefix means ``exact``.

    Raises:
        EncodeError: a word without its value, a selector given twice, two prefixes.
    """
    out: dict[str, str] = {}
    i = 0
    n = len(words)
    while i < n:
        w = words[i]
        if w == "to":
            i += 1
            if i == n:
                raise EncodeError('"to" needs a prefix')
            w = words[i]
        if w in _ROUTE_WORDS or w in PREFIX_MODES:
            if i + 1 == n:
                raise EncodeError(f"{w!r} needs a value")
            key, value = _ROUTE_WORDS.get(w, w), words[i + 1]
            i += 2
        else:
            key, value = "exact", w
            i += 1
        if key in PREFIX_MODES and any(k in out for k in PREFIX_MODES):
            raise EncodeError(f"only one destination prefix: {value!r}")
        if key in out:
            raise EncodeError(f"{key} given twice")
        out[key] = value
    return out
