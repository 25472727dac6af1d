"""Routes: the lazy :class:`Route` view of ``RTM_NEWROUTE`` / ``RTM_DELROUTE``, and
:class:`NextHop`, one entry of a multipath route.

::

    +----------+-----------------------------------------------------+-----------------
    | nlmsghdr | struct rtmsg (12 bytes)                             | RTA_TABLE RTA_DST
    |          | family dst_len src_len tos table protocol scope type| RTA_OIF ...
    |          | u8 x 8                                 | flags u32  |
    +----------+-----------------------------------------------------+-----------------
               ^ +16                    +20   +21      +22   +23  +24

    RTA_MULTIPATH payload: struct rtnexthop (8 bytes) + its RTA_* attributes, repeated
    +---------+-------+------+---------+--------------------+---------+-----
    | rtnh_len| flags | hops | ifindex | RTA_GATEWAY ...    | padding | next rtnexthop
    | u16     | u8    | u8   | s32     |                    |         |
    +---------+-------+------+---------+--------------------+---------+-----
"""

from __future__ import annotations

from collections.abc import Mapping

from ...codec import iter_attrs
from ...codec.align import NLMSG_HDRLEN
from ...codec.structs import u16, u32
from ...codec.types import TYPE_CHECKING
from ...errors import DecodeError
from . import names as _n
from .base import RouteLikeHeader
from .constants import (
    AF_INET,
    AF_INET6,
    AF_MPLS,
    ICMPV6_ROUTER_PREF,
    RT_SCOPE,
    RT_TABLE,
    RTA,
    RTAX,
    RTAX_FEATURE,
    RTM,
    RTM_F,
    RTN,
    RTPROT,
    USER_HZ,
)
from .jsonfmt import dev_name, flow_json, host_prefix_len
from .structs import rta_cacheinfo, rtmsg, rtnexthop

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Route", "NextHop", "cache_flag_names"]

_unpack_u16 = u16.unpack_from
_unpack_u32 = u32.unpack_from

# struct rtmsg fields, as offsets from the start of the message
_RTM_TABLE = NLMSG_HDRLEN + 4
_RTM_PROTOCOL = NLMSG_HDRLEN + 5
_RTM_SCOPE = NLMSG_HDRLEN + 6
_RTM_TYPE = NLMSG_HDRLEN + 7
_RTM_FLAGS = NLMSG_HDRLEN + 8

#: ``struct rtvia`` (rtnetlink.h): ``__kernel_sa_family_t rtvia_family`` then the address
_RTVIA_FAMILY_SIZE = u16.size

_RTM_F_CLONED = int(RTM_F.CLONED)
_ECN = int(RTAX_FEATURE.ECN)
#: an ``RTAX_HOPLIMIT`` of -1 (as u32) means "not set" and is not printed
# iproute2 prints the kernel's fixed-point RTT values in milliseconds: rtt is kept
# << 3 and rttvar << 2 (net/ipv4/tcp_metrics.c)
_RTT_SHIFT = 3
_RTTVAR_SHIFT = 2

#: ``RTA_PREF`` as ``ip -j`` prints it (an invalid value prints as its number)
_PREF_NAMES = {int(p): p.name.lower() for p in ICMPV6_ROUTER_PREF
               if p != ICMPV6_ROUTER_PREF.INVALID}


#: ``RTCF_*`` (linux/in_route.h) in ``print_cache_flags`` order, with ip's words
_RTCF = ((0x80000000, "local"), (0x40000000, "reject"), (0x20000000, "mc"),
         (0x10000000, "brd"), (0x08000000, "dst-nat"), (0x00800000, "src-nat"),
         (0x00400000, "masq"), (0x00020000, "dst-direct"), (0x04000000, "src-direct"),
         (0x00040000, "redirected"), (0x01000000, "redirect"), (0x00200000, "fastroute"),
         (0x00010000, "notify"), (0x00080000, "proxy"))

def cache_flag_names(flags: int) -> tuple[list[str], int]:
    """``print_cache_flags``: the ``RTCF_*`` words of ``rtm_flags`` and the unnamed rest."""
    flags &= ~0xFFFF
    out: list[str] = []
    for bit, name in _RTCF:
        if flags & bit:
            flags &= ~bit
            out.append(name)
    return out, flags



def _via(payload: bytes, offset: int) -> tuple[int, str]:
    """``struct rtvia`` payload as (family, address text)."""
    if len(payload) < _RTVIA_FAMILY_SIZE:
        raise DecodeError(f"RTA_VIA of {len(payload)} bytes", offset)
    return int(_unpack_u16(payload, 0)[0]), _n.ntop(payload[_RTVIA_FAMILY_SIZE:])


class NextHop:
    """One next hop of a multipath route (``struct rtnexthop`` + its ``RTA_*``).

    Attributes:
        flags: ``rtnh_flags`` (``RTNH_F_*``).
        hops: ``rtnh_hops`` (weight - 1).
        ifindex: ``rtnh_ifindex``.
        gateway: ``RTA_GATEWAY`` text or ``None``.
        via: ``RTA_VIA`` as (family, address text) or ``None``.
        newdst: ``RTA_NEWDST`` text or ``None``.
        flow: ``RTA_FLOW`` realms or ``None``.
    """

    __slots__ = ("flags", "hops", "ifindex", "gateway", "via", "newdst", "flow")

    def __init__(self, flags: int, hops: int, ifindex: int) -> None:
        self.flags = flags
        self.hops = hops
        self.ifindex = ifindex
        self.gateway: str | None = None
        self.via: tuple[int, str] | None = None
        self.newdst: str | None = None
        self.flow: int | None = None

    @property
    def weight(self) -> int:
        """``rtnh_hops + 1`` (what ``ip route ... weight N`` sets)."""
        return self.hops + 1

    def to_dict(self, names: Mapping[int, str] | None = None,
                family: int = AF_INET) -> dict[str, Any]:
        """One entry of ``nexthops`` in ``ip -j route``."""
        d: dict[str, Any] = {}
        if self.newdst is not None:
            d["to"] = self.newdst
        if self.gateway is not None:
            d["gateway"] = self.gateway
        if self.via is not None:
            d["via"] = {"family": _n.family_name(self.via[0]), "host": self.via[1]}
        if self.flow is not None:
            d["flow"] = flow_json(self.flow)
        d["dev"] = dev_name(names, self.ifindex)
        if family != AF_MPLS:
            d["weight"] = self.weight
        d["flags"] = _n.route_flag_names(self.flags)
        return d

    def __repr__(self) -> str:
        return (f"<NextHop gateway={self.gateway} ifindex={self.ifindex} "
                f"weight={self.weight} flags={self.flags:#x}>")


class Route(RouteLikeHeader):
    """A route (``RTM_NEWROUTE``: ``struct rtmsg`` + ``RTA_*``)."""

    __slots__ = ()
    HDR = rtmsg
    ATTR = RTA
    PREFIX = "RTA_"
    TYPES = (RTM.NEWROUTE, RTM.DELROUTE)

    # -- header fields -------------------------------------------------------------
    @property
    def rtm_table(self) -> int:
        """``rtm_table`` (8 bits; see :attr:`table`)."""
        return int(self._buf[self._off + _RTM_TABLE])

    @property
    def protocol(self) -> int:
        """``rtm_protocol`` (``RTPROT_*``)."""
        return int(self._buf[self._off + _RTM_PROTOCOL])

    @property
    def scope(self) -> int:
        """``rtm_scope`` (``RT_SCOPE_*``)."""
        return int(self._buf[self._off + _RTM_SCOPE])

    @property
    def type(self) -> int:
        """``rtm_type`` (``RTN_*``)."""
        return int(self._buf[self._off + _RTM_TYPE])

    @property
    def flags(self) -> int:
        """``rtm_flags`` (``RTM_F_*`` | ``RTNH_F_*``)."""
        return int(_unpack_u32(self._buf, self._off + _RTM_FLAGS)[0])

    @property
    def table(self) -> int:
        """Routing table id: ``RTA_TABLE`` when present, else ``rtm_table``."""
        t = self._get_u32(RTA.TABLE)
        return int(self._buf[self._off + _RTM_TABLE]) if t is None else t

    # -- attributes ----------------------------------------------------------------
    @property
    def dst(self) -> str | None:
        """``RTA_DST`` address text (``None`` for a default route)."""
        return self._get_ip(RTA.DST)

    @property
    def src(self) -> str | None:
        """``RTA_SRC`` address text (source-specific routes)."""
        return self._get_ip(RTA.SRC)

    @property
    def dst_prefix(self) -> str:
        """``"10.0.0.0/24"``, ``"10.0.0.1/32"`` or ``"default"`` (always with a length)."""
        d = self.dst
        if d is None:
            return "default" if self.dst_len == 0 else f"0/{self.dst_len}"
        return f"{d}/{self.dst_len}"

    @property
    def gateway(self) -> str | None:
        """``RTA_GATEWAY``."""
        return self._get_ip(RTA.GATEWAY)

    @property
    def prefsrc(self) -> str | None:
        """``RTA_PREFSRC``."""
        return self._get_ip(RTA.PREFSRC)

    @property
    def newdst(self) -> str | None:
        """``RTA_NEWDST`` (MPLS label stack or address) as text."""
        raw = self._get_bytes(RTA.NEWDST)
        return None if raw is None else _n.ntop(raw)

    @property
    def oif(self) -> int | None:
        """``RTA_OIF`` ifindex."""
        return self._get_u32(RTA.OIF)

    @property
    def iif(self) -> int | None:
        """``RTA_IIF`` ifindex."""
        return self._get_u32(RTA.IIF)

    @property
    def priority(self) -> int | None:
        """``RTA_PRIORITY`` (what iproute2 calls ``metric``)."""
        return self._get_u32(RTA.PRIORITY)

    metric = priority

    @property
    def mark(self) -> int | None:
        """``RTA_MARK``."""
        return self._get_u32(RTA.MARK)

    @property
    def uid(self) -> int | None:
        """``RTA_UID``."""
        return self._get_u32(RTA.UID)

    @property
    def nh_id(self) -> int | None:
        """``RTA_NH_ID`` (nexthop object id)."""
        return self._get_u32(RTA.NH_ID)

    @property
    def flow(self) -> int | None:
        """``RTA_FLOW`` (realms: ``from << 16 | to``)."""
        return self._get_u32(RTA.FLOW)

    @property
    def pref(self) -> int | None:
        """``RTA_PREF`` (IPv6 router preference, ``ICMPV6_ROUTER_PREF_*``)."""
        return self._get_u8(RTA.PREF)

    @property
    def ttl_propagate(self) -> int | None:
        """``RTA_TTL_PROPAGATE`` (MPLS: 1 on, 0 off)."""
        return self._get_u8(RTA.TTL_PROPAGATE)

    @property
    def encap_type(self) -> int | None:
        """``RTA_ENCAP_TYPE`` (``LWTUNNEL_ENCAP_*``); the encap itself via ``raw``."""
        return self._get_u16(RTA.ENCAP_TYPE)

    @property
    def via(self) -> tuple[int, str] | None:
        """``RTA_VIA`` as (family, address text)."""
        f = self._find(RTA.VIA)
        if f is None:
            return None
        start = f[0] + 4
        return _via(bytes(self._buf[start:start + f[1]]), f[0])

    @property
    def cacheinfo(self) -> tuple[int, ...] | None:
        """``RTA_CACHEINFO`` (clntref, lastuse, expires, error, used, id, ts, tsage)."""
        return self._get_struct(RTA.CACHEINFO, rta_cacheinfo, extensible=True)

    @property
    def expires(self) -> int | None:
        """Seconds until the route expires (from ``RTA_CACHEINFO``), ``None`` if it does not."""
        ci = self.cacheinfo
        if ci is None or ci[2] == 0:
            return None
        return int(ci[2] / USER_HZ)

    @property
    def metrics(self) -> dict[str, int | str]:
        """``RTA_METRICS`` as ``{"mtu": 1400, "advmss": 1300, "lock": mask, ...}``."""
        a = self.raw(RTA.METRICS)
        out: dict[str, int | str] = {}
        if a is None:
            return out
        for m in a.nested():
            if m.type == RTAX.CC_ALGO:
                out["congctl"] = m.text()
            elif m.type == RTAX.LOCK:
                out["lock"] = m.u32()
            else:
                out[_n.METRIC_TEXT.get(m.type, f"metric_{m.type}")] = m.u32()
        return out

    @property
    def multipath(self) -> list[NextHop]:
        """``RTA_MULTIPATH`` next hops (empty for a single-path route)."""
        f = self._find(RTA.MULTIPATH)
        if f is None:
            return []
        buf = self._buf
        pos = f[0] + 4
        end = pos + f[1]
        out: list[NextHop] = []
        while end - pos >= rtnexthop.size:
            ln, fl, hops, ifindex = rtnexthop.unpack_from(buf, pos)
            if ln < rtnexthop.size or ln > end - pos:
                raise DecodeError(f"rtnh_len {ln} ({end - pos} bytes left)", pos)
            nh = NextHop(fl, hops, ifindex)
            for a in iter_attrs(buf, pos + rtnexthop.size, pos + ln):
                t = a.type
                if t == RTA.GATEWAY:
                    nh.gateway = a.ip()
                elif t == RTA.VIA:
                    nh.via = _via(a.bytes(), a.offset)
                elif t == RTA.NEWDST:
                    nh.newdst = _n.ntop(a.bytes())
                elif t == RTA.FLOW:
                    nh.flow = a.u32()
            out.append(nh)
            pos += (ln + 3) & ~3
        return out

    def key(self) -> tuple[int, int, str, int, int, int]:
        """Identity of the route in the FIB: (family, table, dst/len, tos, priority, type)."""
        return (self.family, self.table, self.dst_prefix, self.tos, self.priority or 0,
                self.type)

    def to_dict(self, names: Mapping[int, str] | None = None) -> dict[str, Any]:
        """``ip -j route show table all`` entry (keys, formats and omitted defaults)."""
        fam, dst_len, src_len, tos, _rtm_table, proto, scope, rtype, flags = self._hdr()
        at = self._index()
        host_len = host_prefix_len(fam)
        d: dict[str, Any] = {}
        if self.deleted:
            d["deleted"] = True
        if rtype != RTN.UNICAST:
            d["type"] = _n.rtntype_name(rtype)
        if RTA.DST in at:
            dst = self._addr_text(RTA.DST)
            d["dst"] = dst if dst_len == host_len else f"{dst}/{dst_len}"
        elif dst_len:
            d["dst"] = f"0/{dst_len} "
        else:
            d["dst"] = "default"
        if RTA.SRC in at:
            src = self._addr_text(RTA.SRC)
            d["from"] = src if src_len == host_len else f"{src}/{src_len}"
        elif src_len:
            d["src"] = f"0/{src_len}"
        if RTA.NH_ID in at:
            d["nhid"] = self.nh_id
        if RTA.NEWDST in at:
            d["to"] = self.newdst
        if RTA.ENCAP in at:
            d["encap"] = self.encap_type
        if tos:
            d["tos"] = _n.dsfield_name(tos)
        if RTA.GATEWAY in at:
            d["gateway"] = self.gateway
        if RTA.VIA in at:
            via = self.via
            assert via is not None
            d["via"] = {"family": _n.family_name(via[0]), "host": via[1]}
        if RTA.OIF in at:
            d["dev"] = dev_name(names, self.oif or 0)
        table = self.table
        if table and table != RT_TABLE.MAIN:
            d["table"] = _n.rttable_name(table)
        if not flags & _RTM_F_CLONED:
            if proto != RTPROT.BOOT:
                d["protocol"] = _n.rtprot_name(proto)
            if scope != RT_SCOPE.UNIVERSE:
                d["scope"] = _n.rtscope_name(scope)
        if RTA.PREFSRC in at:
            d["prefsrc"] = self.prefsrc
        if RTA.PRIORITY in at:
            d["metric"] = self.priority
        d["flags"] = _n.route_flag_names(flags)
        mark = self.mark
        if mark:
            d["mark"] = mark
        if RTA.FLOW in at:
            d["flow"] = flow_json(self.flow or 0)
        if RTA.UID in at:
            d["uid"] = self.uid
        if fam == AF_INET and flags & _RTM_F_CLONED:
            d["cache"] = cache_flag_names(flags)[0]
        if fam in (AF_INET, AF_INET6) and RTA.CACHEINFO in at:
            ci = self.cacheinfo
            assert ci is not None
            _clntref, _lastuse, expires, error, _used, ipid, ts, tsage = ci[:8]
            if expires:
                d["expires"] = int(expires / USER_HZ)
            if error:
                d["error"] = error
            if ipid:
                d["ipid"] = f"0x{ipid:04x}"
            if ts or tsage:
                d["ts"] = f"0x{ts:x}"
                d["tsage"] = tsage
        if RTA.METRICS in at:
            d["metrics"] = [self._metrics_json()]
        if RTA.IIF in at:
            d["iif"] = dev_name(names, self.iif or 0)
        if RTA.PREF in at:
            pref = self.pref or 0
            d["pref"] = _PREF_NAMES.get(pref, pref)
        if RTA.TTL_PROPAGATE in at:
            d["ttl-propogate"] = bool(self.ttl_propagate)
        if RTA.MULTIPATH in at:
            d["nexthops"] = [nh.to_dict(names, fam) for nh in self.multipath]
        return d

    def _addr_text(self, t: int) -> str:
        """An address attribute as ``ip`` prints it (any length, see ``names.ntop``)."""
        raw = self._get_bytes(t)
        assert raw is not None
        return _n.ntop(raw)

    def _metrics_json(self) -> dict[str, Any]:
        """The ``metrics`` object of ``ip -j route`` (``print_rta_metrics``)."""
        tab = self._get_nested(RTA.METRICS) or {}
        lock_attr = tab.get(RTAX.LOCK)
        lock = lock_attr.u32() if lock_attr is not None else 0
        out: dict[str, Any] = {}
        for i in range(RTAX.MTU, RTAX.FASTOPEN_NO_COOKIE + 1):
            m = tab.get(i)
            if m is None and not lock & (1 << i):
                continue
            val = 0
            if m is not None and i != RTAX.CC_ALGO:
                val = m.u32()
            if i == RTAX.HOPLIMIT and val == _n.HOPLIMIT_UNSET:
                continue
            if i == RTAX.FEATURES:
                if val & _ECN:
                    out["ecn"] = None
                if val & ~_ECN:
                    out["features"] = f"{val:#x}"
            elif i == RTAX.RTT:
                out["rtt"] = val >> _RTT_SHIFT
            elif i == RTAX.RTTVAR:
                out["rttvar"] = val >> _RTTVAR_SHIFT
            elif i == RTAX.CC_ALGO:
                out["congestion"] = m.text() if m is not None else ""
            else:
                out[_n.METRIC_TEXT[RTAX(i)]] = val
        return out
