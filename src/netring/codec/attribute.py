"""Zero-copy netlink attributes (TLVs) and their typed getters.

::

    +---------+---------+------------------+---------+
    | nla_len | nla_type| payload          | padding |  next attribute at align4(nla_len)
    +---------+---------+------------------+---------+
       u16       u16 (bit 15 NLA_F_NESTED, bit 14 NLA_F_NET_BYTEORDER, low 14 bits: type)

:func:`walk_attrs` is netring's one TLV walk: every other attribute reader
(:func:`iter_attrs`, :func:`attr_index`, :func:`attr_table`, the lazy
:class:`~netring.codec.view.MessageView`) is built on it, so framing is checked
in one place.  :class:`Attr` getters check the exact payload length and raise
:class:`~netring.errors.DecodeError` (with the attribute's offset) on a
mismatch.  Unknown attributes are simply iterated past.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import DecodeError
from .constants import NLA_F, NLA_TYPE_MASK
from .structs import be16, be32, be64, nlattr, s8, s16, s32, s64, u8, u16, u32, u64
from .types import ReadableBuffer

__all__ = ["Attr", "walk_attrs", "iter_attrs", "attr_index", "attr_table"]

_unpack_nla = nlattr.unpack_from
# plain ints: the hot loops mask with these, and IntFlag arithmetic is slow
_NLA_TYPE_MASK = int(NLA_TYPE_MASK)
_NLA_F_NET_BYTEORDER = int(NLA_F.NET_BYTEORDER)
_NLA_F_NESTED = int(NLA_F.NESTED)
_NLA_F_ANY = _NLA_F_NESTED | _NLA_F_NET_BYTEORDER


class Attr:
    """A view of one attribute inside a buffer.

    The payload and every getter read the buffer in place; the view is valid
    only while the buffer holds the message (see :class:`~netring.codec.Message`).

    Attributes:
        buf: memoryview of the buffer.
        offset: offset of the attribute header in ``buf``.
        len: ``nla_len`` (header included, padding excluded).
        type: attribute type with the flag bits masked off.
        flags: the ``NLA_F_NESTED`` / ``NLA_F_NET_BYTEORDER`` bits.
    """

    __slots__ = ("buf", "offset", "len", "type", "flags")

    def __init__(self, buf: memoryview, offset: int, length: int, type_: int, flags: int) -> None:
        self.buf = buf
        self.offset = offset
        self.len = length
        self.type = type_
        self.flags = flags

    # -- raw access ---------------------------------------------------------
    @property
    def payload(self) -> memoryview:
        """The payload bytes (a view; ``nla_len - 4`` bytes)."""
        return self.buf[self.offset + 4 : self.offset + self.len]

    @property
    def payload_len(self) -> int:
        """Length of the payload in bytes."""
        return self.len - 4

    @property
    def nested_flag(self) -> bool:
        """True when ``NLA_F_NESTED`` is set (kernels do not always set it)."""
        return bool(self.flags & _NLA_F_NESTED)

    @property
    def net_byteorder(self) -> bool:
        """True when ``NLA_F_NET_BYTEORDER`` is set."""
        return bool(self.flags & _NLA_F_NET_BYTEORDER)

    def bytes(self) -> bytes:
        """Copy of the payload."""
        return self.buf[self.offset + 4 : self.offset + self.len].tobytes()

    def _check(self, size: int, what: str) -> None:
        if self.len - 4 != size:
            raise DecodeError(
                f"attribute type {self.type}: {what} needs a {size}-byte payload, "
                f"got {self.len - 4}",
                self.offset,
            )

    # -- integers ------------------------------------------------------------
    def u8(self) -> int:
        """Unsigned 8-bit payload."""
        if self.len != 5:
            self._check(1, "u8")
        return int(u8.unpack_from(self.buf, self.offset + 4)[0])

    def u16(self) -> int:
        """Unsigned 16-bit payload, host order (big-endian if NLA_F_NET_BYTEORDER)."""
        if self.len != 6:
            self._check(2, "u16")
        st = be16 if self.flags & _NLA_F_NET_BYTEORDER else u16
        return int(st.unpack_from(self.buf, self.offset + 4)[0])

    def u32(self) -> int:
        """Unsigned 32-bit payload, host order (big-endian if NLA_F_NET_BYTEORDER)."""
        if self.len != 8:
            self._check(4, "u32")
        st = be32 if self.flags & _NLA_F_NET_BYTEORDER else u32
        return int(st.unpack_from(self.buf, self.offset + 4)[0])

    def u64(self) -> int:
        """Unsigned 64-bit payload, host order (big-endian if NLA_F_NET_BYTEORDER)."""
        if self.len != 12:
            self._check(8, "u64")
        st = be64 if self.flags & _NLA_F_NET_BYTEORDER else u64
        return int(st.unpack_from(self.buf, self.offset + 4)[0])

    def s8(self) -> int:
        """Signed 8-bit payload."""
        self._check(1, "s8")
        return int(s8.unpack_from(self.buf, self.offset + 4)[0])

    def s16(self) -> int:
        """Signed 16-bit payload, host order."""
        self._check(2, "s16")
        return int(s16.unpack_from(self.buf, self.offset + 4)[0])

    def s32(self) -> int:
        """Signed 32-bit payload, host order."""
        if self.len != 8:
            self._check(4, "s32")
        return int(s32.unpack_from(self.buf, self.offset + 4)[0])

    def s64(self) -> int:
        """Signed 64-bit payload, host order."""
        self._check(8, "s64")
        return int(s64.unpack_from(self.buf, self.offset + 4)[0])

    def be16(self) -> int:
        """Unsigned 16-bit big-endian payload (nfnetlink style)."""
        self._check(2, "be16")
        return int(be16.unpack_from(self.buf, self.offset + 4)[0])

    def be32(self) -> int:
        """Unsigned 32-bit big-endian payload (nfnetlink style)."""
        if self.len != 8:
            self._check(4, "be32")
        return int(be32.unpack_from(self.buf, self.offset + 4)[0])

    def be64(self) -> int:
        """Unsigned 64-bit big-endian payload (nfnetlink style)."""
        self._check(8, "be64")
        return int(be64.unpack_from(self.buf, self.offset + 4)[0])

    def uint(self) -> int:
        """Unsigned integer of 1, 2, 4 or 8 bytes (``NLA_UINT``-style variable width)."""
        n = self.len - 4
        if n == 4:
            return self.u32()
        if n == 8:
            return self.u64()
        if n == 1:
            return self.u8()
        if n == 2:
            return self.u16()
        raise DecodeError(f"attribute type {self.type}: no integer of {n} bytes", self.offset)

    # -- strings and addresses ----------------------------------------------
    def string(self) -> str:
        """NUL-terminated string; the terminator is required.

        Bytes that are not UTF-8 are kept losslessly as surrogate escapes.
        """
        start = self.offset + 4
        end = self.offset + self.len
        if end <= start or self.buf[end - 1] != 0:
            raise DecodeError(f"attribute type {self.type}: string is not NUL-terminated", self.offset)
        raw = bytes(self.buf[start : end - 1])
        nul = raw.find(b"\0")
        if nul >= 0:
            raw = raw[:nul]
        return raw.decode("utf-8", "surrogateescape")

    def text(self) -> str:
        """String payload with or without a NUL terminator (``NLA_STRING``)."""
        raw = bytes(self.buf[self.offset + 4 : self.offset + self.len])
        nul = raw.find(b"\0")
        if nul >= 0:
            raw = raw[:nul]
        return raw.decode("utf-8", "surrogateescape")

    def ipv4(self) -> str:
        """IPv4 address payload (4 bytes) as dotted quad."""
        if self.len != 8:
            self._check(4, "IPv4 address")
        o = self.offset + 4
        b = self.buf
        return f"{b[o]}.{b[o + 1]}.{b[o + 2]}.{b[o + 3]}"

    def ipv6(self) -> str:
        """IPv6 address payload (16 bytes) in compressed text form."""
        self._check(16, "IPv6 address")
        import ipaddress  # on first use: importing it costs more than the rest of the codec

        return str(ipaddress.IPv6Address(bytes(self.buf[self.offset + 4 : self.offset + 20])))

    def ip(self) -> str:
        """IPv4 or IPv6 address payload, chosen by length (4 or 16 bytes)."""
        if self.len == 8:
            return self.ipv4()
        if self.len == 20:
            return self.ipv6()
        raise DecodeError(
            f"attribute type {self.type}: {self.len - 4} bytes is no IP address", self.offset
        )

    def lladdr(self) -> str:
        """Link-layer address as ``aa:bb:cc:..`` (any length)."""
        return ":".join(f"{x:02x}" for x in self.buf[self.offset + 4 : self.offset + self.len])

    # -- nesting ---------------------------------------------------------------
    def nested(self) -> Iterator[Attr]:
        """Iterate the attributes nested in this one's payload."""
        return iter_attrs(self.buf, self.offset + 4, self.offset + self.len)

    def nested_table(self) -> dict[int, Attr]:
        """The nested attributes as ``{type: Attr}`` (the last of a repeated type wins)."""
        return attr_table(self.buf, self.offset + 4, self.offset + self.len)

    def __repr__(self) -> str:
        flags = ""
        if self.flags & _NLA_F_NESTED:
            flags += " nested"
        if self.flags & _NLA_F_NET_BYTEORDER:
            flags += " net_byteorder"
        return f"<Attr type={self.type} len={self.len}{flags} at {self.offset}>"


def walk_attrs(buf: ReadableBuffer, offset: int, end: int) -> Iterator[tuple[int, int, int]]:
    """Walk the attributes in ``buf[offset:end]``: ``(offset, nla_len, nla_type)`` each.

    This is the one TLV walk of netring; ``nla_type`` is yielded raw (flag bits
    included) so callers can mask it or keep the flags.  Each step advances by the
    aligned ``nla_len`` (at least 4 bytes), so the walk always terminates.

    Args:
        buf: a flat byte buffer (``bytes``, ``bytearray``, a ``"B"`` memoryview, mmap).
        offset: where the first attribute header starts.
        end: end of the region (the parent message's or attribute's end).

    Raises:
        DecodeError: ``end`` lies past the buffer, a header is truncated,
            ``nla_len < 4``, or an attribute runs past ``end``; ``offset`` names
            the bad attribute.
    """
    if end > len(buf):
        raise DecodeError(f"attribute region end {end} past a {len(buf)}-byte buffer", offset)
    unpack = _unpack_nla
    while offset < end:
        if end - offset < 4:
            raise DecodeError(f"truncated nlattr: {end - offset} bytes left", offset)
        length, type_ = unpack(buf, offset)
        if length < 4:
            raise DecodeError(f"nla_len {length} < 4", offset)
        if length > end - offset:
            raise DecodeError(
                f"nla_len {length} runs past its parent ({end - offset} bytes left)", offset
            )
        yield offset, length, type_
        offset += (length + 3) & ~3


def iter_attrs(buf: ReadableBuffer, offset: int = 0, end: int | None = None) -> Iterator[Attr]:
    """Iterate the attributes in ``buf[offset:end]`` as zero-copy views.

    Raises:
        DecodeError: see :func:`walk_attrs`.
    """
    mv = buf if isinstance(buf, memoryview) else memoryview(buf)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    if end is None:
        end = len(mv)
    new = Attr
    for pos, length, type_ in walk_attrs(mv, offset, end):
        yield new(mv, pos, length, type_ & _NLA_TYPE_MASK, type_ & _NLA_F_ANY)


def attr_index(buf: ReadableBuffer, offset: int, end: int) -> dict[int, int]:
    """Index of a region's attributes: ``{type: offset of its header}``.

    The type has ``NLA_F_NESTED`` / ``NLA_F_NET_BYTEORDER`` masked off.  A repeated
    type keeps its **first** occurrence, as iproute2's ``parse_rtattr`` does (the
    ``ip -j`` output netring mirrors is built that way); use :func:`iter_attrs` to
    see every occurrence.  ``buf`` is a flat byte buffer (see :func:`walk_attrs`).

    Raises:
        DecodeError: see :func:`walk_attrs`.
    """
    index: dict[int, int] = {}
    mask = _NLA_TYPE_MASK
    for pos, _length, type_ in walk_attrs(buf, offset, end):
        t = type_ & mask
        if t not in index:
            index[t] = pos
    return index


def attr_table(buf: ReadableBuffer, offset: int = 0, end: int | None = None) -> dict[int, Attr]:
    """All attributes of a region as ``{type: Attr}``; a repeated type keeps the last."""
    return {a.type: a for a in iter_attrs(buf, offset, end)}
