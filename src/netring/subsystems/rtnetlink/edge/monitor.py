"""rtnetlink notifications that keep a consumer's state exact: :class:`Monitor`, :class:`Event`.

::

    mon = Rtnl("blue").monitor("routes", "links")   # joins the RTNLGRP_* groups, then dumps
    for ev in mon.events(timeout=10):               # "new" / "del" (/ one "resync" summary)
        print(ev.kind, ev.action, ev.resync, ev.obj)

The monitor keeps a :class:`~netring.subsystems.rtnetlink.state.State`: the
objects of every monitored kind, from a dump taken right after joining the
groups (so no change falls between the dump and the first notification; one
that lands in both is applied twice, which is harmless: ``new`` sets, ``del``
forgets) and from every notification since.

On ENOBUFS (the kernel dropped notifications because the receive buffer was
full) the monitor drains what is queued (the next dump supersedes it), dumps
every monitored kind again, yields one ``"resync"`` summary event and then the
difference between what it knew and the fresh dump as ordinary events marked
``resync=True``: ``"new"`` for an added or changed object (carrying the new
object), ``"del"`` for a removed one (carrying the object it knew).  A consumer
applying every event by :func:`~netring.subsystems.rtnetlink.state.object_key`
ends with exactly the kernel's state::

    notifications ... ENOBUFS | drain | dump | summary | diff events | notifications ...

Two more cases where the kernel's announcements alone would leave a consumer
wrong are closed the same way: a route ``NLM_F_REPLACE`` that displaced a route
with another key yields a ``"del"`` for the displaced one, and IPv4 routes that
vanish silently when their device goes down or away (the kernel flushes them
without ``RTM_DELROUTE``) are found by a routes re-dump once the queue is empty
after such a link change (``links`` notifications are received for this even
when only ``routes`` are monitored), its difference yielded as resync events.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator, Mapping, Sequence

from ...._sys.sigstop import StopOnSignal, wait_or_stop
from ....codec import NETLINK, Message
from ....codec.types import TYPE_CHECKING, Protocol
from ....conn import Connection
from ....errors import DumpInterrupted, EncodeError, Overrun
from ....socket import NetlinkSocket
from .. import Link, RtnlObject, decode
from ..constants import IFF, RTM, RTNLGRP
from ..registry import GROUPS, KIND_OF_CLASS
from ..state import State, diff

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

#: Receive buffer the monitor asks for by default (``SO_RCVBUFFORCE``; the kernel
#: doubles it).  Each notification is its own skb, charged at its truesize: about
#: 800 bytes per route notification, measured here.  50k route deletes + 50k adds
#: from one ``ip -batch`` take about one second in the kernel, far faster than a
#: Python reader writing JSON, so nearly the whole burst waits in the buffer:
#: 64 MiB effective (``--rcvbuf 32M``) lost ~2k notifications, 96 MiB effective lost
#: none.  128 MiB asked (256 MiB effective) holds ~300k queued notifications, three
#: times that burst, so a slower or busier reader still loses nothing.  The memory
#: is charged only while messages wait, so an idle monitor costs nothing.  Without
#: CAP_NET_ADMIN ``SO_RCVBUF`` is used, capped by ``net.core.rmem_max``.
DEFAULT_RCVBUF = 128 << 20

_IFF_UP = int(IFF.UP)

#: rounds of a dump the kernel keeps interrupting before the monitor gives up
DUMP_ROUNDS = 20
#: seconds between those rounds (times the round number: changes get time to settle)
_DUMP_PAUSE = 0.01


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

__all__ = ["Monitor", "Event", "StateSource", "DEFAULT_RCVBUF"]


class Event:
    """One monitor event.

    Attributes:
        kind: ``"links"``, ``"addrs"``, ``"routes"``, ``"neigh"``, ``"rules"``, or
            ``"resync"`` (the summary that precedes a resync's events).
        action: ``"new"`` (added or changed: ``obj`` is the new object), ``"del"``
            (``obj`` is the deleted object) or ``"resync"``.
        obj: the object (a view over a private copy), ``None`` for a resync summary.
        resync: the event comes from a re-dump (the difference between what the
            monitor knew and the kernel's state), not from a notification.
        state: for a resync summary: the fresh dump of every monitored kind
            (``{"routes": [Route, ...], ...}``); ``None`` otherwise.
        changes: for a resync summary: the events that follow it (the difference);
            ``None`` otherwise.
        change: for a resync's event: ``"added"``, ``"changed"`` or ``"removed"``;
            ``None`` otherwise.
    """

    __slots__ = ("kind", "action", "obj", "state", "resync", "changes", "change")

    def __init__(self, kind: str, action: str, obj: RtnlObject | None = None,
                 state: dict[str, list[RtnlObject]] | None = None, *, resync: bool = False,
                 changes: list[Event] | None = None, change: str | None = None) -> None:
        self.kind = kind
        self.action = action
        self.obj = obj
        self.state = state
        self.resync = resync
        self.changes = changes
        self.change = change

    def to_dict(self, names: Mapping[int, str] | None = None) -> dict[str, Any]:
        """JSON form: ``"kind"``, ``"resync": true`` for a resync's events, then the
        object's ``ip -j`` dict; a ``"del"`` always carries ``"deleted": true``.

        A resync summary is ``{"kind": "resync", "objects": {kind: count},
        "added": n, "changed": n, "removed": n}``.
        """
        if self.obj is None:
            counts = {k: len(v) for k, v in (self.state or {}).items()}
            d: dict[str, Any] = {"kind": "resync", "objects": counts}
            tally = {"added": 0, "changed": 0, "removed": 0}
            for ev in self.changes or ():
                if ev.change in tally:
                    tally[ev.change] += 1
            d.update(tally)
            return d
        d = {"kind": self.kind}
        if self.resync:
            d["resync"] = True
        od = self.obj.to_dict(names)
        if self.action == "del" and "deleted" not in od:
            d["deleted"] = True
        d.update(od)
        return d

    def __repr__(self) -> str:
        mark = " resync" if self.resync else ""
        return f"<Event {self.kind} {self.action}{mark} {self.obj!r}>"


class Monitor(StopOnSignal):
    """Notifications from the rtnetlink multicast groups of some kinds, kept exact.

    Opens its own socket (receive buffer :data:`DEFAULT_RCVBUF` unless ``rcvbuf``
    says otherwise; joined to :data:`GROUPS` of each kind) in the
    :class:`Rtnl`'s namespace, then dumps every kind through the :class:`Rtnl`
    into :attr:`state`; every event updates it.

    On ENOBUFS the monitor drains what is queued, dumps every monitored kind,
    yields one ``"resync"`` summary :class:`Event` and then the difference to
    what it knew as ``new``/``del`` events with ``resync=True``: applying every
    event by key leaves a consumer with exactly the kernel's state.

    Inside ``with mon.stop_on_signal():`` (main thread) SIGTERM ends
    :meth:`events` after the event in hand, or at once while it waits.

    Args:
        rtnl: the dumping side.
        kinds: kinds to monitor (``"links"``, ``"addrs"``, ``"routes"``, ``"neigh"``,
            ``"rules"``).
        rcvbuf: receive buffer to ask for (``None``: :data:`DEFAULT_RCVBUF`).
        sock: notification connection to use instead of opening one (e.g. a fake).
        track: keep the state (an initial dump, diffs on resync); ``False``: a
            resync yields only the summary with the fresh dump.

    Attributes:
        state: what the monitor knows (a :class:`~netring.subsystems.rtnetlink.state.State`).
        messages: notifications delivered.
        overruns: ENOBUFS seen.
        resyncs: resynchronisations after an overrun.
        refreshes: route re-dumps after a link went down or away.
        resync_events: events yielded from re-dumps (the differences).
    """

    def __init__(self, rtnl: StateSource, kinds: Sequence[str], *, rcvbuf: int | None = None,
                 sock: Connection | None = None, track: bool = True) -> None:
        for k in kinds:
            if k not in GROUPS:
                raise EncodeError(f"unknown kind {k!r}; have {', '.join(GROUPS)}")
        if rcvbuf is not None and rcvbuf <= 0:
            raise EncodeError(f"rcvbuf {rcvbuf!r}: must be a positive number of bytes")
        self.rtnl = rtnl
        self.kinds = tuple(kinds)
        self.track = track
        # IPv4 routes leave without RTM_DELROUTE when their device goes down or away:
        # link notifications tell when to look (received, not yielded, if links are
        # not monitored)
        self._watch_links = track and "routes" in self.kinds
        if sock is None:
            real = NetlinkSocket(NETLINK.ROUTE, netns=rtnl.netns,
                                 rcvbuf=DEFAULT_RCVBUF if rcvbuf is None else rcvbuf)
            groups = {g for k in self.kinds for g in GROUPS[k]}
            if self._watch_links:
                groups.add(RTNLGRP.LINK)
            for g in sorted(groups):
                real.add_membership(g)
            sock = real
        self.sock: Connection = sock
        self.messages = 0
        self.overruns = 0
        self.resyncs = 0
        self.refreshes = 0
        self.resync_events = 0
        self._pending: collections.deque[Event] = collections.deque()
        self._routes_stale = False
        self._up: dict[int, bool] = {}
        # joined first, dumped second: a change made in between is in the dump and
        # in the queue, and applying it again changes nothing
        self.state = self._dump_state() if track else State(self.kinds)

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

    @property
    def rcvbuf(self) -> int | None:
        """The effective receive buffer (``NetlinkSocket.rcvbuf``), ``None`` for a
        connection that has none (a fake)."""
        v = getattr(self.sock, "rcvbuf", None)
        return v if isinstance(v, int) else None

    def _dump_state(self, kinds: Sequence[str] | None = None) -> State:
        kinds = self.kinds if kinds is None else kinds
        dumps = {k: self._dump(k) for k in kinds}
        if "links" in dumps:
            self.rtnl.note_links(o for o in dumps["links"] if isinstance(o, Link))
        return State.from_dumps(dumps)

    def _dump(self, kind: str) -> list[RtnlObject]:
        """One kind's dump; a dump the kernel keeps interrupting (``NLM_F_DUMP_INTR``
        through all of the :class:`Rtnl`'s retries, as in a burst of changes) is tried
        again, up to :data:`DUMP_ROUNDS` times."""
        for attempt in range(DUMP_ROUNDS):
            try:
                return self.rtnl.dump(kind)
            except DumpInterrupted:
                if attempt == DUMP_ROUNDS - 1:
                    raise
                time.sleep(_DUMP_PAUSE * (attempt + 1))
        raise AssertionError("unreachable")

    def _changes(self, old: State, new: State) -> list[Event]:
        return [Event(c.kind, c.action, c.obj, resync=True, change=c.what)
                for c in diff(old, new)]

    def _watch(self, link: Link) -> None:
        """Note a link notification; a link gone or down makes the routes suspect."""
        up = not link.deleted and bool(link.flags & _IFF_UP)
        if not up and self._up.get(link.index, True):
            self._routes_stale = True
        if link.deleted:
            self._up.pop(link.index, None)
        else:
            self._up[link.index] = up

    def _event(self, msg: Message) -> Event | None:
        obj = decode(msg.tobytes())
        if obj is None:
            return None
        kind = KIND_OF_CLASS[type(obj)]
        if isinstance(obj, Link):
            if obj.nlmsg_type != RTM.DELLINK:
                self.rtnl.note_link(obj)
            if self._watch_links and obj.family == 0:
                self._watch(obj)
        if kind not in self.kinds:
            return None
        if self.track:
            for gone in self.state.apply(obj, kind):
                self._pending.append(Event(kind, "del", gone))
        return Event(kind, "del" if obj.deleted else "new", obj)

    def _drain(self) -> None:
        """Throw away what is queued (a dump that follows supersedes it)."""
        while True:
            try:
                if not self.sock.recv(block=False):
                    break
            except Overrun:
                self.overruns += 1

    def resync(self) -> Event:
        """Drain queued notifications, dump every monitored kind, and return the
        ``"resync"`` summary; its :attr:`Event.changes` (the difference to what was
        known, events with ``resync=True``) is what :meth:`events` yields next."""
        self._drain()
        new = self._dump_state()
        self.resyncs += 1
        self._routes_stale = False
        changes = self._changes(self.state, new) if self.track else []
        if self.track:
            self.state = new
        fresh = {k: new.values(k) for k in self.kinds}
        return Event("resync", "resync", None, fresh, changes=changes)

    def refresh_routes(self) -> list[Event]:
        """Re-dump the routes and return the difference to what was known (events
        with ``resync=True``); the state follows the dump."""
        if "routes" not in self.kinds or not self.track:
            return []
        new = self._dump_state(("routes",))
        self.refreshes += 1
        self._routes_stale = False
        old = State(("routes",))
        old.objects["routes"] = self.state.objects["routes"]
        changes = self._changes(old, new)
        self.state.objects["routes"] = new.objects["routes"]
        return changes

    def events(self, *, timeout: float | None = None, count: int | None = None,
               idle: float | None = None) -> Iterator[Event]:
        """Yield events until ``count`` events, ``timeout`` seconds in total, or
        ``idle`` seconds without any notification (whichever comes first).

        A resync summary does not count towards ``count``; the events of its
        difference do.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = 0
        pending = self._pending
        while count is None or seen < count:
            if self._stop_requested():
                return
            if pending:
                ev = pending.popleft()
                yield ev
                # counted once the consumer is back for more (it has taken this one)
                if ev.obj is not None:
                    seen += 1
                    if ev.resync:
                        self.resync_events += 1
                continue
            wait = None if deadline is None else deadline - time.monotonic()
            if idle is not None:
                wait = idle if wait is None else min(wait, idle)
            if wait is not None and wait <= 0:
                return
            try:
                if self._routes_stale:
                    msgs = self.sock.recv(block=False)
                    if not msgs:
                        pending.extend(self.refresh_routes())
                        continue
                else:
                    if self._stop is not None and not wait_or_stop(
                            self.fileno(), wait, self._stop):
                        return  # stop requested, or the wait's time is up
                    msgs = self.sock.recv(timeout=wait)
            except Overrun:
                self.overruns += 1
                summary = self.resync()
                pending.append(summary)
                pending.extend(summary.changes or ())
                continue
            except TimeoutError:
                return
            for msg in msgs:
                got = self._event(msg)
                if got is None:
                    continue
                self.messages += 1
                pending.append(got)

    def stats(self) -> dict[str, int]:
        """``{"messages", "overruns", "resyncs", "refreshes", "resync_events",
        "drops", "rcvbuf"}`` (``rcvbuf``: the effective size, 0 when unknown)."""
        drops = self.sock.drops()
        return {"messages": self.messages, "overruns": self.overruns,
                "resyncs": self.resyncs, "refreshes": self.refreshes,
                "resync_events": self.resync_events, "drops": drops or 0,
                "rcvbuf": self.rcvbuf or 0}
