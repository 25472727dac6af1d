"""The queued packet: a lazy view of one ``NFQNL_MSG_PACKET`` message.

::

    nlmsghdr (16)   type 0x0300 (NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET), seq 0
    nfgenmsg (4)    family (NFPROTO_*), version 0, res_id = queue number (be16)
    NFQA_PACKET_HDR (always first: nlattr at +20, packet_id be32 at +24, hw_protocol, hook)
    NFQA_IFINDEX_INDEV/OUTDEV/PHYSINDEV/PHYSOUTDEV  NFQA_MARK  NFQA_HWADDR  NFQA_VLAN
    NFQA_L2HDR  NFQA_TIMESTAMP  NFQA_UID/GID  NFQA_SECCTX  NFQA_CT  NFQA_CT_INFO
    NFQA_CAP_LEN  NFQA_SKB_INFO  NFQA_PRIORITY  NFQA_CGROUP_CLASSID
    NFQA_PAYLOAD (last; nla_len = 4 + length with NO trailing padding, so nlmsg_len need
                  not be a multiple of 4)

Every integer is big-endian without ``NLA_F_NET_BYTEORDER`` (``nla_put_be32``).
Nothing is decoded until asked for; :attr:`Packet.id` is read at its fixed offset.

Lifetime: a packet views the receive buffer it arrived in.  It is **valid until
the next receive** on its queue; :attr:`Packet.payload` is a zero-copy
``memoryview`` with the same lifetime (``.tobytes()`` keeps the bytes).
:meth:`Packet.copy` detaches the whole packet (it can then get its verdict later).
"""

from __future__ import annotations

from ....codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Protocol

    from ..conntrack import Conntrack

    class VerdictSink(Protocol):
        """What a packet hands its verdict to (the queue it came from)."""

        def set_verdict(self, queue: int, packet_id: int, verdict: int, *,
                        mark: int | None = ..., connmark: int | None = ...,
                        labels: int | None = ..., payload: Any = ...,
                        fix_checksums: bool = ...) -> None: ...

        def plain_verdict(self, queue: int, packet_id: int, verdict: int) -> None: ...

        def released(self, queue: int, packet_id: int) -> None: ...

        def hold(self, queue: int, packet_id: int) -> None: ...

from ....codec.structs import be16, be32
from ....codec.view import MessageView
from ....errors import DecodeError, EncodeError
from ..constants import NF, NF_VERDICT_FLAG_QUEUE_BYPASS, NFNL_SUBSYS, NFPROTO, nf_queue_nr
from ..structs import nfgenmsg
from .constants import NFQA, NFQA_SKB, NFQA_VLAN, NFQNL_MSG
from .structs import nfqnl_msg_packet_hdr, nfqnl_msg_packet_hw, nfqnl_msg_packet_timestamp

__all__ = ["Packet", "NFQNL_PACKET_TYPE", "PACKET_ID_OFFSET", "VERDICT_NAMES"]

#: ``nlmsg_type`` of a queued packet
NFQNL_PACKET_TYPE = (NFNL_SUBSYS.QUEUE << 8) | NFQNL_MSG.PACKET
#: where ``packet_id`` sits in a packet message: nlmsghdr + nfgenmsg + nlattr
PACKET_ID_OFFSET = 16 + nfgenmsg.size + 4
#: verdict names as the statistics and the command line spell them
VERDICT_NAMES = {NF.DROP: "drop", NF.ACCEPT: "accept", NF.STOLEN: "stolen", NF.QUEUE: "queue",
                 NF.REPEAT: "repeat", NF.STOP: "stop"}

_unpack_be32 = be32.unpack_from
_unpack_be16 = be16.unpack_from
_PKT_HDR_NLA = (4 + nfqnl_msg_packet_hdr.size) | (int(NFQA.PACKET_HDR) << 16)  # len | type << 16
_PENDING, _DONE, _RELEASED = 0, 1, 2
_ACCEPT, _DROP = int(NF.ACCEPT), int(NF.DROP)


class Packet(MessageView):
    """One queued packet (see the module docstring for layout and lifetime).

    Verdicts: :meth:`accept`, :meth:`drop`, :meth:`repeat`, :meth:`stop`,
    :meth:`queue_to` or the general :meth:`verdict` (mark, connmark, ct labels,
    replacement payload with checksum fix-up).  A packet released without one
    (the iterator advanced, the callback returned, a copy was collected) gets the
    queue's policy verdict and is counted (``stats.released_without_verdict``).
    """

    __slots__ = ("_q", "_state", "_pid", "_qn", "__weakref__")

    TYPES = (NFQNL_PACKET_TYPE,)
    HDR = nfgenmsg
    ATTR = NFQA
    PREFIX = "NFQA_"

    _q: VerdictSink | None
    _state: int
    _pid: int
    _qn: int

    def __init__(self, buf: Any, offset: int = 0, queue: VerdictSink | None = None) -> None:
        super().__init__(buf, offset)
        self._q = queue
        self._state = _PENDING
        self._pid = self._qn = -1

    @classmethod
    def _make(cls, buf: Any, offset: int, queue: VerdictSink | None, pid: int = -1,
              qn: int = -1) -> Packet:
        """A packet over framing the caller checked (the receive path, which may know
        its id and queue already)."""
        p = cls.__new__(cls)
        p._buf = buf
        p._off = offset
        p._q = queue
        p._state = _PENDING
        p._pid = pid
        p._qn = qn
        return p

    # -- header ---------------------------------------------------------------------
    @property
    def queue(self) -> int:
        """The queue number (``nfgenmsg.res_id``)."""
        qn = self._qn
        if qn >= 0:
            return qn
        return int(_unpack_be16(self._buf, self._off + 18)[0])

    @property
    def family(self) -> NFPROTO | int:
        """The netfilter family (``NFPROTO.IPV4`` / ``IPV6`` / ``BRIDGE`` ...)."""
        f = self._buf[self._off + 16]
        try:
            return NFPROTO(f)
        except ValueError:
            return int(f)

    def _pkt_hdr(self) -> tuple[int, int, int]:
        buf, off = self._buf, self._off
        if (int.from_bytes(buf[off + 20:off + 24], "little") == _PKT_HDR_NLA
                and self.nlmsg_len >= PACKET_ID_OFFSET + nfqnl_msg_packet_hdr.size):
            pid, proto, hook = nfqnl_msg_packet_hdr.unpack_from(buf, off + PACKET_ID_OFFSET)
            return int(pid), int(proto), int(hook)
        got = self._get_struct(NFQA.PACKET_HDR, nfqnl_msg_packet_hdr)
        if got is None:
            raise DecodeError("packet message without NFQA_PACKET_HDR", off)
        return int(got[0]), int(got[1]), int(got[2])

    @property
    def id(self) -> int:
        """The packet id (``nfqnl_msg_packet_hdr.packet_id``): what a verdict names."""
        pid = self._pid
        if pid >= 0:
            return pid
        return self._pkt_hdr()[0]

    @property
    def hw_protocol(self) -> int:
        """``skb->protocol`` (``ETH_P_IP`` 0x0800, ``ETH_P_IPV6`` 0x86dd ...)."""
        return self._pkt_hdr()[1]

    @property
    def hook(self) -> int:
        """The netfilter hook (``NF_INET.LOCAL_OUT`` ...)."""
        return self._pkt_hdr()[2]

    # -- metadata -----------------------------------------------------------------------
    @property
    def mark(self) -> int:
        """``skb->mark`` (the kernel omits a zero mark: 0 then)."""
        return self._get_be32(NFQA.MARK) or 0

    @property
    def timestamp(self) -> float | None:
        """Receive time in seconds since the epoch (``NFQA_TIMESTAMP``), or ``None``.

        Only packets that carry a time have one: received ones (input and forward
        hooks), and only while timestamping is on (some socket asked for
        ``SO_TIMESTAMP*``).
        """
        ts = self.timestamp_ns
        return None if ts is None else ts / 1e9

    @property
    def timestamp_ns(self) -> int | None:
        """The timestamp in nanoseconds (microsecond resolution), or ``None``."""
        got = self._get_struct(NFQA.TIMESTAMP, nfqnl_msg_packet_timestamp)
        if got is None:
            return None
        return int(got[0]) * 1_000_000_000 + int(got[1]) * 1000

    @property
    def indev(self) -> int | None:
        """Input interface index, or ``None``."""
        return self._get_be32(NFQA.IFINDEX_INDEV)

    @property
    def outdev(self) -> int | None:
        """Output interface index, or ``None``."""
        return self._get_be32(NFQA.IFINDEX_OUTDEV)

    @property
    def physindev(self) -> int | None:
        """Bridge port the packet came in on (bridge netfilter), or ``None``."""
        return self._get_be32(NFQA.IFINDEX_PHYSINDEV)

    @property
    def physoutdev(self) -> int | None:
        """Bridge port the packet goes out on (bridge netfilter), or ``None``."""
        return self._get_be32(NFQA.IFINDEX_PHYSOUTDEV)

    @property
    def hwaddr(self) -> bytes | None:
        """Source hardware address (``NFQA_HWADDR``: ``hw_addrlen`` bytes), or ``None``."""
        got = self._get_struct(NFQA.HWADDR, nfqnl_msg_packet_hw)
        if got is None:
            return None
        n = min(int(got[0]), 8)
        return bytes(got[1][:n])

    @property
    def hwaddr_text(self) -> str | None:
        """:attr:`hwaddr` as ``aa:bb:cc:dd:ee:ff``."""
        hw = self.hwaddr
        return None if hw is None else ":".join(f"{x:02x}" for x in hw)

    @property
    def l2hdr(self) -> bytes | None:
        """The full link-layer header (``NFQA_L2HDR``, bridge family), or ``None``."""
        return self._get_bytes(NFQA.L2HDR)

    @property
    def vlan(self) -> tuple[int, int] | None:
        """``(vlan_proto, vlan_tci)`` of a VLAN-tagged bridged packet, or ``None``."""
        nest = self._get_nested(NFQA.VLAN)
        if nest is None:
            return None
        proto, tci = nest.get(NFQA_VLAN.PROTO), nest.get(NFQA_VLAN.TCI)
        if proto is None or tci is None:
            found = self._find(NFQA.VLAN)
            raise DecodeError("NFQA_VLAN without NFQA_VLAN_PROTO and NFQA_VLAN_TCI",
                              found[0] if found else self._off)
        return proto.be16(), tci.be16()

    @property
    def priority(self) -> int:
        """``skb->priority`` (0 when the kernel omitted it)."""
        return self._get_be32(NFQA.PRIORITY) or 0

    @property
    def cgroup_classid(self) -> int | None:
        """net_cls cgroup class id of the sending socket, or ``None``."""
        return self._get_be32(NFQA.CGROUP_CLASSID)

    @property
    def uid(self) -> int | None:
        """File-system uid of the local socket's owner (needs ``UID_GID``), or ``None``."""
        return self._get_be32(NFQA.UID)

    @property
    def gid(self) -> int | None:
        """File-system gid of the local socket's owner (needs ``UID_GID``), or ``None``."""
        return self._get_be32(NFQA.GID)

    @property
    def secctx(self) -> str | None:
        """Security context of the packet (needs ``SECCTX``), or ``None``."""
        raw = self._get_bytes(NFQA.SECCTX)
        if raw is None:
            return None
        return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")

    @property
    def skb_info(self) -> NFQA_SKB:
        """``NFQA_SKB_INFO`` flags (GSO, CSUMNOTREADY, CSUM_NOTVERIFIED); 0 when absent."""
        return NFQA_SKB(self._get_be32(NFQA.SKB_INFO) or 0)

    @property
    def ct_info(self) -> int | None:
        """The packet's relation to its connection (:class:`~..conntrack.IP_CT`), or ``None``."""
        v = self._get_be32(NFQA.CT_INFO)
        if v is None:
            return None
        from ..conntrack import IP_CT

        try:
            return IP_CT(v)
        except ValueError:
            return v

    @property
    def ct(self) -> Conntrack | None:
        """The decoded conntrack entry (``NFQA_CT``, needs ``CONNTRACK``), or ``None``."""
        a = self._find(NFQA.CT)
        if a is None:
            return None
        from ..conntrack import decode_conntrack

        pos, n, _t = a
        return decode_conntrack(self._buf, pos + 4, pos + 4 + n)

    # -- payload ------------------------------------------------------------------------
    @property
    def payload(self) -> memoryview:
        """The packet from its network header: a zero-copy view, **valid until the next
        receive** (``.tobytes()`` keeps it).  Empty in copy mode META."""
        a = self._find(NFQA.PAYLOAD)
        mv = memoryview(self._buf)
        if a is None:
            return mv[0:0]
        pos, n, _t = a
        return mv[pos + 4:pos + 4 + n]

    @property
    def payload_len(self) -> int:
        """Bytes of payload delivered (``copy_range`` may have cut it: see :attr:`cap_len`)."""
        a = self._find(NFQA.PAYLOAD)
        return 0 if a is None else a[1]

    @property
    def cap_len(self) -> int:
        """The packet's full length: ``NFQA_CAP_LEN`` when the payload was cut, else the
        payload's own length (in copy mode META, 0)."""
        v = self._get_be32(NFQA.CAP_LEN)
        return self.payload_len if v is None else v

    @property
    def truncated(self) -> bool:
        """True when the payload is shorter than the packet (``NFQA_CAP_LEN`` present)."""
        return NFQA.CAP_LEN in self._index()

    # -- verdicts -----------------------------------------------------------------------
    @property
    def has_verdict(self) -> bool:
        """True once a verdict was given (or the policy gave one on release)."""
        return self._state != _PENDING

    def verdict(self, verdict: int, *, mark: int | None = None, connmark: int | None = None,
                labels: int | None = None, payload: Any = None,
                fix_checksums: bool = True) -> None:
        """Give this packet its verdict (once).

        Args:
            verdict: ``NF.ACCEPT``, ``NF.DROP``, ``NF.REPEAT``, ``NF.STOP`` or a queue
                verdict word (:meth:`queue_to`).
            mark: set ``skb->mark``.
            connmark: set the connection's mark (``NFQA_CT`` / ``CTA_MARK``).
            labels: set conntrack label bits (``CTA_LABELS``; bit N = label N).
            payload: replacement packet bytes (from the network header).
            fix_checksums: recompute IPv4/IPv6 lengths and IPv4, TCP, UDP checksums
                of ``payload`` before sending it.

        Raises:
            EncodeError: the packet already has a verdict, or has no queue.
        """
        q = self._q
        if q is None:
            raise EncodeError("this packet belongs to no queue (made from bytes)")
        if self._state != _PENDING:
            raise EncodeError(f"packet {self.id} of queue {self.queue} already has its verdict")
        self._state = _DONE
        q.set_verdict(self.queue, self.id, verdict, mark=mark, connmark=connmark, labels=labels,
                      payload=payload, fix_checksums=fix_checksums)

    def accept(self, *, mark: int | None = None) -> None:
        """``NF_ACCEPT``: continue through the hooks (optionally with a new mark)."""
        if mark is None and self._plain(_ACCEPT):
            return
        self.verdict(NF.ACCEPT, mark=mark)

    def drop(self) -> None:
        """``NF_DROP``: discard the packet."""
        if not self._plain(_DROP):
            self.verdict(NF.DROP)

    def _plain(self, verdict: int) -> bool:
        """The verdict word alone, for a packet of a receive batch that awaits one
        (the hot path: no keyword arguments to carry); False: go the long way."""
        q = self._q
        if q is None or self._state != _PENDING or self._pid < 0 or self._qn < 0:
            return False
        self._state = _DONE
        q.plain_verdict(self._qn, self._pid, verdict)
        return True

    def repeat(self, *, mark: int | None = None) -> None:
        """``NF_REPEAT``: run the hook again (set a mark, or the rule queues it again)."""
        self.verdict(NF.REPEAT, mark=mark)

    def stop(self, *, mark: int | None = None) -> None:
        """``NF_STOP``: accept, skipping the hook's remaining rules."""
        self.verdict(NF.STOP, mark=mark)

    def queue_to(self, queue: int, *, bypass: bool = False) -> None:
        """``NF_QUEUE`` to another queue (``bypass``: accept if nobody listens there)."""
        if not 0 <= queue <= 0xFFFF:
            raise EncodeError(f"queue {queue} outside 0..65535")
        self.verdict(nf_queue_nr(queue) | (NF_VERDICT_FLAG_QUEUE_BYPASS if bypass else 0))

    def release(self) -> None:
        """Give up the packet: without a verdict, the queue's policy gives one (counted)."""
        if self._state == _PENDING:
            self._state = _RELEASED
            q = self._q
            if q is not None:
                q.released(self.queue, self.id)

    def copy(self) -> Packet:
        """This packet over a private copy of its bytes, still owing its verdict.

        The copy outlives the receive buffer; this view is released (its verdict is
        now the copy's to give; a copy collected without one gets the policy verdict).
        """
        if self._state != _PENDING:
            raise EncodeError(f"packet {self.id} already has its verdict")
        q = self._q
        p = _DetachedPacket._make(self.tobytes(), 0, q, self.id, self.queue)
        self._state = _DONE  # the obligation moved to the copy
        if q is not None:
            q.hold(self.queue, self.id)
        return p

    # -- rendering ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of everything present (the payload as hex)."""
        out: dict[str, object] = {"id": self.id, "queue": self.queue,
                                  "family": int(self.family),
                                  "hw_protocol": self.hw_protocol, "hook": self.hook}
        out["mark"] = self.mark
        for key in ("indev", "outdev", "physindev", "physoutdev", "priority",
                    "cgroup_classid", "uid", "gid", "secctx", "timestamp_ns", "hwaddr_text"):
            v = getattr(self, key)
            if v is not None and (v != 0 or key in ("uid", "gid")):
                out[key] = v
        info = self.skb_info
        if info:
            out["skb_info"] = [f.name for f in NFQA_SKB if f & info]
        vlan = self.vlan
        if vlan is not None:
            out["vlan"] = {"proto": vlan[0], "tci": vlan[1]}
        ct = self.ct
        if ct is not None:
            out["ct"] = ct.to_dict()
        ci = self.ct_info
        if ci is not None:
            out["ct_info"] = int(ci)
        out["len"] = self.cap_len
        out["caplen"] = self.payload_len
        out["payload"] = self.payload.hex()
        return out

    def __repr__(self) -> str:
        try:
            return (f"<Packet id={self.id} queue={self.queue} len={self.cap_len} "
                    f"caplen={self.payload_len} mark={self.mark:#x}>")
        except DecodeError as exc:
            return f"<Packet undecodable: {exc}>"


class _DetachedPacket(Packet):
    """A :meth:`Packet.copy`: the same packet over its own bytes, with the finaliser
    that hands it to the policy when it is collected without a verdict (only copies
    pay for one: the views of a receive batch are settled by the queue itself)."""

    __slots__ = ()

    def __del__(self) -> None:
        if getattr(self, "_state", _DONE) == _PENDING and self._q is not None:
            try:
                self._q.released(self.queue, self.id)
            except Exception:  # noqa: BLE001 - never raise from a finaliser; counted there
                return
