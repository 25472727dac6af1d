"""The kind-specific part of a link as iproute2 6.1 prints it (``ip -d link``), pure.

``IFLA_LINKINFO`` nests the kind's own attributes::

    IFLA_LINKINFO
      IFLA_INFO_KIND        "bridge"
      IFLA_INFO_DATA        { IFLA_BR_FORWARD_DELAY u32, IFLA_BR_HELLO_TIME u32, ... }
      IFLA_INFO_SLAVE_KIND  "bridge"            (the link is a port of a bridge)
      IFLA_INFO_SLAVE_DATA  { IFLA_BRPORT_STATE u8, IFLA_BRPORT_PRIORITY u16, ... }

iproute2 prints each kind with one ``print_opt`` function whose every call
writes the JSON member, the text words, or both (``PRINT_ANY`` / ``PRINT_JSON``
/ ``PRINT_FP``).  This module keeps that shape as data: a kind's data is a list
of :data:`Field` triples ``(json_key, json_value, text)``, where ``json_key``
``None`` means text only and ``text`` ``None`` means JSON only.  The text
renderer (:mod:`.text.link`) joins the texts, :meth:`Link.to_dict
<netring.subsystems.rtnetlink.link.Link.to_dict>` builds ``info_data`` from the
keys, so both come from the same reading of the attributes.

Covered: ``bridge`` (``iplink_bridge.c``), ``bridge_slave``
(``iplink_bridge_slave.c``), ``macvlan``/``macvtap`` (``iplink_macvlan.c``),
``vxlan`` (``iplink_vxlan.c``); ``veth`` has no ``print_opt`` in iproute2 (only
its kind is printed).  Other kinds print only their kind here.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping

from ...codec import Attr
from ...codec.structs import u32
from ...codec.types import TYPE_CHECKING
from . import names as _n
from .constants import (
    BR_BOOLOPT,
    BR_STATE,
    IFLA_BR,
    IFLA_BRPORT,
    IFLA_MACVLAN,
    IFLA_VXLAN,
    MACVLAN_FLAG,
    MACVLAN_MODE,
    VXLAN_DF,
)
from .jsonfmt import dev_name

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Field", "kind_fields", "slave_fields", "bridge_id_str", "fields_json",
           "fields_text"]

#: one ``print_*`` call of iproute2: (JSON key or None, JSON value, text or None)
Field = tuple[str | None, "Any", str | None]

_boolopt_multi = struct.Struct("=II")
assert _boolopt_multi.size == 2 * u32.size

#: ``jiffies`` of the bridge timers are centiseconds (``__jiffies_to_tv``: 10000 us each)
_TIMER_HZ = 100


def fields_json(fields: list[Field]) -> dict[str, Any]:
    """The JSON object of a field list (text-only fields left out)."""
    return {k: v for k, v, _t in fields if k is not None}


def fields_text(fields: list[Field]) -> str:
    """The text of a field list (JSON-only fields left out)."""
    return "".join(t for _k, _v, t in fields if t is not None)


def _ether_ntoa(b: bytes | memoryview) -> str:
    """glibc ``ether_ntoa_r``: hex octets without leading zeros."""
    return ":".join(f"{x:x}" for x in b)


def bridge_id_str(raw: bytes | memoryview) -> str:
    """``br_dump_bridge_id``: ``struct ifla_bridge_id`` (prio[2], addr[6]) as ``8000.a:b:..``."""
    return f"{raw[0]:02x}{raw[1]:02x}.{_ether_ntoa(raw[2:8])}"


def _timer(key: str, a: Attr) -> Field:
    """``_bridge_print_timer``: ``%4i.%.2i`` seconds (JSON: the same digits as a number)."""
    sec, cs = divmod(a.u64(), _TIMER_HZ)
    return (key, float(f"{sec}.{cs:02d}"), f"{key} {sec:4d}.{cs:02d} ")


def _uint(key: str, label: str, value: int) -> Field:
    return (key, value, f"{label} {value} ")


def _hex(key: str, label: str, value: int) -> Field:
    """``print_0xhex``: ``%#llx`` in text and, as a string, in JSON."""
    s = f"{value:#x}" if value else "0"
    return (key, s, f"{label} {s} ")


def _on_off(key: str, label: str, value: int) -> Field:
    return (key, bool(value), f"{label} {'on' if value else 'off'} ")


# -- bridge -----------------------------------------------------------------------------------
# (attribute, JSON key, text label, width) of bridge_print_opt's plain numbers, in order,
# split where the bridge id, timers and booleans come between them
_BR_HEAD = (
    (IFLA_BR.FORWARD_DELAY, "forward_delay", "forward_delay"),
    (IFLA_BR.HELLO_TIME, "hello_time", "hello_time"),
    (IFLA_BR.MAX_AGE, "max_age", "max_age"),
    (IFLA_BR.AGEING_TIME, "ageing_time", "ageing_time"),
    (IFLA_BR.STP_STATE, "stp_state", "stp_state"),
    (IFLA_BR.PRIORITY, "priority", "priority"),
    (IFLA_BR.VLAN_FILTERING, "vlan_filtering", "vlan_filtering"),
)
_BR_TOPOLOGY = (
    (IFLA_BR.ROOT_PORT, "root_port", "root_port"),
    (IFLA_BR.ROOT_PATH_COST, "root_path_cost", "root_path_cost"),
    (IFLA_BR.TOPOLOGY_CHANGE, "topology_change", "topology_change"),
    (IFLA_BR.TOPOLOGY_CHANGE_DETECTED, "topology_change_detected", "topology_change_detected"),
)
_BR_TIMERS = (
    (IFLA_BR.HELLO_TIMER, "hello_timer"), (IFLA_BR.TCN_TIMER, "tcn_timer"),
    (IFLA_BR.TOPOLOGY_CHANGE_TIMER, "topology_change_timer"), (IFLA_BR.GC_TIMER, "gc_timer"),
)
_BR_VLAN = (
    (IFLA_BR.VLAN_DEFAULT_PVID, "vlan_default_pvid", "vlan_default_pvid"),
    (IFLA_BR.VLAN_STATS_ENABLED, "vlan_stats_enabled", "vlan_stats_enabled"),
    (IFLA_BR.VLAN_STATS_PER_PORT, "vlan_stats_per_port", "vlan_stats_per_port"),
)
_BR_MCAST = (
    (IFLA_BR.MCAST_ROUTER, "mcast_router", "mcast_router"),
    (IFLA_BR.MCAST_QUERY_USE_IFADDR, "mcast_query_use_ifaddr", "mcast_query_use_ifaddr"),
    (IFLA_BR.MCAST_QUERIER, "mcast_querier", "mcast_querier"),
    (IFLA_BR.MCAST_HASH_ELASTICITY, "mcast_hash_elasticity", "mcast_hash_elasticity"),
    (IFLA_BR.MCAST_HASH_MAX, "mcast_hash_max", "mcast_hash_max"),
    (IFLA_BR.MCAST_LAST_MEMBER_CNT, "mcast_last_member_cnt", "mcast_last_member_count"),
    (IFLA_BR.MCAST_STARTUP_QUERY_CNT, "mcast_startup_query_cnt", "mcast_startup_query_count"),
    (IFLA_BR.MCAST_LAST_MEMBER_INTVL, "mcast_last_member_intvl", "mcast_last_member_interval"),
    (IFLA_BR.MCAST_MEMBERSHIP_INTVL, "mcast_membership_intvl", "mcast_membership_interval"),
    (IFLA_BR.MCAST_QUERIER_INTVL, "mcast_querier_intvl", "mcast_querier_interval"),
    (IFLA_BR.MCAST_QUERY_INTVL, "mcast_query_intvl", "mcast_query_interval"),
    (IFLA_BR.MCAST_QUERY_RESPONSE_INTVL, "mcast_query_response_intvl",
     "mcast_query_response_interval"),
    (IFLA_BR.MCAST_STARTUP_QUERY_INTVL, "mcast_startup_query_intvl",
     "mcast_startup_query_interval"),
    (IFLA_BR.MCAST_STATS_ENABLED, "mcast_stats_enabled", "mcast_stats_enabled"),
    (IFLA_BR.MCAST_IGMP_VERSION, "mcast_igmp_version", "mcast_igmp_version"),
    (IFLA_BR.MCAST_MLD_VERSION, "mcast_mld_version", "mcast_mld_version"),
    (IFLA_BR.NF_CALL_IPTABLES, "nf_call_iptables", "nf_call_iptables"),
    (IFLA_BR.NF_CALL_IP6TABLES, "nf_call_ip6tables", "nf_call_ip6tables"),
    (IFLA_BR.NF_CALL_ARPTABLES, "nf_call_arptables", "nf_call_arptables"),
)
# ll_proto_n2a for the two VLAN protocols a bridge accepts
_VLAN_PROTO = {0x8100: "802.1Q", 0x88A8: "802.1ad"}


def _plain(out: list[Field], tb: Mapping[int, Attr],
           table: tuple[tuple[int, str, str], ...]) -> None:
    for t, key, label in table:
        a = tb.get(t)
        if a is not None:
            out.append(_uint(key, label, a.uint()))


def _bridge(tb: Mapping[int, Attr], names: Mapping[int, str] | None) -> list[Field]:
    out: list[Field] = []
    _plain(out, tb, _BR_HEAD)
    a = tb.get(IFLA_BR.VLAN_PROTOCOL)
    if a is not None:
        p = int.from_bytes(a.payload[:2], "big")  # __be16 (nla_put_be16)
        name = _VLAN_PROTO.get(p, f"[{p}]")
        out.append(("vlan_protocol", name, f"vlan_protocol {name} "))
    bid = tb.get(IFLA_BR.BRIDGE_ID)
    if bid is not None:
        s = bridge_id_str(bid.payload)
        out.append(("bridge_id", s, f"bridge_id {s} "))
    if IFLA_BR.ROOT_ID in tb and bid is not None:
        # iproute2 6.1 formats IFLA_BR_BRIDGE_ID here, not IFLA_BR_ROOT_ID (sic)
        s = bridge_id_str(bid.payload)
        out.append(("root_id", s, f"designated_root {s} "))
    _plain(out, tb, _BR_TOPOLOGY)
    for t, key in _BR_TIMERS:
        a = tb.get(t)
        if a is not None:
            out.append(_timer(key, a))
    _plain(out, tb, _BR_VLAN)
    a = tb.get(IFLA_BR.GROUP_FWD_MASK)
    if a is not None:
        out.append(_hex("group_fwd_mask", "group_fwd_mask", a.u16()))
    a = tb.get(IFLA_BR.GROUP_ADDR)
    if a is not None:
        s = _n.lladdr_str(a.payload)
        out.append(("group_addr", s, f"group_address {s} "))
    a = tb.get(IFLA_BR.MCAST_SNOOPING)
    if a is not None:
        out.append(_uint("mcast_snooping", "mcast_snooping", a.u8()))
    a = tb.get(IFLA_BR.MULTI_BOOLOPT)
    if a is not None and a.payload_len >= 8:
        pl = a.payload
        # struct br_boolopt_multi { __u32 optval; __u32 optmask; } (uapi/linux/if_bridge.h)
        optval, optmask = _boolopt_multi.unpack_from(pl, 0)
        for bit, key in ((BR_BOOLOPT.NO_LL_LEARN, "no_linklocal_learn"),
                         (BR_BOOLOPT.MCAST_VLAN_SNOOPING, "mcast_vlan_snooping")):
            m = 1 << bit
            if optmask & m:
                out.append(_uint(key, key, int(bool(optval & m))))
    _plain(out, tb, _BR_MCAST)
    return out


# -- bridge port ------------------------------------------------------------------------------
_PORT_STATES = {int(s): s.name.lower() for s in BR_STATE}
# bridge_slave fwd_mask_tbl
_FWD_MASK_NAMES = {0: "stp", 2: "lacp", 14: "lldp"}
_PORT_FLAGS1 = (
    (IFLA_BRPORT.MODE, "hairpin"), (IFLA_BRPORT.GUARD, "guard"),
    (IFLA_BRPORT.PROTECT, "root_block"), (IFLA_BRPORT.FAST_LEAVE, "fastleave"),
    (IFLA_BRPORT.LEARNING, "learning"), (IFLA_BRPORT.UNICAST_FLOOD, "flood"),
)
_PORT_TIMERS = (
    (IFLA_BRPORT.HOLD_TIMER, "hold_timer"),
    (IFLA_BRPORT.MESSAGE_AGE_TIMER, "message_age_timer"),
    (IFLA_BRPORT.FORWARD_DELAY_TIMER, "forward_delay_timer"),
)
_PORT_FLAGS2 = (
    (IFLA_BRPORT.MCAST_FLOOD, "mcast_flood", "mcast_flood"),
    (IFLA_BRPORT.BCAST_FLOOD, "bcast_flood", "bcast_flood"),
    (IFLA_BRPORT.MCAST_TO_UCAST, "mcast_to_unicast", "mcast_to_unicast"),
    (IFLA_BRPORT.NEIGH_SUPPRESS, "neigh_suppress", "neigh_suppress"),
)
_PORT_FLAGS3 = (
    (IFLA_BRPORT.VLAN_TUNNEL, "vlan_tunnel"), (IFLA_BRPORT.ISOLATED, "isolated"),
    (IFLA_BRPORT.LOCKED, "locked"),
)


def _fwd_mask_str(mask: int) -> str:
    """``_bitmask2str``: the names of the set bits (``0x%x`` for unnamed ones), or ``0x0``."""
    parts = [(_FWD_MASK_NAMES.get(i) or f"0x{1 << i:x}") for i in range(16) if mask >> i & 1]
    return ",".join(parts) if parts else "0x0"


def _bridge_slave(tb: Mapping[int, Attr], names: Mapping[int, str] | None) -> list[Field]:
    out: list[Field] = []
    a = tb.get(IFLA_BRPORT.STATE)
    if a is not None:
        st = a.u8()
        name = _PORT_STATES.get(st)
        out.append(("state", name, f"state {name} ") if name is not None
                   else ("state_index", st, f"state ({st}) "))
    a = tb.get(IFLA_BRPORT.PRIORITY)
    if a is not None:
        out.append(_uint("priority", "priority", a.u16()))
    a = tb.get(IFLA_BRPORT.COST)
    if a is not None:
        out.append(_uint("cost", "cost", a.u32()))
    for t, key in _PORT_FLAGS1:
        a = tb.get(t)
        if a is not None:
            out.append(_on_off(key, key, a.u8()))
    a = tb.get(IFLA_BRPORT.ID)
    if a is not None:
        out.append(_hex("id", "port_id", a.u16()))
    a = tb.get(IFLA_BRPORT.NO)
    if a is not None:
        out.append(_hex("no", "port_no", a.u16()))
    a = tb.get(IFLA_BRPORT.DESIGNATED_PORT)
    if a is not None:
        out.append(_uint("designated_port", "designated_port", a.u16()))
    a = tb.get(IFLA_BRPORT.DESIGNATED_COST)
    if a is not None:
        out.append(_uint("designated_cost", "designated_cost", a.u16()))
    a = tb.get(IFLA_BRPORT.BRIDGE_ID)
    if a is not None:
        s = bridge_id_str(a.payload)
        out.append(("bridge_id", s, f"designated_bridge {s} "))
    a = tb.get(IFLA_BRPORT.ROOT_ID)
    if a is not None:
        s = bridge_id_str(a.payload)
        out.append(("root_id", s, f"designated_root {s} "))
    for t, key in _PORT_TIMERS:
        a = tb.get(t)
        if a is not None:
            out.append(_timer(key, a))
    a = tb.get(IFLA_BRPORT.TOPOLOGY_CHANGE_ACK)
    if a is not None:
        out.append(_uint("topology_change_ack", "topology_change_ack", a.u8()))
    a = tb.get(IFLA_BRPORT.CONFIG_PENDING)
    if a is not None:
        out.append(_uint("config_pending", "config_pending", a.u8()))
    a = tb.get(IFLA_BRPORT.PROXYARP)
    if a is not None:
        out.append(_on_off("proxy_arp", "proxy_arp", a.u8()))
    a = tb.get(IFLA_BRPORT.PROXYARP_WIFI)
    if a is not None:
        out.append(_on_off("proxy_arp_wifi", "proxy_arp_wifi", a.u8()))
    a = tb.get(IFLA_BRPORT.MULTICAST_ROUTER)
    if a is not None:
        out.append(_uint("multicast_router", "mcast_router", a.u8()))
    a = tb.get(IFLA_BRPORT.FAST_LEAVE)
    if a is not None:
        # text only: the JSON already has "fastleave"
        out.append((None, None, f"mcast_fast_leave {'on' if a.u8() else 'off'} "))
    for t, key, label in _PORT_FLAGS2:
        a = tb.get(t)
        if a is not None:
            out.append(_on_off(key, label, a.u8()))
    a = tb.get(IFLA_BRPORT.GROUP_FWD_MASK)
    if a is not None:
        mask = a.u16()
        out.append(_hex("group_fwd_mask", "group_fwd_mask", mask))
        s = _fwd_mask_str(mask)
        out.append(("group_fwd_mask_str", s, f"group_fwd_mask_str {s} "))
    for t, key in _PORT_FLAGS3:
        a = tb.get(t)
        if a is not None:
            out.append(_on_off(key, key, a.u8()))
    a = tb.get(IFLA_BRPORT.BACKUP_PORT)
    if a is not None:
        s = dev_name(names, a.u32())
        out.append(("backup_port", s, f"backup_port {s} "))
    return out


# -- macvlan ----------------------------------------------------------------------------------
_MACVLAN_MODES = {int(m): m.name.lower() for m in MACVLAN_MODE}


def _macvlan(tb: Mapping[int, Attr], names: Mapping[int, str] | None) -> list[Field]:
    out: list[Field] = []
    a = tb.get(IFLA_MACVLAN.MODE)
    if a is None or a.payload_len < 4:
        return out
    mode = a.u32()
    name = _MACVLAN_MODES.get(mode, "unknown")
    out.append(("mode", name, f"mode {name} "))
    a = tb.get(IFLA_MACVLAN.FLAGS)
    flags = a.u16() if a is not None and a.payload_len >= 2 else 0
    if flags & MACVLAN_FLAG.NOPROMISC:
        out.append(("nopromisc", True, "nopromisc "))
    if flags & MACVLAN_FLAG.NODST:
        out.append(("nodst", True, "nodst "))
    for t, key in ((IFLA_MACVLAN.BC_QUEUE_LEN, "bcqueuelen"),
                   (IFLA_MACVLAN.BC_QUEUE_LEN_USED, "usedbcqueuelen")):
        a = tb.get(t)
        if a is not None and a.payload_len >= 4:
            out.append(_uint(key, key, a.u32()))
    if mode != MACVLAN_MODE.SOURCE:
        return out
    a = tb.get(IFLA_MACVLAN.MACADDR_COUNT)
    if a is None or a.payload_len < 4:
        return out
    count = a.u32()
    out.append(("macaddr_count", count, f"remotes ({count}) "))
    a = tb.get(IFLA_MACVLAN.MACADDR_DATA)
    if a is None:
        return out
    macs = [_n.lladdr_str(x.payload[:6]) for x in a.nested()
            if x.type == IFLA_MACVLAN.MACADDR and x.payload_len >= 6]
    out.append(("macaddr_data", macs, "".join(f"{m} " for m in macs)))
    return out


# -- vxlan ------------------------------------------------------------------------------------
def _nonzero(a: Attr | None) -> bool:
    return a is not None and any(a.payload)


def _vxlan(tb: Mapping[int, Attr], names: Mapping[int, str] | None) -> list[Field]:
    out: list[Field] = []
    a = tb.get(IFLA_VXLAN.COLLECT_METADATA)
    if a is not None and a.u8():
        out.append(("external", True, "external "))
    a = tb.get(IFLA_VXLAN.VNIFILTER)
    if a is not None and a.u8():
        out.append(("vnifilter", True, "vnifilter"))
    a = tb.get(IFLA_VXLAN.ID)
    if a is not None and a.payload_len >= 4:
        out.append(_uint("id", "id", a.u32()))
    g4 = tb.get(IFLA_VXLAN.GROUP)
    g6 = tb.get(IFLA_VXLAN.GROUP6)
    if g4 is not None:
        if _nonzero(g4):
            s = _n.ntop(g4.payload)
            key = "group" if g4.payload[0] & 0xF0 == 0xE0 else "remote"
            out.append((key, s, f"{key} {s} "))
    elif g6 is not None and _nonzero(g6):
        s = _n.ntop(g6.payload)
        key = "group" if g6.payload[0] == 0xFF else "remote"
        out.append((key + "6", s, f"{key} {s} "))
    l4 = tb.get(IFLA_VXLAN.LOCAL)
    l6 = tb.get(IFLA_VXLAN.LOCAL6)
    if l4 is not None:
        if _nonzero(l4):
            s = _n.ntop(l4.payload)
            out.append(("local", s, f"local {s} "))
    elif l6 is not None and _nonzero(l6):
        s = _n.ntop(l6.payload)
        out.append(("local6", s, f"local {s} "))
    a = tb.get(IFLA_VXLAN.LINK)
    if a is not None and a.u32():
        s = dev_name(names, a.u32())
        out.append(("link", s, f"dev {s} "))
    a = tb.get(IFLA_VXLAN.PORT_RANGE)
    if a is not None and a.payload_len >= 4:
        p = a.payload
        low, high = int.from_bytes(p[0:2], "big"), int.from_bytes(p[2:4], "big")
        out.append(("port_range", {"low": low, "high": high}, f"srcport {low} {high} "))
    a = tb.get(IFLA_VXLAN.PORT)
    if a is not None:
        port = int.from_bytes(a.payload[:2], "big")
        out.append(("port", port, f"dstport {port} "))
    a = tb.get(IFLA_VXLAN.LEARNING)
    if a is not None:
        learning = a.u8()
        out.append(("learning", bool(learning), None if learning else "nolearning "))
    for t, key in ((IFLA_VXLAN.PROXY, "proxy"), (IFLA_VXLAN.RSC, "rsc"),
                   (IFLA_VXLAN.L2MISS, "l2miss"), (IFLA_VXLAN.L3MISS, "l3miss")):
        a = tb.get(t)
        if a is not None and a.u8():
            out.append((key, True, f"{key} "))
    a = tb.get(IFLA_VXLAN.TOS)
    tos = a.u8() if a is not None else 0
    if tos:
        hx = _hex("tos", "tos", tos)
        out.append(hx if tos != 1 else ("tos", hx[1], "tos inherit "))
    a = tb.get(IFLA_VXLAN.TTL_INHERIT)
    if a is not None and a.u8():
        out.append((None, None, "ttl inherit "))
    else:
        a = tb.get(IFLA_VXLAN.TTL)
        if a is not None:
            ttl = a.u8()
            out.append(("ttl", ttl, f"ttl {ttl} " if ttl else "ttl auto "))
    a = tb.get(IFLA_VXLAN.DF)
    if a is not None:
        df = a.u8()
        if df == VXLAN_DF.UNSET:
            out.append(("df", "unset", None))
        elif df in (VXLAN_DF.SET, VXLAN_DF.INHERIT):
            s = VXLAN_DF(df).name.lower()
            out.append(("df", s, f"df {s} "))
    a = tb.get(IFLA_VXLAN.LABEL)
    if a is not None:
        label = int.from_bytes(a.payload[:4], "big")
        if label:
            out.append(_hex("label", "flowlabel", label))
    a = tb.get(IFLA_VXLAN.AGEING)
    if a is not None:
        age = a.u32()
        out.append(("ageing", age, f"ageing {age} " if age else "ageing none "))
    a = tb.get(IFLA_VXLAN.LIMIT)
    if a is not None and a.u32():
        out.append(_uint("limit", "maxaddr", a.u32()))
    for t, key, word in ((IFLA_VXLAN.UDP_CSUM, "udp_csum", "udpcsum"),
                         (IFLA_VXLAN.UDP_ZERO_CSUM6_TX, "udp_zero_csum6_tx", "udp6zerocsumtx"),
                         (IFLA_VXLAN.UDP_ZERO_CSUM6_RX, "udp_zero_csum6_rx", "udp6zerocsumrx")):
        a = tb.get(t)
        if a is not None:
            v = a.u8()
            out.append((key, bool(v), f"{'' if v else 'no'}{word} "))
    for t, key, word in ((IFLA_VXLAN.REMCSUM_TX, "remcsum_tx", "remcsumtx"),
                         (IFLA_VXLAN.REMCSUM_RX, "remcsum_rx", "remcsumrx")):
        a = tb.get(t)
        if a is not None and a.u8():
            out.append((key, True, f"{word} "))
    for t, key in ((IFLA_VXLAN.GBP, "gbp"), (IFLA_VXLAN.GPE, "gpe")):
        if t in tb:
            out.append((key, True, f"{key} "))
    return out


_Printer = Callable[[Mapping[int, Attr], Mapping[int, str] | None], list[Field]]
#: kinds iproute2 6.1 has a ``print_opt`` for, among those rendered here
_KINDS: dict[str, _Printer] = {
    "bridge": _bridge, "macvlan": _macvlan, "macvtap": _macvlan, "vxlan": _vxlan,
}
_SLAVE_KINDS: dict[str, _Printer] = {"bridge": _bridge_slave}


def kind_fields(kind: str, data: Attr | None,
                names: Mapping[int, str] | None = None) -> list[Field] | None:
    """The ``info_data`` fields of ``kind`` (``IFLA_INFO_DATA``), or None when not rendered.

    An empty list means iproute2 opens an empty ``info_data`` (the kind has a
    printer, the link no data).
    """
    fn = _KINDS.get(kind)
    if fn is None:
        return None
    return [] if data is None else fn(data.nested_table(), names)


def slave_fields(slave_kind: str, data: Attr | None,
                 names: Mapping[int, str] | None = None) -> list[Field] | None:
    """The ``info_slave_data`` fields of a port of a ``slave_kind`` master, or None."""
    fn = _SLAVE_KINDS.get(slave_kind)
    if fn is None:
        return None
    return [] if data is None else fn(data.nested_table(), names)
