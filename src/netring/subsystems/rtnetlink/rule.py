"""Policy routing rules: the lazy :class:`Rule` view of ``RTM_NEWRULE`` / ``RTM_DELRULE``.

::

    +----------+-----------------------------------------------------+-----------------
    | nlmsghdr | struct fib_rule_hdr (12 bytes)                      | FRA_PRIORITY
    |          | family dst_len src_len tos table res1 res2 action   | FRA_TABLE FRA_SRC
    |          | u8 x 8                                  | flags u32 | FRA_UID_RANGE ...
    +----------+-----------------------------------------------------+-----------------
               ^ +16                    +20               +23  +24
"""

from __future__ import annotations

from collections.abc import Mapping

from ...codec.align import NLMSG_HDRLEN
from ...codec.structs import u32
from ...codec.types import TYPE_CHECKING
from . import names as _n
from .base import RouteLikeHeader
from .constants import FIB_RULE, FR_ACT, FRA, RTA, RTM, RTN, RTPROT
from .jsonfmt import host_prefix_len, split_realms
from .structs import fib_rule_hdr, fib_rule_port_range, fib_rule_uid_range

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Rule"]

_unpack_u32 = u32.unpack_from

# struct fib_rule_hdr fields, as offsets from the start of the message
_FRH_TABLE = NLMSG_HDRLEN + 4
_FRH_ACTION = NLMSG_HDRLEN + 7
_FRH_FLAGS = NLMSG_HDRLEN + 8

# FIB_RULE_* flags as plain ints (IntFlag arithmetic runs Python code)
_INVERT = int(FIB_RULE.INVERT)
_IIF_DETACHED = int(FIB_RULE.IIF_DETACHED)
_OIF_DETACHED = int(FIB_RULE.OIF_DETACHED)
_UNRESOLVED = int(FIB_RULE.UNRESOLVED)

#: ``FRA_FWMASK`` when absent: every bit of the mark is compared
_FWMASK_ALL = 0xFFFFFFFF
#: ``FRA_SUPPRESS_PREFIXLEN`` / ``FRA_SUPPRESS_IFGROUP`` value meaning "not set"
_SUPPRESS_UNSET = -1


class Rule(RouteLikeHeader):
    """A policy routing rule (``RTM_NEWRULE``: ``struct fib_rule_hdr`` + ``FRA_*``)."""

    __slots__ = ()
    HDR = fib_rule_hdr
    ATTR = FRA
    PREFIX = "FRA_"
    TYPES = (RTM.NEWRULE, RTM.DELRULE)

    @property
    def action(self) -> int:
        """``action`` (``FR_ACT_*``)."""
        return int(self._buf[self._off + _FRH_ACTION])

    @property
    def flags(self) -> int:
        """``flags`` (``FIB_RULE_*``)."""
        return int(_unpack_u32(self._buf, self._off + _FRH_FLAGS)[0])

    @property
    def table(self) -> int:
        """``FRA_TABLE`` when present, else the header's 8-bit ``table``."""
        t = self._get_u32(FRA.TABLE)
        return int(self._buf[self._off + _FRH_TABLE]) if t is None else t

    @property
    def priority(self) -> int | None:
        """``FRA_PRIORITY``."""
        return self._get_u32(FRA.PRIORITY)

    @property
    def src(self) -> str | None:
        """``FRA_SRC``."""
        return self._get_ip(FRA.SRC)

    @property
    def dst(self) -> str | None:
        """``FRA_DST``."""
        return self._get_ip(FRA.DST)

    @property
    def iifname(self) -> str | None:
        """``FRA_IIFNAME``."""
        return self._get_str(FRA.IIFNAME)

    @property
    def oifname(self) -> str | None:
        """``FRA_OIFNAME``."""
        return self._get_str(FRA.OIFNAME)

    @property
    def fwmark(self) -> int | None:
        """``FRA_FWMARK``."""
        return self._get_u32(FRA.FWMARK)

    @property
    def fwmask(self) -> int | None:
        """``FRA_FWMASK``."""
        return self._get_u32(FRA.FWMASK)

    @property
    def goto(self) -> int | None:
        """``FRA_GOTO`` target priority."""
        return self._get_u32(FRA.GOTO)

    @property
    def flow(self) -> int | None:
        """``FRA_FLOW`` (realms: ``from << 16 | to``)."""
        return self._get_u32(FRA.FLOW)

    @property
    def l3mdev(self) -> int | None:
        """``FRA_L3MDEV`` (1: look the table up from the L3 master device)."""
        return self._get_u8(FRA.L3MDEV)

    @property
    def protocol(self) -> int | None:
        """``FRA_PROTOCOL``."""
        return self._get_u8(FRA.PROTOCOL)

    @property
    def ip_proto(self) -> int | None:
        """``FRA_IP_PROTO``."""
        return self._get_u8(FRA.IP_PROTO)

    @property
    def suppress_prefixlen(self) -> int | None:
        """``FRA_SUPPRESS_PREFIXLEN`` (-1: not set)."""
        return self._get_s32(FRA.SUPPRESS_PREFIXLEN)

    @property
    def suppress_ifgroup(self) -> int | None:
        """``FRA_SUPPRESS_IFGROUP`` (-1: not set)."""
        return self._get_s32(FRA.SUPPRESS_IFGROUP)

    @property
    def uid_range(self) -> tuple[int, int] | None:
        """``FRA_UID_RANGE`` as (start, end)."""
        r = self._get_struct(FRA.UID_RANGE, fib_rule_uid_range)
        return None if r is None else (r[0], r[1])

    @property
    def sport_range(self) -> tuple[int, int] | None:
        """``FRA_SPORT_RANGE`` as (start, end)."""
        return self._port_range(FRA.SPORT_RANGE)

    @property
    def dport_range(self) -> tuple[int, int] | None:
        """``FRA_DPORT_RANGE`` as (start, end)."""
        return self._port_range(FRA.DPORT_RANGE)

    def _port_range(self, t: int) -> tuple[int, int] | None:
        r = self._get_struct(t, fib_rule_port_range)
        return None if r is None else (r[0], r[1])

    def to_dict(self, names: Mapping[int, str] | None = None) -> dict[str, Any]:
        """``ip -j rule show`` entry."""
        d: dict[str, Any] = {}
        if self.deleted:
            d["deleted"] = True
        at = self._index()
        host_len = host_prefix_len(self.family)
        flags = self.flags
        d["priority"] = self.priority or 0
        if flags & _INVERT:
            d["not"] = None
        if FRA.SRC in at:
            d["src"] = self.src
            if self.src_len != host_len:
                d["srclen"] = self.src_len
        elif self.src_len:
            d["src"] = "0"
            d["srclen"] = self.src_len
        else:
            d["src"] = "all"
        if FRA.DST in at:
            d["dst"] = self.dst
            if self.dst_len != host_len:
                d["dstlen"] = self.dst_len
        elif self.dst_len:
            d["dst"] = "0"
            d["dstlen"] = self.dst_len
        if self.tos:
            d["tos"] = _n.dsfield_name(self.tos)
        if FRA.FWMARK in at or FRA.FWMASK in at:
            mark = self.fwmark or 0
            mask = self.fwmask if FRA.FWMASK in at else _FWMASK_ALL
            if mark or mask != _FWMASK_ALL:
                d["fwmark"] = f"{mark:#x}"
                if mask != _FWMASK_ALL:
                    d["fwmask"] = f"{mask:#x}"
        if FRA.IIFNAME in at:
            d["iif"] = self.iifname
            if flags & _IIF_DETACHED:
                d["iif_detached"] = None
        if FRA.OIFNAME in at:
            d["oif"] = self.oifname
            if flags & _OIF_DETACHED:
                d["oif_detached"] = None
        if FRA.L3MDEV in at and self.l3mdev:
            d["l3mdev"] = None
        if FRA.UID_RANGE in at:
            r = self.uid_range
            assert r is not None
            d["uid_start"], d["uid_end"] = r
        if FRA.IP_PROTO in at:
            d["ipproto"] = _n.ipproto_name(self.ip_proto or 0)
        for t, key in ((FRA.SPORT_RANGE, "sport"), (FRA.DPORT_RANGE, "dport")):
            if t in at:
                pr = self._port_range(t)
                assert pr is not None
                if pr[0] == pr[1]:
                    d[key] = pr[0]
                else:
                    d[key + "_start"], d[key + "_end"] = pr
        if FRA.TUN_ID in at:
            d["tun_id"] = int.from_bytes(self._get_bytes(FRA.TUN_ID) or b"", "big")
        table = self.table
        if table:
            d["table"] = _n.rttable_name(table)
            if FRA.SUPPRESS_PREFIXLEN in at:
                pl = self.suppress_prefixlen
                if pl != _SUPPRESS_UNSET:
                    d["suppress_prefixlen"] = pl
            if FRA.SUPPRESS_IFGROUP in at:
                grp = self.suppress_ifgroup
                if grp != _SUPPRESS_UNSET:
                    d["suppress_ifgroup"] = _n.group_name(grp or 0)
        if FRA.FLOW in at:
            frm, to = split_realms(self.flow or 0)
            if frm:
                d["flow_from"] = _n.realm_name(frm)
            d["flow_to"] = _n.realm_name(to)
        act = self.action
        # iproute2 compares the action with RTN_NAT: FR_ACT_* numbers mirror RTN_*
        if act == RTN.NAT:
            # iproute2 reads tb[RTA_GATEWAY] here (FRA_* and RTA_* numbers coincide)
            gw = self._get_ip(RTA.GATEWAY)
            if gw is not None:
                d["nat_gateway"] = gw
            else:
                d["masquerade"] = None
        elif act == FR_ACT.GOTO:
            d["goto"] = self.goto if FRA.GOTO in at else "none"
            if flags & _UNRESOLVED:
                d["unresolved"] = None
        elif act == FR_ACT.NOP:
            d["nop"] = None
        elif act != FR_ACT.TO_TBL:
            d["action"] = _n.rtntype_name(act)
        if FRA.PROTOCOL in at:
            proto = self.protocol or 0
            if proto and proto != RTPROT.KERNEL:
                d["protocol"] = _n.rtprot_name(proto)
        return d
