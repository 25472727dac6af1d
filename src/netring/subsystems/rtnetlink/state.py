"""What a notification consumer knows: :class:`State`, the rtnetlink objects per kind
keyed by their identity, and :func:`diff`, the difference between two states.

A :class:`~netring.subsystems.rtnetlink.edge.monitor.Monitor` keeps one
:class:`State`: filled by a dump taken after joining the multicast groups,
updated by every notification (``new``: set the object under its key, ``del``:
forget the key). After an overrun it dumps again and emits :func:`diff` of the
two as ordinary events, so a consumer that applies events by the same keys ends
with exactly the kernel's state::

    known (State)          fresh dump (State)         diff -> events (resync)
    +-----------------+    +-----------------+
    | k1 -> obj v1    |    | k1 -> obj v2    |   "new" k1 (changed: v1 -> v2)
    | k2 -> obj       |    |                 |   "del" k2 (removed; the known obj)
    |                 |    | k3 -> obj       |   "new" k3 (added)
    +-----------------+    +-----------------+

Keys (:func:`object_key`), one per kind, are the fields the kernel tells
objects apart by:

===========  ============================================================================
kind         key
===========  ============================================================================
``links``    ``ifi_index`` (only ``AF_UNSPEC`` links are state; bridge-port
             ``AF_BRIDGE`` messages are events only)
``addrs``    ``(family, ifa_index, IFA_LOCAL, IFA_ADDRESS, ifa_prefixlen)``
``routes``   ``(family, table, dst/len, src/len, tos, priority, type, oif, gateway)``;
             multipath routes have oif 0 and no gateway; cloned (cache) routes
             are events only, as dumps leave them out
``neigh``    ``(family, ifindex, proxy, NDA_DST, NDA_LLADDR when no NDA_DST, NDA_VLAN)``;
             ``RTM_GETNEIGH`` "miss" requests are events only
``rules``    ``(family,)`` + every field ``ip -j rule`` prints
===========  ============================================================================

A route notification flagged ``NLM_F_REPLACE`` replaced the route in the same
*slot* (the key without type, oif and gateway): :meth:`State.apply` drops the
slot's other entries and returns them, so the monitor can report them gone.

Objects are compared (:func:`object_value`) by their ``ip -j`` form without the
values that only age (address lifetimes, route expiry) and without
``"deleted"``, so an unchanged object is never reported as changed.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

from ...codec.constants import NLM_F
from .address import Address
from .base import RtnlObject
from .constants import AF_UNSPEC, NTF, RTM_F
from .link import Link
from .neighbour import Neighbour
from .registry import KIND_OF_CLASS, KINDS
from .route import Route
from .rule import Rule

__all__ = ["State", "Change", "diff", "object_key", "object_value", "tracked", "route_slot",
           "KIND_ORDER"]

#: kinds in dependency order: additions go in this order, removals in reverse
KIND_ORDER: tuple[str, ...] = tuple(KINDS)

_NLM_F_REPLACE = int(NLM_F.REPLACE)
_RTM_F_CLONED = int(RTM_F.CLONED)
_NTF_PROXY = int(NTF.PROXY)

#: ``ip -j`` keys whose values change with time alone (not a change of the object)
_AGEING = {"valid_life_time", "preferred_life_time", "expires", "deleted"}


def route_slot(r: Route) -> tuple[int, int, str, str | None, int, int]:
    """The FIB slot of a route: what ``NLM_F_REPLACE`` replaces within
    (family, table, dst/len, src/len, tos, priority)."""
    src = r.src
    return (r.family, r.table, r.dst_prefix, None if src is None else f"{src}/{r.src_len}",
            r.tos, r.priority or 0)


def object_key(kind: str, obj: RtnlObject) -> Hashable:
    """The identity of ``obj`` (of ``kind``) within its kind (see the module table)."""
    if kind == "routes":
        assert isinstance(obj, Route)
        return route_slot(obj) + (obj.type, obj.oif or 0, obj.gateway)
    if kind == "links":
        assert isinstance(obj, Link)
        return obj.index
    if kind == "addrs":
        assert isinstance(obj, Address)
        return (obj.family, obj.index, obj.local, obj.address, obj.prefixlen)
    if kind == "neigh":
        assert isinstance(obj, Neighbour)
        dst = obj.dst
        return (obj.family, obj.ifindex, bool(obj.flags & _NTF_PROXY), dst,
                obj.lladdr if dst is None else None, obj.vlan)
    if kind == "rules":
        assert isinstance(obj, Rule)
        d = obj.to_dict()
        d.pop("deleted", None)
        return (obj.family, *d.items())
    raise KeyError(kind)


def object_value(obj: RtnlObject) -> Hashable:
    """What two objects with the same key are compared by: the ``ip -j`` form minus
    ageing values (address lifetimes, route expiry) and ``"deleted"``."""
    d = obj.to_dict()
    return repr([(k, v) for k, v in d.items() if k not in _AGEING])


def tracked(kind: str, obj: RtnlObject) -> bool:
    """True when ``obj`` is part of the kernel state a dump of ``kind`` shows
    (not a cloned route, a bridge-port link message or a neighbour "miss")."""
    if kind == "routes":
        return not isinstance(obj, Route) or not obj.flags & _RTM_F_CLONED
    if kind == "links":
        return obj.family == AF_UNSPEC
    if kind == "neigh":
        return not (isinstance(obj, Neighbour) and obj.miss)
    return True


class Change:
    """One difference between two states.

    Attributes:
        kind: the object kind (``"routes"`` ...).
        action: ``"new"`` (added or changed: ``obj`` is the new object) or ``"del"``
            (removed: ``obj`` is the object that was known).
        obj: the object.
        old: for a changed object, the object it replaces; else ``None``.
    """

    __slots__ = ("kind", "action", "obj", "old")

    def __init__(self, kind: str, action: str, obj: RtnlObject,
                 old: RtnlObject | None = None) -> None:
        self.kind = kind
        self.action = action
        self.obj = obj
        self.old = old

    @property
    def what(self) -> str:
        """``"added"``, ``"changed"`` or ``"removed"``."""
        if self.action == "del":
            return "removed"
        return "added" if self.old is None else "changed"

    def __repr__(self) -> str:
        return f"<Change {self.kind} {self.what} {self.obj!r}>"


class State:
    """The objects a consumer knows, per kind, keyed by :func:`object_key`.

    Args:
        kinds: the kinds this state holds (others are ignored by :meth:`apply`).
    """

    __slots__ = ("kinds", "objects")

    def __init__(self, kinds: Sequence[str]) -> None:
        for k in kinds:
            if k not in KINDS:
                raise KeyError(k)
        self.kinds = tuple(kinds)
        self.objects: dict[str, dict[Hashable, RtnlObject]] = {k: {} for k in self.kinds}

    @classmethod
    def from_dumps(cls, dumps: Mapping[str, Iterable[RtnlObject]]) -> State:
        """A state holding the dumped objects of each kind (untracked ones skipped)."""
        st = cls(tuple(dumps))
        for kind, objs in dumps.items():
            st.load(kind, objs)
        return st

    def load(self, kind: str, objs: Iterable[RtnlObject]) -> None:
        """Replace everything known of ``kind`` with ``objs`` (a fresh dump)."""
        table: dict[Hashable, RtnlObject] = {}
        for o in objs:
            if tracked(kind, o):
                table[object_key(kind, o)] = o
        self.objects[kind] = table

    def apply(self, obj: RtnlObject, kind: str | None = None) -> list[RtnlObject]:
        """Apply one notification: ``RTM_NEW*`` sets ``obj`` under its key,
        ``RTM_DEL*`` forgets the key.

        Returns:
            the objects a ``NLM_F_REPLACE`` route displaced from its slot (gone
            from the kernel although no deletion was announced); usually empty.
        """
        kind = kind or KIND_OF_CLASS[type(obj)]
        table = self.objects.get(kind)
        if table is None or not tracked(kind, obj):
            return []
        key = object_key(kind, obj)
        if obj.deleted:
            table.pop(key, None)
            return []
        gone: list[RtnlObject] = []
        if kind == "routes" and obj.nlmsg_flags & _NLM_F_REPLACE:
            assert isinstance(obj, Route)
            slot = route_slot(obj)
            for k, o in list(table.items()):
                if k != key and isinstance(o, Route) and route_slot(o) == slot:
                    gone.append(table.pop(k))
        table[key] = obj
        return gone

    def get(self, kind: str, key: Hashable) -> RtnlObject | None:
        """The object of ``kind`` known under ``key``, or ``None``."""
        return self.objects[kind].get(key)

    def values(self, kind: str) -> list[RtnlObject]:
        """Every object of ``kind``."""
        return list(self.objects[kind].values())

    def counts(self) -> dict[str, int]:
        """``{kind: number of objects}``."""
        return {k: len(v) for k, v in self.objects.items()}

    def __len__(self) -> int:
        return sum(len(v) for v in self.objects.values())

    def __repr__(self) -> str:
        return f"<State {self.counts()}>"


def diff(old: State, new: State) -> list[Change]:
    """What turns ``old`` into ``new``, for the kinds ``new`` holds.

    Additions and changes come first, kind by kind in :data:`KIND_ORDER` (links
    before the addresses and routes on them), then removals in the reverse order.
    """
    order = [k for k in KIND_ORDER if k in new.objects]
    out: list[Change] = []
    for kind in order:
        before = old.objects.get(kind, {})
        for key, obj in new.objects[kind].items():
            was = before.get(key)
            if was is None:
                out.append(Change(kind, "new", obj))
            elif object_value(was) != object_value(obj):
                out.append(Change(kind, "new", obj, was))
    for kind in reversed(order):
        after = new.objects[kind]
        out.extend(Change(kind, "del", obj) for key, obj in old.objects.get(kind, {}).items()
                   if key not in after)
    return out

