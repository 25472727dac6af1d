"""TPACKET RX walkers over any buffer: V1/V2 frames and V3 blocks, with reused packet views.

Pure module: a walker takes a writable buffer (the ring's mmap, or a
``bytearray`` a test builds) and a :class:`~netring.packet.geometry.Geometry`.
The edge (:mod:`netring.packet.edge.ring`) polls; the walkers only read status
words, hand out batches, and write ``TP_STATUS_KERNEL`` back on release.

V3 (``V3Walker``): the kernel fills whole blocks and flips ``block_status`` to
USER when a block is full or its retire timer fires; user space walks the
packets and returns the block::

    block i  +----------------------+---------+----------------------+-----+------------+
             | tpacket_block_desc   | priv    | tpacket3_hdr|ll|pkt   | ... | last pkt   |
             | status num_pkts ...  |         | next_offset -------->|     | next 0     |
             +----------------------+---------+----------------------+-----+------------+
             0                      48        offset_to_first_pkt
    KERNEL --(kernel closes)--> USER [|BLK_TMO|LOSING] --(release)--> KERNEL

V1/V2 (``FrameWalker``): fixed frames, each with its own status word; a batch is
the run of consecutive USER frames at the cursor (at most ``batch`` frames)::

    frame  | tpacket(2)_hdr | sockaddr_ll | ... | mac .. net .. |   KERNEL -> USER -> KERNEL

Every batch is iterated as ``for pkt in batch`` where ``pkt`` is ONE reused
slotted view (:class:`Packet`): moving to the next packet rewrites its offset, so
keep nothing from it beyond the loop body but values you read (``pkt.ts_ns``,
``pkt.data.tobytes()``).  ``pkt.data`` is a zero-copy memoryview into the ring,
valid until the batch is released (the next batch is asked for, or
``release()``); copy it with ``bytes(pkt.data)`` to keep it.

Nothing read from the ring is trusted: block status, packet count, first
offset, every next offset, ``tp_mac`` and ``tp_snaplen`` are checked against the
block (V3) or frame (V1/V2) bounds before use; a violation is a
:class:`~netring.errors.RingError` naming the offset.

Memory ordering: the kernel writes the status word last, after a write barrier;
these walkers read it first and the data after.  CPython's memoryview accesses
are plain loads and stores, which is enough on x86 (loads are not reordered
with loads); on weakly ordered CPUs the interpreter's own barriers (the GIL
hand-offs) are the only ones.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator

from ..errors import RingError
from ..strided import uniform_fields
from .constants import PACKET_TYPE, TP_STATUS, TPACKET_VERSION
from .geometry import Geometry, blk_plus_priv
from .structs import LONG_SIZE, tpacket_block_desc

__all__ = [
    "Packet",
    "PacketV1",
    "PacketV2",
    "PacketV3",
    "Block",
    "FrameBatch",
    "V3Walker",
    "FrameWalker",
    "make_walker",
    "TS_SOURCE",
    "DIRECTION",
]

_USER = int(TP_STATUS.USER)
_VLAN_VALID = int(TP_STATUS.VLAN_VALID)
_TPID_VALID = int(TP_STATUS.VLAN_TPID_VALID)
_TS_SW = int(TP_STATUS.TS_SOFTWARE)
_TS_HW = int(TP_STATUS.TS_RAW_HARDWARE)
_LITTLE = struct.pack("=H", 1) == b"\x01\x00"
_NS = 1_000_000_000

#: tcpdump's direction words by ``sll_pkttype`` (``In``/``Out``; the rest by name)
DIRECTION = {int(t): t.name.lower() for t in PACKET_TYPE}
DIRECTION[int(PACKET_TYPE.HOST)] = "in"
DIRECTION[int(PACKET_TYPE.OUTGOING)] = "out"


def TS_SOURCE(status: int) -> str:
    """Where a timestamp came from, by the ``TP_STATUS_TS_*`` bits of ``status``.

    ``"hardware"`` (TS_RAW_HARDWARE: the NIC's clock), ``"software"``
    (TS_SOFTWARE: ``skb->tstamp``, taken at reception), or ``"ring"`` (no bit: the
    kernel read the clock when it wrote the packet into the ring).
    """
    if status & _TS_HW:
        return "hardware"
    if status & _TS_SW:
        return "software"
    return "ring"


class Packet:
    """One packet in a ring, read on demand: a reused view over the mapping.

    The same object is handed out for every packet of a walk; its fields are
    read from the ring when asked for (``unpack`` on demand, nothing decoded in
    advance).  ``data`` is valid until the batch it came from is released.

    Attributes common to every version (properties): ``ts_ns``, ``sec``,
    ``nsec``, ``snaplen`` (bytes captured, at most the ring's snaplen),
    ``wirelen`` (bytes on the wire), ``truncated``, ``status`` (raw
    ``TP_STATUS`` word), ``ts_source``, ``vlan_tci``/``vlan_tpid`` (``None`` unless
    valid), ``rxhash`` (V3; else ``None``), ``pkttype``, ``direction``,
    ``ifindex``, ``protocol`` (``sll_protocol``, host order), ``mac``/``net``
    (offsets from the header), ``data``, ``offset``.
    """

    # _dm, _dn: where every packet's data starts and ends from its header in the
    # current block when they all share tp_mac and tp_snaplen (0, 0: read per packet)
    __slots__ = ("_off", "_w", "_h", "_b", "_end", "_cap", "_ll", "_dm", "_dn")

    version = -1

    def __init__(self, words: memoryview, halves: memoryview, data: memoryview, cap: int,
                 ll: int) -> None:
        self._off = 0
        self._w = words
        self._h = halves
        self._b = data
        self._end = 0
        self._cap = cap
        self._ll = ll  # offset of sockaddr_ll from the header
        self._dm = self._dn = 0

    # fields every version computes from _off; subclasses override the getters
    @property
    def offset(self) -> int:
        """Offset of this packet's header in the ring buffer."""
        return self._off

    @property
    def ts_ns(self) -> int:
        raise NotImplementedError

    @property
    def snaplen(self) -> int:
        raise NotImplementedError

    @property
    def wirelen(self) -> int:
        raise NotImplementedError

    @property
    def status(self) -> int:
        raise NotImplementedError

    @property
    def mac(self) -> int:
        raise NotImplementedError

    @property
    def net(self) -> int:
        raise NotImplementedError

    @property
    def truncated(self) -> bool:
        """True when fewer bytes were captured than were on the wire."""
        return self.snaplen < self.wirelen

    @property
    def sec(self) -> int:
        """Seconds of the timestamp."""
        return self.ts_ns // _NS

    @property
    def nsec(self) -> int:
        """Nanoseconds within the second of the timestamp (V1: microseconds x 1000)."""
        return self.ts_ns % _NS

    @property
    def ts_source(self) -> str:
        """``"hardware"``, ``"software"`` or ``"ring"`` (see :func:`TS_SOURCE`)."""
        return TS_SOURCE(self.status)

    @property
    def flags(self) -> TP_STATUS:
        """``status`` as a :class:`TP_STATUS` flag (readable, slower than ``status``)."""
        return TP_STATUS(self.status)

    @property
    def vlan_tci(self) -> int | None:
        """The VLAN tag control information the kernel took off the frame, or ``None``."""
        return None

    @property
    def vlan_tpid(self) -> int | None:
        """The VLAN tag protocol id (0x8100, 0x88a8), or ``None`` when not reported."""
        return None

    @property
    def rxhash(self) -> int | None:
        """The kernel's flow hash (V3 with ``TP_FT_REQ_FILL_RXHASH``), else ``None``."""
        return None

    @property
    def pkttype(self) -> int:
        """``sll_pkttype`` (:class:`PACKET_TYPE`: HOST, BROADCAST, ..., OUTGOING)."""
        return self._b[self._off + self._ll + 10]

    @property
    def direction(self) -> str:
        """``"in"``, ``"out"``, ``"broadcast"``, ``"multicast"``, ``"otherhost"``, ..."""
        return DIRECTION.get(self._b[self._off + self._ll + 10], "unknown")

    @property
    def ifindex(self) -> int:
        """``sll_ifindex``: the interface the packet was seen on."""
        i: int = _i32.unpack_from(self._b, self._off + self._ll + 4)[0]
        return i

    @property
    def protocol(self) -> int:
        """``sll_protocol`` in host order (the ethertype, e.g. 0x0800)."""
        p = self._h[(self._off + self._ll + 2) >> 1]
        return ((p & 0xFF) << 8 | p >> 8) if _LITTLE else p

    @property
    def hatype(self) -> int:
        """``sll_hatype`` (ARPHRD_ETHER = 1)."""
        h: int = self._h[(self._off + self._ll + 8) >> 1]
        return h

    @property
    def data(self) -> memoryview:
        """The captured bytes from the link header on (zero copy; valid until release)."""
        start = self._off + self.mac
        end = start + self.snaplen
        if end > self._end:
            raise RingError(f"packet at offset {self._off}: mac {self.mac} + snaplen "
                            f"{self.snaplen} runs past its frame/block end {self._end}")
        return self._b[start:end]

    def tobytes(self) -> bytes:
        """A copy of :attr:`data` (safe to keep after release)."""
        return self.data.tobytes()

    def to_dict(self) -> dict[str, object]:
        """Every metadata field as a dict (for JSON output and debugging)."""
        return {
            "ts_ns": self.ts_ns, "ts_source": self.ts_source, "snaplen": self.snaplen,
            "wirelen": self.wirelen, "status": self.status, "vlan_tci": self.vlan_tci,
            "vlan_tpid": self.vlan_tpid, "rxhash": self.rxhash, "direction": self.direction,
            "pkttype": self.pkttype, "ifindex": self.ifindex, "protocol": self.protocol,
        }

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} off={self._off} len={self.wirelen} "
                f"snap={self.snaplen} {self.direction} status={self.flags!r}>")


_i32 = struct.Struct("=i")


class PacketV3(Packet):
    """A ``tpacket3_hdr`` packet (see :class:`Packet`)."""

    __slots__ = ()
    version = TPACKET_VERSION.V3

    @property
    def ts_ns(self) -> int:
        """Timestamp in nanoseconds since the epoch (``tp_sec``, ``tp_nsec``)."""
        i = self._off >> 2
        w = self._w
        return w[i + 1] * _NS + w[i + 2]

    @property
    def sec(self) -> int:
        s: int = self._w[(self._off >> 2) + 1]
        return s

    @property
    def nsec(self) -> int:
        n: int = self._w[(self._off >> 2) + 2]
        return n

    @property
    def snaplen(self) -> int:
        """Bytes captured (``tp_snaplen``, cut to the ring's snaplen)."""
        s: int = self._w[(self._off >> 2) + 3]
        return s if s <= self._cap else self._cap

    @property
    def wirelen(self) -> int:
        """Bytes on the wire (``tp_len``)."""
        n: int = self._w[(self._off >> 2) + 4]
        return n

    @property
    def status(self) -> int:
        """The packet's ``tp_status`` (TP_STATUS bits)."""
        s: int = self._w[(self._off >> 2) + 5]
        return s

    @property
    def mac(self) -> int:
        """``tp_mac``: link header offset from the packet header."""
        m: int = self._h[(self._off >> 1) + 12]
        return m

    @property
    def net(self) -> int:
        """``tp_net``: network header offset from the packet header."""
        n: int = self._h[(self._off >> 1) + 13]
        return n

    @property
    def rxhash(self) -> int | None:
        r: int = self._w[(self._off >> 2) + 7]
        return r

    @property
    def vlan_tci(self) -> int | None:
        i = self._off >> 2
        if self._w[i + 5] & _VLAN_VALID:
            t: int = self._w[i + 8]
            return t
        return None

    @property
    def vlan_tpid(self) -> int | None:
        if self._w[(self._off >> 2) + 5] & _TPID_VALID:
            t: int = self._h[(self._off >> 1) + 18]
            return t
        return None

    @property
    def data(self) -> memoryview:
        o = self._off
        e = self._dn
        if e:  # a block whose packets share tp_mac and tp_snaplen (checked for all)
            return self._b[o + self._dm:o + e]
        w = self._w
        s = w[(o >> 2) + 3]
        if s > self._cap:
            s = self._cap
        start = o + self._h[(o >> 1) + 12]
        end = start + s
        if end > self._end:
            raise RingError(f"packet at offset {o}: tp_mac + tp_snaplen ends at {end}, past "
                            f"its block end {self._end}")
        return self._b[start:end]


class PacketV2(Packet):
    """A ``tpacket2_hdr`` frame (see :class:`Packet`)."""

    __slots__ = ()
    version = TPACKET_VERSION.V2

    @property
    def ts_ns(self) -> int:
        """Timestamp in nanoseconds since the epoch (``tp_sec``, ``tp_nsec``)."""
        i = self._off >> 2
        w = self._w
        return w[i + 4] * _NS + w[i + 5]

    @property
    def sec(self) -> int:
        s: int = self._w[(self._off >> 2) + 4]
        return s

    @property
    def nsec(self) -> int:
        n: int = self._w[(self._off >> 2) + 5]
        return n

    @property
    def snaplen(self) -> int:
        s: int = self._w[(self._off >> 2) + 2]
        return s if s <= self._cap else self._cap

    @property
    def wirelen(self) -> int:
        n: int = self._w[(self._off >> 2) + 1]
        return n

    @property
    def status(self) -> int:
        s: int = self._w[self._off >> 2]
        return s

    @property
    def mac(self) -> int:
        m: int = self._h[(self._off >> 1) + 6]
        return m

    @property
    def net(self) -> int:
        n: int = self._h[(self._off >> 1) + 7]
        return n

    @property
    def vlan_tci(self) -> int | None:
        if self._w[self._off >> 2] & _VLAN_VALID:
            t: int = self._h[(self._off >> 1) + 12]
            return t
        return None

    @property
    def vlan_tpid(self) -> int | None:
        if self._w[self._off >> 2] & _TPID_VALID:
            t: int = self._h[(self._off >> 1) + 13]
            return t
        return None


_V1_STATUS = 0 if (_LITTLE or LONG_SIZE == 4) else 1  # the u32 word of V1's unsigned long
_V1_W = LONG_SIZE // 4  # words before tp_len


class PacketV1(Packet):
    """A ``tpacket_hdr`` (V1) frame: microsecond timestamps, no VLAN fields."""

    __slots__ = ()
    version = TPACKET_VERSION.V1

    @property
    def ts_ns(self) -> int:
        """Timestamp in nanoseconds since the epoch (``tp_sec``, ``tp_usec`` x 1000)."""
        i = (self._off >> 2) + _V1_W
        w = self._w
        return w[i + 3] * _NS + w[i + 4] * 1000

    @property
    def snaplen(self) -> int:
        s: int = self._w[(self._off >> 2) + _V1_W + 1]
        return s if s <= self._cap else self._cap

    @property
    def wirelen(self) -> int:
        n: int = self._w[(self._off >> 2) + _V1_W]
        return n

    @property
    def status(self) -> int:
        s: int = self._w[(self._off >> 2) + _V1_STATUS]
        return s

    @property
    def mac(self) -> int:
        m: int = self._h[(self._off >> 1) + 2 * _V1_W + 4]
        return m

    @property
    def net(self) -> int:
        n: int = self._h[(self._off >> 1) + 2 * _V1_W + 5]
        return n


_PACKET_CLASSES: tuple[type[Packet], ...] = (PacketV1, PacketV2, PacketV3)


def _views_at(pkt: Packet, offsets: Iterable[int]) -> Iterator[Packet]:
    """``pkt`` with ``_off`` set to each offset in turn (a generator: in CPython 3.11 it
    beats a C-level ``map``/``zip`` chain over the same range)."""
    for off in offsets:
        pkt._off = off
        yield pkt


_SLICE_LAYOUTS = 4  # block layouts whose slices Block.datas() keeps
_WINDOW_MIN = 8  # packets in a block before Packet.data looks for a shared window

#: tpacket3_hdr fields by 32-bit word (Block.column)
_COLUMNS = {"sec": 1, "nsec": 2, "snaplen": 3, "wirelen": 4, "status": 5, "rxhash": 7,
            "vlan_tci": 8}


class Block:
    """One V3 block handed to user space: iterate it for its packets, then release it.

    Attributes:
        index: the block's index in the ring.
        offset: its offset in the buffer.
        num_pkts: packets it holds.
        seq: ``seq_num`` (1 for the first block the kernel opened, +1 per block).
        status: ``block_status`` (USER, ``BLK_TMO`` when the retire timer closed it,
            ``LOSING`` when packets were dropped since the last statistics read).
        released: True once returned to the kernel.
    """

    __slots__ = ("index", "offset", "num_pkts", "seq", "status", "released", "_first", "_end",
                 "_walker")

    def __init__(self, walker: V3Walker, index: int, offset: int, num_pkts: int, first: int,
                 seq: int, status: int) -> None:
        self._walker = walker
        self.index = index
        self.offset = offset
        self.num_pkts = num_pkts
        self._first = first
        self._end = offset + walker.block_size
        self.seq = seq
        self.status = status
        self.released = False

    def __len__(self) -> int:
        return self.num_pkts

    def __iter__(self) -> Iterator[Packet]:
        """The packets, each as the walker's one reused :class:`PacketV3` view.

        A block whose packets all share one stride (``tp_next_offset``, checked for
        every packet in C before the walk) is walked over a ``range``; any other
        block follows and checks each ``tp_next_offset`` in turn.
        """
        if self.released:
            raise RingError(f"block {self.index} was released; its packets are gone")
        wk = self._walker
        pkt = wk.packet
        pkt._end = self._end
        offs = wk.uniform_offsets(self._first, self.num_pkts, self._end)
        if offs is not None:
            pkt._dm, pkt._dn = wk.data_window(offs, self._end)
            return _views_at(pkt, offs)
        pkt._dm = pkt._dn = 0
        return self._chain(pkt)

    def _chain(self, pkt: Packet) -> Iterator[Packet]:
        end = self._end
        limit = end - 48  # a tpacket3_hdr must fit before the block end
        w = self._walker.words
        off = self._first
        for _ in range(self.num_pkts):
            if off > limit:
                raise RingError(f"block {self.index}: packet offset {off} outside the block "
                                f"(ends at {end})")
            pkt._off = off
            yield pkt
            off += w[off >> 2]

    def offsets(self) -> list[int]:
        """The buffer offsets of the packet headers (checked as iteration checks them)."""
        return [p._off for p in self]

    def layout(self, count: int | None = None) -> tuple[range, int, int] | None:
        """``(header offsets, tp_mac, largest tp_snaplen)`` of the first ``count``
        packets (default all) when they share one stride and one ``tp_mac`` and every
        captured length fits the ring's snaplen and the block; else ``None``.

        Each field is checked for every packet in C (strided memoryviews); such a
        block's packets can be handed on as ranges (see :mod:`netring.packet.capfile`).
        """
        if self.released:
            raise RingError(f"block {self.index} was released; its packets are gone")
        wk = self._walker
        n = self.num_pkts if count is None else min(count, self.num_pkts)
        offs = wk.uniform_offsets(self._first, self.num_pkts, self._end)
        if offs is None or n < 2:
            return None
        offs = offs[:n]
        first, last, step = offs.start, offs[-1], offs.step
        b = wk.bytes
        mac: int = wk.halves[(first >> 1) + 12]
        if not uniform_fields(b, step, n, ((first + 24, 2),)):  # tp_mac
            return None
        snap: int = wk.words[(first >> 2) + 3]
        if not uniform_fields(b, step, n, ((first + 12, 4),)):  # tp_snaplen differ: the largest
            snap = max(wk.words[(first >> 2) + 3:(last >> 2) + 4:step >> 2])
        if snap > wk.packet._cap or last + mac + snap > self._end:
            return None
        return offs, mac, snap

    def datas(self) -> Iterator[memoryview]:
        """Every packet's captured bytes (``pkt.data``), in order, as zero-copy views
        valid until the block is released.

        For a block of one stride, one ``tp_mac`` and one captured length (a flood of
        equal frames: :meth:`V3Walker.data_window`, the window ``pkt.data`` uses too)
        the views are cut in C (``map`` over slice objects made once per layout and
        kept for the blocks that share it), no Python code per packet; any other block
        goes through the reused view.
        """
        if self.released:
            raise RingError(f"block {self.index} was released; its packets are gone")
        wk = self._walker
        offs = wk.uniform_offsets(self._first, self.num_pkts, self._end)
        if offs is not None:
            mac, stop = wk.data_window(offs, self._end)  # (0, 0): not one window
            if stop:
                n, step, snap = len(offs), offs.step, stop - mac
                rel = offs.start - self.offset + mac  # from the block's start
                key = (rel, step, n, snap)
                slices = wk._slices.get(key)
                if slices is None:  # blocks of a flood share their layout: cut once
                    slices = list(map(slice, range(rel, rel + n * step, step),
                                      range(rel + snap, rel + snap + n * step, step)))
                    if len(wk._slices) >= _SLICE_LAYOUTS:
                        wk._slices.clear()
                    wk._slices[key] = slices
                view = wk.bytes[self.offset:self._end]
                return map(view.__getitem__, slices)
        return (p.data for p in self)

    def column(self, field: str) -> memoryview | list[int]:
        """One 32-bit header field of every packet, in order, without a per-packet view.

        ``field``: ``sec``, ``nsec``, ``snaplen`` (raw ``tp_snaplen``), ``wirelen``,
        ``status``, ``rxhash`` or ``vlan_tci``.  For a block of one stride this is a
        zero-copy strided memoryview (``sum(blk.column("wirelen"))`` runs in C);
        otherwise a list.  Valid until the block is released.
        """
        word = _COLUMNS.get(field)
        if word is None:
            raise RingError(f"no column {field!r}; choose from {', '.join(_COLUMNS)}")
        if self.released:
            raise RingError(f"block {self.index} was released; its packets are gone")
        w = self._walker.words
        offs = self._walker.uniform_offsets(self._first, self.num_pkts, self._end)
        if offs is not None and len(offs) > 1:
            return w[(offs.start >> 2) + word: (offs[-1] >> 2) + word + 1: offs.step >> 2]
        return [w[(p._off >> 2) + word] for p in self]

    @property
    def timed_out(self) -> bool:
        """True when the retire timer closed the block (``TP_STATUS_BLK_TMO``)."""
        return bool(self.status & TP_STATUS.BLK_TMO)

    @property
    def losing(self) -> bool:
        """True when the kernel dropped packets since the last statistics read."""
        return bool(self.status & TP_STATUS.LOSING)

    @property
    def ts_first_ns(self) -> int:
        """``ts_first_pkt`` of the block descriptor in nanoseconds."""
        w = self._walker.words
        i = self.offset >> 2
        return w[i + 8] * _NS + w[i + 9]

    @property
    def ts_last_ns(self) -> int:
        """``ts_last_pkt`` of the block descriptor in nanoseconds."""
        w = self._walker.words
        i = self.offset >> 2
        return w[i + 10] * _NS + w[i + 11]

    def release(self) -> None:
        """Return the block to the kernel (``block_status = TP_STATUS_KERNEL``); idempotent."""
        if not self.released:
            self.released = True
            self._walker.words[(self.offset >> 2) + 2] = 0

    def __enter__(self) -> Block:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return (f"<Block {self.index} seq={self.seq} pkts={self.num_pkts} "
                f"status={TP_STATUS(self.status)!r}{' released' if self.released else ''}>")


class FrameBatch:
    """A run of consecutive USER frames of a V1/V2 ring: iterate, then release.

    Attributes:
        start: ring index of the first frame.
        num_pkts: frames in the batch.
        status: the OR of the frames' status words (``LOSING`` when any had it).
        released: True once every frame was returned.
    """

    __slots__ = ("start", "num_pkts", "status", "released", "_walker")

    def __init__(self, walker: FrameWalker, start: int, num_pkts: int, status: int) -> None:
        self._walker = walker
        self.start = start
        self.num_pkts = num_pkts
        self.status = status
        self.released = False

    def __len__(self) -> int:
        return self.num_pkts

    def __iter__(self) -> Iterator[Packet]:
        if self.released:
            raise RingError(f"frames {self.start}.. were released; their packets are gone")
        wk = self._walker
        pkt = wk.packet
        offs = wk.offsets
        n = wk.frame_nr
        fs = wk.frame_size
        i = self.start
        for _ in range(self.num_pkts):
            pkt._off = off = offs[i]
            pkt._end = off + fs
            yield pkt
            i += 1
            if i == n:
                i = 0

    @property
    def losing(self) -> bool:
        """True when the kernel dropped packets since the last statistics read."""
        return bool(self.status & TP_STATUS.LOSING)

    def release(self) -> None:
        """Return every frame to the kernel (``tp_status = TP_STATUS_KERNEL``); idempotent."""
        if self.released:
            return
        self.released = True
        wk = self._walker
        w = wk.words
        offs = wk.offsets
        sw = wk.status_word
        n = wk.frame_nr
        i = self.start
        for _ in range(self.num_pkts):
            w[(offs[i] >> 2) + sw] = 0
            i += 1
            if i == n:
                i = 0

    def __enter__(self) -> FrameBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _views(buf: object, ring_offset: int, size: int) -> tuple[memoryview, memoryview, memoryview]:
    mv = memoryview(buf)  # type: ignore[arg-type]
    if mv.ndim != 1 or mv.itemsize != 1:
        mv = mv.cast("B")
    if ring_offset % 8 or len(mv) < ring_offset + size:
        raise RingError(f"buffer of {len(mv)} bytes cannot hold a ring of {size} bytes at "
                        f"offset {ring_offset} (8-aligned)")
    # the ring starts at ring_offset; every walker offset is relative to the ring
    b = mv[ring_offset:ring_offset + size]
    return b.cast("I"), b.cast("H"), b


class _Walker:
    """What both walkers share: views, the reused packet, the snaplen cap."""

    def __init__(self, buf: object, geometry: Geometry, *, snaplen: int | None = None,
                 ring_offset: int = 0) -> None:
        if geometry.tx:
            raise RingError("a TX geometry cannot be walked as an RX ring")
        self.geometry = geometry
        self.words, self.halves, self.bytes = _views(buf, ring_offset, geometry.size)
        cap = 0xFFFFFFFF if snaplen is None else snaplen
        ll = 48 if geometry.version == TPACKET_VERSION.V3 else 32
        if geometry.version == TPACKET_VERSION.V1 and LONG_SIZE == 4:
            ll = 32  # TPACKET_ALIGN(24)
        self.packet: Packet = _PACKET_CLASSES[geometry.version](
            self.words, self.halves, self.bytes, cap, ll)
        self.cursor = 0
        self.batches = 0
        self.packets = 0

    def close(self) -> None:
        """Release the views into the buffer (needed before an mmap can close)."""
        for v in (self.words, self.halves, self.bytes):
            v.release()


class V3Walker(_Walker):
    """Walks a TPACKET_V3 RX ring block by block, in ring order.

    Args:
        buf: the ring's buffer (writable: releases write ``block_status``).
        geometry: its V3 geometry.
        snaplen: cap on the reported captured length (the kernel stores whole
            packets in V3 blocks; ``None``: no cap).
        ring_offset: where the ring starts in ``buf``.
    """

    def __init__(self, buf: object, geometry: Geometry, *, snaplen: int | None = None,
                 ring_offset: int = 0) -> None:
        if geometry.version != TPACKET_VERSION.V3:
            raise RingError(f"V3Walker needs a V3 geometry, not version {geometry.version}")
        super().__init__(buf, geometry, snaplen=snaplen, ring_offset=ring_offset)
        self.block_size = geometry.block_size
        self.block_nr = geometry.block_nr
        self._bwords = geometry.block_size >> 2
        self._first_min = blk_plus_priv(geometry.sizeof_priv)
        # at most one packet per 8-aligned tpacket3_hdr + sockaddr_ll in a block
        self._max_pkts = (geometry.block_size - self._first_min) // 72 + 1
        self.frozen_seen = 0
        # Block.datas(): slice objects per block layout (first packet, stride, count,
        # length), relative to the block, reused for every block laid out alike
        self._slices: dict[tuple[int, int, int, int], list[slice]] = {}

    def ready(self) -> bool:
        """True when the block at the cursor belongs to user space."""
        return bool(self.words[self.cursor * self._bwords + 2] & _USER)

    def data_window(self, offsets: range, end: int) -> tuple[int, int]:
        """``(start, end)`` of every packet's data from its header when the packets at
        ``offsets`` (a block's, of one stride) share ``tp_mac`` and ``tp_snaplen``,
        within the ring's snaplen and the block (``end``), all checked in C;
        ``(0, 0)`` otherwise, and for blocks too small to be worth the look."""
        n = len(offsets)
        if n < _WINDOW_MIN:
            return 0, 0
        first, last, step = offsets.start, offsets[-1], offsets.step
        if not uniform_fields(self.bytes, step, n, ((first + 24, 2), (first + 12, 4))):
            return 0, 0  # tp_mac or tp_snaplen differ
        mac = self.halves[(first >> 1) + 12]
        snap = self.words[(first >> 2) + 3]
        if snap > self.packet._cap or last + mac + snap > end:
            return 0, 0
        return mac, mac + snap

    def uniform_offsets(self, first: int, num: int, end: int) -> range | None:
        """The packet offsets of a block as a ``range`` when every packet but the last
        has the same ``tp_next_offset`` (all checked, in C), else ``None``."""
        if num < 2:
            return range(first, first + num) if first <= end - 48 else None
        w = self.words
        stride = w[first >> 2]
        if stride < 72 or stride & 7:
            return None
        last = first + (num - 1) * stride
        if last > end - 48:
            return None
        if num > 2 and not uniform_fields(self.bytes, stride, num - 1, ((first, 4),)):
            return None  # tp_next_offset of packets 0 .. num-2 differ
        return range(first, last + 1, stride)

    def next_block(self) -> Block | None:
        """The block at the cursor if the kernel handed it over (cursor advances), else ``None``.

        The block must be released (``Block.release``) before the kernel can refill it.
        """
        i = self.cursor
        w = self.words
        wi = i * self._bwords
        status = w[wi + 2]
        if not status & _USER:
            return None
        num, first = w[wi + 3], w[wi + 4]
        self._check(i, num, first)
        off = i * self.block_size
        seq = tpacket_block_desc.unpack_from(self.bytes, off)[6]
        self.cursor = i + 1 if i + 1 < self.block_nr else 0
        self.batches += 1
        self.packets += num
        return Block(self, i, off, num, off + first, seq, status)

    def _check(self, i: int, num: int, first: int) -> None:
        if num and not self._first_min <= first <= self.block_size - 48:
            raise RingError(f"block {i}: offset_to_first_pkt {first} outside "
                            f"{self._first_min}..{self.block_size - 48}")
        if num > self._max_pkts:
            raise RingError(f"block {i}: num_pkts {num} cannot fit a block of "
                            f"{self.block_size} bytes (at most {self._max_pkts})")

    def count(self, limit: int | None = None) -> tuple[int, int]:
        """Count and release every ready block's packets without touching them.

        Returns ``(packets, blocks)``; at most ``limit`` blocks (``None``: all ready).
        """
        w = self.words
        bw = self._bwords
        nb = self.block_nr
        i = self.cursor
        pkts = blocks = 0
        maxp = self._max_pkts
        while limit is None or blocks < limit:
            wi = i * bw
            if not w[wi + 2] & _USER:
                break
            n = w[wi + 3]
            if n > maxp:
                raise RingError(f"block {i}: num_pkts {n} cannot fit its block")
            pkts += n
            blocks += 1
            w[wi + 2] = 0
            i = i + 1 if i + 1 < nb else 0
        self.cursor = i
        self.batches += blocks
        self.packets += pkts
        return pkts, blocks

    def drain(self, callback: Callable[[Packet], object], limit: int | None = None
              ) -> tuple[int, int]:
        """``callback(pkt)`` for every packet of every ready block, releasing each block.

        The one reused view is passed each time.  Returns ``(packets, blocks)``.
        """
        w = self.words
        bw = self._bwords
        bs = self.block_size
        nb = self.block_nr
        pkt = self.packet
        i = self.cursor
        pkts = blocks = 0
        while limit is None or blocks < limit:
            wi = i * bw
            if not w[wi + 2] & _USER:
                break
            n, first = w[wi + 3], w[wi + 4]
            self._check(i, n, first)
            base = i * bs
            pkt._end = end = base + bs
            lim = end - 48
            off = base + first
            self.cursor = i = i + 1 if i + 1 < nb else 0
            try:
                offs = self.uniform_offsets(off, n, end)
                if offs is not None:
                    pkt._dm, pkt._dn = self.data_window(offs, end)
                    for off in offs:
                        pkt._off = off
                        callback(pkt)
                else:
                    pkt._dm = pkt._dn = 0
                    for _ in range(n):
                        if off > lim:
                            raise RingError(f"block {wi // bw}: packet offset {off} outside it")
                        pkt._off = off
                        callback(pkt)
                        off += w[off >> 2]
            finally:
                w[wi + 2] = 0
            pkts += n
            blocks += 1
        self.batches += blocks
        self.packets += pkts
        return pkts, blocks


class FrameWalker(_Walker):
    """Walks a TPACKET_V1/V2 RX ring frame by frame, in ring order.

    Args:
        buf, geometry, snaplen, ring_offset: as for :class:`V3Walker`.
        batch: most frames one :meth:`next_batch` hands out (default: one block's
            worth, at least 64).
    """

    def __init__(self, buf: object, geometry: Geometry, *, snaplen: int | None = None,
                 ring_offset: int = 0, batch: int | None = None) -> None:
        if geometry.version == TPACKET_VERSION.V3:
            raise RingError("FrameWalker walks V1/V2 rings; use V3Walker")
        super().__init__(buf, geometry, snaplen=snaplen, ring_offset=ring_offset)
        self.offsets = geometry.offsets()
        self.frame_nr = geometry.frame_nr
        self.frame_size = geometry.frame_size
        self.status_word = _V1_STATUS if geometry.version == TPACKET_VERSION.V1 else 0
        self.batch = batch or max(64, geometry.frames_per_block)
        self._mac_word = (2 * _V1_W + 4) if geometry.version == TPACKET_VERSION.V1 else 6
        self._snap_word = (_V1_W + 1) if geometry.version == TPACKET_VERSION.V1 else 2

    def ready(self) -> bool:
        """True when the frame at the cursor belongs to user space."""
        return bool(self.words[(self.offsets[self.cursor] >> 2) + self.status_word] & _USER)

    def next_batch(self, limit: int | None = None) -> FrameBatch | None:
        """The run of USER frames at the cursor (at most ``limit``, default ``batch``), or ``None``."""
        w = self.words
        offs = self.offsets
        sw = self.status_word
        n = self.frame_nr
        cap = min(self.batch if limit is None else limit, n)
        fs = self.frame_size
        h = self.halves
        mw = self._mac_word
        snw = self._snap_word
        i = start = self.cursor
        got = 0
        status = 0
        while got < cap:
            off = offs[i]
            s = w[(off >> 2) + sw]
            if not s & _USER:
                break
            # trust nothing: the packet must lie inside its frame
            if h[(off >> 1) + mw] + w[(off >> 2) + snw] > fs:
                raise RingError(f"frame {i}: tp_mac + tp_snaplen exceeds the frame size {fs}")
            status |= s
            got += 1
            i = i + 1 if i + 1 < n else 0
        if not got:
            return None
        self.cursor = i
        self.batches += 1
        self.packets += got
        return FrameBatch(self, start, got, status)

    next_block = next_batch

    def count(self, limit: int | None = None) -> tuple[int, int]:
        """Count and release ready frames without touching them: ``(packets, batches)``."""
        w = self.words
        offs = self.offsets
        sw = self.status_word
        n = self.frame_nr
        i = self.cursor
        got = 0
        cap = n if limit is None else limit * self.batch
        while got < cap:
            idx = (offs[i] >> 2) + sw
            if not w[idx] & _USER:
                break
            w[idx] = 0
            got += 1
            i = i + 1 if i + 1 < n else 0
        self.cursor = i
        self.packets += got
        return got, 1 if got else 0

    def drain(self, callback: Callable[[Packet], object], limit: int | None = None
              ) -> tuple[int, int]:
        """``callback(pkt)`` for every ready frame, each released after its call."""
        pkts = batches = 0
        while limit is None or batches < limit:
            b = self.next_batch()
            if b is None:
                break
            try:
                for p in b:
                    callback(p)
            finally:
                b.release()
            pkts += b.num_pkts
            batches += 1
        return pkts, batches


def make_walker(buf: object, geometry: Geometry, *, snaplen: int | None = None,
                ring_offset: int = 0) -> V3Walker | FrameWalker:
    """The walker for ``geometry``'s version."""
    if geometry.version == TPACKET_VERSION.V3:
        return V3Walker(buf, geometry, snaplen=snaplen, ring_offset=ring_offset)
    return FrameWalker(buf, geometry, snaplen=snaplen, ring_offset=ring_offset)
