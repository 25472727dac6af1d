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
from typing import Any

from ...codec import Attr
from ...codec.align import NLMSG_HDRLEN
from ...codec.structs import s32, u16, u32, u64
from . import names as _n
from .base import RtnlObject
from .constants import IFF, IFLA, IFLA_INFO, RTM
from .jsonfmt import dev_name
from .structs import ifinfomsg

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

    def to_dict(self, names: Mapping[int, str] | None = None,
                link_flags: Mapping[int, int] | None = None,
                stats: bool = False) -> dict[str, Any]:
        """``ip -j link show`` form (``stats=True``: ``ip -j -s link`` stats64 block).

        Args:
            names: ifindex -> name, for ``link`` and ``master``.
            link_flags: ifindex -> ``ifi_flags``, for the ``M-DOWN`` flag of a link
                whose lower device is down (as iproute2 prints it).
            stats: include the ``stats64`` object.
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
        if IFLA.IFALIAS in at:
            d["ifalias"] = self.ifalias
        if stats and IFLA.STATS64 in at:
            d["stats64"] = _stats64_json(self.stats64 or {})
        if IFLA.PROP_LIST in at:
            d["altnames"] = self.alt_names
        return d


def _stats64_json(s: dict[str, int]) -> dict[str, Any]:
    """The ``stats64`` object of ``ip -j -s link`` (without -s -s details)."""
    rx = {"bytes": s.get("rx_bytes", 0), "packets": s.get("rx_packets", 0),
          "errors": s.get("rx_errors", 0), "dropped": s.get("rx_dropped", 0),
          "over_errors": s.get("rx_over_errors", 0), "multicast": s.get("multicast", 0)}
    if s.get("rx_compressed"):
        rx["compressed"] = s["rx_compressed"]
    tx = {"bytes": s.get("tx_bytes", 0), "packets": s.get("tx_packets", 0),
          "errors": s.get("tx_errors", 0), "dropped": s.get("tx_dropped", 0),
          "carrier_errors": s.get("tx_carrier_errors", 0),
          "collisions": s.get("collisions", 0)}
    if s.get("tx_compressed"):
        tx["compressed"] = s["tx_compressed"]
    return {"rx": rx, "tx": tx}
