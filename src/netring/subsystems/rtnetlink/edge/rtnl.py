"""rtnetlink operations (the edge): dump, get, change and monitor links, addresses,
routes, neighbours and rules, in any network namespace, over :class:`NetlinkSocket`.

::

    Rtnl(netns="blue")                          one NETLINK_ROUTE socket opened in "blue"
      .links() .addresses() .routes(table=100)  dumps -> lists of lazy views (kernel-side
      .neighbours() .rules()                      filtering with strict checking)
      .count_routes()                           count-only dump (nothing kept)
      .get_link("eth0") .get_route("10.1.2.3")  one object by key
      .link_add() .link_set() .link_del()       changes; errors carry the kernel's
      .addr_add() .route_add() .neigh_add() ...   extended-ack text (NetlinkError)
      .monitor("routes", "links")               Monitor: events from RTNLGRP_* groups;
                                                  ENOBUFS -> drain, re-dump, "resync" event

Every exchange goes through the one conversation (:class:`netring.conn.Connection`):
dumps use :meth:`~netring.conn.Connection.dump_with` with the rtnetlink
:class:`~netring.subsystems.rtnetlink.DumpReader`, which makes one three-slot
view per message over a private copy of each received datagram;
``NLM_F_DUMP_INTR`` (or an overrun mid-dump) restarts the dump (``retry``
times).  Any connection works: a :class:`~netring.NetlinkSocket` (the default,
opened in ``netns``), a :class:`netring.testing.FakeSocket`, a ring transport.

The interface-name cache (ifindex -> name, for ``dev`` in ``to_dict``) is filled
by one link dump on first use and refreshed after link changes.
"""

from __future__ import annotations

import errno as _errno
import gc
import os
from collections.abc import Callable, Iterable, Mapping, Sequence

from ....codec import NETLINK, NLA_F, NLM_F
from ....codec.structs import nlattr
from ....codec.structs import u32 as _u32
from ....codec.types import TYPE_CHECKING, TypeVar
from ....conn import Connection
from ....errors import EncodeError, NetlinkError
from ....netns import netns_path
from ....socket import NetlinkSocket
from .. import constants as _c  # route/rule/neighbour names load on first use
from .. import names as _n
from ..constants import (
    AF_INET,
    AF_INET6,
    AF_UNSPEC,
    IFLA,
    IFLA_INFO,
    NETNSA,
    NETNSA_NSID_NOT_ASSIGNED,
    RTEXT_FILTER,
    RTM,
)
from ..dump import DumpReader, dump_request
from ..structs import fib_rule_hdr, ifaddrmsg, ifinfomsg, ndmsg, rtgenmsg, rtmsg

if TYPE_CHECKING:
    from typing import Any

    from ..address import Address
    from ..base import RtnlObject
    from ..link import Link
    from ..neighbour import Neighbour
    from ..route import Route
    from ..rule import Rule
    from .monitor import Monitor

__all__ = ["Rtnl"]

V = TypeVar("V", bound="RtnlObject")


class Rtnl:
    """rtnetlink operations over one ``NETLINK_ROUTE`` socket.

    Args:
        netns: namespace name or path to work in (the process never moves);
            ``None``: the caller's namespace.
        strict_check: enable ``NETLINK_GET_STRICT_CHK`` so dump filters (table,
            oif, family, ...) are applied by the kernel.
        sock: use this socket instead of opening one: any
            :class:`~netring.codec.conversation.NetlinkBase`, e.g.
            :class:`netring.testing.FakeSocket` (dumps then go through its ``recv``
            instead of the ``recv_into`` fast path).
        retry: restarts of a dump flagged ``NLM_F_DUMP_INTR``.
        timeout: seconds any single receive may wait (``None``: forever).

    Attributes:
        sock: the :class:`~netring.socket.NetlinkSocket`.
        netns: the namespace path (or ``None``).
        interrupted: dumps restarted because of ``NLM_F_DUMP_INTR``.
    """

    def __init__(
        self, netns: str | os.PathLike[str] | None = None, *, strict_check: bool = True,
        sock: Connection | None = None, retry: int = 5, timeout: float | None = 30.0,
    ) -> None:
        self.netns = None if netns is None else netns_path(netns)
        self.sock: Connection = sock if sock is not None else NetlinkSocket(
            NETLINK.ROUTE, netns=self.netns, strict_check=strict_check)
        self.retry = retry
        self.timeout = timeout
        self._names: dict[int, str] | None = None
        self._flags: dict[int, int] | None = None

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection."""
        self.sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def interrupted(self) -> int:
        """Dumps restarted because of ``NLM_F_DUMP_INTR`` (or an overrun mid-dump)."""
        return self.sock.restarts

    @property
    def strict(self) -> bool:
        """The kernel accepted ``NETLINK_GET_STRICT_CHK`` (dump filters apply in-kernel)."""
        features = getattr(self.sock, "features", None)
        return bool(features and features.get("strict_check"))

    def _dump_into(self, cls: type[V], type_: int, header: bytes,
                   attrs: Sequence[tuple[int, bytes]] = (), keep: bool = True,
                   op: str | None = None,
                   sink: Callable[[bytes, list[int]], bool | None] | None = None,
                   ) -> DumpReader[V]:
        body = memoryview(dump_request(type_, header, attrs))[16:]  # after the nlmsghdr
        gc_was = gc.isenabled()
        if keep or sink is not None:
            gc.disable()  # views hold no cycles; collections would only slow the dump
        try:
            return self.sock.dump_with(
                type_, body, DumpReader.factory(cls, keep and sink is None, sink),
                op=op or f"dump {RTM(type_).name}",
                # a streamed dump cannot be taken back: no restart, DumpInterrupted instead
                retry=0 if sink is not None else self.retry, timeout=self.timeout,
                copy=keep or sink is not None)
        finally:
            if gc_was:
                gc.enable()

    # -- dumps ------------------------------------------------------------------------------
    def links(self, *, kind: str | None = None, master: int | None = None,
              stats: bool = False) -> list[Link]:
        """Dump links (``ip link show``); ``kind``/``master`` filter in the kernel.

        Args:
            stats: keep ``IFLA_STATS64`` (skipped by default with ``RTEXT_FILTER_SKIP_STATS``).
        """
        attrs: list[tuple[int, bytes]] = []
        if not stats:
            attrs.append((IFLA.EXT_MASK, _u32.pack(RTEXT_FILTER.VF | RTEXT_FILTER.SKIP_STATS)))
        else:
            attrs.append((IFLA.EXT_MASK, _u32.pack(RTEXT_FILTER.VF)))
        if master is not None:
            attrs.append((IFLA.MASTER, _u32.pack(master)))
        if kind is not None:
            # IFLA_LINKINFO { IFLA_INFO_KIND "kind\0" } (nla_len, type, payload, padding)
            raw = kind.encode() + b"\0"
            nla = nlattr.pack(4 + len(raw), IFLA_INFO.KIND) + raw
            attrs.append((IFLA.LINKINFO | NLA_F.NESTED, nla + bytes(-len(nla) & 3)))
        from ..link import Link
        out = self._dump_into(Link, RTM.GETLINK, ifinfomsg.pack(AF_UNSPEC, 0, 0, 0, 0),
                              attrs).objects
        if master is None and kind is None:
            self.note_links(out)
        return out

    def addresses(self, *, family: int = AF_UNSPEC, index: int | None = None) -> list[Address]:
        """Dump addresses (``ip addr show``); ``index`` filters in the kernel."""
        hdr = ifaddrmsg.pack(family, 0, 0, 0, index or 0)
        from ..address import Address
        out = self._dump_into(Address, RTM.GETADDR, hdr).objects
        if index is not None and not self.strict:
            out = [a for a in out if a.index == index]
        return out

    def routes(self, *, family: int = AF_UNSPEC, table: int | str | None = None,
               oif: int | None = None, protocol: int | str | None = None,
               type: int | None = None, keep: bool = True) -> list[Route]:
        """Dump routes of every table (``ip route show table all``), optionally filtered.

        Filters go to the kernel (strict checking: ``rtm_table``/``RTA_TABLE``,
        ``RTA_OIF``, ``rtm_protocol``, ``rtm_type``) and are applied again here,
        so the result is the same on kernels without strict checking.  Cloned
        (cache) routes are not included.
        """
        return self._routes(family, table, oif, protocol, type, keep).objects

    def count_routes(self, *, family: int = AF_UNSPEC, table: int | str | None = None,
                     oif: int | None = None) -> int:
        """Dump routes and only count them (nothing is decoded or kept)."""
        return self._routes(family, table, oif, None, None, False).count

    def stream_routes(self, sink: Callable[[bytes, list[int]], bool | None], *,
                      family: int = AF_UNSPEC, table: int | str | None = None,
                      oif: int | None = None, protocol: int | str | None = None,
                      type: int | None = None) -> int:
        """Dump routes without keeping them: ``sink(data, offsets)`` per received datagram.

        ``data`` is the datagram (``bytes``, free to keep), ``offsets`` the byte
        offsets of its route messages (``Route`` views: ``Route(data, offset)``);
        a sink that returns ``True`` ends the streaming (the rest of the dump is
        drained unseen).  Memory stays that of one datagram however many routes.
        The filters go to the kernel when it checks strictly and are **not**
        applied again here (the sink sees what the kernel sent, cloned routes
        included on kernels without strict checking): see
        :class:`~netring.subsystems.rtnetlink.filters.RouteSelector`.

        Returns:
            The number of routes handed to the sink (and drained).

        Raises:
            DumpInterrupted: the kernel flagged the dump ``NLM_F_DUMP_INTR`` (the sink
                has seen every route it sent; a streamed dump is not restarted).
        """
        return self._routes(family, table, oif, protocol, type, False, sink).count

    def _routes(self, family: int, table: int | str | None, oif: int | None,
                protocol: int | str | None, rtype: int | None, keep: bool,
                sink: Callable[[bytes, list[int]], bool | None] | None = None,
                ) -> DumpReader[Route]:
        from .. import filters as _f
        tid = None if table is None else _f.table_id(table)
        pid = _f.protocol_id(protocol)
        attrs: list[tuple[int, bytes]] = []
        t8 = 0
        if tid is not None:
            if tid < 256:
                t8 = tid
            attrs.append((_c.RTA.TABLE, _u32.pack(tid)))
        if oif is not None:
            attrs.append((_c.RTA.OIF, _u32.pack(oif)))
        hdr = rtmsg.pack(family, 0, 0, 0, t8, pid or 0, 0, rtype or 0, 0)
        from ..route import Route
        reader = self._dump_into(Route, RTM.GETROUTE, hdr, attrs if self.strict else (),
                                 keep=keep, sink=sink)
        if keep:
            reader.objects = _f.filter_routes(reader.objects, strict=self.strict, family=family,
                                           table=tid, oif=oif, protocol=pid, rtype=rtype)
        return reader

    def neighbours(self, *, family: int = AF_UNSPEC, ifindex: int | None = None,
                   master: int | None = None, proxy: bool = False) -> list[Neighbour]:
        """Dump neighbours (``ip neigh show nud all``); ``proxy``: the proxy entries."""
        attrs: list[tuple[int, bytes]] = []
        if ifindex is not None:
            attrs.append((_c.NDA.IFINDEX, _u32.pack(ifindex)))
        if master is not None:
            attrs.append((_c.NDA.MASTER, _u32.pack(master)))
        hdr = ndmsg.pack(family, 0, 0, _c.NTF.PROXY if proxy else 0, 0)
        from ..neighbour import Neighbour
        out = self._dump_into(Neighbour, RTM.GETNEIGH, hdr, attrs if self.strict else ()).objects
        if ifindex is not None and not self.strict:
            out = [n for n in out if n.ifindex == ifindex]
        return out

    def rules(self, *, family: int = AF_UNSPEC) -> list[Rule]:
        """Dump policy routing rules (``ip rule show``)."""
        hdr = fib_rule_hdr.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
        from ..rule import Rule
        return self._dump_into(Rule, RTM.GETRULE, hdr).objects

    def dump(self, kind: str, *, family: int = AF_UNSPEC) -> list[RtnlObject]:
        """Dump one kind by CLI name: ``links``, ``addrs``, ``routes``, ``neigh``, ``rules``."""
        if kind == "links":
            return list(self.links())
        if kind == "addrs":
            return list(self.addresses(family=family))
        if kind == "routes":
            return list(self.routes(family=family))
        if kind == "neigh":
            out: list[RtnlObject] = list(self.neighbours(family=family))
            return out + list(self.neighbours(family=family, proxy=True))
        if kind == "rules":
            fams = (family,) if family else (AF_INET, AF_INET6)
            return [r for f in fams for r in self.rules(family=f)]
        from ..registry import KINDS
        raise EncodeError(f"unknown kind {kind!r}; have {', '.join(KINDS)}")

    # -- names ------------------------------------------------------------------------------
    def names(self, refresh: bool = False) -> dict[int, str]:
        """ifindex -> interface name (one link dump, cached)."""
        if self._names is None or refresh:
            self.links()
        assert self._names is not None
        return self._names

    def link_flags(self) -> dict[int, int]:
        """ifindex -> ``ifi_flags`` from the cached link dump."""
        if self._flags is None:
            self.links()
        assert self._flags is not None
        return self._flags

    def _forget_names(self) -> None:
        self._names = None
        self._flags = None

    def note_link(self, link: Link) -> None:
        """Update the name and flag caches from a link seen elsewhere (a notification)."""
        if self._names is not None:
            self._names[link.index] = link.name or f"if{link.index}"
        if self._flags is not None:
            self._flags[link.index] = link.flags

    def note_links(self, links: Iterable[Link]) -> None:
        """Replace the name and flag caches with a fresh set of links (a full dump)."""
        links = list(links)
        self._names = {ln.index: ln.name or f"if{ln.index}" for ln in links}
        self._flags = {ln.index: ln.flags for ln in links}

    def netns_names(self, directory: str = "/run/netns") -> dict[int, str]:
        """netnsid -> name of the named namespaces (``ip netns``), as this namespace
        numbers them (``ip netns list-id``); for ``link-netns NAME`` in link text.

        Namespaces this one has assigned no id are left out (``link-netnsid N`` then).
        """
        from .. import requests as rq
        out: dict[int, str] = {}
        try:
            entries = sorted(os.listdir(directory))
        except OSError:
            return out
        for name in entries:
            try:
                fd = os.open(os.path.join(directory, name), os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                for m in self.sock.request_raw(rq.nsid_get(fd), op=f"RTM_GETNSID {name}",
                                               timeout=self.timeout):
                    for a in m.attrs(rtgenmsg.size):
                        if a.type == NETNSA.NSID and a.len == 8:
                            nsid = a.s32()
                            if nsid != NETNSA_NSID_NOT_ASSIGNED:
                                out[nsid] = name
            except NetlinkError:
                continue  # not a namespace the kernel can name from here
            finally:
                os.close(fd)
        return out

    def ifindex(self, dev: int | str) -> int:
        """Interface index of ``dev`` (an index is returned as is).

        Raises:
            NetlinkError: ``ENODEV`` from the kernel when there is no such link.
        """
        if isinstance(dev, int):
            return dev
        if self._names is not None:
            for i, n in self._names.items():
                if n == dev:
                    return i
        return self.get_link(dev).index

    # -- get ---------------------------------------------------------------------------------
    def _get(self, cls: type[V], msg: bytearray, op: str) -> V:
        replies = self.sock.request_raw(msg, op=op, timeout=self.timeout)
        for m in replies:
            if m.type in cls.TYPES:
                return cls(m.tobytes(), 0)
        raise NetlinkError(_errno.ENOENT, op=op, seq=0, ext_msg="no object in the reply")

    def get_link(self, dev: int | str) -> Link:
        """One link by index or name (``RTM_GETLINK``)."""
        from .. import requests as rq
        if isinstance(dev, int):
            msg = rq.link_get(index=dev, ext_mask=RTEXT_FILTER.SKIP_STATS)
        else:
            msg = rq.link_get(name=dev, ext_mask=RTEXT_FILTER.SKIP_STATS)
        from ..link import Link
        return self._get(Link, msg, f"RTM_GETLINK {dev}")

    def get_route(self, dst: str, *, src: str | None = None, oif: int | str | None = None,
                  iif: int | str | None = None, table: int | str | None = None,
                  mark: int | None = None, fib_match: bool = False) -> Route:
        """The route the kernel would use for ``dst`` (``ip route get``)."""
        from .. import filters as _f
        from .. import requests as rq
        msg = rq.route_get(
            dst, src=src, oif=None if oif is None else self.ifindex(oif),
            iif=None if iif is None else self.ifindex(iif),
            table=None if table is None else _f.table_id(table), mark=mark, fib_match=fib_match)
        from ..route import Route
        return self._get(Route, msg, f"RTM_GETROUTE {dst}")

    # -- changes -----------------------------------------------------------------------------
    def _do(self, msg: bytearray, op: str) -> None:
        self.sock.request_raw(msg, op=op, timeout=self.timeout)

    def link_add(self, name: str, kind: str, *, peer: str | None = None,
                 link: int | str | None = None, vlan_id: int | None = None,
                 mode: str | None = None, vni: int | None = None, port: int | None = None,
                 local: str | None = None, group: str | None = None, mtu: int | None = None,
                 address: str | None = None, master: int | str | None = None,
                 up: bool = False, peer_netns: str | None = None) -> None:
        """Create a link (``ip link add``): ``veth`` (``peer``), ``bridge``, ``vlan``
        (``link``, ``vlan_id``), ``macvlan`` (``link``, ``mode``), ``vxlan`` (``vni``,
        ``port``, ``local``, ``group``, ``link``)."""
        from .. import requests as rq
        fd = None
        try:
            if peer_netns is not None:
                fd = os.open(netns_path(peer_netns), os.O_RDONLY | os.O_CLOEXEC)
            msg = rq.link_add(
                name, kind, peer=peer, link=None if link is None else self.ifindex(link),
                vlan_id=vlan_id, macvlan_mode=mode, vni=vni, vxlan_port=port,
                vxlan_local=local, vxlan_group=group, mtu=mtu, address=address,
                master=None if master is None else self.ifindex(master), up=up,
                peer_netns_fd=fd)
            self._do(msg, f"RTM_NEWLINK {name} type {kind}")
        finally:
            if fd is not None:
                os.close(fd)
            self._forget_names()

    def link_del(self, dev: int | str) -> None:
        """Delete a link (``ip link del``)."""
        from .. import requests as rq
        try:
            if isinstance(dev, int):
                self._do(rq.link_del(index=dev), f"RTM_DELLINK {dev}")
            else:
                self._do(rq.link_del(name=dev), f"RTM_DELLINK {dev}")
        finally:
            self._forget_names()

    def link_set(self, dev: int | str, *, up: bool | None = None, mtu: int | None = None,
                 name: str | None = None, address: str | None = None,
                 master: int | str | None = None, netns: str | None = None,
                 txqlen: int | None = None, alias: str | None = None) -> None:
        """Change a link (``ip link set``): up/down, mtu, name, address, master
        (``0`` or ``""``: nomaster), netns (name or path), txqlen, alias."""
        from .. import requests as rq
        index = self.ifindex(dev)
        fd = None
        try:
            m = None
            if master is not None:
                m = 0 if master in (0, "") else self.ifindex(master)
            if netns is not None:
                fd = os.open(netns_path(netns), os.O_RDONLY | os.O_CLOEXEC)
            msg = rq.link_set(index, up=up, mtu=mtu, name=name, address=address, master=m,
                              txqlen=txqlen, netns_fd=fd, alias=alias)
            self._do(msg, f"RTM_NEWLINK {dev} set")
        finally:
            if fd is not None:
                os.close(fd)
            self._forget_names()

    def _addr(self, type_: int, flags: int, dev: int | str, prefix: str, op: str,
              **kw: Any) -> None:
        from .. import requests as rq
        msg = rq.addr_request(type_, self.ifindex(dev), prefix, flags=flags, **kw)
        self._do(msg, f"{op} {prefix} dev {dev}")

    def addr_add(self, dev: int | str, prefix: str, *, peer: str | None = None,
                 broadcast: str | None = None, label: str | None = None,
                 scope: int | str | None = None, valid_lft: int | None = None,
                 preferred_lft: int | None = None, metric: int | None = None,
                 flags: Iterable[str] = ()) -> None:
        """Add an address (``ip addr add PREFIX dev DEV``)."""
        from .. import filters as _f
        from .. import requests as rq
        self._addr(RTM.NEWADDR, NLM_F.CREATE | NLM_F.EXCL, dev, prefix, "RTM_NEWADDR",
                   peer=peer, broadcast=broadcast, label=label, scope=_f.scope_id(scope),
                   valid_lft=valid_lft, preferred_lft=preferred_lft, metric=metric,
                   ifa_flags=rq.addr_flags(*flags))

    def addr_replace(self, dev: int | str, prefix: str, **kw: Any) -> None:
        """Add or replace an address (``ip addr replace``); same options as :meth:`addr_add`."""
        from .. import filters as _f
        from .. import requests as rq
        flags = kw.pop("flags", ())
        kw["scope"] = _f.scope_id(kw.get("scope"))
        self._addr(RTM.NEWADDR, NLM_F.CREATE | NLM_F.REPLACE, dev, prefix, "RTM_NEWADDR",
                   ifa_flags=rq.addr_flags(*flags), **kw)

    def addr_del(self, dev: int | str, prefix: str) -> None:
        """Delete an address (``ip addr del PREFIX dev DEV``)."""
        self._addr(RTM.DELADDR, 0, dev, prefix, "RTM_DELADDR")

    def _route(self, type_: int, flags: int, dst: str, op: str, *,
               gateway: str | None = None, dev: int | str | None = None,
               table: int | str = "main", metric: int | None = None,
               prefsrc: str | None = None, protocol: int | str | None = None,
               scope: int | str | None = None, type: int | str = "unicast",
               metrics: Mapping[str, int | str] | None = None,
               nexthops: Sequence[Mapping[str, Any]] = (), pref: int | None = None,
               onlink: bool = False, family: int = AF_UNSPEC, tos: int = 0,
               src: str | None = None) -> None:
        from .. import filters as _f
        from .. import requests as rq
        rtype = _n.RTN_BY_NAME[type] if isinstance(type, str) else int(type)
        nhs = []
        for nh in nexthops:
            d = dict(nh)
            if "dev" in d:
                d["oif"] = self.ifindex(d.pop("dev"))
            nhs.append(d)
        msg = rq.route_request(
            type_, dst, flags=flags, family=family, gateway=gateway,
            oif=None if dev is None else self.ifindex(dev), table=_f.table_id(table),
            metric=metric, prefsrc=prefsrc, protocol=_f.protocol_id(protocol),
            scope=_f.scope_id(scope), rtype=rtype, metrics=metrics, nexthops=nhs, pref=pref,
            onlink=onlink, tos=tos, src=src)
        self._do(msg, f"{op} {dst}")

    def route_add(self, dst: str, **kw: Any) -> None:
        """Add a route (``ip route add``).

        Keywords: ``gateway``, ``dev``, ``table``, ``metric``, ``prefsrc``,
        ``protocol``, ``scope``, ``type`` (``"blackhole"`` ...), ``metrics``
        (``{"mtu": 1400}``), ``nexthops`` (``[{"gateway": .., "dev": .., "weight": ..}]``),
        ``pref``, ``onlink``, ``family`` (for ``"default"``), ``tos``, ``src``.
        """
        self._route(RTM.NEWROUTE, NLM_F.CREATE | NLM_F.EXCL, dst, "RTM_NEWROUTE", **kw)

    def route_replace(self, dst: str, **kw: Any) -> None:
        """Add or replace a route (``ip route replace``); keywords as :meth:`route_add`."""
        self._route(RTM.NEWROUTE, NLM_F.CREATE | NLM_F.REPLACE, dst, "RTM_NEWROUTE", **kw)

    def route_append(self, dst: str, **kw: Any) -> None:
        """Append a route (``ip route append``); keywords as :meth:`route_add`."""
        self._route(RTM.NEWROUTE, NLM_F.CREATE | NLM_F.APPEND, dst, "RTM_NEWROUTE", **kw)

    def route_del(self, dst: str, **kw: Any) -> None:
        """Delete a route (``ip route del``); unspecified fields match anything."""
        self._route(RTM.DELROUTE, 0, dst, "RTM_DELROUTE", **kw)

    def _neigh(self, type_: int, flags: int, dst: str, dev: int | str, op: str,
               lladdr: str | None, state: int | None, proxy: bool, router: bool) -> None:
        """One neighbour request; ``state`` None means ``NUD_PERMANENT``."""
        from .. import requests as rq
        if state is None:
            state = _c.NUD.PERMANENT
        ntf = (_c.NTF.PROXY if proxy else 0) | (_c.NTF.ROUTER if router else 0)
        msg = rq.neigh_request(type_, self.ifindex(dev), dst, flags=flags, lladdr=lladdr,
                               state=0 if proxy else state, ntf=ntf)
        self._do(msg, f"{op} {dst} dev {dev}")

    def neigh_add(self, dst: str, dev: int | str, *, lladdr: str | None = None,
                  state: int | None = None, proxy: bool = False, router: bool = False) -> None:
        """Add a neighbour (``ip neigh add DST lladdr LL dev DEV [nud STATE]``; state
        defaults to ``NUD_PERMANENT``)."""
        self._neigh(RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.EXCL, dst, dev, "RTM_NEWNEIGH",
                    lladdr, state, proxy, router)

    def neigh_replace(self, dst: str, dev: int | str, *, lladdr: str | None = None,
                      state: int | None = None, proxy: bool = False,
                      router: bool = False) -> None:
        """Add or replace a neighbour (``ip neigh replace``)."""
        self._neigh(RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.REPLACE, dst, dev, "RTM_NEWNEIGH",
                    lladdr, state, proxy, router)

    def neigh_del(self, dst: str, dev: int | str, *, proxy: bool = False) -> None:
        """Delete a neighbour (``ip neigh del DST dev DEV``)."""
        self._neigh(RTM.DELNEIGH, 0, dst, dev, "RTM_DELNEIGH", None, 0, proxy, False)

    def rule_add(self, **kw: Any) -> None:
        """Add a rule (``ip rule add``).

        Keywords: ``family`` (``AF_INET`` default), ``priority``, ``src``, ``dst``
        (prefixes), ``table``, ``iif``, ``oif`` (names), ``fwmark``, ``fwmask``,
        ``action`` (``"blackhole"``/``"unreachable"``/``"prohibit"``/``"nop"`` or a
        number), ``tos``, ``invert``, ``goto``, ``protocol``.
        """
        self._rule(RTM.NEWRULE, NLM_F.CREATE | NLM_F.EXCL, "RTM_NEWRULE", **kw)

    def rule_del(self, **kw: Any) -> None:
        """Delete the first rule matching the given fields (``ip rule del``)."""
        self._rule(RTM.DELRULE, 0, "RTM_DELRULE", **kw)

    def _rule(self, type_: int, flags: int, op: str, **kw: Any) -> None:
        from .. import filters as _f
        from .. import requests as rq
        if "table" in kw and kw["table"] is not None:
            kw["table"] = _f.table_id(kw["table"])
        act = kw.get("action")
        if isinstance(act, str):
            kw["action"] = {"nop": _c.FR_ACT.NOP, "goto": _c.FR_ACT.GOTO, "blackhole": _c.FR_ACT.BLACKHOLE,
                            "unreachable": _c.FR_ACT.UNREACHABLE, "prohibit": _c.FR_ACT.PROHIBIT,
                            "lookup": _c.FR_ACT.TO_TBL, "table": _c.FR_ACT.TO_TBL}[act]
        if "protocol" in kw:
            kw["protocol"] = _f.protocol_id(kw["protocol"])
        self._do(rq.rule_request(type_, flags=flags, **kw), op)

    # -- monitor -------------------------------------------------------------------------------
    def monitor(self, *kinds: str, rcvbuf: int | None = None,
                sock: Connection | None = None) -> Monitor:
        """A :class:`~netring.subsystems.rtnetlink.edge.monitor.Monitor` of ``kinds``
        (default: all five) in this namespace.

        ``sock``: notification connection to use instead of opening one (e.g. a fake).
        """
        from ..registry import KINDS
        from .monitor import Monitor  # on first use: dumps need none of its machinery
        return Monitor(self, kinds or tuple(KINDS), rcvbuf=rcvbuf, sock=sock)
