"""The lazy view of one logged packet (``NFULNL_MSG_PACKET``): :class:`LogMessage`.

::

    nlmsghdr (16)  type 0x0400, flags 0, seq 0, portid 0
    nfgenmsg (4)   nfgen_family (NFPROTO_*), version 0, res_id = log group (be16)
    attributes     NFULA_PACKET_HDR  hw_protocol be16 | hook u8 | pad      (always first)
                   NFULA_PREFIX      "prefix\\0"                          (if the rule has one)
                   NFULA_IFINDEX_*   be32 each                             (the devices known)
                   NFULA_MARK        be32                                  (if non-zero)
                   NFULA_HWADDR      hw_addrlen be16 | pad | hw_addr[8]    (input side)
                   NFULA_HWTYPE/HWLEN be16, NFULA_HWHEADER bytes           (input side)
                   NFULA_TIMESTAMP   sec be64 | usec be64                  (hooks <= FORWARD)
                   NFULA_UID/GID     be32                                  (local socket)
                   NFULA_SEQ/SEQ_GLOBAL be32                               (if asked for)
                   NFULA_CT/CT_INFO  nested / be32                         (if asked for)
                   NFULA_VLAN (nested) / NFULA_L2HDR                       (bridge, netdev)
                   NFULA_PAYLOAD     the packet from its network header    (copy mode PACKET)

Integers are big-endian and written without ``NLA_F_NET_BYTEORDER``, so every
getter here reads big-endian.  Nothing is decoded until asked for; the
attribute index is built on the first access (one walk of the TLVs).

Lifetime: a view references the buffer it was made over.  Over a receive
buffer (what :class:`~netring.subsystems.nfnetlink.edge.log.Log` yields) it is
valid until the next receive, and so is every memoryview it hands out
(:attr:`LogMessage.payload`, :attr:`~LogMessage.hwheader`,
:attr:`~LogMessage.l2hdr`, :attr:`~LogMessage.ct`); :meth:`LogMessage.copy`
detaches it, ``bytes(msg.payload)`` keeps the packet.
"""

from __future__ import annotations

from ....codec.attribute import attr_index
from ....codec.structs import nlattr, u32
from ....codec.types import TYPE_CHECKING
from ....codec.view import MessageView
from ....errors import DecodeError
from ..constants import NF_INET, NFPROTO
from ..structs import nfgenmsg
from .constants import NFULA, NFULA_VLAN, NFULNL_MSG_TYPE_PACKET
from .structs import nfulnl_msg_packet_hdr, nfulnl_msg_packet_hw, nfulnl_msg_packet_timestamp

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["LogMessage", "HOOK_NAMES", "FAMILY_NAMES", "hook_name"]

_unpack_nla = nlattr.unpack_from
_unpack_u32 = u32.unpack_from
_PAYLOAD = int(NFULA.PAYLOAD)
_PACKET_HDR = int(NFULA.PACKET_HDR)

#: hook names as nft writes them, by NF_INET number (bridge hooks share the numbers)
HOOK_NAMES = {int(NF_INET.PRE_ROUTING): "prerouting", int(NF_INET.LOCAL_IN): "input",
              int(NF_INET.FORWARD): "forward", int(NF_INET.LOCAL_OUT): "output",
              int(NF_INET.POST_ROUTING): "postrouting", int(NF_INET.INGRESS): "ingress"}
#: hook names of the arp family (NF_ARP_IN, NF_ARP_OUT, NF_ARP_FORWARD) and netdev
#: (NF_NETDEV_INGRESS, NF_NETDEV_EGRESS), uapi/linux/netfilter_arp.h and netfilter.h
_ARP_HOOKS = {0: "input", 1: "output", 2: "forward"}
_NETDEV_HOOKS = {0: "ingress", 1: "egress"}
#: family names as nft writes them (``ip``, ``ip6``, ``inet``, ``bridge`` ...)
FAMILY_NAMES = {int(NFPROTO.UNSPEC): "unspec", int(NFPROTO.INET): "inet",
                int(NFPROTO.IPV4): "ip", int(NFPROTO.ARP): "arp", int(NFPROTO.NETDEV): "netdev",
                int(NFPROTO.BRIDGE): "bridge", int(NFPROTO.IPV6): "ip6",
                int(NFPROTO.DECNET): "decnet"}


class LogMessage(MessageView):
    """One logged packet, decoded on access (see the module docstring).

    Attributes not present in the message read as ``None``.  ``gap`` is set by
    :class:`~.reader.LogReader`: how many messages of this group the sequence
    numbers show lost just before this one (0 without ``NFULNL_CFG_F_SEQ``).

    Raises:
        DecodeError: on access, an attribute of the wrong size (never at construction).
    """

    __slots__ = ("gap",)

    TYPES = (NFULNL_MSG_TYPE_PACKET,)
    HDR = nfgenmsg
    ATTR = NFULA
    PREFIX = "NFULA_"

    gap: int

    def __init__(self, buf: Any, offset: int = 0) -> None:
        super().__init__(buf, offset)
        self.gap = 0

    def _index(self) -> dict[int, int]:
        """``{type: nlattr offset}`` of the attributes, built on first use.

        The codec's walk (:func:`~netring.codec.attribute.attr_index`) written out
        inline for the log's hot path: a logged packet is read once, right after it
        arrived, and a generator step per attribute is a third of that read (an
        intentional specialisation).  Anything irregular is handed to the codec's
        walk, which raises the precise :class:`~netring.errors.DecodeError`.
        """
        try:
            return self._idx
        except AttributeError:
            pass
        buf = self._buf
        off = self._off
        end = off + _unpack_u32(buf, off)[0]
        pos = off + 20  # nlmsghdr + nfgenmsg
        idx: dict[int, int] = {}
        if end <= len(buf):
            unpack = _unpack_nla
            while end - pos >= 4:
                length, t = unpack(buf, pos)
                if length < 4 or length > end - pos:
                    break
                t &= 0x3FFF
                if t not in idx:
                    idx[t] = pos
                pos += (length + 3) & ~3
        if pos < end:
            idx = attr_index(buf, off + 20, end)  # raises where the walk stopped
        self._idx = idx
        return idx

    def copy(self) -> LogMessage:
        """The same view over a private copy of its bytes (``gap`` kept)."""
        out = LogMessage(self.tobytes(), 0)
        out.gap = self.gap
        return out

    # -- nfgenmsg ------------------------------------------------------------------
    @property
    def family(self) -> int:
        """``nfgen_family``: the hook's family (``NFPROTO_IPV4``, ``NFPROTO_IPV6`` ...)."""
        return int(self._buf[self._off + 16])

    @property
    def group(self) -> int:
        """The log group (``nfgenmsg.res_id``)."""
        b = self._buf
        o = self._off + 18
        return (b[o] << 8) | b[o + 1]

    # -- NFULA_PACKET_HDR ------------------------------------------------------------
    def _packet_hdr(self) -> tuple[int, int]:
        st = self._get_struct(_PACKET_HDR, nfulnl_msg_packet_hdr)
        if st is None:
            raise DecodeError("NFULA_PACKET_HDR missing", self._off)
        return int(st[0]), int(st[1])

    @property
    def hw_protocol(self) -> int:
        """``skb->protocol``: the ``ETH_P_*`` of the packet (0x0800 IPv4, 0x86dd IPv6)."""
        return self._packet_hdr()[0]

    @property
    def hook(self) -> int:
        """The netfilter hook number (``NF_INET_*`` for ip/ip6/inet; 0 = ingress on netdev)."""
        return self._packet_hdr()[1]

    # -- what the rule and the packet say ----------------------------------------------
    @property
    def prefix(self) -> str | None:
        """The rule's log prefix (``None`` when it has none)."""
        return self._get_str(NFULA.PREFIX)

    @property
    def payload(self) -> memoryview | None:
        """The packet from its network header, as copied (zero copy: valid as long as
        the buffer; ``None`` in copy modes META and NONE)."""
        try:
            pos = self._idx.get(_PAYLOAD)
        except AttributeError:
            pos = self._index().get(_PAYLOAD)
        if pos is None:
            return None
        mv = memoryview(self._buf)
        if mv.format != "B" or mv.ndim != 1:
            mv = mv.cast("B")
        return mv[pos + 4:pos + _unpack_nla(self._buf, pos)[0]]

    @property
    def payload_len(self) -> int:
        """Bytes of :attr:`payload` (0 when absent)."""
        found = self._find(_PAYLOAD)
        return 0 if found is None else found[1]

    @property
    def indev(self) -> int | None:
        """Input interface index (``NFULA_IFINDEX_INDEV``)."""
        return self._get_be32(NFULA.IFINDEX_INDEV)

    @property
    def outdev(self) -> int | None:
        """Output interface index (``NFULA_IFINDEX_OUTDEV``)."""
        return self._get_be32(NFULA.IFINDEX_OUTDEV)

    @property
    def physindev(self) -> int | None:
        """Physical input interface of a bridged packet (``NFULA_IFINDEX_PHYSINDEV``)."""
        return self._get_be32(NFULA.IFINDEX_PHYSINDEV)

    @property
    def physoutdev(self) -> int | None:
        """Physical output interface of a bridged packet (``NFULA_IFINDEX_PHYSOUTDEV``)."""
        return self._get_be32(NFULA.IFINDEX_PHYSOUTDEV)

    @property
    def mark(self) -> int | None:
        """``skb->mark`` (the kernel sends it only when non-zero)."""
        return self._get_be32(NFULA.MARK)

    @property
    def uid(self) -> int | None:
        """fsuid of the local socket that sent the packet, in the binding socket's
        user namespace (``NFULA_UID``)."""
        return self._get_be32(NFULA.UID)

    @property
    def gid(self) -> int | None:
        """fsgid of the local socket that sent the packet (``NFULA_GID``)."""
        return self._get_be32(NFULA.GID)

    @property
    def seq_local(self) -> int | None:
        """The group's own sequence number (``NFULA_SEQ``, "instance-local"): 0 for the
        first message after binding, one more for each message the group logged."""
        return self._get_be32(NFULA.SEQ)

    @property
    def seq_global(self) -> int | None:
        """The network namespace's sequence number over every group that asked for it
        (``NFULA_SEQ_GLOBAL``): 1 for the first; groups owned by others take numbers
        too, so its gaps are not losses."""
        return self._get_be32(NFULA.SEQ_GLOBAL)

    # -- time ---------------------------------------------------------------------------
    @property
    def timestamp(self) -> tuple[int, int] | None:
        """``(seconds, microseconds)`` of the packet's kernel timestamp (``None`` at
        hooks after FORWARD, where the kernel sends none)."""
        st = self._get_struct(NFULA.TIMESTAMP, nfulnl_msg_packet_timestamp)
        return None if st is None else (int(st[0]), int(st[1]))

    @property
    def timestamp_ns(self) -> int | None:
        """The kernel timestamp in nanoseconds since the epoch (microsecond precision)."""
        st = self._get_struct(NFULA.TIMESTAMP, nfulnl_msg_packet_timestamp)
        return None if st is None else int(st[0]) * 1_000_000_000 + int(st[1]) * 1000

    # -- link layer ----------------------------------------------------------------------
    @property
    def hwaddr(self) -> bytes | None:
        """Source link-layer address of a received packet (``hw_addr[:hw_addrlen]``)."""
        st = self._get_struct(NFULA.HWADDR, nfulnl_msg_packet_hw)
        if st is None:
            return None
        n = int(st[0])
        if n > 8:
            raise DecodeError(f"NFULA_HWADDR: hw_addrlen {n} > 8", self._off)
        raw: bytes = st[1]
        return raw[:n]

    @property
    def hwtype(self) -> int | None:
        """``ARPHRD_*`` of the input device (``NFULA_HWTYPE``)."""
        return self._get_be16(NFULA.HWTYPE)

    @property
    def hwlen(self) -> int | None:
        """The input device's link-layer header length (``NFULA_HWLEN``)."""
        return self._get_be16(NFULA.HWLEN)

    @property
    def hwheader(self) -> memoryview | None:
        """The link-layer header of a received packet (``NFULA_HWHEADER``, zero copy)."""
        return self._view(NFULA.HWHEADER)

    @property
    def l2hdr(self) -> memoryview | None:
        """The whole link-layer header (``NFULA_L2HDR``: bridge and netdev families)."""
        return self._view(NFULA.L2HDR)

    @property
    def vlan(self) -> tuple[int, int] | None:
        """``(vlan_proto, vlan_tci)`` of a tagged packet (``NFULA_VLAN``: bridge and
        netdev families); the VLAN id is ``tci & 0xfff``."""
        nest = self._get_nested(NFULA.VLAN)
        if nest is None:
            return None
        proto = nest.get(NFULA_VLAN.PROTO)
        tci = nest.get(NFULA_VLAN.TCI)
        if proto is None or tci is None:
            raise DecodeError("NFULA_VLAN without PROTO and TCI", self._off)
        return proto.be16(), tci.be16()

    # -- conntrack --------------------------------------------------------------------------
    @property
    def ct(self) -> memoryview | None:
        """The raw nested conntrack attributes (``NFULA_CT``, with
        ``NFULNL_CFG_F_CONNTRACK``; the ``CTA_*`` of ``nfnetlink_conntrack.h``), zero
        copy.  They are decoded by :mod:`netring.subsystems.nfnetlink.conntrack`."""
        return self._view(NFULA.CT)

    @property
    def ct_info(self) -> int | None:
        """``enum ip_conntrack_info`` of the packet (``NFULA_CT_INFO``)."""
        return self._get_be32(NFULA.CT_INFO)

    def _view(self, t: int) -> memoryview | None:
        a = self.raw(t)
        return None if a is None else a.payload

    # -- rendering ------------------------------------------------------------------------------
    def to_dict(self, names: Mapping[int, str] | None = None) -> dict[str, Any]:
        """JSON form: every attribute present, interfaces by name when ``names`` knows
        them (``{"group": 5, "prefix": "in: ", "indev": "lo", ...}``); the payload as
        hex, the kernel timestamp as ``"ts_ns"``."""
        proto, hook = self._packet_hdr()
        fam = self.family
        d: dict[str, Any] = {"group": self.group, "family": FAMILY_NAMES.get(fam, str(fam)),
                             "hook": hook_name(fam, hook), "hw_protocol": proto}
        prefix = self.prefix
        if prefix is not None:
            d["prefix"] = prefix
        for key, idx in (("indev", self.indev), ("outdev", self.outdev),
                         ("physindev", self.physindev), ("physoutdev", self.physoutdev)):
            if idx is not None:
                d[key] = names.get(idx, idx) if names else idx
        for key, val in (("mark", self.mark), ("uid", self.uid), ("gid", self.gid),
                         ("seq", self.seq_local), ("seq_global", self.seq_global),
                         ("ts_ns", self.timestamp_ns), ("hwtype", self.hwtype),
                         ("ct_info", self.ct_info)):
            if val is not None:
                d[key] = val
        hw = self.hwaddr
        if hw is not None:
            d["hwaddr"] = ":".join(f"{x:02x}" for x in hw)
        vlan = self.vlan
        if vlan is not None:
            d["vlan"] = {"proto": vlan[0], "id": vlan[1] & 0xFFF, "tci": vlan[1]}
        for key, mv in (("hwheader", self.hwheader), ("l2hdr", self.l2hdr), ("ct", self.ct)):
            if mv is not None:
                d[key] = mv.hex()
        if self.gap:
            d["lost_before"] = self.gap
        payload = self.payload
        if payload is not None:
            d["payload_len"] = len(payload)
            d["payload"] = payload.hex()
        return d


def hook_name(family: int, hook: int) -> str:
    """The hook's nft name (``input``, ``output`` ...; ``ingress`` on netdev)."""
    table = (_NETDEV_HOOKS if family == NFPROTO.NETDEV
             else _ARP_HOOKS if family == NFPROTO.ARP else HOOK_NAMES)
    return table.get(hook, f"hook-{hook}")
