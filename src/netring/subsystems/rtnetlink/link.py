"""Network interfaces: the lazy :class:`Link` view of ``RTM_NEWLINK`` / ``RTM_DELLINK``.

::

    +----------+------------------------------------------------+----------------------
    | nlmsghdr | struct ifinfomsg (16 bytes)                    | IFLA_IFNAME IFLA_MTU
    |          | family pad | type | index | flags | change     | IFLA_LINKINFO{..} ...
    |          | u8     u8  | u16  | s32   | u32   | u32        |
    +----------+------------------------------------------------+----------------------
               ^ +16            +18    +20     +24     +28
"""

from __future__ import annotations

from collections.abc import Mapping

from ...codec import Attr
from ...codec.align import NLMSG_HDRLEN
from ...codec.structs import s32, u16, u32, u64
from ...codec.types import TYPE_CHECKING
from . import names as _n
from .base import RtnlObject
from .constants import AF_INET6, IFF, IFLA, IFLA_INET6, IFLA_INFO, IN6_ADDR_GEN_MODE, RTM
from .jsonfmt import dev_name
from .structs import ifinfomsg

if TYPE_CHECKING:  # the per-kind tables load only for -d (their enums cost start-up time)
    from typing import Any

    from .linkinfo import Field

__all__ = ["Link"]

_unpack_u16 = u16.unpack_from
_unpack_u32 = u32.unpack_from
_unpack_s32 = s32.unpack_from
_unpack_u64 = u64.unpack_from

# struct ifinfomsg fields, as offsets from the start of the message
_IFI_TYPE = NLMSG_HDRLEN + 2
_IFI_INDEX = NLMSG_HDRLEN + 4
_IFI_FLAGS = NLMSG_HDRLEN + 8
_IFI_CHANGE = NLMSG_HDRLEN + 12

_IFF_UP = int(IFF.UP)
_IFF_POINTOPOINT = int(IFF.POINTOPOINT)

#: struct rtnl_link_stats64 (uapi/linux/if_link.h), field order
_STATS64_FIELDS = (
    "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
    "rx_dropped", "tx_dropped", "multicast", "collisions", "rx_length_errors",
    "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
    "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
    "tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed",
    "rx_nohandler", "rx_otherhost_dropped",
)
_STATS64_FIELD_SIZE = u64.size

# print_af_spec: the names of IFLA_INET6_ADDR_GEN_MODE
_ADDR_GEN_MODES = {int(IN6_ADDR_GEN_MODE.EUI64): "eui64", int(IN6_ADDR_GEN_MODE.NONE): "none",
                   int(IN6_ADDR_GEN_MODE.STABLE_PRIVACY): "stable_secret",
                   int(IN6_ADDR_GEN_MODE.RANDOM): "random"}
# print_linkinfo's u32 details after the address-generation mode, in its order:
# (attribute, JSON key, text label)
_DETAIL_U32 = (
    (IFLA.NUM_TX_QUEUES, "num_tx_queues", "numtxqueues"),
    (IFLA.NUM_RX_QUEUES, "num_rx_queues", "numrxqueues"),
    (IFLA.GSO_MAX_SIZE, "gso_max_size", "gso_max_size"),
    (IFLA.GSO_MAX_SEGS, "gso_max_segs", "gso_max_segs"),
    (IFLA.TSO_MAX_SIZE, "tso_max_size", "tso_max_size"),
    (IFLA.TSO_MAX_SEGS, "tso_max_segs", "tso_max_segs"),
    (IFLA.GRO_MAX_SIZE, "gro_max_size", "gro_max_size"),
)


class Link(RtnlObject):
    """A network interface (``RTM_NEWLINK``: ``struct ifinfomsg`` + ``IFLA_*``)."""

    __slots__ = ()
    HDR = ifinfomsg
    ATTR = IFLA
    PREFIX = "IFLA_"
    TYPES = (RTM.NEWLINK, RTM.DELLINK)

    @property
    def type(self) -> int:
        """``ifi_type`` (``ARPHRD_*``)."""
        return int(_unpack_u16(self._buf, self._off + _IFI_TYPE)[0])

    @property
    def index(self) -> int:
        """``ifi_index``."""
        return int(_unpack_s32(self._buf, self._off + _IFI_INDEX)[0])

    @property
    def flags(self) -> int:
        """``ifi_flags`` (``IFF_*``)."""
        return int(_unpack_u32(self._buf, self._off + _IFI_FLAGS)[0])

    @property
    def change(self) -> int:
        """``ifi_change``."""
        return int(_unpack_u32(self._buf, self._off + _IFI_CHANGE)[0])

    @property
    def up(self) -> bool:
        """``IFF_UP`` is set."""
        return bool(self.flags & _IFF_UP)

    @property
    def name(self) -> str | None:
        """``IFLA_IFNAME``."""
        return self._get_str(IFLA.IFNAME)

    @property
    def mtu(self) -> int | None:
        """``IFLA_MTU``."""
        return self._get_u32(IFLA.MTU)

    @property
    def txqlen(self) -> int | None:
        """``IFLA_TXQLEN``."""
        return self._get_u32(IFLA.TXQLEN)

    @property
    def operstate(self) -> int | None:
        """``IFLA_OPERSTATE`` (``IF_OPER_*``)."""
        return self._get_u8(IFLA.OPERSTATE)

    @property
    def linkmode(self) -> int | None:
        """``IFLA_LINKMODE``."""
        return self._get_u8(IFLA.LINKMODE)

    def _hwaddr(self, t: int) -> str | None:
        raw = self._get_bytes(t)
        return None if raw is None else _n.lladdr_str(raw, self.type)

    @property
    def address(self) -> str | None:
        """``IFLA_ADDRESS`` as ``aa:bb:..`` (tunnels with an IP-sized address: the IP)."""
        return self._hwaddr(IFLA.ADDRESS)

    @property
    def broadcast(self) -> str | None:
        """``IFLA_BROADCAST`` as ``aa:bb:..``."""
        return self._hwaddr(IFLA.BROADCAST)

    @property
    def perm_address(self) -> str | None:
        """``IFLA_PERM_ADDRESS``."""
        return self._hwaddr(IFLA.PERM_ADDRESS)

    @property
    def master(self) -> int | None:
        """``IFLA_MASTER`` ifindex (bridge / bond the link is enslaved to)."""
        return self._get_u32(IFLA.MASTER)

    @property
    def link(self) -> int | None:
        """``IFLA_LINK`` ifindex (lower device / veth peer)."""
        return self._get_u32(IFLA.LINK)

    @property
    def link_netnsid(self) -> int | None:
        """``IFLA_LINK_NETNSID``: netns id where ``link`` lives (-1: unknown)."""
        return self._get_s32(IFLA.LINK_NETNSID)

    @property
    def qdisc(self) -> str | None:
        """``IFLA_QDISC``."""
        return self._get_str(IFLA.QDISC)

    @property
    def group(self) -> int | None:
        """``IFLA_GROUP``."""
        return self._get_u32(IFLA.GROUP)

    @property
    def promiscuity(self) -> int | None:
        """``IFLA_PROMISCUITY``."""
        return self._get_u32(IFLA.PROMISCUITY)

    @property
    def carrier(self) -> int | None:
        """``IFLA_CARRIER``."""
        return self._get_u8(IFLA.CARRIER)

    @property
    def proto_down(self) -> int | None:
        """``IFLA_PROTO_DOWN``."""
        return self._get_u8(IFLA.PROTO_DOWN)

    @property
    def min_mtu(self) -> int | None:
        """``IFLA_MIN_MTU``."""
        return self._get_u32(IFLA.MIN_MTU)

    @property
    def max_mtu(self) -> int | None:
        """``IFLA_MAX_MTU``."""
        return self._get_u32(IFLA.MAX_MTU)

    @property
    def ifalias(self) -> str | None:
        """``IFLA_IFALIAS``."""
        return self._get_str(IFLA.IFALIAS)

    @property
    def alt_names(self) -> list[str]:
        """``IFLA_ALT_IFNAME`` entries of ``IFLA_PROP_LIST`` (every one, in order)."""
        a = self.raw(IFLA.PROP_LIST)
        if a is None:
            return []
        return [x.text() for x in a.nested() if x.type == IFLA.ALT_IFNAME]

    @property
    def allmulti(self) -> int | None:
        """``IFLA_ALLMULTI``."""
        return self._get_u32(IFLA.ALLMULTI)

    @property
    def num_tx_queues(self) -> int | None:
        """``IFLA_NUM_TX_QUEUES``."""
        return self._get_u32(IFLA.NUM_TX_QUEUES)

    @property
    def num_rx_queues(self) -> int | None:
        """``IFLA_NUM_RX_QUEUES``."""
        return self._get_u32(IFLA.NUM_RX_QUEUES)

    @property
    def carrier_changes(self) -> int | None:
        """``IFLA_CARRIER_CHANGES``."""
        return self._get_u32(IFLA.CARRIER_CHANGES)

    @property
    def event(self) -> int | None:
        """``IFLA_EVENT`` (``IFLA_EVENT_*``, notifications only)."""
        return self._get_u32(IFLA.EVENT)

    @property
    def addr_gen_mode(self) -> int | None:
        """``IFLA_INET6_ADDR_GEN_MODE`` inside ``IFLA_AF_SPEC`` / ``AF_INET6``."""
        spec = self.raw(IFLA.AF_SPEC)
        if spec is None:
            return None
        for fam in spec.nested():
            if fam.type == AF_INET6:
                a = fam.nested_table().get(IFLA_INET6.ADDR_GEN_MODE)
                return None if a is None else a.u8()
        return None

    @property
    def kind(self) -> str | None:
        """``IFLA_INFO_KIND`` inside ``IFLA_LINKINFO`` (``"veth"``, ``"bridge"`` ...)."""
        a = self.linkinfo.get(IFLA_INFO.KIND)
        return None if a is None else a.text()

    @property
    def slave_kind(self) -> str | None:
        """``IFLA_INFO_SLAVE_KIND`` inside ``IFLA_LINKINFO``."""
        a = self.linkinfo.get(IFLA_INFO.SLAVE_KIND)
        return None if a is None else a.text()

    @property
    def linkinfo(self) -> dict[int, Attr]:
        """``IFLA_LINKINFO`` as ``{IFLA_INFO_*: Attr}`` (empty when absent)."""
        return self._get_nested(IFLA.LINKINFO) or {}

    @property
    def info_data(self) -> dict[int, Attr]:
        """``IFLA_INFO_DATA`` (kind-specific attributes) as ``{type: Attr}``."""
        a = self.linkinfo.get(IFLA_INFO.DATA)
        return {} if a is None else a.nested_table()

    @property
    def stats64(self) -> dict[str, int] | None:
        """``IFLA_STATS64`` (``struct rtnl_link_stats64``) by field name.

        Length-tolerant by design: the kernel struct grows at its end, so the
        fields a shorter (older) payload carries are read and the rest left out.
        """
        f = self._find(IFLA.STATS64)
        if f is None:
            return None
        start = f[0] + 4
        count = min(f[1] // _STATS64_FIELD_SIZE, len(_STATS64_FIELDS))
        return {_STATS64_FIELDS[i]: int(_unpack_u64(self._buf, start + _STATS64_FIELD_SIZE * i)[0])
                for i in range(count)}

    # -- ip -d: the details, as (JSON key, value, text) fields -------------------------------
    def details_head(self) -> list[Field]:
        """``ip -d`` fields before ``linkinfo``: promiscuity, allmulti, minmtu, maxmtu."""
        out: list[Field] = []
        at = self._index()
        if IFLA.PROMISCUITY in at:
            v = self.promiscuity
            out.append(("promiscuity", v, f" promiscuity {v} "))
        if IFLA.ALLMULTI in at:
            v = self.allmulti
            out.append(("allmulti", v, f" allmulti {v} "))
        if IFLA.MIN_MTU in at:
            v = self.min_mtu
            out.append(("min_mtu", v, f"minmtu {v} "))
        if IFLA.MAX_MTU in at:
            v = self.max_mtu
            out.append(("max_mtu", v, f"maxmtu {v} "))
        return out

    def linkinfo_fields(self, names: Mapping[int, str] | None = None
                        ) -> tuple[list[Field] | None, list[Field] | None]:
        """``(info_data, info_slave_data)`` fields of ``IFLA_LINKINFO`` (None: not rendered)."""
        from .linkinfo import kind_fields, slave_fields

        li = self.linkinfo
        kind, skind = self.kind, self.slave_kind
        data = None if kind is None else kind_fields(kind, li.get(IFLA_INFO.DATA), names)
        sdata = None if skind is None else slave_fields(
            skind, li.get(IFLA_INFO.SLAVE_DATA), names)
        return data, sdata

    def addr_gen_mode_name(self) -> str | None:
        """``print_af_spec``: ``eui64``, ``none``, ``stable_secret``, ``random`` or ``0xNN``."""
        mode = self.addr_gen_mode
        if mode is None:
            return None
        return _ADDR_GEN_MODES.get(mode) or f"{mode:#04x}"

    def details_tail(self) -> list[Field]:
        """``ip -d`` fields after the address-generation mode: queues, GSO/TSO/GRO, ports."""
        out: list[Field] = []
        at = self._index()
        for t, key, label in _DETAIL_U32:
            if t in at:
                v = self._get_u32(t)
                out.append((key, v, f"{label} {v} "))
        if IFLA.PHYS_PORT_NAME in at:
            s = self._get_str(IFLA.PHYS_PORT_NAME)
            out.append(("phys_port_name", s, f"portname {s} "))
        for t, key, label in ((IFLA.PHYS_PORT_ID, "phys_port_id", "portid"),
                              (IFLA.PHYS_SWITCH_ID, "phys_switch_id", "switchid")):
            raw = self._get_bytes(t)
            if raw is not None:
                s = raw.hex()
                out.append((key, s, f"{label} {s} "))
        for t, key in ((IFLA.PARENT_DEV_BUS_NAME, "parentbus"),
                       (IFLA.PARENT_DEV_NAME, "parentdev")):
            if t in at:
                s = self._get_str(t)
                out.append((key, s, f"{key} {s} "))
        return out

    def to_dict(self, names: Mapping[int, str] | None = None,
                link_flags: Mapping[int, int] | None = None,
                stats: bool = False, details: bool = False,
                stats_level: int = 1) -> dict[str, Any]:
        """``ip -j link show`` form (``stats=True``: ``ip -j -s link`` stats64 block).

        Args:
            names: ifindex -> name, for ``link`` and ``master``.
            link_flags: ifindex -> ``ifi_flags``, for the ``M-DOWN`` flag of a link
                whose lower device is down (as iproute2 prints it).
            stats: include the ``stats64`` object.
            details: ``ip -j -d``: promiscuity, MTU bounds, ``linkinfo`` (kind and its
                data), address generation mode, queues, GSO/TSO/GRO limits.
            stats_level: with ``stats``, how many ``-s`` (2: the error counters too).
        """
        d: dict[str, Any] = {}
        if self.deleted:
            d["deleted"] = True
        d["ifindex"] = self.index
        at = self._index()
        mdown = False
        if IFLA.LINK in at:
            iflink = self.link or 0
            if iflink == 0:
                d["link"] = None
            elif IFLA.LINK_NETNSID in at:
                d["link_index"] = iflink
            else:
                d["link"] = dev_name(names, iflink)
                if link_flags is not None and iflink in link_flags:
                    mdown = not link_flags[iflink] & _IFF_UP
        d["ifname"] = self.name
        d["flags"] = _n.link_flag_names(self.flags, mdown)
        if IFLA.MTU in at:
            d["mtu"] = self.mtu
        if IFLA.QDISC in at:
            d["qdisc"] = self.qdisc
        if IFLA.MASTER in at:
            d["master"] = dev_name(names, self.master or 0)
        if IFLA.OPERSTATE in at:
            d["operstate"] = _n.operstate_name(self.operstate or 0)
        if IFLA.LINKMODE in at:
            d["linkmode"] = _n.linkmode_name(self.linkmode or 0)
        if IFLA.GROUP in at:
            d["group"] = _n.group_name(self.group or 0)
        if self.txqlen:
            d["txqlen"] = self.txqlen
        d["link_type"] = _n.lltype_name(self.type)
        if IFLA.ADDRESS in at:
            d["address"] = self.address
        if IFLA.BROADCAST in at:
            if self.flags & _IFF_POINTOPOINT:
                d["link_pointtopoint"] = True
            d["broadcast"] = self.broadcast
        perm = self._get_bytes(IFLA.PERM_ADDRESS)
        if perm is not None and perm != self._get_bytes(IFLA.ADDRESS):
            d["permaddr"] = _n.lladdr_str(perm, self.type)
        if IFLA.LINK_NETNSID in at:
            d["link_netnsid"] = self.link_netnsid
        if self.proto_down:
            d["proto_down"] = True
        if details:
            self._details_json(d, names)
        if IFLA.IFALIAS in at:
            d["ifalias"] = self.ifalias
        if stats and IFLA.STATS64 in at:
            d["stats64"] = _stats64_json(self.stats64 or {}, stats_level, self.carrier_changes)
        if IFLA.PROP_LIST in at:
            d["altnames"] = self.alt_names
        return d

    def _details_json(self, d: dict[str, Any], names: Mapping[int, str] | None) -> None:
        """The ``ip -j -d`` members, in print_linkinfo's order."""
        from .linkinfo import fields_json

        d.update(fields_json(self.details_head()))
        if IFLA.LINKINFO in self._index():
            li: dict[str, Any] = {}
            data, sdata = self.linkinfo_fields(names)
            kind = self.kind
            if kind is not None:
                li["info_kind"] = kind
                if data is not None:
                    li["info_data"] = fields_json(data)
            skind = self.slave_kind
            if skind is not None:
                li["info_slave_kind"] = skind
                if sdata is not None:
                    li["info_slave_data"] = fields_json(sdata)
            d["linkinfo"] = li
        mode = self.addr_gen_mode_name()
        if mode is not None:
            d["inet6_addr_gen_mode"] = mode
        d.update(fields_json(self.details_tail()))


def _stats64_json(s: dict[str, int], level: int = 1,
                  carrier_changes: int | None = None) -> dict[str, Any]:
    """The ``stats64`` object of ``ip -j -s link`` (``level`` 2: ``-s -s``)."""
    rx = {"bytes": s.get("rx_bytes", 0), "packets": s.get("rx_packets", 0),
          "errors": s.get("rx_errors", 0), "dropped": s.get("rx_dropped", 0),
          "over_errors": s.get("rx_over_errors", 0), "multicast": s.get("multicast", 0)}
    if s.get("rx_compressed"):
        rx["compressed"] = s["rx_compressed"]
    if level > 1:
        rx.update(length_errors=s.get("rx_length_errors", 0), crc_errors=s.get("rx_crc_errors", 0),
                  frame_errors=s.get("rx_frame_errors", 0), fifo_errors=s.get("rx_fifo_errors", 0),
                  missed_errors=s.get("rx_missed_errors", 0))
        if s.get("rx_nohandler"):
            rx["nohandler"] = s["rx_nohandler"]
        if s.get("rx_otherhost_dropped"):
            rx["otherhost"] = s["rx_otherhost_dropped"]
    tx = {"bytes": s.get("tx_bytes", 0), "packets": s.get("tx_packets", 0),
          "errors": s.get("tx_errors", 0), "dropped": s.get("tx_dropped", 0),
          "carrier_errors": s.get("tx_carrier_errors", 0),
          "collisions": s.get("collisions", 0)}
    if s.get("tx_compressed"):
        tx["compressed"] = s["tx_compressed"]
    if level > 1:
        tx.update(aborted_errors=s.get("tx_aborted_errors", 0),
                  fifo_errors=s.get("tx_fifo_errors", 0),
                  window_errors=s.get("tx_window_errors", 0),
                  heartbeat_errors=s.get("tx_heartbeat_errors", 0))
        if carrier_changes is not None:
            tx["carrier_changes"] = carrier_changes
    return {"rx": rx, "tx": tx}
