"""rtnetlink notifications with resync: :class:`Monitor` and its :class:`Event`.

::

    mon = Rtnl("blue").monitor("routes", "links")   # joins the RTNLGRP_* groups
    for ev in mon.events(timeout=10):               # "new" / "del" / "resync"
        print(ev.kind, ev.action, ev.obj)

On ENOBUFS (the kernel dropped notifications because the receive buffer was
full) the monitor drains what is queued, dumps every monitored kind through its
:class:`~netring.Rtnl`, yields one ``"resync"`` event carrying the fresh state,
and goes on: no change is silently lost.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ....codec import NETLINK, Message
from ....conn import Connection
from ....errors import EncodeError, Overrun
from ....socket import NetlinkSocket
from .. import Link, RtnlObject, decode
from ..constants import RTM
from ..registry import GROUPS, KIND_OF_CLASS

if TYPE_CHECKING:
    from collections.abc import Iterable


class StateSource(Protocol):
    """What a :class:`Monitor` needs from the dumping side (:class:`~netring.Rtnl` is one)."""

    @property
    def netns(self) -> str | None:
        """The namespace path the notification socket is opened in (``None``: ours)."""
        ...

    def dump(self, kind: str) -> list[RtnlObject]:
        """A fresh dump of one kind (``"links"``, ``"routes"`` ...)."""
        ...

    def note_link(self, link: Link) -> None:
        """A link was seen in a notification (name caches follow it)."""
        ...

    def note_links(self, links: Iterable[Link]) -> None:
        """A full set of links was dumped."""
        ...

__all__ = ["Monitor", "Event", "StateSource"]


class Event:
    """One monitor event.

    Attributes:
        kind: ``"links"``, ``"addrs"``, ``"routes"``, ``"neigh"``, ``"rules"``, or
            ``"resync"``.
        action: ``"new"``, ``"del"`` or ``"resync"``.
        obj: the object (a view over a private copy), ``None`` for a resync.
        state: for a resync: the fresh dump of every monitored kind
            (``{"routes": [Route, ...], ...}``); ``None`` otherwise.
    """

    __slots__ = ("kind", "action", "obj", "state")

    def __init__(self, kind: str, action: str, obj: RtnlObject | None = None,
                 state: dict[str, list[RtnlObject]] | None = None) -> None:
        self.kind = kind
        self.action = action
        self.obj = obj
        self.state = state

    def to_dict(self, names: Mapping[int, str] | None = None) -> dict[str, Any]:
        """JSON form: the object's ``ip -j`` dict plus ``"kind"`` (``ip -j monitor`` style)."""
        if self.obj is None:
            counts = {k: len(v) for k, v in (self.state or {}).items()}
            return {"kind": "resync", "objects": counts}
        d = {"kind": self.kind}
        d.update(self.obj.to_dict(names))
        return d

    def __repr__(self) -> str:
        return f"<Event {self.kind} {self.action} {self.obj!r}>"


class Monitor:
    """Notifications from the rtnetlink multicast groups of some kinds, with resync.

    Opens its own socket (joined to :data:`GROUPS` of each kind) in the
    :class:`Rtnl`'s namespace; dumps for a resync go through the :class:`Rtnl`.

    On ENOBUFS (the kernel dropped notifications because the receive buffer was
    full) the monitor drains what is queued, dumps every monitored kind, yields
    one ``"resync"`` :class:`Event` carrying the fresh state, and goes on: later
    notifications apply on top of that state, so no change is silently lost.

    Attributes:
        messages: notifications delivered.
        overruns: ENOBUFS seen.
        resyncs: resynchronisations done.
    """

    def __init__(self, rtnl: StateSource, kinds: Sequence[str], *, rcvbuf: int | None = None,
                 sock: Connection | None = None) -> None:
        for k in kinds:
            if k not in GROUPS:
                raise EncodeError(f"unknown kind {k!r}; have {', '.join(GROUPS)}")
        self.rtnl = rtnl
        self.kinds = tuple(kinds)
        if sock is None:
            real = NetlinkSocket(NETLINK.ROUTE, netns=rtnl.netns, rcvbuf=rcvbuf)
            for k in self.kinds:
                for g in GROUPS[k]:
                    real.add_membership(g)
            sock = real
        self.sock: Connection = sock
        self.messages = 0
        self.overruns = 0
        self.resyncs = 0

    def close(self) -> None:
        """Close the monitor's connection."""
        self.sock.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fileno(self) -> int:
        """The notification socket's descriptor (for ``select``/``poll``)."""
        return self.sock.fileno()

    def _event(self, msg: Message) -> Event | None:
        obj = decode(msg.tobytes())
        if obj is None:
            return None
        kind = KIND_OF_CLASS[type(obj)]
        if kind not in self.kinds:
            return None
        if isinstance(obj, Link) and obj.nlmsg_type != RTM.DELLINK:
            self.rtnl.note_link(obj)
        return Event(kind, "del" if obj.deleted else "new", obj)

    def resync(self) -> Event:
        """Drain queued notifications, dump every monitored kind, return the resync event."""
        while True:
            try:
                if not self.sock.recv(block=False):
                    break
            except Overrun:
                self.overruns += 1
        state: dict[str, list[RtnlObject]] = {}
        for k in self.kinds:
            state[k] = self.rtnl.dump(k)
        if "links" in self.kinds:
            self.rtnl.note_links(o for o in state["links"] if isinstance(o, Link))
        self.resyncs += 1
        return Event("resync", "resync", None, state)

    def events(self, *, timeout: float | None = None, count: int | None = None,
               idle: float | None = None) -> Iterator[Event]:
        """Yield events until ``count`` notifications, ``timeout`` seconds in total, or
        ``idle`` seconds without any notification (whichever comes first).

        A resync event does not count towards ``count``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = 0
        while count is None or seen < count:
            wait = None if deadline is None else deadline - time.monotonic()
            if idle is not None:
                wait = idle if wait is None else min(wait, idle)
            if wait is not None and wait <= 0:
                return
            try:
                msgs = self.sock.recv(timeout=wait)
            except Overrun:
                self.overruns += 1
                yield self.resync()
                continue
            except TimeoutError:
                return
            for msg in msgs:
                ev = self._event(msg)
                if ev is None:
                    continue
                self.messages += 1
                seen += 1
                yield ev
                if count is not None and seen >= count:
                    return

    def stats(self) -> dict[str, int]:
        """``{"messages": .., "overruns": .., "resyncs": .., "drops": ..}``."""
        drops = self.sock.drops()
        return {"messages": self.messages, "overruns": self.overruns,
                "resyncs": self.resyncs, "drops": drops or 0}

