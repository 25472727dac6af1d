"""Lazy, slotted views of rtnetlink objects: links, addresses, routes, neighbours, rules.

A view is three slots: the buffer that holds the message, the message's offset
in it, and (after the first attribute access) a ``{type: offset}`` index of the
message's top-level attributes.  Nothing is decoded until it is asked for::

    buffer (bytes; e.g. one ~32 KiB receive chunk shared by ~600 route views)
    +----------+------------------+------------------------------------------+
    | nlmsghdr | family header    | attributes (TLVs)                        |
    | 16 bytes | rtmsg: 12 bytes  | RTA_TABLE | RTA_DST | RTA_OIF | ...      |
    +----------+------------------+------------------------------------------+
    ^ view._off                   ^ attribute index built on first access

* Each field property decodes from the buffer on access (``route.dst`` reads
  ``RTA_DST`` and formats it); header fields unpack the family header.
* Every attribute is reachable raw by its kernel name: ``route.raw("RTA_MARK")``
  or ``route.raw(RTA.MARK)`` returns an :class:`~netring.codec.Attr` (or ``None``);
  :meth:`RtnlObject.attrs` iterates all of them, unknown types included.
* Malformed attributes raise :class:`~netring.errors.DecodeError` when read,
  never at construction (the dump loop validates only the message framing).
* ``to_dict()`` returns what ``ip -j`` prints for the object (same keys, same
  value formats, same omitted defaults).  Interface names come from the
  ``names`` mapping (ifindex -> name); a missing index prints as ``ifN``.

Lifetime: the view references its buffer.  Views made by a dump or a monitor
own immutable ``bytes`` chunks, so they stay valid for as long as they are kept.
A view made over a caller's reusable buffer is valid only until that buffer is
overwritten (call :meth:`RtnlObject.copy` to detach it).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from enum import IntEnum
from typing import Any, ClassVar

from ...codec import Attr, iter_attrs
from ...codec.types import ReadableBuffer
from ...errors import DecodeError
from . import names as _n
from .constants import (
    AF_INET,
    AF_INET6,
    FR_ACT,
    FRA,
    IFA,
    IFLA,
    IFLA_INFO,
    NDA,
    NTF,
    RTA,
    RTAX,
    RTM,
    RTM_F,
)
from .structs import (
    fib_rule_hdr,
    fib_rule_port_range,
    fib_rule_uid_range,
    ifa_cacheinfo,
    ifaddrmsg,
    ifinfomsg,
    nda_cacheinfo,
    ndmsg,
    rta_cacheinfo,
    rtmsg,
    rtnexthop,
)

__all__ = [
    "RtnlObject", "Link", "Address", "Route", "NextHop", "Neighbour", "Rule",
    "OBJECT_CLASSES", "decode", "USER_HZ",
]

_u16 = struct.Struct("=H").unpack_from
_u32 = struct.Struct("=I").unpack_from
_s32 = struct.Struct("=i").unpack_from
_u64 = struct.Struct("=Q").unpack_from
_nla = struct.Struct("=HH").unpack_from
_nlh = struct.Struct("=IHHII").unpack_from

#: clock ticks per second of the ``clock_t`` values rtnetlink reports (USER_HZ)
USER_HZ = 100

_INFINITY_LIFE_TIME = 0xFFFFFFFF


def _dev(names: Mapping[int, str] | None, index: int) -> str:
    if names is not None:
        name = names.get(index)
        if name is not None:
            return name
    return f"if{index}"


class RtnlObject:
    """Base of the lazy rtnetlink views (see the module docstring).

    Args:
        buf: bytes-like buffer holding the whole netlink message.
        offset: where the message's ``nlmsghdr`` starts in ``buf``.

    Raises:
        DecodeError: the message header is truncated, ``nlmsg_len`` runs past the
            buffer, or the message is too short for the family header.
    """

    __slots__ = ("_buf", "_off", "_at")

    #: the family header (``struct ifinfomsg``, ``struct rtmsg``, ...)
    HDR: ClassVar[struct.Struct]
    #: attribute type enum used by :meth:`raw` to resolve kernel names
    ATTR: ClassVar[type[IntEnum]]
    #: attribute-name prefix (``"IFLA_"``, ``"RTA_"`` ...)
    PREFIX: ClassVar[str]
    #: message types this view decodes (NEW first)
    TYPES: ClassVar[tuple[int, ...]]

    _buf: ReadableBuffer
    _off: int
    _at: dict[int, int]

    def __init__(self, buf: ReadableBuffer, offset: int = 0) -> None:
        if offset < 0 or len(buf) - offset < 16:
            raise DecodeError("truncated nlmsghdr", offset)
        length = _u32(buf, offset)[0]
        if length > len(buf) - offset:
            raise DecodeError(f"nlmsg_len {length} runs past the buffer", offset)
        if length < 16 + self.HDR.size:
            raise DecodeError(
                f"{type(self).__name__}: message of {length} bytes is shorter than its "
                f"{self.HDR.size}-byte family header", offset)
        self._buf = buf
        self._off = offset

    @classmethod
    def from_bytes(cls, data: ReadableBuffer) -> RtnlObject:
        """A view of the single message in ``data`` (copied to private ``bytes``)."""
        return cls(bytes(data), 0)

    # -- message level ---------------------------------------------------------
    @property
    def nlmsg_len(self) -> int:
        """``nlmsg_len`` of the message."""
        return int(_u32(self._buf, self._off)[0])

    @property
    def nlmsg_type(self) -> int:
        """``nlmsg_type`` (``RTM_NEW*`` or ``RTM_DEL*``)."""
        return int(_u16(self._buf, self._off + 4)[0])

    @property
    def nlmsg_flags(self) -> int:
        """``nlmsg_flags``."""
        return int(_u16(self._buf, self._off + 6)[0])

    @property
    def seq(self) -> int:
        """``nlmsg_seq`` (0 for notifications)."""
        return int(_u32(self._buf, self._off + 8)[0])

    @property
    def deleted(self) -> bool:
        """True for an ``RTM_DEL*`` message (a deletion notification)."""
        return self.nlmsg_type == self.TYPES[0] + 1

    def tobytes(self) -> bytes:
        """Copy of the whole message."""
        end = self._off + _u32(self._buf, self._off)[0]
        return bytes(self._buf[self._off:end])

    def copy(self) -> RtnlObject:
        """The same object over a private copy of its message bytes."""
        return type(self)(self.tobytes(), 0)

    def _hdr(self) -> tuple[Any, ...]:
        return self.HDR.unpack_from(self._buf, self._off + 16)

    # -- attributes --------------------------------------------------------------
    def _index(self) -> dict[int, int]:
        try:
            return self._at
        except AttributeError:
            pass
        buf = self._buf
        off = self._off
        pos = off + 16 + ((self.HDR.size + 3) & ~3)
        end = off + _u32(buf, off)[0]
        at: dict[int, int] = {}
        while pos < end:
            if end - pos < 4:
                raise DecodeError(f"truncated nlattr: {end - pos} bytes left", pos)
            ln, t = _nla(buf, pos)
            if ln < 4 or ln > end - pos:
                raise DecodeError(f"bad nla_len {ln} ({end - pos} bytes left)", pos)
            at[t & 0x3FFF] = pos
            pos += (ln + 3) & ~3
        self._at = at
        return at

    def _span(self, t: int) -> tuple[int, int] | None:
        """(payload offset, payload length) of attribute ``t``, or None."""
        pos = self._index().get(t)
        if pos is None:
            return None
        return pos + 4, _u16(self._buf, pos)[0] - 4

    def _get_u8(self, t: int) -> int | None:
        s = self._span(t)
        if s is None:
            return None
        if s[1] != 1:
            raise DecodeError(f"{self._aname(t)}: u8 needs 1 byte, got {s[1]}", s[0] - 4)
        return int(self._buf[s[0]])

    def _get_u32(self, t: int) -> int | None:
        s = self._span(t)
        if s is None:
            return None
        if s[1] != 4:
            raise DecodeError(f"{self._aname(t)}: u32 needs 4 bytes, got {s[1]}", s[0] - 4)
        return int(_u32(self._buf, s[0])[0])

    def _get_s32(self, t: int) -> int | None:
        s = self._span(t)
        if s is None:
            return None
        if s[1] != 4:
            raise DecodeError(f"{self._aname(t)}: s32 needs 4 bytes, got {s[1]}", s[0] - 4)
        return int(_s32(self._buf, s[0])[0])

    def _get_bytes(self, t: int) -> bytes | None:
        s = self._span(t)
        if s is None:
            return None
        return bytes(self._buf[s[0]:s[0] + s[1]])

    def _get_str(self, t: int) -> str | None:
        raw = self._get_bytes(t)
        if raw is None:
            return None
        nul = raw.find(b"\0")
        if nul >= 0:
            raw = raw[:nul]
        return raw.decode("utf-8", "surrogateescape")

    def _get_ip(self, t: int) -> str | None:
        s = self._span(t)
        if s is None:
            return None
        o, n = s
        b = self._buf
        if n == 4:
            return f"{b[o]}.{b[o + 1]}.{b[o + 2]}.{b[o + 3]}"
        if n == 16:
            return _n.ntop6(bytes(b[o:o + 16]))
        raise DecodeError(f"{self._aname(t)}: {n} bytes is no IP address", o - 4)

    def _aname(self, t: int) -> str:
        try:
            return self.PREFIX + self.ATTR(t).name
        except ValueError:
            return f"{self.PREFIX}{t}"

    @property
    def family(self) -> int:
        """The address family: the first byte of every rtnetlink family header
        (``ifi_family``, ``ifa_family``, ``rtm_family``, ``ndm_family``, ``family``)."""
        return int(self._buf[self._off + 16])

    def raw(self, key: int | str) -> Attr | None:
        """The attribute of type ``key`` as a zero-copy :class:`~netring.codec.Attr`.

        Args:
            key: an attribute type number, an enum member (``RTA.MARK``), or a
                kernel name with or without prefix (``"RTA_MARK"``, ``"MARK"``).
        """
        if isinstance(key, str):
            name = key.upper()
            if name.startswith(self.PREFIX):
                name = name[len(self.PREFIX):]
            try:
                t = int(self.ATTR[name])
            except KeyError:
                raise KeyError(f"{type(self).__name__}: no attribute named {key!r}") from None
        else:
            t = int(key)
        pos = self._index().get(t)
        if pos is None:
            return None
        ln, ty = _nla(self._buf, pos)
        mv = memoryview(self._buf)
        if mv.format != "B" or mv.ndim != 1:
            mv = mv.cast("B")
        return Attr(mv, pos, ln, ty & 0x3FFF, ty & 0xC000)

    def has(self, key: int) -> bool:
        """True when the message carries attribute type ``key``."""
        return key in self._index()

    def attrs(self) -> Iterator[Attr]:
        """Every top-level attribute in wire order (unknown types included)."""
        off = self._off
        start = off + 16 + ((self.HDR.size + 3) & ~3)
        return iter_attrs(self._buf, start, off + _u32(self._buf, off)[0])

    def attr_names(self) -> list[str]:
        """Kernel names of the attributes present (``RTA_42`` for unknown ones)."""
        return [self._aname(a.type) for a in self.attrs()]

    def to_dict(self, names: Mapping[int, str] | None = None) -> dict[str, Any]:
        """``ip -j`` form of the object (see each subclass)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        try:
            body = " ".join(f"{k}={v!r}" for k, v in list(self.to_dict().items())[:6])
        except DecodeError as exc:
            body = f"<undecodable: {exc}>"
        return f"<{type(self).__name__} {body}>"


# ---------------------------------------------------------------------------------
class _RouteLikeHeader(RtnlObject):
    """The first four bytes ``struct rtmsg`` and ``struct fib_rule_hdr`` share
    (``family, dst_len, src_len, tos``; fib_rules.h mirrors rtnetlink.h)."""

    __slots__ = ()

    @property
    def dst_len(self) -> int:
        """``rtm_dst_len`` / ``dst_len``: prefix length of the destination."""
        return int(self._buf[self._off + 17])

    @property
    def src_len(self) -> int:
        """``rtm_src_len`` / ``src_len``: prefix length of the source."""
        return int(self._buf[self._off + 18])

    @property
    def tos(self) -> int:
        """``rtm_tos`` / ``tos``."""
        return int(self._buf[self._off + 19])


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
        return int(_u16(self._buf, self._off + 18)[0])

    @property
    def index(self) -> int:
        """``ifi_index``."""
        return int(_s32(self._buf, self._off + 20)[0])

    @property
    def flags(self) -> int:
        """``ifi_flags`` (``IFF_*``)."""
        return int(_u32(self._buf, self._off + 24)[0])

    @property
    def change(self) -> int:
        """``ifi_change``."""
        return int(_u32(self._buf, self._off + 28)[0])

    @property
    def up(self) -> bool:
        """``IFF_UP`` is set."""
        return bool(self.flags & 1)

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

    @property
    def address(self) -> str | None:
        """``IFLA_ADDRESS`` as ``aa:bb:..``."""
        raw = self._get_bytes(IFLA.ADDRESS)
        return None if raw is None else _n.lladdr_str(raw, self.type)

    @property
    def broadcast(self) -> str | None:
        """``IFLA_BROADCAST`` as ``aa:bb:..``."""
        raw = self._get_bytes(IFLA.BROADCAST)
        return None if raw is None else _n.lladdr_str(raw, self.type)

    @property
    def perm_address(self) -> str | None:
        """``IFLA_PERM_ADDRESS``."""
        raw = self._get_bytes(IFLA.PERM_ADDRESS)
        return None if raw is None else _n.lladdr_str(raw, self.type)

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
        """``IFLA_ALT_IFNAME`` entries of ``IFLA_PROP_LIST``."""
        a = self.raw(IFLA.PROP_LIST)
        if a is None:
            return []
        return [x.text() for x in a.nested() if x.type == IFLA.ALT_IFNAME]

    @property
    def kind(self) -> str | None:
        """``IFLA_INFO_KIND`` inside ``IFLA_LINKINFO`` (``"veth"``, ``"bridge"`` ...)."""
        info = self.linkinfo
        a = info.get(IFLA_INFO.KIND)
        return None if a is None else a.text()

    @property
    def slave_kind(self) -> str | None:
        """``IFLA_INFO_SLAVE_KIND`` inside ``IFLA_LINKINFO``."""
        a = self.linkinfo.get(IFLA_INFO.SLAVE_KIND)
        return None if a is None else a.text()

    @property
    def linkinfo(self) -> dict[int, Attr]:
        """``IFLA_LINKINFO`` as ``{IFLA_INFO_*: Attr}`` (empty when absent)."""
        a = self.raw(IFLA.LINKINFO)
        return {} if a is None else a.nested_table()

    @property
    def info_data(self) -> dict[int, Attr]:
        """``IFLA_INFO_DATA`` (kind-specific attributes) as ``{type: Attr}``."""
        a = self.linkinfo.get(IFLA_INFO.DATA)
        return {} if a is None else a.nested_table()

    @property
    def stats64(self) -> dict[str, int] | None:
        """``IFLA_STATS64`` (``struct rtnl_link_stats64``) by field name; length-tolerant."""
        s = self._span(IFLA.STATS64)
        if s is None:
            return None
        o, n = s
        count = min(n // 8, len(_STATS64_FIELDS))
        return {_STATS64_FIELDS[i]: int(_u64(self._buf, o + 8 * i)[0]) for i in range(count)}

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
                d["link"] = _dev(names, iflink)
                if link_flags is not None and iflink in link_flags:
                    mdown = not link_flags[iflink] & 1
        d["ifname"] = self.name
        d["flags"] = _n.link_flag_names(self.flags, mdown)
        if IFLA.MTU in at:
            d["mtu"] = self.mtu
        if IFLA.QDISC in at:
            d["qdisc"] = self.qdisc
        if IFLA.MASTER in at:
            d["master"] = _dev(names, self.master or 0)
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
            if self.flags & 0x10:
                d["link_pointtopoint"] = True
            d["broadcast"] = self.broadcast
        perm = self._get_bytes(IFLA.PERM_ADDRESS)
        if perm is not None and perm != self._get_bytes(IFLA.ADDRESS):
            d["permaddr"] = _n.lladdr_str(perm, self.type)
        if IFLA.LINK_NETNSID in at:
            d["link_netnsid"] = self.link_netnsid
        if self._get_u8(IFLA.PROTO_DOWN):
            d["proto_down"] = True
        if IFLA.IFALIAS in at:
            d["ifalias"] = self.ifalias
        if stats and IFLA.STATS64 in at:
            d["stats64"] = _stats64_json(self.stats64 or {})
        if IFLA.PROP_LIST in at:
            d["altnames"] = self.alt_names
        return d


_STATS64_FIELDS = (
    "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
    "rx_dropped", "tx_dropped", "multicast", "collisions", "rx_length_errors",
    "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
    "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
    "tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed",
    "rx_nohandler", "rx_otherhost_dropped",
)


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


# ---------------------------------------------------------------------------------
_IFA_FLAG_JSON = (
    (0x02, "nodad"), (0x04, "optimistic"), (0x08, "dadfailed"), (0x10, "home"),
    (0x20, "deprecated"), (0x40, "tentative"),
)
_IFA_FLAG_JSON2 = (
    (0x100, "mngtmpaddr"), (0x200, "noprefixroute"), (0x400, "autojoin"),
    (0x800, "stable-privacy"),
)


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
        return int(self._buf[self._off + 17])

    @property
    def scope(self) -> int:
        """``ifa_scope`` (``RT_SCOPE_*``)."""
        return int(self._buf[self._off + 19])

    @property
    def index(self) -> int:
        """``ifa_index``: the interface."""
        return int(_u32(self._buf, self._off + 20)[0])

    @property
    def flags(self) -> int:
        """``IFA_FLAGS`` when present (32 bits), else ``ifa_flags``."""
        f = self._get_u32(IFA.FLAGS)
        return int(self._buf[self._off + 18]) if f is None else f

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
        s = self._span(IFA.CACHEINFO)
        if s is None:
            return None
        if s[1] < 16:
            raise DecodeError(f"IFA_CACHEINFO of {s[1]} bytes", s[0] - 4)
        return ifa_cacheinfo.unpack_from(self._buf, s[0])

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
        d["dev"] = _dev(names, self.index)
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
            d["multicast"] = self._get_ip(IFA.MULTICAST)
        d["scope"] = _n.rtscope_name(self.scope)
        flags = self.flags
        if flags & 0x01:
            d["temporary" if fam == AF_INET6 else "secondary"] = True
        for bit, name in _IFA_FLAG_JSON:
            if flags & bit:
                d[name] = True
        if not flags & 0x80:
            d["dynamic"] = True
        for bit, name in _IFA_FLAG_JSON2:
            if flags & bit:
                d[name] = True
        rest = flags & ~0xFFF
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


# ---------------------------------------------------------------------------------
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
            d["flow"] = _flow_json(self.flow)
        d["dev"] = _dev(names, self.ifindex)
        if family != 28:
            d["weight"] = self.hops + 1
        d["flags"] = _n.route_flag_names(self.flags)
        return d

    def __repr__(self) -> str:
        return (f"<NextHop gateway={self.gateway} ifindex={self.ifindex} "
                f"weight={self.weight} flags={self.flags:#x}>")


def _flow_json(v: int) -> dict[str, str]:
    frm = v >> 16
    d: dict[str, str] = {}
    if frm:
        d["from"] = _n.realm_name(frm)
    d["to"] = _n.realm_name(v & 0xFFFF)
    return d


_MX_NAMES: dict[int, str] = {
    RTAX.MTU: "mtu", RTAX.WINDOW: "window", RTAX.RTT: "rtt", RTAX.RTTVAR: "rttvar",
    RTAX.SSTHRESH: "ssthresh", RTAX.CWND: "cwnd", RTAX.ADVMSS: "advmss",
    RTAX.REORDERING: "reordering", RTAX.HOPLIMIT: "hoplimit", RTAX.INITCWND: "initcwnd",
    RTAX.FEATURES: "features", RTAX.RTO_MIN: "rto_min", RTAX.INITRWND: "initrwnd",
    RTAX.QUICKACK: "quickack", RTAX.CC_ALGO: "congctl",
    RTAX.FASTOPEN_NO_COOKIE: "fastopen_no_cookie",
}


class Route(_RouteLikeHeader):
    """A route (``RTM_NEWROUTE``: ``struct rtmsg`` + ``RTA_*``)."""

    __slots__ = ()
    HDR = rtmsg
    ATTR = RTA
    PREFIX = "RTA_"
    TYPES = (RTM.NEWROUTE, RTM.DELROUTE)

    # header fields: rtmsg at +16




    @property
    def rtm_table(self) -> int:
        """``rtm_table`` (8 bits; see :attr:`table`)."""
        return int(self._buf[self._off + 20])

    @property
    def protocol(self) -> int:
        """``rtm_protocol`` (``RTPROT_*``)."""
        return int(self._buf[self._off + 21])

    @property
    def scope(self) -> int:
        """``rtm_scope`` (``RT_SCOPE_*``)."""
        return int(self._buf[self._off + 22])

    @property
    def type(self) -> int:
        """``rtm_type`` (``RTN_*``)."""
        return int(self._buf[self._off + 23])

    @property
    def flags(self) -> int:
        """``rtm_flags`` (``RTM_F_*`` | ``RTNH_F_*``)."""
        return int(_u32(self._buf, self._off + 24)[0])

    @property
    def table(self) -> int:
        """Routing table id: ``RTA_TABLE`` when present, else ``rtm_table``."""
        t = self._get_u32(RTA.TABLE)
        return int(self._buf[self._off + 20]) if t is None else t

    # attributes
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
    def encap_type(self) -> int | None:
        """``RTA_ENCAP_TYPE`` (``LWTUNNEL_ENCAP_*``); the encap itself via ``raw``."""
        s = self._span(RTA.ENCAP_TYPE)
        if s is None:
            return None
        return int(_u16(self._buf, s[0])[0])

    @property
    def via(self) -> tuple[int, str] | None:
        """``RTA_VIA`` as (family, address text)."""
        s = self._span(RTA.VIA)
        if s is None:
            return None
        o, n = s
        if n < 2:
            raise DecodeError(f"RTA_VIA of {n} bytes", o - 4)
        return int(_u16(self._buf, o)[0]), _n.ntop(bytes(self._buf[o + 2:o + n]))

    @property
    def cacheinfo(self) -> tuple[int, ...] | None:
        """``RTA_CACHEINFO`` (clntref, lastuse, expires, error, used, id, ts, tsage)."""
        s = self._span(RTA.CACHEINFO)
        if s is None:
            return None
        if s[1] < 32:
            raise DecodeError(f"RTA_CACHEINFO of {s[1]} bytes", s[0] - 4)
        return rta_cacheinfo.unpack_from(self._buf, s[0])

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
                out[_MX_NAMES.get(m.type, f"metric_{m.type}")] = m.u32()
        return out

    @property
    def multipath(self) -> list[NextHop]:
        """``RTA_MULTIPATH`` next hops (empty for a single-path route)."""
        s = self._span(RTA.MULTIPATH)
        if s is None:
            return []
        buf = self._buf
        pos, end = s[0], s[0] + s[1]
        out: list[NextHop] = []
        while end - pos >= 8:
            ln, fl, hops, ifindex = rtnexthop.unpack_from(buf, pos)
            if ln < 8 or ln > end - pos:
                raise DecodeError(f"rtnh_len {ln} ({end - pos} bytes left)", pos)
            nh = NextHop(fl, hops, ifindex)
            for a in iter_attrs(buf, pos + 8, pos + ln):
                t = a.type
                if t == RTA.GATEWAY:
                    nh.gateway = a.ip()
                elif t == RTA.VIA:
                    p = a.bytes()
                    if len(p) < 2:
                        raise DecodeError("RTA_VIA too short", a.offset)
                    nh.via = (p[0] | p[1] << 8, _n.ntop(p[2:]))
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
        buf = self._buf
        o = self._off + 16
        fam, dst_len, src_len, tos, _t8, proto, scope, rtype = (
            buf[o], buf[o + 1], buf[o + 2], buf[o + 3], buf[o + 4], buf[o + 5], buf[o + 6],
            buf[o + 7])
        flags = self.flags
        at = self._index()
        host_len = 32 if fam == AF_INET else 128 if fam == AF_INET6 else -1
        d: dict[str, Any] = {}
        if self.deleted:
            d["deleted"] = True
        if rtype != 1:
            d["type"] = _n.rtntype_name(rtype)
        if RTA.DST in at:
            dst = self._dst_text(RTA.DST)
            d["dst"] = dst if dst_len == host_len else f"{dst}/{dst_len}"
        elif dst_len:
            d["dst"] = f"0/{dst_len} "
        else:
            d["dst"] = "default"
        if RTA.SRC in at:
            src = self._dst_text(RTA.SRC)
            d["from"] = src if src_len == host_len else f"{src}/{src_len}"
        elif src_len:
            d["src"] = f"0/{src_len}"
        if RTA.NH_ID in at:
            d["nhid"] = self.nh_id
        if RTA.NEWDST in at:
            d["to"] = self._dst_text(RTA.NEWDST)
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
            d["dev"] = _dev(names, self.oif or 0)
        table = self.table
        if table and table != 254:
            d["table"] = _n.rttable_name(table)
        if not flags & RTM_F.CLONED:
            if proto != 3:
                d["protocol"] = _n.rtprot_name(proto)
            if scope != 0:
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
            d["flow"] = _flow_json(self.flow or 0)
        if RTA.UID in at:
            d["uid"] = self.uid
        if fam == AF_INET and flags & RTM_F.CLONED:
            d["cache"] = []
        if fam in (AF_INET, AF_INET6) and RTA.CACHEINFO in at:
            ci = self.cacheinfo
            assert ci is not None
            if ci[2]:
                d["expires"] = int(ci[2] / USER_HZ)
            if ci[3]:
                d["error"] = ci[3]
            if ci[5]:
                d["ipid"] = f"0x{ci[5]:04x}"
            if ci[6] or ci[7]:
                d["ts"] = f"0x{ci[6]:x}"
                d["tsage"] = ci[7]
        if RTA.METRICS in at:
            d["metrics"] = [self._metrics_json()]
        if RTA.IIF in at:
            d["iif"] = _dev(names, self.iif or 0)
        if RTA.PREF in at:
            pref = self.pref
            d["pref"] = {0: "medium", 1: "high", 3: "low"}.get(pref or 0, pref)
        if RTA.TTL_PROPAGATE in at:
            d["ttl-propogate"] = bool(self._get_u8(RTA.TTL_PROPAGATE))
        if RTA.MULTIPATH in at:
            d["nexthops"] = [nh.to_dict(names, fam) for nh in self.multipath]
        return d

    def _dst_text(self, t: int) -> str:
        s = self._span(t)
        assert s is not None
        return _n.ntop(bytes(self._buf[s[0]:s[0] + s[1]]))

    def _metrics_json(self) -> dict[str, Any]:
        a = self.raw(RTA.METRICS)
        assert a is not None
        tab = a.nested_table()
        lock = tab[RTAX.LOCK].u32() if RTAX.LOCK in tab else 0
        out: dict[str, Any] = {}
        for i in range(2, RTAX.CC_ALGO + 1):
            m = tab.get(i)
            if m is None and not lock & (1 << i):
                continue
            val = 0
            if m is not None and i != RTAX.CC_ALGO:
                val = m.u32()
            if i == RTAX.HOPLIMIT and val == 0xFFFFFFFF:
                continue
            if i == RTAX.FEATURES:
                if val & 1:
                    out["ecn"] = None
                if val & ~1:
                    out["features"] = f"{val:#x}"
            elif i == RTAX.RTT:
                out["rtt"] = val // 8
            elif i == RTAX.RTTVAR:
                out["rttvar"] = val // 4
            elif i == RTAX.CC_ALGO:
                out["congestion"] = m.text() if m is not None else ""
            else:
                out[_MX_NAMES[RTAX(i)]] = val
        return out


# ---------------------------------------------------------------------------------
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
        return int(_s32(self._buf, self._off + 20)[0])

    @property
    def state(self) -> int:
        """``ndm_state`` (``NUD_*``)."""
        return int(_u16(self._buf, self._off + 24)[0])

    @property
    def flags(self) -> int:
        """``ndm_flags`` (``NTF_*``)."""
        return int(self._buf[self._off + 26])

    @property
    def type(self) -> int:
        """``ndm_type``."""
        return int(self._buf[self._off + 27])

    @property
    def dst(self) -> str | None:
        """``NDA_DST``."""
        return self._get_ip(NDA.DST)

    @property
    def lladdr(self) -> str | None:
        """``NDA_LLADDR``."""
        raw = self._get_bytes(NDA.LLADDR)
        return None if raw is None else _n.lladdr_str(raw)

    @property
    def probes(self) -> int | None:
        """``NDA_PROBES``."""
        return self._get_u32(NDA.PROBES)

    @property
    def vlan(self) -> int | None:
        """``NDA_VLAN``."""
        s = self._span(NDA.VLAN)
        return None if s is None else int(_u16(self._buf, s[0])[0])

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
    def cacheinfo(self) -> tuple[int, int, int, int] | None:
        """``NDA_CACHEINFO`` (confirmed, used, updated, refcnt)."""
        s = self._span(NDA.CACHEINFO)
        if s is None:
            return None
        if s[1] < 16:
            raise DecodeError(f"NDA_CACHEINFO of {s[1]} bytes", s[0] - 4)
        return nda_cacheinfo.unpack_from(self._buf, s[0])

    def to_dict(self, names: Mapping[int, str] | None = None) -> dict[str, Any]:
        """``ip -j neigh show nud all`` entry."""
        d: dict[str, Any] = {}
        if self.deleted:
            d["deleted"] = True
        elif self.nlmsg_type == RTM.GETNEIGH:
            d["miss"] = None
        at = self._index()
        if NDA.DST in at:
            d["dst"] = self.dst
        if self.ifindex:
            d["dev"] = _dev(names, self.ifindex)
        if NDA.LLADDR in at:
            d["lladdr"] = self.lladdr
        fl = self.flags
        if fl & NTF.ROUTER:
            d["router"] = None
        if fl & NTF.PROXY:
            d["proxy"] = None
        if fl & NTF.EXT_LEARNED:
            d["extern_learn"] = None
        if fl & NTF.OFFLOADED:
            d["offload"] = None
        if self.state:
            d["state"] = _n.nud_state_names(self.state)
        proto = self.protocol
        if proto:
            d["protocol"] = _n.rtprot_name(proto)
        return d


# ---------------------------------------------------------------------------------
class Rule(_RouteLikeHeader):
    """A policy routing rule (``RTM_NEWRULE``: ``struct fib_rule_hdr`` + ``FRA_*``)."""

    __slots__ = ()
    HDR = fib_rule_hdr
    ATTR = FRA
    PREFIX = "FRA_"
    TYPES = (RTM.NEWRULE, RTM.DELRULE)





    @property
    def action(self) -> int:
        """``action`` (``FR_ACT_*``)."""
        return int(self._buf[self._off + 23])

    @property
    def flags(self) -> int:
        """``flags`` (``FIB_RULE_*``)."""
        return int(_u32(self._buf, self._off + 24)[0])

    @property
    def table(self) -> int:
        """``FRA_TABLE`` when present, else the header's 8-bit ``table``."""
        t = self._get_u32(FRA.TABLE)
        return int(self._buf[self._off + 20]) if t is None else t

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
    def uid_range(self) -> tuple[int, int] | None:
        """``FRA_UID_RANGE`` as (start, end)."""
        s = self._span(FRA.UID_RANGE)
        return None if s is None else fib_rule_uid_range.unpack_from(self._buf, s[0])

    def _port_range(self, t: int) -> tuple[int, int] | None:
        s = self._span(t)
        return None if s is None else fib_rule_port_range.unpack_from(self._buf, s[0])

    def to_dict(self, names: Mapping[int, str] | None = None) -> dict[str, Any]:
        """``ip -j rule show`` entry."""
        d: dict[str, Any] = {}
        if self.deleted:
            d["deleted"] = True
        at = self._index()
        fam = self.family
        host_len = 32 if fam == AF_INET else 128 if fam == AF_INET6 else -1
        flags = self.flags
        if flags & 0x2:
            d["not"] = None
        d["priority"] = self.priority or 0
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
            mask = self.fwmask if FRA.FWMASK in at else 0xFFFFFFFF
            if mark or mask != 0xFFFFFFFF:
                d["fwmark"] = f"{mark:#x}"
                if mask != 0xFFFFFFFF:
                    d["fwmask"] = f"{mask:#x}"
        if FRA.IIFNAME in at:
            d["iif"] = self.iifname
            if flags & 0x8:
                d["iif_detached"] = None
        if FRA.OIFNAME in at:
            d["oif"] = self.oifname
            if flags & 0x10:
                d["oif_detached"] = None
        if FRA.L3MDEV in at and self._get_u8(FRA.L3MDEV):
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
        table = self.table
        if table:
            d["table"] = _n.rttable_name(table)
            if FRA.SUPPRESS_PREFIXLEN in at:
                pl = self.suppress_prefixlen
                if pl != -1:
                    d["suppress_prefixlen"] = pl
            if FRA.SUPPRESS_IFGROUP in at:
                grp = self._get_s32(FRA.SUPPRESS_IFGROUP)
                if grp != -1:
                    d["suppress_ifgroup"] = _n.group_name(grp or 0)
        if FRA.FLOW in at:
            flow = self._get_u32(FRA.FLOW) or 0
            frm, to = flow >> 16, flow & 0xFFFF
            if frm:
                d["flow_from"] = _n.realm_name(frm)
            d["flow_to"] = _n.realm_name(to)
        act = self.action
        if act == 10:  # RTN_NAT
            d["nat"] = "none"
        elif act == FR_ACT.GOTO:
            d["goto"] = self.goto if FRA.GOTO in at else "none"
            if flags & 0x4:
                d["unresolved"] = None
        elif act == FR_ACT.NOP:
            d["action"] = "nop"
        elif act != FR_ACT.TO_TBL:
            d["action"] = _n.rtntype_name(act)
        if FRA.PROTOCOL in at:
            proto = self.protocol or 0
            if proto and proto != 2:
                d["protocol"] = _n.rtprot_name(proto)
        return d


#: message type -> view class
OBJECT_CLASSES: dict[int, type[RtnlObject]] = {}
for _cls in (Link, Address, Route, Neighbour, Rule):
    for _t in _cls.TYPES:
        OBJECT_CLASSES[_t] = _cls
OBJECT_CLASSES[RTM.GETNEIGH] = Neighbour  # "miss" notifications (app_probes)


def decode(buf: ReadableBuffer, offset: int = 0) -> RtnlObject | None:
    """The typed view of the message at ``offset``, or ``None`` for other types.

    Raises:
        DecodeError: truncated header or a message shorter than its family header.
    """
    if len(buf) - offset < 16:
        raise DecodeError("truncated nlmsghdr", offset)
    cls = OBJECT_CLASSES.get(_u16(buf, offset + 4)[0])
    return None if cls is None else cls(buf, offset)
