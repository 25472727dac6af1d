"""Ring geometry: validated exactly as Linux 4.5's ``netlink_set_ring()`` does.

A ring is ``block_nr`` blocks of ``block_size`` bytes; each block holds
``block_size // frame_size`` frames and an unused tail when the division is not
exact.  Frames never straddle blocks, so frame ``i`` lives at::

    (i // frames_per_block) * block_size + (i % frames_per_block) * frame_size

One mapping holds the RX ring first, then the TX ring (``netlink_mmap``)::

    offset 0                         rx.size                     rx.size + tx.size
    +--------------------------------+----------------------------+
    | RX: block 0 | block 1 | ...    | TX: block 0 | block 1 | ... |
    +--------------------------------+----------------------------+
      [f0][f1][f2][ tail ]             [f0][f1][f2][ tail ]

Pure module: the page size is passed in (the edge modules supply
``mmap.PAGESIZE``); :data:`DEFAULT_PAGE_SIZE` is only a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import RingError
from .abi import NL_MMAP_HDRLEN, NL_MMAP_MSG_ALIGNMENT, nl_mmap_req

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "GeometryError",
    "RULES",
    "RingGeometry",
    "MappingLayout",
    "RingLimits",
    "validate",
]

DEFAULT_PAGE_SIZE = 4096
_U32 = 0xFFFFFFFF

# The checks of 4.5's netlink_set_ring() (net/netlink/af_netlink.c), in kernel order;
# every one answers EINVAL.  Names are what GeometryError.rule carries.
RULES: tuple[tuple[str, str], ...] = (
    ("block_size > 0", "(int)nm_block_size <= 0"),
    ("block_size % page_size == 0", "!PAGE_ALIGNED(nm_block_size)"),
    ("frame_size >= NL_MMAP_HDRLEN", "nm_frame_size < NL_MMAP_HDRLEN"),
    ("frame_size % NL_MMAP_MSG_ALIGNMENT == 0", "!IS_ALIGNED(nm_frame_size, NL_MMAP_MSG_ALIGNMENT)"),
    ("frame_size <= block_size", "frames_per_block == 0"),
    ("frame_nr == frames_per_block * block_nr", "frames_per_block * nm_block_nr != nm_frame_nr"),
)


class GeometryError(RingError):
    """A ring request the kernel's ``netlink_set_ring()`` would refuse (EINVAL).

    Attributes:
        rule: the violated rule, one of the names in :data:`RULES`.
        values: the numbers involved, by name.
    """

    def __init__(self, rule: str, **values: int) -> None:
        self.rule = rule
        self.values = values
        nums = ", ".join(f"{k}={v}" for k, v in values.items())
        super().__init__(f"bad ring geometry: rule {rule!r} violated ({nums})")


def validate(
    block_size: int, block_nr: int, frame_size: int, frame_nr: int,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> None:
    """Check a ring request in the kernel's order; raise :class:`GeometryError`.

    ``block_nr == 0`` asks the kernel to *destroy* a ring, so it is no geometry:
    refused here with the rule ``"block_nr > 0"``.  Every field must fit the
    ``unsigned int`` of ``struct nl_mmap_req``.
    """
    for name, v in (("block_size", block_size), ("block_nr", block_nr),
                    ("frame_size", frame_size), ("frame_nr", frame_nr)):
        if not 0 <= v <= _U32:
            raise GeometryError(f"0 <= {name} <= 2**32-1", **{name: v})
    if page_size <= 0 or page_size & (page_size - 1):
        raise GeometryError("page_size is a power of two", page_size=page_size)
    if block_nr == 0:
        raise GeometryError("block_nr > 0", block_nr=block_nr, frame_nr=frame_nr)
    if block_size == 0 or block_size > 0x7FFFFFFF:  # (int)nm_block_size <= 0
        raise GeometryError(RULES[0][0], block_size=block_size)
    if block_size % page_size:
        raise GeometryError(RULES[1][0], block_size=block_size, page_size=page_size)
    if frame_size < NL_MMAP_HDRLEN:
        raise GeometryError(RULES[2][0], frame_size=frame_size, NL_MMAP_HDRLEN=NL_MMAP_HDRLEN)
    if frame_size % NL_MMAP_MSG_ALIGNMENT:
        raise GeometryError(RULES[3][0], frame_size=frame_size,
                            NL_MMAP_MSG_ALIGNMENT=NL_MMAP_MSG_ALIGNMENT)
    fpb = block_size // frame_size
    if fpb == 0:
        raise GeometryError(RULES[4][0], frame_size=frame_size, block_size=block_size)
    if (fpb * block_nr) & _U32 != frame_nr:  # the kernel multiplies in 32-bit unsigned
        raise GeometryError(RULES[5][0], frame_nr=frame_nr, frames_per_block=fpb,
                            block_nr=block_nr)


@dataclass(frozen=True, slots=True)
class RingGeometry:
    """One ring's ``nl_mmap_req``, validated on construction.

    Attributes:
        block_size, block_nr, frame_size, frame_nr: the ``nl_mmap_req`` fields.
        page_size: the page size the block size was checked against.
    """

    block_size: int
    block_nr: int
    frame_size: int
    frame_nr: int
    page_size: int = DEFAULT_PAGE_SIZE
    _offsets: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validate(self.block_size, self.block_nr, self.frame_size, self.frame_nr, self.page_size)
        fpb = self.block_size // self.frame_size
        offs = tuple((i // fpb) * self.block_size + (i % fpb) * self.frame_size
                     for i in range(self.frame_nr))
        object.__setattr__(self, "_offsets", offs)

    @classmethod
    def for_frames(cls, frame_size: int, frame_nr: int,
                   page_size: int = DEFAULT_PAGE_SIZE, block_size: int | None = None
                   ) -> RingGeometry:
        """A geometry of at least ``frame_nr`` frames of ``frame_size`` bytes.

        ``frame_size`` is rounded up to a multiple of 4; the block size defaults to
        the smallest page multiple holding a frame, or a page multiple holding a
        whole number of frames when one exists within 16 pages (no tail waste).
        ``frame_nr`` is rounded up to a whole number of blocks.
        """
        frame_size = max(NL_MMAP_HDRLEN, (frame_size + 3) & ~3)
        if block_size is None:
            block_size = -(-frame_size // page_size) * page_size
            for pages in range(1, 17):
                if (pages * page_size) % frame_size == 0 and pages * page_size >= frame_size:
                    block_size = pages * page_size
                    break
        fpb = max(1, block_size // frame_size)
        block_nr = max(1, -(-frame_nr // fpb))
        return cls(block_size, block_nr, frame_size, fpb * block_nr, page_size)

    @property
    def frames_per_block(self) -> int:
        """Frames in one block (``nm_block_size / nm_frame_size``)."""
        return self.block_size // self.frame_size

    @property
    def size(self) -> int:
        """Bytes of this ring in the mapping (``block_nr * block_size``)."""
        return self.block_nr * self.block_size

    @property
    def data_size(self) -> int:
        """Largest message a frame holds (``frame_size - NL_MMAP_HDRLEN``)."""
        return self.frame_size - NL_MMAP_HDRLEN

    @property
    def uniform(self) -> bool:
        """True when frames are evenly spaced through the whole ring (no block tails)."""
        return self.block_size % self.frame_size == 0

    def frame_offset(self, i: int) -> int:
        """Offset of frame ``i`` from the start of this ring (block-aware)."""
        if not 0 <= i < self.frame_nr:
            raise RingError(f"frame index {i} outside 0..{self.frame_nr - 1}")
        return self._offsets[i]

    @property
    def offsets(self) -> tuple[int, ...]:
        """Offsets of every frame, in ring order."""
        return self._offsets

    def pack(self) -> bytes:
        """This geometry as a ``struct nl_mmap_req`` (for ``setsockopt``)."""
        return nl_mmap_req.pack(self.block_size, self.block_nr, self.frame_size, self.frame_nr)

    @classmethod
    def unpack(cls, data: bytes | bytearray | memoryview, page_size: int = DEFAULT_PAGE_SIZE
               ) -> RingGeometry:
        """Read (and validate) a ``struct nl_mmap_req``."""
        bs, bn, fs, fn = nl_mmap_req.unpack_from(data)
        return cls(bs, bn, fs, fn, page_size)


@dataclass(frozen=True, slots=True)
class MappingLayout:
    """Where each ring lives in the single mapping: RX first, then TX.

    Attributes:
        rx: the RX ring geometry, or ``None``.
        tx: the TX ring geometry, or ``None``.
    """

    rx: RingGeometry | None
    tx: RingGeometry | None

    def __post_init__(self) -> None:
        if self.rx is None and self.tx is None:
            raise RingError("a mapping needs at least one ring (netlink_mmap: EINVAL)")

    @property
    def rx_offset(self) -> int:
        """Offset of the RX ring (always 0)."""
        return 0

    @property
    def tx_offset(self) -> int:
        """Offset of the TX ring: right after the RX ring (0 when there is no RX ring)."""
        return self.rx.size if self.rx is not None else 0

    @property
    def size(self) -> int:
        """Bytes to map: exactly the sum of the rings' sizes (else the kernel says EINVAL)."""
        return (self.rx.size if self.rx else 0) + (self.tx.size if self.tx else 0)


@dataclass(frozen=True, slots=True)
class RingLimits:
    """How large a ring another process may hand us (checked before anything is
    allocated for it: a ring's bookkeeping grows with its frame count).

    The kernel had no explicit maximum (``netlink_set_ring`` is bounded only by
    what it can allocate); a ring received from another process is bounded here.

    Attributes:
        max_frames: most frames in one ring.
        max_bytes: most bytes of one ring (``block_size * block_nr``).
    """

    max_frames: int = 1 << 16
    max_bytes: int = 1 << 30

    def check(self, which: str, block_size: int, block_nr: int, frame_size: int,
              frame_nr: int) -> None:
        """Raise :class:`RingError` when a ``nl_mmap_req`` exceeds the limits."""
        if frame_nr > self.max_frames:
            raise RingError(f"{which} ring of {frame_nr} frames exceeds max_frames "
                            f"{self.max_frames}")
        size = block_size * block_nr
        if size > self.max_bytes:
            raise RingError(f"{which} ring of {size} bytes exceeds max_bytes {self.max_bytes}")
