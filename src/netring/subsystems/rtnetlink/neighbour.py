"""Neighbours (ARP / NDP / FDB entries): the lazy :class:`Neighbour` view of
``RTM_NEWNEIGH`` / ``RTM_DELNEIGH`` (and ``RTM_GETNEIGH`` "miss" notifications).

::

    +----------+--------------------------------------------------+------------------
    | nlmsghdr | struct ndmsg (12 bytes)                          | NDA_DST NDA_LLADDR
    |          | family pad pad2 | ifindex | state | flags | type | NDA_CACHEINFO ...
    |          | u8     u8  u16  | s32     | u16   | u8    | u8   |
    +----------+--------------------------------------------------+------------------
               ^ +16               +20       +24     +26     +27
"""

from __future__ import annotations

from collections.abc import Mapping

from ...codec.align import NLMSG_HDRLEN
from ...codec.structs import s32, u16
from ...codec.types import TYPE_CHECKING
from . import names as _n
from .base import RtnlObject
from .constants import NDA, NTF, RTM
from .jsonfmt import dev_name
from .structs import nda_cacheinfo, ndmsg

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Neighbour"]

_unpack_u16 = u16.unpack_from
_unpack_s32 = s32.unpack_from

# struct ndmsg fields, as offsets from the start of the message
_NDM_IFINDEX = NLMSG_HDRLEN + 4
_NDM_STATE = NLMSG_HDRLEN + 8
_NDM_FLAGS = NLMSG_HDRLEN + 10
_NDM_TYPE = NLMSG_HDRLEN + 11

# print_neigh's flag keys, in its order
_NTF_KEYS = tuple((int(bit), key) for bit, key in (
    (NTF.ROUTER, "router"), (NTF.PROXY, "proxy"), (NTF.EXT_LEARNED, "extern_learn"),
    (NTF.OFFLOADED, "offload")))


class Neighbour(RtnlObject):
    """A neighbour entry (``RTM_NEWNEIGH``: ``struct ndmsg`` + ``NDA_*``)."""

    __slots__ = ()
    HDR = ndmsg
    ATTR = NDA
    PREFIX = "NDA_"
    TYPES = (RTM.NEWNEIGH, RTM.DELNEIGH)

    @property
    def ifindex(self) -> int:
        """``ndm_ifindex``."""
        return int(_unpack_s32(self._buf, self._off + _NDM_IFINDEX)[0])

    @property
    def state(self) -> int:
        """``ndm_state`` (``NUD_*``)."""
        return int(_unpack_u16(self._buf, self._off + _NDM_STATE)[0])

    @property
    def flags(self) -> int:
        """``ndm_flags`` (``NTF_*``)."""
        return int(self._buf[self._off + _NDM_FLAGS])

    @property
    def type(self) -> int:
        """``ndm_type``."""
        return int(self._buf[self._off + _NDM_TYPE])

    @property
    def miss(self) -> bool:
        """True for an ``RTM_GETNEIGH`` notification (the kernel asks for a resolution)."""
        return self.nlmsg_type == RTM.GETNEIGH

    @property
    def dst(self) -> str | None:
        """``NDA_DST``."""
        return self._get_ip(NDA.DST)

    @property
    def lladdr(self) -> str | None:
        """``NDA_LLADDR`` as ``aa:bb:..``."""
        return self._get_lladdr(NDA.LLADDR)

    @property
    def probes(self) -> int | None:
        """``NDA_PROBES``."""
        return self._get_u32(NDA.PROBES)

    @property
    def vlan(self) -> int | None:
        """``NDA_VLAN``."""
        return self._get_u16(NDA.VLAN)

    @property
    def vni(self) -> int | None:
        """``NDA_VNI``."""
        return self._get_u32(NDA.VNI)

    @property
    def master(self) -> int | None:
        """``NDA_MASTER``."""
        return self._get_u32(NDA.MASTER)

    @property
    def protocol(self) -> int | None:
        """``NDA_PROTOCOL``."""
        return self._get_u8(NDA.PROTOCOL)

    @property
    def flags_ext(self) -> int | None:
        """``NDA_FLAGS_EXT`` (``NTF_EXT_*``)."""
        return self._get_u32(NDA.FLAGS_EXT)

    @property
    def cacheinfo(self) -> tuple[int, int, int, int] | None:
        """``NDA_CACHEINFO`` (confirmed, used, updated, refcnt)."""
        ci = self._get_struct(NDA.CACHEINFO, nda_cacheinfo, extensible=True)
        return None if ci is None else (ci[0], ci[1], ci[2], ci[3])

    def to_dict(self, names: Mapping[int, str] | None = None) -> dict[str, Any]:
        """``ip -j neigh show nud all`` entry."""
        d: dict[str, Any] = {}
        if self.deleted:
            d["deleted"] = True
        elif self.miss:
            d["miss"] = None
        at = self._index()
        if NDA.DST in at:
            d["dst"] = self.dst
        if self.ifindex:
            d["dev"] = dev_name(names, self.ifindex)
        if NDA.LLADDR in at:
            d["lladdr"] = self.lladdr
        flags = self.flags
        for bit, key in _NTF_KEYS:
            if flags & bit:
                d[key] = None
        if self.state:
            d["state"] = _n.nud_state_names(self.state)
        proto = self.protocol
        if proto:
            d["protocol"] = _n.rtprot_name(proto)
        return d
