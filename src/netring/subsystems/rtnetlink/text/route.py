"""``ip route show`` text for a :class:`~netring.subsystems.rtnetlink.Route` view,
and a streaming renderer for whole dump datagrams (pure).

:func:`route_line` follows ``print_route`` of iproute2 6.1 (``ip/iproute.c``) word
for word: every word is followed by one space (so lines end in a space, except
after ``pref``), a multipath route continues with ``"\\n\\tnexthop ..."`` lines, a
cloned route (``ip route get``) with ``"\\n    cache ..."``.  The words that a
filter fixes are left out, as ``ip`` does (``ip route show table 100`` prints no
``table``; ``dev X`` no ``dev``): pass their JSON keys in ``hide``.

:class:`RouteStream` renders the routes of one received datagram into bytes
without keeping a view per route.  Routes of the same *shape* (every byte of the
message except the destination address) render to the same text around the
destination, so each shape is rendered once by :func:`route_line` (or
``to_dict`` for JSON) with a marker for the destination and kept as a
``(before, after)`` pair; later routes of that shape cost a dictionary look-up
and the address text::

    message  | nlmsghdr | rtmsg | RTA_TABLE | RTA_DST hdr | 10.0.1.7 | RTA_OIF ... |
    key      |          |<------- head ---------------->|          |<-- tail --->|
    line     before + "10.0.1.7" + after
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Mapping

from ....codec.inet import ntop6
from ....codec.types import TYPE_CHECKING
from .. import names as _n
from ..constants import (
    AF_INET,
    AF_INET6,
    AF_MPLS,
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
from ..jsonfmt import dev_name, host_prefix_len, split_realms
from ..route import Route, cache_flag_names
from .context import TextContext

if TYPE_CHECKING:
    from typing import Any

__all__ = ["route_line", "route_json", "RouteStream", "cache_flag_names"]

# plain ints for the hot paths (an IntEnum member access runs Python code)
_RTN_UNICAST = int(RTN.UNICAST)
_RT_TABLE_MAIN = int(RT_TABLE.MAIN)
_RTPROT_BOOT = int(RTPROT.BOOT)
_SCOPE_UNIVERSE = int(RT_SCOPE.UNIVERSE)
_CLONED = int(RTM_F.CLONED)
_ECN = int(RTAX_FEATURE.ECN)
_RTA_DST = int(RTA.DST)
_RTA_TABLE = int(RTA.TABLE)
_NEWROUTE = int(RTM.NEWROUTE)
#: ``nla_type`` without ``NLA_F_NESTED`` / ``NLA_F_NET_BYTEORDER``
_NLA_TYPE_MASK = 0x3FFF

_MX_MIN = int(RTAX.MTU)
_MX_MAX = int(RTAX.FASTOPEN_NO_COOKIE)
_RTAX_LOCK = int(RTAX.LOCK)
_RTAX_RTT = int(RTAX.RTT)
_RTAX_RTTVAR = int(RTAX.RTTVAR)
_RTAX_RTO_MIN = int(RTAX.RTO_MIN)
_RTAX_FEATURES = int(RTAX.FEATURES)
_RTAX_HOPLIMIT = int(RTAX.HOPLIMIT)
_RTAX_CC_ALGO = int(RTAX.CC_ALGO)

_PREF_TEXT = {0: "medium", 1: "high", 3: "low"}


def _prefix_text(addr: str | None, plen: int, host_len: int) -> str | None:
    if addr is None:
        return None
    return addr if plen == host_len else f"{addr}/{plen}"


def _metrics_words(route: Route) -> list[str]:
    """``print_rta_metrics`` (text): names, ``lock``, units."""
    tab = route._get_nested(RTA.METRICS) or {}
    lock_attr = tab.get(_RTAX_LOCK)
    lock = lock_attr.u32() if lock_attr is not None else 0
    w: list[str] = []
    for i in range(_MX_MIN, _MX_MAX + 1):
        m = tab.get(i)
        if m is None and not lock & (1 << i):
            continue
        val = m.u32() if m is not None and i != _RTAX_CC_ALGO else 0
        if i == _RTAX_HOPLIMIT and val == _n.HOPLIMIT_UNSET:
            continue
        w.append(_n.METRIC_TEXT[i])
        if lock & (1 << i):
            w.append("lock")
        if i == _RTAX_FEATURES:
            if val & _ECN:
                w.append("ecn")
            if val & ~_ECN:
                w.append(f"{val:#x}")
        elif i in (_RTAX_RTT, _RTAX_RTTVAR, _RTAX_RTO_MIN):
            if i == _RTAX_RTT:
                val //= 8
            elif i == _RTAX_RTTVAR:
                val //= 4
            w.append(f"{val / 1e3:g}s" if val >= 1000 else f"{val}ms")
        elif i == _RTAX_CC_ALGO:
            w.append(m.text() if m is not None else "")
        else:
            w.append(str(val))
    return w


def _realms(value: int) -> str:
    frm, to = split_realms(value)
    if frm:
        return f"realms {_n.realm_name(frm)}/{_n.realm_name(to)} "
    return f"realm {_n.realm_name(to)} "


def route_line(route: Route, ctx: TextContext, hide: Collection[str] = (),
               dst: str | None = None) -> str:
    """The text ``ip route show`` prints for ``route`` (without the final newline).

    Args:
        hide: JSON keys whose words a filter fixes and ``ip`` leaves out
            (``"table"``, ``"dev"``, ``"protocol"``, ``"scope"``, ``"tos"``, ``"metric"``).
        dst: print this instead of the destination address (before ``/len``).
    """
    names = ctx.names
    fam, dst_len, src_len, tos, _t8, proto, scope, rtype, flags = route._hdr()
    at = route._index()
    host_len = host_prefix_len(fam)
    w: list[str] = []
    ap = w.append
    if route.deleted:
        ap("Deleted ")
    if rtype != _RTN_UNICAST:
        ap(_n.rtntype_name(rtype) + " ")
    if RTA.DST in at:
        addr = route._addr_text(RTA.DST) if dst is None else dst
        ap((addr if dst_len == host_len else f"{addr}/{dst_len}") + " ")
    elif dst_len:
        ap(f"0/{dst_len}  ")
    else:
        ap("default ")
    if RTA.SRC in at:
        ap(f"from {_prefix_text(route._addr_text(RTA.SRC), src_len, host_len)} ")
    elif src_len:
        ap(f"from 0/{src_len} ")
    if RTA.NH_ID in at:
        ap(f"nhid {route.nh_id} ")
    if RTA.NEWDST in at:
        ap(f"as to {route.newdst} ")
    if tos and "tos" not in hide:
        ap(f"tos {_n.dsfield_name(tos)} ")
    if RTA.GATEWAY in at:
        ap(f"via {route._addr_text(RTA.GATEWAY)} ")
    if RTA.VIA in at:
        via = route.via
        assert via is not None
        ap(f"via {_n.family_name(via[0])} {via[1]} ")
    if RTA.OIF in at and "dev" not in hide:
        ap(f"dev {dev_name(names, route.oif or 0)} ")
    table = route.table
    if table and table != _RT_TABLE_MAIN and "table" not in hide:
        ap(f"table {_n.rttable_name(table)} ")
    if not flags & _CLONED:
        if proto != _RTPROT_BOOT and "protocol" not in hide:
            ap(f"proto {_n.rtprot_name(proto)} ")
        if scope != _SCOPE_UNIVERSE and "scope" not in hide:
            ap(f"scope {_n.rtscope_name(scope)} ")
    if RTA.PREFSRC in at:
        ap(f"src {route._addr_text(RTA.PREFSRC)} ")
    if RTA.PRIORITY in at and "metric" not in hide:
        ap(f"metric {route.priority} ")
    for name in _n.route_flag_names(flags):
        ap(name + " ")
    mark = route.mark
    if mark:
        ap(f"mark {mark:#x} " if mark >= 16 else f"mark {mark} ")
    if RTA.FLOW in at:
        ap(_realms(route.flow or 0))
    if RTA.UID in at:
        ap(f"uid {route.uid} ")
    if fam in (AF_INET, AF_INET6):
        if fam == AF_INET and flags & _CLONED:
            ap("\n    cache ")
            words, rest = cache_flag_names(flags)
            if words or rest:
                text = ",".join(words)
                if rest:
                    ap("<" + text + ("," if text else "") + f"{rest:x}>")
                else:
                    ap(f"<{text}> ")
        ci = route.cacheinfo
        if ci is not None:
            _clntref, _lastuse, expires, error, _used, ipid, ts, tsage = ci[:8]
            if expires:
                ap(f"expires {int(_c_int(expires) / USER_HZ)}sec ")
            if error:
                ap(f"error {error} ")
            if ipid:
                ap(f"ipid 0x{ipid:04x} ")
            if ts or tsage:
                ap(f"ts 0x{ts:x}tsage {tsage}sec ")
    if RTA.METRICS in at:
        ap("".join(x + " " for x in _metrics_words(route)))
    if RTA.IIF in at and "iif" not in hide:
        ap(f"iif {dev_name(names, route.iif or 0)} ")
    if RTA.PREF in at:
        pref = route.pref or 0
        ap(f"pref {_PREF_TEXT[pref]}" if pref in _PREF_TEXT else str(pref))
    if RTA.TTL_PROPAGATE in at:
        ap("ttl-propogate " + ("enabled" if route.ttl_propagate else "disabled"))
    if RTA.MULTIPATH in at:
        cloned_mc = bool(flags & _CLONED) and rtype == int(RTN.MULTICAST)
        first = True
        for nh in route.multipath:
            if cloned_mc:
                ap("Oifs: " if first else " ")
                first = False
            else:
                ap("\n\tnexthop ")
            if nh.newdst is not None:
                ap(f"as to {nh.newdst} ")
            if nh.gateway is not None:
                ap(f"via {nh.gateway} ")
            if nh.via is not None:
                ap(f"via {_n.family_name(nh.via[0])} {nh.via[1]} ")
            if nh.flow is not None:
                ap(_realms(nh.flow))
            if cloned_mc:
                ap(dev_name(names, nh.ifindex))
                if nh.hops != 1:
                    ap(f"(ttl>{nh.hops})")
                ap(" ")
            else:
                ap(f"dev {dev_name(names, nh.ifindex)} ")
                if fam != AF_MPLS:
                    ap(f"weight {nh.weight} ")
            for name in _n.route_flag_names(nh.flags):
                ap(name + " ")
    return "".join(w)


def _c_int(v: int) -> int:
    """A u32 read as C's ``int`` (``rta_expires`` is signed in ``struct rta_cacheinfo``)."""
    return v - (1 << 32) if v >= 1 << 31 else v


def route_json(route: Route, names: Mapping[int, str] | None,
               hide: Collection[str] = ()) -> dict[str, Any]:
    """``ip -j route show`` entry for ``route``, without the keys a filter fixes."""
    d = route.to_dict(names)
    for k in hide:
        d.pop(k, None)
    return d


_MARK = "\x00"
_MISSING: Any = object()
#: shortest run worth the bulk path
_RUN_MIN = 8
_SHAPE_LIMIT = 4096
#: "a.b.c." for the first three bytes of an IPv4 address, as a u32 in host order
#: (little-endian hosts: the low 24 bits); the last byte's text from this table
_BYTE = tuple(str(i).encode() for i in range(256))


class RouteStream:
    """Renders the routes of dump datagrams straight to bytes, shape by shape.

    Args:
        ctx: names and options (``ctx.names`` for ``dev``).
        json: one ``ip -j`` object per line instead of text.
        hide: keys a filter fixes (see :func:`route_line`).
        keep: called with a view of each new shape; ``False`` drops routes of
            that shape (the filters that depend on the header and attributes
            other than the destination).
        select: called with each route's view when given (filters on the
            destination: ``root``/``match``/``exact``); routes then take the slow path.
        dumps: the JSON encoder (``json.dumps``) when ``json``.

    Attributes:
        count: routes rendered.
        shapes: shapes rendered through the slow path.
    """

    __slots__ = ("ctx", "json", "hide", "keep", "select", "dumps", "count", "shapes",
                 "_cache", "_c3", "_little", "_formats")

    def __init__(self, ctx: TextContext, *, json: bool = False, hide: Collection[str] = (),
                 keep: Callable[[Route], bool] | None = None,
                 select: Callable[[Route], bool] | None = None,
                 dumps: Callable[[Any], str] | None = None) -> None:
        if json and dumps is None:
            raise ValueError("RouteStream(json=True) needs dumps")
        self.ctx = ctx
        self.json = json
        self.hide = frozenset(hide)
        self.keep = keep
        self.select = select
        self.dumps = dumps
        self.count = 0
        self.shapes = 0
        self._cache: dict[bytes, tuple[bytes, bytes] | None] = {}
        self._c3: dict[int, bytes] = {}
        self._formats: dict[bytes, bytes] = {}
        self._little = sys.byteorder == "little"

    def _shape(self, route: Route, has_dst: bool) -> tuple[bytes, bytes] | None:
        """Render one new shape with a marker for the destination: ``(before, after)``."""
        self.shapes += 1
        if self.keep is not None and not self.keep(route):
            return None
        if self.json:
            assert self.dumps is not None
            d = route_json(route, self.ctx.names, self.hide)
            if has_dst:
                dst = d["dst"]
                d["dst"] = _MARK + (dst[dst.index("/"):] if "/" in dst else "")
            text = self.dumps(d) + "\n"
            mark = "\\u0000"
        else:
            text = route_line(route, self.ctx, self.hide, _MARK if has_dst else None) + "\n"
            mark = _MARK
        if not has_dst:
            return text.encode(), b""
        before, _, after = text.partition(mark)
        return before.encode(), after.encode()

    def render(self, data: bytes, offsets: list[int]) -> bytes:
        """The lines of the routes at ``offsets`` (byte offsets of messages in ``data``)."""
        if not offsets:
            return b""
        if len(data) & 3:
            data = data + bytes(-len(data) & 3)
        m = memoryview(data).cast("I")
        try:
            if self.select is None and self._little:
                return self._runs(data, m, offsets)
            return self._render(data, m, offsets)
        finally:
            m.release()

    def _runs(self, data: bytes, m: memoryview, offsets: list[int]) -> bytes:
        """Whole runs of same-shape IPv4 routes in a few C calls, the rest one by one.

        A run is consecutive messages equal byte for byte to the first one except
        for its destination address: checked by zeroing the four address bytes of
        every message at once (strided slice assignment) and comparing the run
        with the first message repeated.  The run's lines are then one ``%``
        formatting of ``(before + "%d.%d.%d.%d" + after) * K`` with the address
        bytes gathered in order.
        """
        k = len(offsets)
        if k < _RUN_MIN:
            return self._render(data, m, offsets)
        o0 = offsets[0]
        stride = (m[o0 >> 2] + 3) & ~3
        end = o0 + k * stride
        if offsets[-1] != end - stride:
            return self._split(data, m, offsets)
        probe = self._probe(data, m, o0)
        if probe is None:
            return self._render(data, m, offsets)
        key, rel = probe
        entry = self._cache.get(key, _MISSING)
        if entry is _MISSING:
            return self._split(data, m, offsets)
        run = bytearray(data[o0:end])
        zeros = bytes(k)
        run[rel::stride] = zeros
        run[rel + 1::stride] = zeros
        run[rel + 2::stride] = zeros
        run[rel + 3::stride] = zeros
        if run != bytes(run[:stride]) * k:
            return self._split(data, m, offsets)
        if entry is None:
            return b""  # the whole run is filtered out
        fmt = self._formats.get(key)
        if fmt is None:
            fmt = self._formats[key] = (entry[0].replace(b"%", b"%%") + b"%d.%d.%d.%d"
                                        + entry[1].replace(b"%", b"%%"))
        dst = bytearray(4 * k)
        a = o0 + rel
        dst[0::4] = data[a:end:stride]
        dst[1::4] = data[a + 1:end:stride]
        dst[2::4] = data[a + 2:end:stride]
        dst[3::4] = data[a + 3:end:stride]
        self.count += k
        return (fmt * k) % tuple(dst)

    def _split(self, data: bytes, m: memoryview, offsets: list[int]) -> bytes:
        """Render one by one what is short; halve the rest and look for runs again."""
        if len(offsets) < 2 * _RUN_MIN:
            return self._render(data, m, offsets)
        half = len(offsets) // 2
        head = self._render(data, m, offsets[:1])  # fills the cache for the first shape
        return (head + self._runs(data, m, offsets[1:half])
                + self._runs(data, m, offsets[half:]))

    @staticmethod
    def _probe(data: bytes, m: memoryview, o: int) -> tuple[bytes, int] | None:
        """(shape key, destination offset in the message) of an IPv4 route, else None."""
        i = o >> 2
        ln = m[i]
        a = m[i + 7] if ln > 32 else 0
        rel = 28
        if a == (_RTA_TABLE << 16) | 8:
            a = m[i + 9] if ln > 40 else 0
            rel = 36
        if a != (_RTA_DST << 16) | 8:
            return None
        dpos = o + rel
        return data[o + 16:dpos] + data[dpos + 8:o + ln], rel + 4

    def _render(self, data: bytes, m: memoryview, offsets: list[int]) -> bytes:
        out: list[bytes] = []
        ap = out.append
        cache = self._cache
        c3 = self._c3
        byte = _BYTE
        select = self.select
        new = Route.__new__
        little = self._little
        dst_word = _RTA_DST << 16
        table_word = (_RTA_TABLE << 16) | 8
        for o in offsets:
            i = o >> 2
            ln = m[i]
            # the destination attribute: first after rtmsg (word 7), or after RTA_TABLE
            a = m[i + 7] if ln > 32 else 0
            if a == table_word:
                a = m[i + 9] if ln > 40 else 0
                dpos = o + 36
            else:
                dpos = o + 28
            if (a & (_NLA_TYPE_MASK << 16)) == dst_word and (a & 0xFFFF) in (8, 20):
                dlen = (a & 0xFFFF) - 4
                key = data[o + 16:dpos] + data[dpos + 4 + dlen:o + ln]
            else:
                dlen = -1
                # marked: a key with the destination cut out starts with rtm_family instead
                key = b"\xff" + data[o + 16:o + ln]
            try:
                entry = cache[key]
            except KeyError:
                r = new(Route)
                r._buf = data
                r._off = o
                if dlen < 0 and RTA.DST in r._index():
                    dlen = -2  # the destination elsewhere: render each route whole
                if dlen == -2:
                    entry = None
                    if self.keep is None or self.keep(r):
                        if select is None or select(r):
                            ap(self._whole(r))
                    continue
                entry = self._shape(r, dlen >= 0)
                if len(cache) >= _SHAPE_LIMIT:
                    cache.clear()
                    self._formats.clear()
                cache[key] = entry
            if entry is None:
                continue
            if select is not None:
                r = new(Route)
                r._buf = data
                r._off = o
                if not select(r):
                    continue
            if dlen == 4:
                w = m[(dpos + 4) >> 2]
                if little:
                    head = c3.get(w & 0xFFFFFF)
                    if head is None:
                        head = c3[w & 0xFFFFFF] = (
                            f"{w & 255}.{(w >> 8) & 255}.{(w >> 16) & 255}.".encode())
                    ap(entry[0] + head + byte[w >> 24] + entry[1])
                else:
                    ap(entry[0] + (f"{w >> 24}.{(w >> 16) & 255}.{(w >> 8) & 255}.{w & 255}"
                                   ).encode() + entry[1])
            elif dlen == 16:
                ap(entry[0] + ntop6(data[dpos + 4:dpos + 20]).encode() + entry[1])
            else:
                ap(entry[0] + entry[1])
        self.count += len(out)
        return b"".join(out)

    def _whole(self, r: Route) -> bytes:
        if self.json:
            assert self.dumps is not None
            return (self.dumps(route_json(r, self.ctx.names, self.hide)) + "\n").encode()
        return (route_line(r, self.ctx, self.hide) + "\n").encode()
