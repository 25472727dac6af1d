"""AF_PACKET ring geometry: validated as ``packet_set_ring()`` does, with chosen defaults.

A ring is ``block_nr`` blocks of ``block_size`` bytes (page multiples).  V1/V2
cut each block into ``block_size // frame_size`` fixed frames; V3 packs
variable-length packets into whole blocks (``frame_size`` is then only checked,
never used to place packets)::

    V1/V2:  block 0 [f0][f1][f2][tail] block 1 [f3][f4][f5][tail] ...
    V3:     block 0 [desc|priv|p0|p1|p2 .....|free] block 1 [desc|priv|p0|...] ...

One mapping holds the RX ring, then the TX ring (``packet_mmap``).

The rules, in the order Linux 6.x's ``packet_set_ring()`` checks them (each
refusal is ``EINVAL``); :class:`GeometryError` carries the rule's name and the
numbers involved.

The defaults, and why (anchors from the capture engines people tune):

``V3``: blocks of 1 MiB, 32 of them (32 MiB), retire timeout 10 ms.
    libpcap uses 256 KiB blocks in a 2 MiB buffer, which drops under bursts
    (its users report ~8 % loss at <= 256 KiB); gopacket 512 KiB x 128; Zeek a
    128 MiB buffer; Suricata and Zeek retire blocks after 10 ms.  A 1 MiB block
    holds ~7000 minimum-size packets, so the per-block Python cost (one poll,
    one release) is amortised, and any packet up to 64 KiB (GSO/GRO) fits.
``V1/V2``: ``frame_size = TPACKET_ALIGN(mac offset + min(snaplen, mtu + 18))`` as
    libpcap sizes it (18: Ethernet header and one VLAN tag), blocks of one page
    doubled until one frame fits, as many frames as fill 32 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import EncodeError
from .constants import ETH_HLEN, TPACKET_VERSION, tpacket_align, v3_align
from .structs import (
    TPACKET2_HDRLEN,
    TPACKET3_HDRLEN,
    TPACKET_HDRLEN,
    tpacket_block_desc,
    tpacket_req,
    tpacket_req3,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_BUFFER_SIZE",
    "DEFAULT_V3_BLOCK_SIZE",
    "DEFAULT_RETIRE_MS",
    "DEFAULT_SNAPLEN",
    "RULES",
    "GeometryError",
    "Geometry",
    "validate",
    "hdrlen",
    "mac_offset",
    "blk_plus_priv",
]

DEFAULT_PAGE_SIZE = 4096
DEFAULT_BUFFER_SIZE = 32 << 20
DEFAULT_V3_BLOCK_SIZE = 1 << 20
DEFAULT_RETIRE_MS = 10
DEFAULT_SNAPLEN = 262144  # MAXIMUM_SNAPLEN of libpcap and tcpdump
_U32 = 0xFFFFFFFF
_INT_MAX = 0x7FFFFFFF

# (name, the kernel's refusal), in packet_set_ring()'s order (net/packet/af_packet.c).
RULES: tuple[tuple[str, str], ...] = (
    ("V3 TX: retire_tov == sizeof_priv == feature_req_word == 0",
     "tx_ring && V3 && (tp_retire_blk_tov || tp_sizeof_priv || tp_feature_req_word)"),
    ("block_size > 0", "(int)req->tp_block_size <= 0"),
    ("block_size % page_size == 0", "!PAGE_ALIGNED(req->tp_block_size)"),
    ("V3: block_size >= BLK_PLUS_PRIV(sizeof_priv) + hdrlen + reserve",
     "req->tp_block_size < BLK_PLUS_PRIV((u64)tp_sizeof_priv) + min_frame_size"),
    ("frame_size >= hdrlen + reserve", "req->tp_frame_size < min_frame_size"),
    ("frame_size % TPACKET_ALIGNMENT == 0", "req->tp_frame_size & (TPACKET_ALIGNMENT - 1)"),
    ("frames_per_block > 0", "rb->frames_per_block == 0"),
    ("frames_per_block <= UINT_MAX / block_nr", "rb->frames_per_block > UINT_MAX / tp_block_nr"),
    ("frame_nr == frames_per_block * block_nr",
     "rb->frames_per_block * req->tp_block_nr != req->tp_frame_nr"),
)
RULE_NAMES = tuple(r[0] for r in RULES)


class GeometryError(EncodeError):
    """A ring request the kernel's ``packet_set_ring()`` would refuse (EINVAL).

    Attributes:
        rule: the violated rule, one of the names in :data:`RULES`.
        values: the numbers involved, by name.
    """

    def __init__(self, rule: str, **values: int) -> None:
        self.rule = rule
        self.values = values
        nums = ", ".join(f"{k}={v}" for k, v in values.items())
        super().__init__(f"bad packet ring geometry: rule {rule!r} violated ({nums})")


def hdrlen(version: int) -> int:
    """``po->tp_hdrlen``: ``TPACKET{,2,3}_HDRLEN`` of a ring version (52, 52, 68)."""
    return (TPACKET_HDRLEN, TPACKET2_HDRLEN, TPACKET3_HDRLEN)[version]


def blk_plus_priv(sizeof_priv: int) -> int:
    """``BLK_PLUS_PRIV(sz)``: a V3 block's descriptor plus its private area (8-aligned)."""
    return v3_align(tpacket_block_desc.size) + v3_align(sizeof_priv)


def mac_offset(version: int, raw: bool = True, maclen: int = ETH_HLEN, reserve: int = 0) -> int:
    """Where ``tpacket_rcv`` puts the link header in a frame (V3: from the packet header).

    ``SOCK_RAW``: ``TPACKET_ALIGN(hdrlen + max(maclen, 16)) + reserve - maclen``;
    ``SOCK_DGRAM``: ``TPACKET_ALIGN(hdrlen) + 16 + reserve`` (no link header kept).
    """
    h = hdrlen(version)
    if raw:
        return tpacket_align(h + max(maclen, 16)) + reserve - maclen
    return tpacket_align(h) + 16 + reserve


def validate(version: int, block_size: int, block_nr: int, frame_size: int, frame_nr: int,
             *, retire_tov: int = 0, sizeof_priv: int = 0, feature_req_word: int = 0,
             reserve: int = 0, tx: bool = False, page_size: int = DEFAULT_PAGE_SIZE) -> None:
    """Check a ring request in the kernel's order; raise :class:`GeometryError`.

    ``block_nr == 0`` asks the kernel to *destroy* a ring: refused here as the rule
    ``"block_nr > 0"``.  Every field must fit its ``unsigned int``.
    """
    if version not in (0, 1, 2):
        raise GeometryError("version in (TPACKET_V1, TPACKET_V2, TPACKET_V3)", version=version)
    for name, v in (("block_size", block_size), ("block_nr", block_nr),
                    ("frame_size", frame_size), ("frame_nr", frame_nr),
                    ("retire_tov", retire_tov), ("sizeof_priv", sizeof_priv),
                    ("feature_req_word", feature_req_word), ("reserve", reserve)):
        if not 0 <= v <= _U32:
            raise GeometryError(f"0 <= {name} <= 2**32-1", **{name: v})
    if page_size <= 0 or page_size & (page_size - 1):
        raise GeometryError("page_size is a power of two", page_size=page_size)
    if tx and version == TPACKET_VERSION.V3 and (retire_tov or sizeof_priv or feature_req_word):
        raise GeometryError(RULE_NAMES[0], retire_tov=retire_tov, sizeof_priv=sizeof_priv,
                            feature_req_word=feature_req_word)
    if block_nr == 0:
        raise GeometryError("block_nr > 0", block_nr=block_nr, frame_nr=frame_nr)
    if block_size == 0 or block_size > _INT_MAX:
        raise GeometryError(RULE_NAMES[1], block_size=block_size)
    if block_size % page_size:
        raise GeometryError(RULE_NAMES[2], block_size=block_size, page_size=page_size)
    min_frame = hdrlen(version) + reserve
    if version == TPACKET_VERSION.V3 and block_size < blk_plus_priv(sizeof_priv) + min_frame:
        raise GeometryError(RULE_NAMES[3], block_size=block_size,
                            BLK_PLUS_PRIV=blk_plus_priv(sizeof_priv), hdrlen=hdrlen(version),
                            reserve=reserve)
    if frame_size < min_frame:
        raise GeometryError(RULE_NAMES[4], frame_size=frame_size, hdrlen=hdrlen(version),
                            reserve=reserve)
    if frame_size % 16:
        raise GeometryError(RULE_NAMES[5], frame_size=frame_size, TPACKET_ALIGNMENT=16)
    fpb = block_size // frame_size
    if fpb == 0:
        raise GeometryError(RULE_NAMES[6], frame_size=frame_size, block_size=block_size)
    if fpb > _U32 // block_nr:
        raise GeometryError(RULE_NAMES[7], frames_per_block=fpb, block_nr=block_nr)
    if fpb * block_nr != frame_nr:
        raise GeometryError(RULE_NAMES[8], frame_nr=frame_nr, frames_per_block=fpb,
                            block_nr=block_nr)


@dataclass(frozen=True, slots=True)
class Geometry:
    """One ring's ``tpacket_req``/``tpacket_req3``, validated on construction.

    Attributes:
        version: ``TPACKET_V1`` (0), ``V2`` (1) or ``V3`` (2).
        block_size, block_nr, frame_size, frame_nr: the request's first four fields.
        retire_tov: V3 block retire timeout in ms (0: the kernel computes one, 8 ms
            for links below 1 Gb/s).
        sizeof_priv: V3 private bytes per block (after the block descriptor).
        feature_req_word: V3 ``TP_FT_REQ_FILL_RXHASH`` to have ``tp_rxhash`` filled.
        reserve: the ``PACKET_RESERVE`` headroom this geometry was checked with.
        tx: a TX ring (V3 TX needs the three V3 fields at 0).
        page_size: the page size the block size was checked against.
    """

    version: int
    block_size: int
    block_nr: int
    frame_size: int
    frame_nr: int
    retire_tov: int = 0
    sizeof_priv: int = 0
    feature_req_word: int = 0
    reserve: int = 0
    tx: bool = False
    page_size: int = DEFAULT_PAGE_SIZE

    def __post_init__(self) -> None:
        validate(self.version, self.block_size, self.block_nr, self.frame_size, self.frame_nr,
                 retire_tov=self.retire_tov, sizeof_priv=self.sizeof_priv,
                 feature_req_word=self.feature_req_word, reserve=self.reserve, tx=self.tx,
                 page_size=self.page_size)

    # -- chosen defaults -------------------------------------------------------------
    @classmethod
    def v3(cls, block_size: int = DEFAULT_V3_BLOCK_SIZE, block_nr: int | None = None, *,
           buffer_size: int = DEFAULT_BUFFER_SIZE, retire_ms: int = DEFAULT_RETIRE_MS,
           rxhash: bool = True, sizeof_priv: int = 0, reserve: int = 0,
           page_size: int = DEFAULT_PAGE_SIZE) -> Geometry:
        """A V3 RX ring: ``block_nr`` blocks (default: as many as fill ``buffer_size``).

        ``block_size`` is rounded up to a page multiple; ``frame_size`` is set to the
        block size (V3 never uses it to place packets).
        """
        block_size = max(page_size, -(-block_size // page_size) * page_size)
        if block_nr is None:
            block_nr = max(1, buffer_size // block_size)
        return cls(TPACKET_VERSION.V3, block_size, block_nr, block_size, block_nr,
                   retire_tov=retire_ms, sizeof_priv=sizeof_priv,
                   feature_req_word=1 if rxhash else 0, reserve=reserve, page_size=page_size)

    @classmethod
    def frames(cls, version: int, snaplen: int = DEFAULT_SNAPLEN, *, mtu: int = 1500,
               buffer_size: int = DEFAULT_BUFFER_SIZE, frame_nr: int | None = None,
               raw: bool = True, reserve: int = 0, tx: bool = False,
               page_size: int = DEFAULT_PAGE_SIZE) -> Geometry:
        """A V1/V2 ring (or a TX ring of any version) sized the way libpcap sizes one.

        ``frame_size = TPACKET_ALIGN(mac offset + min(snaplen, mtu + 18))``; blocks
        are a page doubled until a frame fits; ``frame_nr`` defaults to as many as
        fill ``buffer_size`` (whole blocks).
        """
        if snaplen < 1:
            raise EncodeError(f"snaplen {snaplen}: must be at least 1")
        room = min(snaplen, mtu + ETH_HLEN + 4)
        if tx:
            frame_size = tpacket_align(hdrlen(version) - 20 + mtu + ETH_HLEN + 4)
        else:
            frame_size = tpacket_align(mac_offset(version, raw, reserve=reserve) + room)
        block_size = page_size
        while block_size < frame_size:
            block_size *= 2
        fpb = block_size // frame_size
        if frame_nr is None:
            frame_nr = max(fpb, buffer_size // frame_size)
        block_nr = max(1, -(-frame_nr // fpb))
        return cls(version, block_size, block_nr, frame_size, fpb * block_nr, reserve=reserve,
                   tx=tx, page_size=page_size)

    @classmethod
    def tx_ring(cls, version: int = TPACKET_VERSION.V2, frame_size: int = 2048,
                frame_nr: int = 512, page_size: int = DEFAULT_PAGE_SIZE) -> Geometry:
        """A TX ring of ``frame_nr`` frames of ``frame_size`` bytes (rounded to 16)."""
        frame_size = tpacket_align(max(frame_size, hdrlen(version)))
        block_size = page_size
        while block_size < frame_size:
            block_size *= 2
        fpb = block_size // frame_size
        block_nr = max(1, -(-frame_nr // fpb))
        return cls(version, block_size, block_nr, frame_size, fpb * block_nr, tx=True,
                   page_size=page_size)

    # -- derived ---------------------------------------------------------------------
    @property
    def frames_per_block(self) -> int:
        """``block_size // frame_size``."""
        return self.block_size // self.frame_size

    @property
    def size(self) -> int:
        """Bytes of this ring in the mapping (``block_nr * block_size``)."""
        return self.block_nr * self.block_size

    @property
    def hdrlen(self) -> int:
        """``tp_hdrlen`` of this version (52, 52, 68)."""
        return hdrlen(self.version)

    @property
    def max_frame_len(self) -> int:
        """V3: the largest packet record a block takes (``block_size - BLK_PLUS_PRIV``);
        V1/V2: the frame size."""
        if self.version == TPACKET_VERSION.V3 and not self.tx:
            return self.block_size - blk_plus_priv(self.sizeof_priv)
        return self.frame_size

    @property
    def tx_data_offset(self) -> int:
        """Where a TX frame's data starts without ``PACKET_TX_HAS_OFF`` (``hdrlen - 20``)."""
        return self.hdrlen - 20

    def snap_room(self, raw: bool = True) -> int:
        """Bytes of a packet a V1/V2 frame (V3: a block) can hold after the mac offset."""
        return self.max_frame_len - mac_offset(self.version, raw, reserve=self.reserve)

    def frame_offset(self, i: int) -> int:
        """Offset of frame ``i`` from the ring start (block-aware), V1/V2 and TX."""
        fpb = self.frames_per_block
        if not 0 <= i < self.frame_nr:
            raise EncodeError(f"frame index {i} outside 0..{self.frame_nr - 1}")
        return (i // fpb) * self.block_size + (i % fpb) * self.frame_size

    def offsets(self) -> list[int]:
        """Offsets of every frame (V1/V2, TX) in ring order."""
        fpb = self.frames_per_block
        return [(i // fpb) * self.block_size + (i % fpb) * self.frame_size
                for i in range(self.frame_nr)]

    def pack(self) -> bytes:
        """The ``setsockopt(PACKET_RX_RING/TX_RING)`` value: ``tpacket_req3`` for V3."""
        if self.version == TPACKET_VERSION.V3:
            return tpacket_req3.pack(self.block_size, self.block_nr, self.frame_size,
                                     self.frame_nr, self.retire_tov, self.sizeof_priv,
                                     self.feature_req_word)
        return tpacket_req.pack(self.block_size, self.block_nr, self.frame_size, self.frame_nr)
