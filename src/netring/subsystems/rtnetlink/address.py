"""Interface addresses: the lazy :class:`Address` view of ``RTM_NEWADDR`` / ``RTM_DELADDR``.

::

    +----------+-------------------------------------------+---------------------------
    | nlmsghdr | struct ifaddrmsg (8 bytes)                | IFA_ADDRESS IFA_LOCAL
    |          | family | prefixlen | flags | scope | index| IFA_LABEL IFA_FLAGS ...
    |          | u8     | u8        | u8    | u8    | u32  |
    +----------+-------------------------------------------+---------------------------
               ^ +16      +17         +18     +19     +20

``ifa_flags`` holds only the low 8 flag bits; ``IFA_FLAGS`` (32 bits) supersedes it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...codec.align import NLMSG_HDRLEN
from ...codec.structs import u32
from ...codec.types import TYPE_CHECKING
from . import names as _n
from .base import RtnlObject
from .constants import AF_INET6, IFA, IFA_F, RTM
from .jsonfmt import dev_name
from .structs import ifa_cacheinfo, ifaddrmsg

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Address"]

_unpack_u32 = u32.unpack_from

# struct ifaddrmsg fields, as offsets from the start of the message
_IFA_PREFIXLEN = NLMSG_HDRLEN + 1
_IFA_FLAGS = NLMSG_HDRLEN + 2
_IFA_SCOPE = NLMSG_HDRLEN + 3
_IFA_INDEX = NLMSG_HDRLEN + 4

# print_ifa_flags: the flags iproute2 prints as a key each, in its order, split
# around "dynamic" (printed when IFA_F_PERMANENT is absent)
_IFA_FLAG_KEYS = tuple((int(bit), key) for bit, key in (
    (IFA_F.NODAD, "nodad"), (IFA_F.OPTIMISTIC, "optimistic"),
    (IFA_F.DADFAILED, "dadfailed"), (IFA_F.HOMEADDRESS, "home"),
    (IFA_F.DEPRECATED, "deprecated"), (IFA_F.TENTATIVE, "tentative")))
_IFA_FLAG_KEYS_AFTER_DYNAMIC = tuple((int(bit), key) for bit, key in (
    (IFA_F.MANAGETEMPADDR, "mngtmpaddr"), (IFA_F.NOPREFIXROUTE, "noprefixroute"),
    (IFA_F.MCAUTOJOIN, "autojoin"), (IFA_F.STABLE_PRIVACY, "stable-privacy")))
_IFA_F_SECONDARY = int(IFA_F.SECONDARY)
_IFA_F_PERMANENT = int(IFA_F.PERMANENT)
#: every flag iproute2 has a name for; the rest prints as hex ``ifa_flags``
_IFA_F_KNOWN = int(IFA_F.SECONDARY) | int(IFA_F.PERMANENT) | sum(
    bit for bit, _key in _IFA_FLAG_KEYS + _IFA_FLAG_KEYS_AFTER_DYNAMIC)


class Address(RtnlObject):
    """An interface address (``RTM_NEWADDR``: ``struct ifaddrmsg`` + ``IFA_*``)."""

    __slots__ = ()
    HDR = ifaddrmsg
    ATTR = IFA
    PREFIX = "IFA_"
    TYPES = (RTM.NEWADDR, RTM.DELADDR)

    @property
    def prefixlen(self) -> int:
        """``ifa_prefixlen``."""
        return int(self._buf[self._off + _IFA_PREFIXLEN])

    @property
    def scope(self) -> int:
        """``ifa_scope`` (``RT_SCOPE_*``)."""
        return int(self._buf[self._off + _IFA_SCOPE])

    @property
    def index(self) -> int:
        """``ifa_index``: the interface."""
        return int(_unpack_u32(self._buf, self._off + _IFA_INDEX)[0])

    @property
    def flags(self) -> int:
        """``IFA_FLAGS`` when present (32 bits), else ``ifa_flags``."""
        f = self._get_u32(IFA.FLAGS)
        return int(self._buf[self._off + _IFA_FLAGS]) if f is None else f

    @property
    def address(self) -> str | None:
        """``IFA_ADDRESS`` (the peer on point-to-point links, else the local address)."""
        return self._get_ip(IFA.ADDRESS)

    @property
    def local(self) -> str | None:
        """``IFA_LOCAL`` (IPv4 only; falls back to nothing)."""
        return self._get_ip(IFA.LOCAL)

    @property
    def label(self) -> str | None:
        """``IFA_LABEL``."""
        return self._get_str(IFA.LABEL)

    @property
    def broadcast(self) -> str | None:
        """``IFA_BROADCAST``."""
        return self._get_ip(IFA.BROADCAST)

    @property
    def anycast(self) -> str | None:
        """``IFA_ANYCAST``."""
        return self._get_ip(IFA.ANYCAST)

    @property
    def multicast(self) -> str | None:
        """``IFA_MULTICAST``."""
        return self._get_ip(IFA.MULTICAST)

    @property
    def rt_priority(self) -> int | None:
        """``IFA_RT_PRIORITY`` (metric of the prefix route)."""
        return self._get_u32(IFA.RT_PRIORITY)

    @property
    def proto(self) -> int | None:
        """``IFA_PROTO``."""
        return self._get_u8(IFA.PROTO)

    @property
    def cacheinfo(self) -> tuple[int, int, int, int] | None:
        """``IFA_CACHEINFO`` as (preferred, valid, cstamp, tstamp)."""
        ci = self._get_struct(IFA.CACHEINFO, ifa_cacheinfo, extensible=True)
        return None if ci is None else (ci[0], ci[1], ci[2], ci[3])

    @property
    def prefix(self) -> str:
        """``local/prefixlen`` (``address/prefixlen`` when there is no IFA_LOCAL)."""
        return f"{self.local or self.address}/{self.prefixlen}"

    def to_dict(self, names: Mapping[int, str] | None = None) -> dict[str, Any]:
        """``ip -j -o addr show`` entry: ``index``, ``dev``, ``family``, ``local`` ..."""
        d: dict[str, Any] = {}
        if self.deleted:
            d["deleted"] = True
        at = self._index()
        fam = self.family
        d["index"] = self.index
        d["dev"] = dev_name(names, self.index)
        fname = _n.family_name(fam)
        if fname != "???":
            d["family"] = fname
        else:
            d["family_index"] = fam
        local_t = IFA.LOCAL if IFA.LOCAL in at else IFA.ADDRESS
        addr_t = IFA.ADDRESS if IFA.ADDRESS in at else IFA.LOCAL
        if local_t in at:
            local = self._get_bytes(local_t)
            d["local"] = self._get_ip(local_t)
            if addr_t in at and self._get_bytes(addr_t) != local:
                d["address"] = self._get_ip(addr_t)
            d["prefixlen"] = self.prefixlen
            if IFA.RT_PRIORITY in at:
                d["metric"] = self.rt_priority
        if IFA.BROADCAST in at:
            d["broadcast"] = self.broadcast
        if IFA.ANYCAST in at:
            d["anycast"] = self.anycast
        if IFA.MULTICAST in at:
            d["multicast"] = self.multicast
        d["scope"] = _n.rtscope_name(self.scope)
        flags = self.flags
        if flags & _IFA_F_SECONDARY:
            d["temporary" if fam == AF_INET6 else "secondary"] = True
        for bit, key in _IFA_FLAG_KEYS:
            if flags & bit:
                d[key] = True
        if not flags & _IFA_F_PERMANENT:
            d["dynamic"] = True
        for bit, key in _IFA_FLAG_KEYS_AFTER_DYNAMIC:
            if flags & bit:
                d[key] = True
        rest = flags & ~_IFA_F_KNOWN
        if rest:
            d["ifa_flags"] = f"{rest:02x}"
        # IFA_PROTO ("protocol") is left out: iproute2 6.1, the reference here, does not print it
        if IFA.LABEL in at:
            d["label"] = self.label
        ci = self.cacheinfo
        if ci is not None:
            d["valid_life_time"] = ci[1]
            d["preferred_life_time"] = ci[0]
        return d
