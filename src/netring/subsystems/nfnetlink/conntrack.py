"""Conntrack attributes as nfnetlink_queue (``NFQA_CT``) and nfnetlink_log (``NFULA_CT``)
carry them, decoded into typed fields; and the nest a verdict sends to change them.

The nest is the one ctnetlink builds for its own messages
(``ctnetlink_glue_build``, net/netfilter/nf_conntrack_netlink.c); every integer is
big-endian without ``NLA_F_NET_BYTEORDER``::

    NFQA_CT (nested)
      CTA_TUPLE_ORIG (nested)      CTA_TUPLE_IP (nested)    CTA_IP_V4_SRC / _DST (4 bytes)
                                                            CTA_IP_V6_SRC / _DST (16 bytes)
                                   CTA_TUPLE_PROTO (nested) CTA_PROTO_NUM (u8)
                                                            CTA_PROTO_SRC_PORT / _DST_PORT (be16)
                                                            CTA_PROTO_ICMP_ID (be16), _TYPE, _CODE (u8)
                                   CTA_TUPLE_ZONE (be16)
      CTA_TUPLE_REPLY (nested)     (as above)
      CTA_STATUS be32 (IPS_*)   CTA_TIMEOUT be32 (s)   CTA_MARK be32   CTA_ID be32
      CTA_ZONE be16   CTA_USE be32   CTA_LABELS (16 bytes: 128 label bits)   CTA_SECCTX ...

Sources: ``include/uapi/linux/netfilter/nfnetlink_conntrack.h`` (CTA_*),
``include/uapi/linux/netfilter/nf_conntrack_common.h`` (ip_conntrack_info,
ip_conntrack_status).  Unknown attributes are skipped; a malformed one raises
:class:`~netring.errors.DecodeError` with its offset.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

from ...codec.attribute import Attr, iter_attrs
from ...codec.builder import Builder
from ...codec.inet import ntop4, ntop6
from ...codec.types import ReadableBuffer
from ...errors import DecodeError

__all__ = [
    "CTA", "CTA_TUPLE", "CTA_IP", "CTA_PROTO", "CTA_SECCTX", "IP_CT", "IPS",
    "NF_CT_LABELS_MAX_SIZE", "CtTuple", "Conntrack", "decode_conntrack", "put_ct_changes",
]


class CTA(IntEnum):
    """Top-level conntrack attributes (``enum ctattr_type``)."""

    UNSPEC = 0
    TUPLE_ORIG = 1
    TUPLE_REPLY = 2
    STATUS = 3
    PROTOINFO = 4
    HELP = 5
    NAT_SRC = 6
    TIMEOUT = 7
    MARK = 8
    COUNTERS_ORIG = 9
    COUNTERS_REPLY = 10
    USE = 11
    ID = 12
    NAT_DST = 13
    TUPLE_MASTER = 14
    SEQ_ADJ_ORIG = 15
    SEQ_ADJ_REPLY = 16
    SECMARK = 17  # obsolete
    ZONE = 18
    SECCTX = 19
    TIMESTAMP = 20
    MARK_MASK = 21
    LABELS = 22
    LABELS_MASK = 23
    SYNPROXY = 24
    FILTER = 25
    STATUS_MASK = 26
    TIMESTAMP_EVENT = 27


class CTA_TUPLE(IntEnum):
    """Attributes nested in a tuple (``enum ctattr_tuple``)."""

    UNSPEC = 0
    IP = 1
    PROTO = 2
    ZONE = 3


class CTA_IP(IntEnum):
    """Attributes nested in ``CTA_TUPLE_IP`` (``enum ctattr_ip``)."""

    UNSPEC = 0
    V4_SRC = 1
    V4_DST = 2
    V6_SRC = 3
    V6_DST = 4


class CTA_PROTO(IntEnum):
    """Attributes nested in ``CTA_TUPLE_PROTO`` (``enum ctattr_l4proto``)."""

    UNSPEC = 0
    NUM = 1
    SRC_PORT = 2
    DST_PORT = 3
    ICMP_ID = 4
    ICMP_TYPE = 5
    ICMP_CODE = 6
    ICMPV6_ID = 7
    ICMPV6_TYPE = 8
    ICMPV6_CODE = 9


class CTA_SECCTX(IntEnum):
    """Attributes nested in ``CTA_SECCTX`` (``enum ctattr_secctx``)."""

    UNSPEC = 0
    NAME = 1


class IP_CT(IntEnum):
    """Packet's relation to its connection (``enum ip_conntrack_info``), ``NFQA_CT_INFO``."""

    ESTABLISHED = 0
    RELATED = 1
    NEW = 2
    ESTABLISHED_REPLY = 3  # IP_CT_ESTABLISHED + IP_CT_IS_REPLY
    RELATED_REPLY = 4  # IP_CT_RELATED + IP_CT_IS_REPLY
    NEW_REPLY = 5  # IP_CT_NUMBER, as user space sees it
    UNTRACKED = 7  # the kernel's IP_CT_UNTRACKED


#: ``IP_CT_IS_REPLY``: added to a direction-less state for reply-direction packets
IP_CT_IS_REPLY = 3


class IPS(IntFlag):
    """Connection status bits (``enum ip_conntrack_status``), ``CTA_STATUS``."""

    EXPECTED = 1 << 0
    SEEN_REPLY = 1 << 1
    ASSURED = 1 << 2
    CONFIRMED = 1 << 3
    SRC_NAT = 1 << 4
    DST_NAT = 1 << 5
    SEQ_ADJUST = 1 << 6
    SRC_NAT_DONE = 1 << 7
    DST_NAT_DONE = 1 << 8
    DYING = 1 << 9
    FIXED_TIMEOUT = 1 << 10
    TEMPLATE = 1 << 11
    NAT_CLASH = 1 << 12  # was IPS_UNTRACKED
    HELPER = 1 << 13
    OFFLOAD = 1 << 14
    HW_OFFLOAD = 1 << 15


#: bytes of ``CTA_LABELS`` (128 label bits; include/net/netfilter/nf_conntrack_labels.h)
NF_CT_LABELS_MAX_SIZE = 16

_PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 132: "sctp", 136: "udplite",
                33: "dccp", 47: "gre"}


def _be(a: Attr, size: int, what: str) -> int:
    if a.len - 4 != size:
        raise DecodeError(f"{what}: needs a {size}-byte payload, got {a.len - 4}", a.offset)
    return int.from_bytes(a.buf[a.offset + 4:a.offset + 4 + size], "big")


def _addr(a: Attr, size: int, what: str) -> str:
    if a.len - 4 != size:
        raise DecodeError(f"{what}: needs a {size}-byte address, got {a.len - 4}", a.offset)
    if size == 4:
        return ntop4(a.buf, a.offset + 4)
    return ntop6(bytes(a.buf[a.offset + 4:a.offset + 20]))


class CtTuple:
    """One direction of a connection (``CTA_TUPLE_ORIG`` / ``CTA_TUPLE_REPLY``).

    Attributes:
        src, dst: addresses as text (``None`` when absent).
        proto: IP protocol number (``CTA_PROTO_NUM``).
        sport, dport: ports (TCP, UDP, SCTP, DCCP, UDP-Lite), else ``None``.
        icmp_id, icmp_type, icmp_code: ICMP / ICMPv6 identifier, type and code.
        zone: tuple zone (``CTA_TUPLE_ZONE``) or ``None``.
    """

    __slots__ = ("src", "dst", "proto", "sport", "dport", "icmp_id", "icmp_type", "icmp_code",
                 "zone")

    def __init__(self) -> None:
        self.src: str | None = None
        self.dst: str | None = None
        self.proto: int | None = None
        self.sport: int | None = None
        self.dport: int | None = None
        self.icmp_id: int | None = None
        self.icmp_type: int | None = None
        self.icmp_code: int | None = None
        self.zone: int | None = None

    @property
    def proto_name(self) -> str | None:
        """``tcp``, ``udp``, ``icmp`` ... (the number as text when unnamed)."""
        if self.proto is None:
            return None
        return _PROTO_NAMES.get(self.proto, str(self.proto))

    def to_dict(self) -> dict[str, object]:
        """The fields that are present, as a JSON-ready dict."""
        out: dict[str, object] = {}
        for k in self.__slots__:
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        if self.proto is not None:
            out["proto_name"] = self.proto_name
        return out

    def __repr__(self) -> str:
        return f"<CtTuple {self.proto_name} {self.src}:{self.sport} -> {self.dst}:{self.dport}>"


def _decode_tuple(t: Attr, what: str) -> CtTuple:
    out = CtTuple()
    for a in t.nested():
        if a.type == CTA_TUPLE.IP:
            for ip in a.nested():
                k = ip.type
                if k == CTA_IP.V4_SRC:
                    out.src = _addr(ip, 4, f"{what} CTA_IP_V4_SRC")
                elif k == CTA_IP.V4_DST:
                    out.dst = _addr(ip, 4, f"{what} CTA_IP_V4_DST")
                elif k == CTA_IP.V6_SRC:
                    out.src = _addr(ip, 16, f"{what} CTA_IP_V6_SRC")
                elif k == CTA_IP.V6_DST:
                    out.dst = _addr(ip, 16, f"{what} CTA_IP_V6_DST")
        elif a.type == CTA_TUPLE.PROTO:
            for p in a.nested():
                k = p.type
                if k == CTA_PROTO.NUM:
                    out.proto = _be(p, 1, f"{what} CTA_PROTO_NUM")
                elif k == CTA_PROTO.SRC_PORT:
                    out.sport = _be(p, 2, f"{what} CTA_PROTO_SRC_PORT")
                elif k == CTA_PROTO.DST_PORT:
                    out.dport = _be(p, 2, f"{what} CTA_PROTO_DST_PORT")
                elif k in (CTA_PROTO.ICMP_ID, CTA_PROTO.ICMPV6_ID):
                    out.icmp_id = _be(p, 2, f"{what} CTA_PROTO_ICMP_ID")
                elif k in (CTA_PROTO.ICMP_TYPE, CTA_PROTO.ICMPV6_TYPE):
                    out.icmp_type = _be(p, 1, f"{what} CTA_PROTO_ICMP_TYPE")
                elif k in (CTA_PROTO.ICMP_CODE, CTA_PROTO.ICMPV6_CODE):
                    out.icmp_code = _be(p, 1, f"{what} CTA_PROTO_ICMP_CODE")
        elif a.type == CTA_TUPLE.ZONE:
            out.zone = _be(a, 2, f"{what} CTA_TUPLE_ZONE")
    return out


class Conntrack:
    """A connection's state as the kernel attached it to a queued or logged packet.

    Attributes:
        orig, reply: the two :class:`CtTuple` directions (``None`` when absent).
        status: :class:`IPS` bits, or ``None``.
        mark: the connection mark (connmark), or ``None`` (absent means 0).
        zone: conntrack zone (``CTA_ZONE``) or ``None``.
        id: conntrack id (``CTA_ID``) or ``None``.
        timeout: seconds left (``CTA_TIMEOUT``) or ``None``.
        use: reference count (``CTA_USE``) or ``None``.
        labels: the 128 label bits as an int (bit N = label N), or ``None``.
        secctx: security context name, or ``None``.
    """

    __slots__ = ("orig", "reply", "status", "mark", "zone", "id", "timeout", "use", "labels",
                 "secctx")

    def __init__(self) -> None:
        self.orig: CtTuple | None = None
        self.reply: CtTuple | None = None
        self.status: IPS | None = None
        self.mark: int | None = None
        self.zone: int | None = None
        self.id: int | None = None
        self.timeout: int | None = None
        self.use: int | None = None
        self.labels: int | None = None
        self.secctx: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The fields that are present, as a JSON-ready dict (status as flag names)."""
        out: dict[str, object] = {}
        for k in self.__slots__:
            v = getattr(self, k)
            if v is None:
                continue
            if isinstance(v, CtTuple):
                out[k] = v.to_dict()
            elif k == "status":
                out[k] = int(v)
                out["status_names"] = [f.name for f in IPS if f & v and f.name]
            else:
                out[k] = v
        return out

    def __repr__(self) -> str:
        return f"<Conntrack id={self.id} {self.orig!r} status={self.status!r} mark={self.mark}>"


def decode_conntrack(buf: ReadableBuffer, offset: int, end: int) -> Conntrack:
    """Decode the attributes of a conntrack nest (its payload ``buf[offset:end]``).

    Raises:
        DecodeError: a malformed attribute (its offset in ``buf``).
    """
    ct = Conntrack()
    for a in iter_attrs(buf, offset, end):
        t = a.type
        if t == CTA.TUPLE_ORIG:
            ct.orig = _decode_tuple(a, "CTA_TUPLE_ORIG")
        elif t == CTA.TUPLE_REPLY:
            ct.reply = _decode_tuple(a, "CTA_TUPLE_REPLY")
        elif t == CTA.STATUS:
            ct.status = IPS(_be(a, 4, "CTA_STATUS"))
        elif t == CTA.MARK:
            ct.mark = _be(a, 4, "CTA_MARK")
        elif t == CTA.ZONE:
            ct.zone = _be(a, 2, "CTA_ZONE")
        elif t == CTA.ID:
            ct.id = _be(a, 4, "CTA_ID")
        elif t == CTA.TIMEOUT:
            ct.timeout = _be(a, 4, "CTA_TIMEOUT")
        elif t == CTA.USE:
            ct.use = _be(a, 4, "CTA_USE")
        elif t == CTA.LABELS:
            n = a.len - 4
            if n == 0 or n > NF_CT_LABELS_MAX_SIZE or n % 4:
                raise DecodeError(f"CTA_LABELS: {n} bytes is no label bitmap", a.offset)
            # an array of host-order unsigned longs on the kernel side; bit N = label N
            ct.labels = int.from_bytes(a.buf[a.offset + 4:a.offset + 4 + n], "little")
        elif t == CTA.SECCTX:
            for s in a.nested():
                if s.type == CTA_SECCTX.NAME:
                    ct.secctx = s.text()
    return ct


def put_ct_changes(b: Builder, nest_type: int, *, mark: int | None = None,
                   mark_mask: int | None = None, labels: int | None = None,
                   labels_mask: int | None = None) -> None:
    """Append a conntrack nest (``NFQA_CT``) that changes the connection's mark or labels.

    Args:
        b: the builder, with a verdict message open.
        nest_type: the nest's attribute type (``NFQA.CT``).
        mark: the new connmark (``CTA_MARK``); with ``mark_mask`` only the masked bits
            change (``CTA_MARK_MASK``).
        labels: label bits to set (bit N = label N, 0..127, ``CTA_LABELS``); with
            ``labels_mask`` only the masked bits change (``CTA_LABELS_MASK``).

    Raises:
        EncodeError: a value out of range.
    """
    from ...errors import EncodeError

    nest = b.nest_start(nest_type)
    if mark is not None:
        b.attr_be32(CTA.MARK, mark)
        if mark_mask is not None:
            b.attr_be32(CTA.MARK_MASK, mark_mask)
    if labels is not None:
        if not 0 <= labels < 1 << (8 * NF_CT_LABELS_MAX_SIZE):
            raise EncodeError(f"ct labels {labels:#x}: outside the 128 label bits")
        b.attr(CTA.LABELS, labels.to_bytes(NF_CT_LABELS_MAX_SIZE, "little"))
        if labels_mask is not None:
            if not 0 <= labels_mask < 1 << (8 * NF_CT_LABELS_MAX_SIZE):
                raise EncodeError(f"ct labels mask {labels_mask:#x}: outside the 128 label bits")
            b.attr(CTA.LABELS_MASK, labels_mask.to_bytes(NF_CT_LABELS_MAX_SIZE, "little"))
    b.nest_end(nest)
