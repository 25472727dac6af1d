"""``ip rule show`` text for a :class:`~netring.subsystems.rtnetlink.Rule` view (pure).

Follows ``print_rule`` of iproute2 6.1 (``ip/iprule.c``): ``PRIO:<TAB>`` then
``from ...`` and the selectors, each preceded by one space, no trailing space.
"""

from __future__ import annotations

from .. import names as _n
from ..constants import FIB_RULE, FR_ACT, FRA, RTA, RTN, RTPROT
from ..jsonfmt import host_prefix_len, split_realms
from ..rule import Rule
from .context import TextContext

__all__ = ["rule_line"]

_INVERT = int(FIB_RULE.INVERT)
_IIF_DETACHED = int(FIB_RULE.IIF_DETACHED)
_OIF_DETACHED = int(FIB_RULE.OIF_DETACHED)
_UNRESOLVED = int(FIB_RULE.UNRESOLVED)
_FWMASK_ALL = 0xFFFFFFFF
_UNSET = -1


def rule_line(rule: Rule, ctx: TextContext) -> str:
    """The text ``ip rule show`` prints for ``rule`` (without the final newline)."""
    at = rule._index()
    host_len = host_prefix_len(rule.family)
    flags = rule.flags
    w: list[str] = []
    ap = w.append
    if rule.deleted:
        ap("Deleted ")
    ap(f"{rule.priority or 0}:\t")
    if flags & _INVERT:
        ap("not ")
    src_len, dst_len = rule.src_len, rule.dst_len
    if FRA.SRC in at:
        ap(f"from {rule.src}")
        if src_len != host_len:
            ap(f"/{src_len}")
    elif src_len:
        ap(f"from 0/{src_len}")
    else:
        ap("from all")
    if FRA.DST in at:
        ap(f" to {rule.dst}")
        if dst_len != host_len:
            ap(f"/{dst_len}")
    elif dst_len:
        ap(f" to 0/{dst_len}")
    if rule.tos:
        ap(f" tos {_n.dsfield_name(rule.tos)}")
    if FRA.FWMARK in at or FRA.FWMASK in at:
        mark = rule.fwmark or 0
        mask = rule.fwmask if FRA.FWMASK in at else _FWMASK_ALL
        ap(f" fwmark {mark:#x}")
        if mask is not None and mask != _FWMASK_ALL:
            ap(f"/{mask:#x}")
    if FRA.IIFNAME in at:
        ap(f" iif {rule.iifname}")
        if flags & _IIF_DETACHED:
            ap(" [detached]")
    if FRA.OIFNAME in at:
        ap(f" oif {rule.oifname}")
        if flags & _OIF_DETACHED:
            ap(" [detached]")
    if FRA.L3MDEV in at and rule.l3mdev:
        ap(" lookup [l3mdev-table]")
    if FRA.UID_RANGE in at:
        r = rule.uid_range
        assert r is not None
        ap(f" uidrange {r[0]}-{r[1]}")
    if FRA.IP_PROTO in at:
        ap(f" ipproto {_n.ipproto_name(rule.ip_proto or 0)}")
    for t, word in ((FRA.SPORT_RANGE, "sport"), (FRA.DPORT_RANGE, "dport")):
        if t in at:
            pr = rule._port_range(t)
            assert pr is not None
            ap(f" {word} {pr[0]}" if pr[0] == pr[1] else f" {word} {pr[0]}-{pr[1]}")
    if FRA.TUN_ID in at:
        raw = rule._get_bytes(FRA.TUN_ID) or b""
        ap(f" tun_id {int.from_bytes(raw, 'big')}")
    table = rule.table
    if table:
        ap(f" lookup {_n.rttable_name(table)}")
        if FRA.SUPPRESS_PREFIXLEN in at:
            pl = rule.suppress_prefixlen
            if pl != _UNSET:
                ap(f" suppress_prefixlength {pl}")
        if FRA.SUPPRESS_IFGROUP in at:
            grp = rule.suppress_ifgroup
            if grp != _UNSET:
                ap(f" suppress_ifgroup {_n.group_name(grp or 0)}")
    if FRA.FLOW in at:
        frm, to = split_realms(rule.flow or 0)
        ap(f" realms {_n.realm_name(frm)}/" if frm else " realms ")
        ap(_n.realm_name(to))
    act = rule.action
    if act == RTN.NAT:
        # FRA_* and RTA_* numbers coincide here: iproute2 reads tb[RTA_GATEWAY]
        gw = rule._get_ip(RTA.GATEWAY)
        ap(f" map-to {gw}" if gw is not None else " masquerade")
    elif act == FR_ACT.GOTO:
        ap(f" goto {rule.goto}" if FRA.GOTO in at else " goto none")
        if flags & _UNRESOLVED:
            ap(" [unresolved]")
    elif act == FR_ACT.NOP:
        ap(" nop")
    elif act != FR_ACT.TO_TBL:
        ap(f" {_n.rtntype_name(act)}")
    if FRA.PROTOCOL in at:
        proto = rule.protocol or 0
        if proto and proto != RTPROT.KERNEL:
            ap(f" proto {_n.rtprot_name(proto)}")
    return "".join(w)
