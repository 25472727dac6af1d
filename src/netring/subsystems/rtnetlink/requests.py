"""Request encoders: one function per rtnetlink request, building a whole message.

Each returns the message as a ``bytearray`` (``nlmsg_seq`` 0: the socket stamps
a fresh one).  Encoders take resolved numbers (interface *indexes*, numeric
tables); name resolution is the edge's job (:mod:`netring.rtnl`).  Defaults
follow iproute2, so a request built here means what the matching ``ip``
command means::

    nlmsghdr | family header (ifinfomsg / ifaddrmsg / rtmsg / ndmsg / fib_rule_hdr)
             | attributes (IFLA_* / IFA_* / RTA_* / NDA_* / FRA_*), nests patched in place

Invalid input (bad address text, out-of-range numbers) raises
:class:`~netring.errors.EncodeError`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

from ...codec import NLM_F, Builder
from ...codec.types import TYPE_CHECKING
from ...errors import EncodeError
from .constants import (
    AF_INET,
    AF_INET6,
    AF_UNSPEC,
    FIB_RULE,
    FR_ACT,
    FRA,
    IFA,
    IFA_F,
    IFLA,
    IFLA_INFO,
    IFLA_MACVLAN,
    IFLA_VLAN,
    IFLA_VXLAN,
    MACVLAN_MODE,
    NDA,
    NETNSA,
    NUD,
    RT_SCOPE,
    RT_TABLE,
    RTA,
    RTAX,
    RTM,
    RTM_F,
    RTN,
    RTNH_F,
    RTPROT,
    VETH_INFO,
)
from .names import METRIC_TEXT
from .structs import (
    fib_rule_hdr,
    ifa_cacheinfo,
    ifaddrmsg,
    ifinfomsg,
    ndmsg,
    rtgenmsg,
    rtmsg,
    rtnexthop,
)

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "link_get", "link_add", "link_del", "link_set", "addr_request",
    "route_request", "route_get", "neigh_request", "rule_request", "NextHopSpec",
    "parse_prefix", "nsid_get", "METRIC_NAMES",
]

#: largest table id that fits ``rtm_table`` / ``fib_rule_hdr.table``; larger ids
#: travel in ``RTA_TABLE`` / ``FRA_TABLE`` only
_U8_TABLE_MAX = 255
#: low 8 flag bits fit ``ifa_flags``; the rest need ``IFA_FLAGS``
_IFA_FLAGS_U8 = 0xFF
#: ``valid_lft`` / ``preferred_lft`` "forever" (INFINITY_LIFE_TIME, uapi/linux/if_addr.h)
_INFINITY_LIFE_TIME = 0xFFFFFFFF
#: ``rtnh_hops`` is a u8 holding weight - 1
_MAX_WEIGHT = 256
#: metric names as ``ip route add ... NAME VALUE`` takes them (the reverse of
#: :data:`~.names.METRIC_TEXT`, less fastopen_no_cookie, which is a flag there)
METRIC_NAMES = {name: RTAX(t) for t, name in METRIC_TEXT.items()
                if t != RTAX.FASTOPEN_NO_COOKIE}

NextHopSpec = Mapping[str, "Any"]
"""A multipath next hop: ``{"gateway": "10.0.0.2", "oif": 3, "weight": 1, "onlink": False}``."""


def _b(size: int = 1024) -> Builder:
    return Builder(size)


def _done(b: Builder) -> bytearray:
    b.end()
    return bytearray(b.view())


def nsid_get(fd: int) -> bytearray:
    """``RTM_GETNSID`` for the namespace open as ``fd``: its id as this namespace
    numbers it (``ip netns list-id``)."""
    b = _b(64)
    b.begin(RTM.GETNSID, NLM_F.REQUEST)
    b.put_struct(rtgenmsg, AF_UNSPEC)
    b.attr_u32(NETNSA.FD, fd)
    return _done(b)


def parse_prefix(text: str, family: int = AF_UNSPEC) -> tuple[int, bytes, int]:
    """``"10.0.0.0/24"`` / ``"2001:db8::/64"`` / ``"default"`` -> (family, packed, length).

    ``"default"`` (or ``"all"``) gives an empty address and length 0.
    """
    if text in ("default", "all", "any"):
        return family, b"", 0
    try:
        net = ipaddress.ip_interface(text)
    except ValueError as exc:
        raise EncodeError(f"bad prefix {text!r}: {exc}") from None
    fam = AF_INET if net.version == 4 else AF_INET6
    if family not in (AF_UNSPEC, fam):
        raise EncodeError(f"{text!r} is not of address family {family}")
    return fam, net.ip.packed, net.network.prefixlen


def _addr(text: str) -> tuple[int, bytes]:
    try:
        a = ipaddress.ip_address(text)
    except ValueError as exc:
        raise EncodeError(str(exc)) from None
    return (AF_INET if a.version == 4 else AF_INET6), a.packed


def _lladdr(text: str) -> bytes:
    try:
        return bytes(int(x, 16) for x in text.split(":"))
    except ValueError:
        raise EncodeError(f"bad link-layer address {text!r}") from None


# -- links -------------------------------------------------------------------------------
def link_get(index: int = 0, name: str | None = None, ext_mask: int = 0) -> bytearray:
    """``RTM_GETLINK`` for one link, by index or by name (``ip link show dev X``)."""
    b = _b()
    b.begin(RTM.GETLINK, NLM_F.REQUEST)
    b.put_struct(ifinfomsg, AF_UNSPEC, 0, index, 0, 0)
    if name is not None:
        b.attr_str(IFLA.IFNAME, name)
    if ext_mask:
        b.attr_u32(IFLA.EXT_MASK, ext_mask)
    return _done(b)


def link_add(
    name: str, kind: str, *, peer: str | None = None, link: int | None = None,
    vlan_id: int | None = None, macvlan_mode: str | int | None = None,
    vni: int | None = None, vxlan_port: int | None = None, vxlan_local: str | None = None,
    vxlan_group: str | None = None, mtu: int | None = None, address: str | None = None,
    master: int | None = None, up: bool = False, txqlen: int | None = None,
    peer_netns_fd: int | None = None,
) -> bytearray:
    """``RTM_NEWLINK`` with ``NLM_F_CREATE|NLM_F_EXCL`` (``ip link add NAME type KIND ...``).

    Args:
        name: the new link's name.
        kind: ``"veth"``, ``"bridge"``, ``"vlan"``, ``"macvlan"``, ``"vxlan"``, ``"dummy"`` ...
        peer: veth peer name.
        link: lower device index (vlan, macvlan; vxlan's ``dev``).
        vlan_id: vlan id (vlan).
        macvlan_mode: ``"private"``, ``"vepa"``, ``"bridge"``, ``"passthru"``, ``"source"``.
        vni: vxlan id; ``vxlan_port`` (UDP port), ``vxlan_local``, ``vxlan_group``.
        up: create it administratively up.
        peer_netns_fd: open fd of the netns where the veth peer goes.
    """
    b = _b()
    b.begin(RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL)
    b.put_struct(ifinfomsg, AF_UNSPEC, 0, 0, 1 if up else 0, 1 if up else 0)
    b.attr_str(IFLA.IFNAME, name)
    if mtu is not None:
        b.attr_u32(IFLA.MTU, mtu)
    if txqlen is not None:
        b.attr_u32(IFLA.TXQLEN, txqlen)
    if address is not None:
        b.attr(IFLA.ADDRESS, _lladdr(address))
    if master is not None:
        b.attr_u32(IFLA.MASTER, master)
    if link is not None and kind != "vxlan":
        b.attr_u32(IFLA.LINK, link)
    info = b.nest_start(IFLA.LINKINFO)
    b.attr_str(IFLA_INFO.KIND, kind)
    if kind == "veth" and peer is not None:
        data = b.nest_start(IFLA_INFO.DATA)
        p = b.nest_start(VETH_INFO.PEER, nested_flag=False)
        b.put_struct(ifinfomsg, AF_UNSPEC, 0, 0, 0, 0)
        b.attr_str(IFLA.IFNAME, peer)
        if peer_netns_fd is not None:
            b.attr_u32(IFLA.NET_NS_FD, peer_netns_fd)
        b.nest_end(p)
        b.nest_end(data)
    elif kind == "vlan":
        if vlan_id is None or link is None:
            raise EncodeError("vlan needs vlan_id and link (the lower device)")
        data = b.nest_start(IFLA_INFO.DATA)
        b.attr_u16(IFLA_VLAN.ID, vlan_id)
        b.nest_end(data)
    elif kind == "macvlan":
        if link is None:
            raise EncodeError("macvlan needs link (the lower device)")
        if macvlan_mode is not None:
            mode = (MACVLAN_MODE[macvlan_mode.upper()] if isinstance(macvlan_mode, str)
                    else macvlan_mode)
            data = b.nest_start(IFLA_INFO.DATA)
            b.attr_u32(IFLA_MACVLAN.MODE, int(mode))
            b.nest_end(data)
    elif kind == "vxlan":
        if vni is None:
            raise EncodeError("vxlan needs vni")
        data = b.nest_start(IFLA_INFO.DATA)
        b.attr_u32(IFLA_VXLAN.ID, vni)
        if vxlan_local is not None:
            fam, raw = _addr(vxlan_local)
            b.attr(IFLA_VXLAN.LOCAL if fam == AF_INET else IFLA_VXLAN.LOCAL6, raw)
        if vxlan_group is not None:
            fam, raw = _addr(vxlan_group)
            b.attr(IFLA_VXLAN.GROUP if fam == AF_INET else IFLA_VXLAN.GROUP6, raw)
        if link is not None:
            b.attr_u32(IFLA_VXLAN.LINK, link)
        if vxlan_port is not None:
            b.attr_be16(IFLA_VXLAN.PORT, vxlan_port)
        b.nest_end(data)
    b.nest_end(info)
    return _done(b)


def link_del(index: int = 0, name: str | None = None) -> bytearray:
    """``RTM_DELLINK`` by index or name."""
    b = _b()
    b.begin(RTM.DELLINK, NLM_F.REQUEST | NLM_F.ACK)
    b.put_struct(ifinfomsg, AF_UNSPEC, 0, index, 0, 0)
    if name is not None:
        b.attr_str(IFLA.IFNAME, name)
    return _done(b)


def link_set(
    index: int, *, up: bool | None = None, mtu: int | None = None, name: str | None = None,
    address: str | None = None, master: int | None = None, txqlen: int | None = None,
    netns_fd: int | None = None, netns_pid: int | None = None, alias: str | None = None,
) -> bytearray:
    """``RTM_NEWLINK`` on an existing link (``ip link set``).

    Args:
        master: new master index; 0 detaches (``nomaster``).
        netns_fd / netns_pid: move the link to another namespace.
    """
    b = _b()
    b.begin(RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK)
    flags = change = 0
    if up is not None:
        change = 1
        flags = 1 if up else 0
    b.put_struct(ifinfomsg, AF_UNSPEC, 0, index, flags, change)
    if name is not None:
        b.attr_str(IFLA.IFNAME, name)
    if mtu is not None:
        b.attr_u32(IFLA.MTU, mtu)
    if address is not None:
        b.attr(IFLA.ADDRESS, _lladdr(address))
    if master is not None:
        b.attr_u32(IFLA.MASTER, master)
    if txqlen is not None:
        b.attr_u32(IFLA.TXQLEN, txqlen)
    if alias is not None:
        b.attr_str(IFLA.IFALIAS, alias)
    if netns_fd is not None:
        b.attr_u32(IFLA.NET_NS_FD, netns_fd)
    if netns_pid is not None:
        b.attr_u32(IFLA.NET_NS_PID, netns_pid)
    return _done(b)


# -- addresses ---------------------------------------------------------------------------
def addr_request(
    type_: int, index: int, prefix: str, *, flags: int = 0, peer: str | None = None,
    broadcast: str | None = None, label: str | None = None, scope: int | None = None,
    valid_lft: int | None = None, preferred_lft: int | None = None,
    metric: int | None = None, ifa_flags: int = 0,
) -> bytearray:
    """``RTM_NEWADDR`` / ``RTM_DELADDR`` for ``prefix`` (``"10.0.0.1/24"``) on ``index``.

    ``flags`` are extra ``nlmsg_flags`` (``CREATE|EXCL`` add, ``CREATE|REPLACE`` replace).
    """
    fam, raw, plen = parse_prefix(prefix)
    if not raw:
        raise EncodeError("an address needs a host address, not 'default'")
    if scope is None:
        scope = RT_SCOPE.HOST if (fam == AF_INET and raw[0] == 127) else RT_SCOPE.UNIVERSE
        if fam == AF_INET6 and raw == bytes(15) + b"\x01":
            scope = RT_SCOPE.HOST
    b = _b()
    b.begin(type_, NLM_F.REQUEST | NLM_F.ACK | flags)
    b.put_struct(ifaddrmsg, fam, plen, ifa_flags & _IFA_FLAGS_U8, scope, index)
    b.attr(IFA.LOCAL, raw)
    if peer is not None:
        pf, praw = _addr(peer.split("/")[0])
        b.attr(IFA.ADDRESS, praw)
    else:
        b.attr(IFA.ADDRESS, raw)
    if broadcast is not None:
        b.attr(IFA.BROADCAST, _addr(broadcast)[1])
    if label is not None:
        b.attr_str(IFA.LABEL, label)
    if ifa_flags & ~_IFA_FLAGS_U8:
        b.attr_u32(IFA.FLAGS, ifa_flags)
    if valid_lft is not None or preferred_lft is not None:
        v = _INFINITY_LIFE_TIME if valid_lft is None else valid_lft
        p = v if preferred_lft is None else preferred_lft
        b.attr(IFA.CACHEINFO, ifa_cacheinfo.pack(p, v, 0, 0))
    if metric is not None:
        b.attr_u32(IFA.RT_PRIORITY, metric)
    return _done(b)


# -- routes ------------------------------------------------------------------------------
def _table_fields(table: int) -> tuple[int, int | None]:
    return (table, None) if table <= _U8_TABLE_MAX else (RT_TABLE.UNSPEC, table)


def route_request(
    type_: int, dst: str = "default", *, flags: int = 0, family: int = AF_UNSPEC,
    gateway: str | None = None, oif: int | None = None, table: int = RT_TABLE.MAIN,
    metric: int | None = None, prefsrc: str | None = None, protocol: int | None = None,
    scope: int | None = None, rtype: int = RTN.UNICAST, tos: int = 0,
    metrics: Mapping[str, int | str] | None = None, nexthops: Sequence[NextHopSpec] = (),
    pref: int | None = None, onlink: bool = False, src: str | None = None,
    expires: int | None = None, mark: int | None = None,
) -> bytearray:
    """``RTM_NEWROUTE`` / ``RTM_DELROUTE`` (``ip route add|del|replace|append ...``).

    Defaults follow iproute2: protocol ``boot`` and type ``unicast`` on add, scope
    ``link`` for a device route without gateway, ``host`` for local routes,
    ``nowhere`` (wildcard) on delete; table ids above 255 go in ``RTA_TABLE``.

    Args:
        dst: ``"10.0.0.0/24"`` or ``"default"`` (then give ``family``).
        flags: extra ``nlmsg_flags``: ``CREATE|EXCL`` add, ``CREATE|REPLACE``
            replace, ``CREATE|APPEND`` append.
        nexthops: multipath next hops (``gateway``, ``oif``, ``weight``, ``onlink``).
        metrics: ``{"mtu": 1400, "advmss": 1300, "congctl": "cubic", "lock": mask}``.
    """
    fam, draw, dlen = parse_prefix(dst, family)
    gw: bytes | None = None
    if gateway is not None:
        gfam, gw = _addr(gateway)
        fam = fam or gfam
    for nh in nexthops:
        if nh.get("gateway") and not fam:
            fam = _addr(str(nh["gateway"]))[0]
    if not fam:
        raise EncodeError(f"route {dst!r}: cannot tell the address family; pass family=")
    is_del = type_ == RTM.DELROUTE
    if protocol is None:
        protocol = RTPROT.UNSPEC if is_del else RTPROT.BOOT
    if scope is None:
        if is_del:
            scope = RT_SCOPE.NOWHERE
        elif rtype in (RTN.LOCAL, RTN.NAT):
            scope = RT_SCOPE.HOST
        elif rtype in (RTN.BROADCAST, RTN.MULTICAST, RTN.ANYCAST):
            scope = RT_SCOPE.LINK
        elif rtype == RTN.UNICAST and gateway is None and not nexthops:
            scope = RT_SCOPE.LINK
        else:
            scope = RT_SCOPE.UNIVERSE
    sraw, slen = b"", 0
    if src is not None:
        _sf, sraw, slen = parse_prefix(src, fam)
    t8, t32 = _table_fields(table)
    b = _b(4096)
    b.begin(type_, NLM_F.REQUEST | NLM_F.ACK | flags)
    b.put_struct(rtmsg, fam, dlen, slen, tos, t8, protocol, scope,
                 RTN.UNSPEC if (is_del and rtype == RTN.UNICAST) else rtype,
                 RTNH_F.ONLINK if onlink else 0)
    if draw:
        b.attr(RTA.DST, draw)
    if sraw:
        b.attr(RTA.SRC, sraw)
    if t32 is not None:
        b.attr_u32(RTA.TABLE, t32)
    if gw is not None:
        b.attr(RTA.GATEWAY, gw)
    if oif is not None:
        b.attr_u32(RTA.OIF, oif)
    if metric is not None:
        b.attr_u32(RTA.PRIORITY, metric)
    if prefsrc is not None:
        b.attr(RTA.PREFSRC, _addr(prefsrc)[1])
    if mark is not None:
        b.attr_u32(RTA.MARK, mark)
    if pref is not None:
        b.attr_u8(RTA.PREF, pref)
    if expires is not None:
        b.attr_u32(RTA.EXPIRES, expires)
    if metrics:
        mx = b.nest_start(RTA.METRICS)
        for k, v in metrics.items():
            if k == "lock":
                b.attr_u32(RTAX.LOCK, int(v))
            elif k == "congctl":
                b.attr(RTAX.CC_ALGO, str(v).encode())
            else:
                try:
                    b.attr_u32(METRIC_NAMES[k], int(v))
                except KeyError:
                    raise EncodeError(f"unknown route metric {k!r}") from None
        b.nest_end(mx)
    if nexthops:
        mp = b.nest_start(RTA.MULTIPATH, nested_flag=False)
        for nh in nexthops:
            weight = int(nh.get("weight", 1))
            if not 1 <= weight <= _MAX_WEIGHT:
                raise EncodeError(f"next hop weight {weight} outside 1..{_MAX_WEIGHT}")
            at = b.put_struct(rtnexthop, 0, RTNH_F.ONLINK if nh.get("onlink") else 0,
                              weight - 1, int(nh.get("oif", 0)))
            if nh.get("gateway"):
                b.attr(RTA.GATEWAY, _addr(str(nh["gateway"]))[1])
            rtnexthop.pack_into(b.buf, at, b.tail - at,
                                RTNH_F.ONLINK if nh.get("onlink") else 0, weight - 1,
                                int(nh.get("oif", 0)))
        b.nest_end(mp)
    return _done(b)


def route_get(
    dst: str, *, src: str | None = None, oif: int | None = None, iif: int | None = None,
    table: int | None = None, mark: int | None = None, fib_match: bool = False,
) -> bytearray:
    """``RTM_GETROUTE`` for one destination (``ip route get DST``).

    As ``ip route get`` sends it: a source address is a host (``rtm_src_len`` 32 or
    128), and an IPv4 lookup asks the kernel to name the table the route came from
    (``RTM_F_LOOKUP_TABLE``).
    """
    fam, draw, dlen = parse_prefix(dst if "/" in dst else dst)
    if not draw:
        raise EncodeError("route get needs an address")
    host = 32 if fam == AF_INET else 128
    flags = (RTM_F.FIB_MATCH if fib_match else 0) | (RTM_F.LOOKUP_TABLE if fam == AF_INET else 0)
    b = _b()
    b.begin(RTM.GETROUTE, NLM_F.REQUEST)
    b.put_struct(rtmsg, fam, host, host if src is not None else 0, 0, 0, 0, 0, 0, flags)
    b.attr(RTA.DST, draw)
    if src is not None:
        b.attr(RTA.SRC, _addr(src)[1])
    if oif is not None:
        b.attr_u32(RTA.OIF, oif)
    if iif is not None:
        b.attr_u32(RTA.IIF, iif)
    if table is not None:
        b.attr_u32(RTA.TABLE, table)
    if mark is not None:
        b.attr_u32(RTA.MARK, mark)
    return _done(b)


# -- neighbours --------------------------------------------------------------------------
def neigh_request(
    type_: int, ifindex: int, dst: str, *, flags: int = 0, lladdr: str | None = None,
    state: int = NUD.PERMANENT, ntf: int = 0,
) -> bytearray:
    """``RTM_NEWNEIGH`` / ``RTM_DELNEIGH`` (``ip neigh add|del|replace``)."""
    fam, raw = _addr(dst)
    b = _b()
    b.begin(type_, NLM_F.REQUEST | NLM_F.ACK | flags)
    b.put_struct(ndmsg, fam, ifindex, state, ntf, 0)
    b.attr(NDA.DST, raw)
    if lladdr is not None:
        b.attr(NDA.LLADDR, _lladdr(lladdr))
    return _done(b)


# -- rules -------------------------------------------------------------------------------
def rule_request(
    type_: int, *, flags: int = 0, family: int = AF_INET, priority: int | None = None,
    src: str | None = None, dst: str | None = None, table: int | None = None,
    iif: str | None = None, oif: str | None = None, fwmark: int | None = None,
    fwmask: int | None = None, action: int | None = None, tos: int = 0,
    invert: bool = False, goto: int | None = None, protocol: int | None = None,
) -> bytearray:
    """``RTM_NEWRULE`` / ``RTM_DELRULE`` (``ip rule add|del ...``).

    ``action`` defaults to ``FR_ACT_TO_TBL`` on add (table ``main`` when none is
    given) and to ``FR_ACT_UNSPEC`` (any) on delete, as iproute2 does.
    """
    is_add = type_ == RTM.NEWRULE
    if action is None:
        action = FR_ACT.TO_TBL if is_add else FR_ACT.UNSPEC
    if goto is not None:
        action = FR_ACT.GOTO
    if table is None and is_add and action == FR_ACT.TO_TBL:
        table = RT_TABLE.MAIN
    sfam = dfam = family
    sraw = draw = b""
    slen = dlen = 0
    if src is not None:
        sfam, sraw, slen = parse_prefix(src, family)
    if dst is not None:
        dfam, draw, dlen = parse_prefix(dst, family)
    t8, t32 = _table_fields(table or 0)
    b = _b()
    b.begin(type_, NLM_F.REQUEST | NLM_F.ACK | flags)
    b.put_struct(fib_rule_hdr, family, dlen, slen, tos, t8, 0, 0, action,
                 FIB_RULE.INVERT if invert else 0)
    if priority is not None:
        b.attr_u32(FRA.PRIORITY, priority)
    if sraw:
        b.attr(FRA.SRC, sraw)
    if draw:
        b.attr(FRA.DST, draw)
    if t32 is not None:
        b.attr_u32(FRA.TABLE, t32)
    if iif is not None:
        b.attr_str(FRA.IIFNAME, iif)
    if oif is not None:
        b.attr_str(FRA.OIFNAME, oif)
    if fwmark is not None:
        b.attr_u32(FRA.FWMARK, fwmark)
    if fwmask is not None:
        b.attr_u32(FRA.FWMASK, fwmask)
    if goto is not None:
        b.attr_u32(FRA.GOTO, goto)
    if protocol is not None:
        b.attr_u8(FRA.PROTOCOL, protocol)
    del sfam, dfam
    return _done(b)


def addr_flags(*names: str) -> int:
    """``IFA_F_*`` bits from iproute2 flag names (``"nodad"``, ``"noprefixroute"`` ...)."""
    table = {"nodad": IFA_F.NODAD, "optimistic": IFA_F.OPTIMISTIC, "home": IFA_F.HOMEADDRESS,
             "mngtmpaddr": IFA_F.MANAGETEMPADDR, "noprefixroute": IFA_F.NOPREFIXROUTE,
             "autojoin": IFA_F.MCAUTOJOIN}
    out = 0
    for n in names:
        try:
            out |= table[n]
        except KeyError:
            raise EncodeError(f"unknown address flag {n!r}") from None
    return out
