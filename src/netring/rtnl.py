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

Dumps do not go through :meth:`NetlinkSocket.dump` (which yields one
:class:`~netring.codec.Message` per reply): they ``recv_into`` a scratch buffer,
copy each datagram into a fresh ``bytes`` chunk, and let
:class:`~netring.subsystems.rtnetlink.DumpReader` make one three-slot view per
message over that chunk.  The socket supplies sequence numbers, sending and the
error types; ``NLM_F_DUMP_INTR`` restarts the dump (``retry`` times).

The interface-name cache (ifindex -> name, for ``dev`` in ``to_dict``) is filled
by one link dump on first use and refreshed after link changes.
"""

from __future__ import annotations

import errno as _errno
import gc
import os
import select
import socket as _socket
import struct
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from .codec import NETLINK, NLA_F, NLM_F, Message
from .codec.conversation import NetlinkBase
from .codec.structs import u32 as _u32
from .errors import DecodeError, DumpInterrupted, NetlinkError, Overrun
from .netns import netns_path
from .socket import NetlinkSocket
from .subsystems.rtnetlink import (
    Address,
    Link,
    Neighbour,
    Route,
    RtnlObject,
    Rule,
    decode,
)
from .subsystems.rtnetlink import requests as rq
from .subsystems.rtnetlink.constants import (
    AF_INET,
    AF_INET6,
    AF_UNSPEC,
    FR_ACT,
    IFLA,
    IFLA_INFO,
    NDA,
    NTF,
    NUD,
    RT_TABLE,
    RTA,
    RTEXT_FILTER,
    RTM,
    RTN,
    RTNLGRP,
)
from .subsystems.rtnetlink.dump import DumpReader
from .subsystems.rtnetlink.structs import fib_rule_hdr, ifaddrmsg, ifinfomsg, ndmsg, rtmsg

__all__ = ["Rtnl", "Monitor", "Event", "KINDS", "GROUPS", "family_of"]

V = TypeVar("V", bound=RtnlObject)

#: object kinds, as the CLI names them -> (view class, dump request type)
KINDS: dict[str, tuple[type[RtnlObject], int]] = {
    "links": (Link, RTM.GETLINK),
    "addrs": (Address, RTM.GETADDR),
    "routes": (Route, RTM.GETROUTE),
    "neigh": (Neighbour, RTM.GETNEIGH),
    "rules": (Rule, RTM.GETRULE),
}

#: multicast groups to join per kind
GROUPS: dict[str, tuple[int, ...]] = {
    "links": (RTNLGRP.LINK,),
    "addrs": (RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR),
    "routes": (RTNLGRP.IPV4_ROUTE, RTNLGRP.IPV6_ROUTE),
    "neigh": (RTNLGRP.NEIGH,),
    "rules": (RTNLGRP.IPV4_RULE, RTNLGRP.IPV6_RULE),
}

_KIND_OF_CLASS = {Link: "links", Address: "addrs", Route: "routes", Neighbour: "neigh",
                  Rule: "rules"}

_CHUNK = 1 << 16


def family_of(text: str | None) -> int:
    """``"inet"``/``"4"``/``"ipv4"`` -> AF_INET, ``"inet6"``/``"6"`` -> AF_INET6, else AF_UNSPEC."""
    if text in ("inet", "4", "ipv4", "-4"):
        return AF_INET
    if text in ("inet6", "6", "ipv6", "-6"):
        return AF_INET6
    return AF_UNSPEC


def _table_id(table: int | str) -> int:
    if isinstance(table, str):
        if table in rq.TABLE_BY_NAME:
            return rq.TABLE_BY_NAME[table]
        return int(table)
    return int(table)


def _proto_id(proto: int | str | None) -> int | None:
    if proto is None or isinstance(proto, int):
        return proto
    return rq.RTPROT_BY_NAME[proto] if proto in rq.RTPROT_BY_NAME else int(proto)


def _scope_id(scope: int | str | None) -> int | None:
    if scope is None or isinstance(scope, int):
        return scope
    return rq.SCOPE_BY_NAME[scope] if scope in rq.SCOPE_BY_NAME else int(scope)


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
        sock: NetlinkBase | None = None, retry: int = 5, timeout: float | None = 30.0,
    ) -> None:
        self.netns = None if netns is None else netns_path(netns)
        self.sock: NetlinkBase = sock if sock is not None else NetlinkSocket(
            NETLINK.ROUTE, netns=self.netns, strict_check=strict_check)
        self._real = isinstance(self.sock, NetlinkSocket)
        self.retry = retry
        self.timeout = timeout
        self.interrupted = 0
        self._scratch = bytearray(_CHUNK)
        self._names: dict[int, str] | None = None
        self._flags: dict[int, int] | None = None

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the socket."""
        close = getattr(self.sock, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def strict(self) -> bool:
        """The kernel accepted ``NETLINK_GET_STRICT_CHK`` (dump filters apply in-kernel)."""
        features = getattr(self.sock, "features", None)
        return bool(features and features.get("strict_check"))

    def _recv_chunk(self, keep: bool) -> tuple[bytes | bytearray, int]:
        if not self._real:
            return self._recv_chunk_generic()
        assert isinstance(self.sock, NetlinkSocket)
        raw = self.sock.socket
        scratch = self._scratch
        while True:
            try:
                n = raw.recv_into(scratch, 0, _socket.MSG_TRUNC | _socket.MSG_DONTWAIT)
            except BlockingIOError:
                self._wait()
                continue
            except OSError as exc:
                if exc.errno == _errno.ENOBUFS:
                    self.sock.overruns += 1
                    raise Overrun(self.sock.overruns, self.sock.drops()) from None
                raise
            break
        if n > len(scratch):
            # larger than our buffer: grow it for next time and report the loss
            self._scratch = bytearray(1 << (n - 1).bit_length())
            raise DecodeError(f"dump datagram of {n} bytes truncated to {len(scratch)}", 0)
        if keep:
            return bytes(memoryview(scratch)[:n]), n
        return scratch, n

    def _recv_chunk_generic(self) -> tuple[bytes, int]:
        """One datagram through ``NetlinkBase.recv`` (fakes, other transports)."""
        while True:
            msgs = self.sock.recv(timeout=self.timeout)
            if msgs:
                data = bytes(msgs[0].buf)
                return data, len(data)

    def _wait(self) -> None:
        p = select.poll()
        p.register(self.sock.fileno(), select.POLLIN | select.POLLERR)
        ms = None if self.timeout is None else max(0, int(self.timeout * 1000))
        if not p.poll(ms):
            raise TimeoutError(f"rtnetlink: no reply within {self.timeout} s")

    def _dump_into(self, cls: type[V], type_: int, header: bytes,
                   attrs: Sequence[tuple[int, bytes]] = (), keep: bool = True,
                   op: str | None = None) -> DumpReader[V]:
        name = op or f"dump {RTM(type_).name}"
        attempt = 0
        while True:
            msg = rq.dump_request(type_, header, attrs)
            seq = self.sock.next_seq()
            _u32.pack_into(msg, 8, seq)
            reader: DumpReader[V] = DumpReader(cls, seq, name, keep)
            self.sock.send(msg)
            gc_was = gc.isenabled()
            if keep:
                gc.disable()  # views hold no cycles; collections would only slow the dump
            try:
                feed = reader.feed
                while not feed(*self._recv_chunk(keep)):
                    pass
                return reader
            except (DumpInterrupted, Overrun):
                attempt += 1
                self.interrupted += 1
                if not reader.done:
                    self._drain(seq)
                if attempt > self.retry:
                    raise
            finally:
                if gc_was:
                    gc.enable()

    def _drain(self, seq: int) -> None:
        """Read and drop what is left of an abandoned dump."""
        reader: DumpReader[Route] = DumpReader(Route, seq, "drain", keep=False)
        deadline = time.monotonic() + 5
        while not reader.done and time.monotonic() < deadline:
            try:
                reader.feed(*self._recv_chunk(False))
            except (NetlinkError, DumpInterrupted, DecodeError, Overrun, TimeoutError):
                return

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
            nla = struct.pack("=HH", 4 + len(raw), IFLA_INFO.KIND) + raw
            attrs.append((IFLA.LINKINFO | NLA_F.NESTED, nla + bytes(-len(nla) & 3)))
        out = self._dump_into(Link, RTM.GETLINK, ifinfomsg.pack(AF_UNSPEC, 0, 0, 0, 0),
                              attrs).objects
        if master is None and kind is None:
            self._names = {ln.index: ln.name or f"if{ln.index}" for ln in out}
            self._flags = {ln.index: ln.flags for ln in out}
        return out

    def addresses(self, *, family: int = AF_UNSPEC, index: int | None = None) -> list[Address]:
        """Dump addresses (``ip addr show``); ``index`` filters in the kernel."""
        hdr = ifaddrmsg.pack(family, 0, 0, 0, index or 0)
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

    def _routes(self, family: int, table: int | str | None, oif: int | None,
                protocol: int | str | None, rtype: int | None, keep: bool) -> DumpReader[Route]:
        tid = None if table is None else _table_id(table)
        pid = _proto_id(protocol)
        attrs: list[tuple[int, bytes]] = []
        t8 = 0
        if tid is not None:
            if tid < 256:
                t8 = tid
            attrs.append((RTA.TABLE, _u32.pack(tid)))
        if oif is not None:
            attrs.append((RTA.OIF, _u32.pack(oif)))
        hdr = rtmsg.pack(family, 0, 0, 0, t8, pid or 0, 0, rtype or 0, 0)
        reader = self._dump_into(Route, RTM.GETROUTE, hdr, attrs if self.strict else (),
                                 keep=keep)
        if keep and not self.strict:
            # without strict checking the kernel ignores the filters and adds IPv4
            # route exceptions (RTM_F_CLONED), which ip route show leaves out too
            reader.objects = [r for r in reader.objects if not r.flags & 0x200]
        if keep and (tid is not None or oif is not None or pid or rtype or
                     (family and not self.strict)):
            reader.objects = [
                r for r in reader.objects
                if (tid is None or r.table == tid) and (oif is None or r.oif == oif)
                and (not pid or r.protocol == pid) and (not rtype or r.type == rtype)
                and (not family or r.family == family)
            ]
        return reader

    def neighbours(self, *, family: int = AF_UNSPEC, ifindex: int | None = None,
                   master: int | None = None, proxy: bool = False) -> list[Neighbour]:
        """Dump neighbours (``ip neigh show nud all``); ``proxy``: the proxy entries."""
        attrs: list[tuple[int, bytes]] = []
        if ifindex is not None:
            attrs.append((NDA.IFINDEX, _u32.pack(ifindex)))
        if master is not None:
            attrs.append((NDA.MASTER, _u32.pack(master)))
        hdr = ndmsg.pack(family, 0, 0, NTF.PROXY if proxy else 0, 0)
        out = self._dump_into(Neighbour, RTM.GETNEIGH, hdr, attrs if self.strict else ()).objects
        if ifindex is not None and not self.strict:
            out = [n for n in out if n.ifindex == ifindex]
        return out

    def rules(self, *, family: int = AF_UNSPEC) -> list[Rule]:
        """Dump policy routing rules (``ip rule show``)."""
        hdr = fib_rule_hdr.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)
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
        raise ValueError(f"unknown kind {kind!r}; have {', '.join(KINDS)}")

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
        if isinstance(dev, int):
            msg = rq.link_get(index=dev, ext_mask=RTEXT_FILTER.SKIP_STATS)
        else:
            msg = rq.link_get(name=dev, ext_mask=RTEXT_FILTER.SKIP_STATS)
        return self._get(Link, msg, f"RTM_GETLINK {dev}")

    def get_route(self, dst: str, *, src: str | None = None, oif: int | str | None = None,
                  iif: int | str | None = None, table: int | str | None = None,
                  mark: int | None = None, fib_match: bool = False) -> Route:
        """The route the kernel would use for ``dst`` (``ip route get``)."""
        msg = rq.route_get(
            dst, src=src, oif=None if oif is None else self.ifindex(oif),
            iif=None if iif is None else self.ifindex(iif),
            table=None if table is None else _table_id(table), mark=mark, fib_match=fib_match)
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
        msg = rq.addr_request(type_, self.ifindex(dev), prefix, flags=flags, **kw)
        self._do(msg, f"{op} {prefix} dev {dev}")

    def addr_add(self, dev: int | str, prefix: str, *, peer: str | None = None,
                 broadcast: str | None = None, label: str | None = None,
                 scope: int | str | None = None, valid_lft: int | None = None,
                 preferred_lft: int | None = None, metric: int | None = None,
                 flags: Iterable[str] = ()) -> None:
        """Add an address (``ip addr add PREFIX dev DEV``)."""
        self._addr(RTM.NEWADDR, NLM_F.CREATE | NLM_F.EXCL, dev, prefix, "RTM_NEWADDR",
                   peer=peer, broadcast=broadcast, label=label, scope=_scope_id(scope),
                   valid_lft=valid_lft, preferred_lft=preferred_lft, metric=metric,
                   ifa_flags=rq.addr_flags(*flags))

    def addr_replace(self, dev: int | str, prefix: str, **kw: Any) -> None:
        """Add or replace an address (``ip addr replace``); same options as :meth:`addr_add`."""
        flags = kw.pop("flags", ())
        kw["scope"] = _scope_id(kw.get("scope"))
        self._addr(RTM.NEWADDR, NLM_F.CREATE | NLM_F.REPLACE, dev, prefix, "RTM_NEWADDR",
                   ifa_flags=rq.addr_flags(*flags), **kw)

    def addr_del(self, dev: int | str, prefix: str) -> None:
        """Delete an address (``ip addr del PREFIX dev DEV``)."""
        self._addr(RTM.DELADDR, 0, dev, prefix, "RTM_DELADDR")

    def _route(self, type_: int, flags: int, dst: str, op: str, *,
               gateway: str | None = None, dev: int | str | None = None,
               table: int | str = RT_TABLE.MAIN, metric: int | None = None,
               prefsrc: str | None = None, protocol: int | str | None = None,
               scope: int | str | None = None, type: int | str = RTN.UNICAST,
               metrics: Mapping[str, int | str] | None = None,
               nexthops: Sequence[Mapping[str, Any]] = (), pref: int | None = None,
               onlink: bool = False, family: int = AF_UNSPEC, tos: int = 0,
               src: str | None = None) -> None:
        rtype = rq.RTN_BY_NAME[type] if isinstance(type, str) else int(type)
        nhs = []
        for nh in nexthops:
            d = dict(nh)
            if "dev" in d:
                d["oif"] = self.ifindex(d.pop("dev"))
            nhs.append(d)
        msg = rq.route_request(
            type_, dst, flags=flags, family=family, gateway=gateway,
            oif=None if dev is None else self.ifindex(dev), table=_table_id(table),
            metric=metric, prefsrc=prefsrc, protocol=_proto_id(protocol),
            scope=_scope_id(scope), rtype=rtype, metrics=metrics, nexthops=nhs, pref=pref,
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
               lladdr: str | None, state: int, proxy: bool, router: bool) -> None:
        ntf = (NTF.PROXY if proxy else 0) | (NTF.ROUTER if router else 0)
        msg = rq.neigh_request(type_, self.ifindex(dev), dst, flags=flags, lladdr=lladdr,
                               state=0 if proxy else state, ntf=ntf)
        self._do(msg, f"{op} {dst} dev {dev}")

    def neigh_add(self, dst: str, dev: int | str, *, lladdr: str | None = None,
                  state: int = NUD.PERMANENT, proxy: bool = False, router: bool = False) -> None:
        """Add a neighbour (``ip neigh add DST lladdr LL dev DEV [nud STATE]``)."""
        self._neigh(RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.EXCL, dst, dev, "RTM_NEWNEIGH",
                    lladdr, state, proxy, router)

    def neigh_replace(self, dst: str, dev: int | str, *, lladdr: str | None = None,
                      state: int = NUD.PERMANENT, proxy: bool = False,
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
        if "table" in kw and kw["table"] is not None:
            kw["table"] = _table_id(kw["table"])
        act = kw.get("action")
        if isinstance(act, str):
            kw["action"] = {"nop": FR_ACT.NOP, "goto": FR_ACT.GOTO, "blackhole": FR_ACT.BLACKHOLE,
                            "unreachable": FR_ACT.UNREACHABLE, "prohibit": FR_ACT.PROHIBIT,
                            "lookup": FR_ACT.TO_TBL, "table": FR_ACT.TO_TBL}[act]
        if "protocol" in kw:
            kw["protocol"] = _proto_id(kw["protocol"])
        self._do(rq.rule_request(type_, flags=flags, **kw), op)

    # -- monitor -------------------------------------------------------------------------------
    def monitor(self, *kinds: str, rcvbuf: int | None = None,
                sock: NetlinkBase | None = None) -> Monitor:
        """A :class:`Monitor` of ``kinds`` (default: all five) in this namespace.

        ``sock``: notification socket to use instead of opening one (e.g. a fake).
        """
        return Monitor(self, kinds or tuple(KINDS), rcvbuf=rcvbuf, sock=sock)


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

    def __init__(self, rtnl: Rtnl, kinds: Sequence[str], *, rcvbuf: int | None = None,
                 sock: NetlinkBase | None = None) -> None:
        for k in kinds:
            if k not in GROUPS:
                raise ValueError(f"unknown kind {k!r}; have {', '.join(GROUPS)}")
        self.rtnl = rtnl
        self.kinds = tuple(kinds)
        if sock is None:
            real = NetlinkSocket(NETLINK.ROUTE, netns=rtnl.netns, rcvbuf=rcvbuf)
            for k in self.kinds:
                for g in GROUPS[k]:
                    real.add_membership(g)
            sock = real
        self.sock: NetlinkBase = sock
        self.messages = 0
        self.overruns = 0
        self.resyncs = 0

    def close(self) -> None:
        """Close the monitor socket."""
        close = getattr(self.sock, "close", None)
        if close is not None:
            close()

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
        kind = _KIND_OF_CLASS[type(obj)]
        if kind not in self.kinds:
            return None
        if kind == "links" and obj.nlmsg_type != RTM.DELLINK:
            names = self.rtnl._names
            if names is not None and isinstance(obj, Link):
                names[obj.index] = obj.name or f"if{obj.index}"
                if self.rtnl._flags is not None:
                    self.rtnl._flags[obj.index] = obj.flags
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
            self.rtnl._names = {o.index: o.name or f"if{o.index}"
                                for o in state["links"] if isinstance(o, Link)}
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
        drops = self.sock.drops() if isinstance(self.sock, NetlinkSocket) else None
        return {"messages": self.messages, "overruns": self.overruns,
                "resyncs": self.resyncs, "drops": drops or 0}

