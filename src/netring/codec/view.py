"""A lazy, slotted view of one netlink message, for any netlink family.

A view is three slots: the buffer that holds the message, the message's offset
in it, and (after the first attribute access) an index of the message's
top-level attributes.  Nothing is decoded until it is asked for::

    buffer (bytes; e.g. one ~32 KiB receive chunk shared by hundreds of views)
    +----------+-------------------+------------------------------------------+
    | nlmsghdr | family header     | attributes (TLVs)                        |
    | 16 bytes | HDR.size bytes,   | nla_len|nla_type|payload|pad  ...         |
    |          | padded to 4       |                                          |
    +----------+-------------------+------------------------------------------+
    ^ _off                         ^ _attrs_start()          _off + nlmsg_len ^

    _idx = {type (NLA_F_NESTED / NLA_F_NET_BYTEORDER masked off): offset of its nlattr}
           built by codec.attribute.attr_index on first access; first occurrence wins

A family subclasses :class:`MessageView` with two class attributes: ``TYPES``
(the nlmsg types it decodes, the "new" type first) and ``HDR`` (the family
header's :class:`struct.Struct`), optionally ``ATTR`` / ``PREFIX`` (the
attribute enum and its kernel-name prefix, for :meth:`~MessageView.raw` by name).
Its properties call the typed getters (``_get_u32(t)`` ...), which:

* return ``None`` when the attribute is absent;
* check the **exact** payload length and raise
  :class:`~netring.errors.DecodeError` with the attribute's byte offset on a
  mismatch (never :class:`struct.error`, never a read into the next attribute);
* read an attribute flagged ``NLA_F_NET_BYTEORDER`` big-endian (integer getters).

Views are made either by ``cls(buf, offset)``, which validates the message
framing, or, on a dump's hot path, by ``cls.__new__(cls)`` plus storing ``_buf``
and ``_off`` directly after the caller validated the framing itself
(``nlmsg_len`` within the buffer and at least ``16 + HDR.size``).  Malformed
attributes raise when read, never at construction.

Lifetime: the view references its buffer.  Over immutable ``bytes`` it stays
valid as long as it is kept; over a reusable buffer it is valid only until the
buffer is overwritten (call :meth:`MessageView.copy` to detach it).
"""

from __future__ import annotations

from .types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, ClassVar, Self

import struct
from collections.abc import Iterator
from enum import IntEnum

from ..errors import DecodeError
from .attribute import Attr, attr_index, iter_attrs
from .constants import NLA_F, NLA_TYPE_MASK
from .inet import ntop4, ntop6
from .structs import be16, be32, be64, nlattr, nlmsghdr, s32, u16, u32, u64
from .types import ReadableBuffer

__all__ = ["MessageView"]

_unpack_nla = nlattr.unpack_from
_unpack_u16 = u16.unpack_from
_unpack_u32 = u32.unpack_from
_unpack_u64 = u64.unpack_from
_unpack_s32 = s32.unpack_from
_unpack_be16 = be16.unpack_from
_unpack_be32 = be32.unpack_from
_unpack_be64 = be64.unpack_from
_NLA_HDRLEN = nlattr.size
_NLMSG_HDRLEN = nlmsghdr.size
_NET_BYTEORDER = int(NLA_F.NET_BYTEORDER)
_TYPE_MASK = int(NLA_TYPE_MASK)
_FLAG_BITS = int(NLA_F.NESTED | NLA_F.NET_BYTEORDER)
_S32_SIGN = 1 << 31


class MessageView:
    """Lazy view of one netlink message (see the module docstring).

    Args:
        buf: bytes-like buffer holding the whole netlink message.
        offset: where the message's ``nlmsghdr`` starts in ``buf``.

    Raises:
        DecodeError: the message header is truncated, ``nlmsg_len`` runs past the
            buffer, or the message is too short for the family header.
    """

    __slots__ = ("_buf", "_off", "_idx")

    #: message types this view decodes (the NEW type first)
    TYPES: ClassVar[tuple[int, ...]] = ()
    #: the family header that follows ``nlmsghdr`` (``struct rtmsg``, ``struct nfgenmsg`` ...)
    HDR: ClassVar[struct.Struct] = struct.Struct("")
    #: attribute type enum, used to resolve kernel names in :meth:`raw` and errors
    ATTR: ClassVar[type[IntEnum] | None] = None
    #: kernel-name prefix of the attribute types (``"RTA_"``, ``"NFQA_"`` ...)
    PREFIX: ClassVar[str] = ""

    _buf: ReadableBuffer
    _off: int
    _idx: dict[int, int]

    def __init__(self, buf: ReadableBuffer, offset: int = 0) -> None:
        if isinstance(buf, memoryview) and (buf.format != "B" or buf.ndim != 1):
            buf = buf.cast("B")
        if offset < 0 or len(buf) - offset < _NLMSG_HDRLEN:
            raise DecodeError("truncated nlmsghdr", offset)
        length = int(_unpack_u32(buf, offset)[0])
        if length > len(buf) - offset:
            raise DecodeError(f"nlmsg_len {length} runs past the buffer", offset)
        if length < _NLMSG_HDRLEN + self.HDR.size:
            raise DecodeError(
                f"{type(self).__name__}: message of {length} bytes is shorter than its "
                f"{self.HDR.size}-byte family header", offset)
        self._buf = buf
        self._off = offset

    @classmethod
    def from_bytes(cls, data: ReadableBuffer) -> Self:
        """A view of the single message in ``data`` (copied to private ``bytes``)."""
        return cls(bytes(data), 0)

    # -- message level ---------------------------------------------------------------
    @property
    def nlmsg_len(self) -> int:
        """``nlmsg_len`` of the message."""
        return int(_unpack_u32(self._buf, self._off)[0])

    @property
    def nlmsg_type(self) -> int:
        """``nlmsg_type``."""
        return int(_unpack_u16(self._buf, self._off + 4)[0])

    @property
    def nlmsg_flags(self) -> int:
        """``nlmsg_flags`` (``NLM_F_*``)."""
        return int(_unpack_u16(self._buf, self._off + 6)[0])

    @property
    def seq(self) -> int:
        """``nlmsg_seq`` (0 for notifications)."""
        return int(_unpack_u32(self._buf, self._off + 8)[0])

    @property
    def portid(self) -> int:
        """``nlmsg_pid``: the sender's netlink port id (0 for the kernel)."""
        return int(_unpack_u32(self._buf, self._off + 12)[0])

    def nlmsghdr(self) -> tuple[int, int, int, int, int]:
        """The whole header: ``(nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid)``."""
        length, type_, flags, seq, portid = nlmsghdr.unpack_from(self._buf, self._off)
        return int(length), int(type_), int(flags), int(seq), int(portid)

    def tobytes(self) -> bytes:
        """Copy of the whole message."""
        end = self._off + _unpack_u32(self._buf, self._off)[0]
        return bytes(self._buf[self._off:end])

    def copy(self) -> Self:
        """The same view over a private copy of its message bytes."""
        return type(self)(self.tobytes(), 0)

    def _hdr(self) -> tuple[Any, ...]:
        """The family header, unpacked with :attr:`HDR`."""
        return self.HDR.unpack_from(self._buf, self._off + _NLMSG_HDRLEN)

    def _attrs_start(self) -> int:
        """Offset of the first attribute: after ``nlmsghdr`` and the padded family header."""
        return self._off + _NLMSG_HDRLEN + ((self.HDR.size + 3) & ~3)

    # -- attribute index -------------------------------------------------------------
    def _index(self) -> dict[int, int]:
        """``{type: nlattr offset}`` of the top-level attributes, built on first use."""
        try:
            return self._idx
        except AttributeError:
            pass
        buf = self._buf
        off = self._off
        idx = attr_index(buf, off + _NLMSG_HDRLEN + ((self.HDR.size + 3) & ~3),
                         off + _unpack_u32(buf, off)[0])
        self._idx = idx
        return idx

    def _find(self, t: int) -> tuple[int, int, int] | None:
        """``(nlattr offset, payload length, raw nla_type)`` of attribute ``t``, or None."""
        try:
            pos = self._idx.get(t)
        except AttributeError:
            pos = self._index().get(t)
        if pos is None:
            return None
        length, type_ = _unpack_nla(self._buf, pos)
        return pos, length - _NLA_HDRLEN, type_

    def _attr_name(self, t: int) -> str:
        """Kernel name of attribute type ``t`` (``RTA_MARK``; ``RTA_42`` when unknown)."""
        if self.ATTR is None:
            return f"attribute type {t}"
        try:
            return self.PREFIX + self.ATTR(t).name
        except ValueError:
            return f"{self.PREFIX}{t}"

    def _attr_type(self, key: int | str) -> int:
        """Attribute type number of ``key`` (a number, an enum member or a kernel name)."""
        if not isinstance(key, str):
            return int(key)
        name = key.upper()
        if self.PREFIX and name.startswith(self.PREFIX):
            name = name[len(self.PREFIX):]
        try:
            if self.ATTR is None:
                raise KeyError(name)
            return int(self.ATTR[name])
        except KeyError:
            raise KeyError(f"{type(self).__name__}: no attribute named {key!r}") from None

    def _length_error(self, t: int, pos: int, what: str, want: int, got: int) -> DecodeError:
        return DecodeError(
            f"{self._attr_name(t)}: {what} needs a {want}-byte payload, got {got}", pos)

    # -- public attribute access -----------------------------------------------------
    def raw(self, key: int | str) -> Attr | None:
        """The attribute of type ``key`` as a zero-copy :class:`~netring.codec.Attr`.

        Args:
            key: an attribute type number, an enum member (``RTA.MARK``), or a
                kernel name with or without prefix (``"RTA_MARK"``, ``"MARK"``).

        Raises:
            KeyError: ``key`` is a name the family does not know.
        """
        found = self._find(self._attr_type(key))
        if found is None:
            return None
        pos, n, type_ = found
        mv = memoryview(self._buf)
        if mv.format != "B" or mv.ndim != 1:
            mv = mv.cast("B")
        return Attr(mv, pos, n + _NLA_HDRLEN, type_ & _TYPE_MASK, type_ & _FLAG_BITS)

    def has(self, key: int | str) -> bool:
        """True when the message carries attribute ``key`` (number, member or name)."""
        return self._attr_type(key) in self._index()

    def attrs(self) -> Iterator[Attr]:
        """Every top-level attribute in wire order (unknown and repeated types included)."""
        end = self._off + _unpack_u32(self._buf, self._off)[0]
        return iter_attrs(self._buf, self._attrs_start(), end)

    def attr_names(self) -> list[str]:
        """Kernel names of the attributes present, in wire order."""
        return [self._attr_name(a.type) for a in self.attrs()]

    # -- typed getters (None when absent; DecodeError on a wrong length) -------------
    # Each getter looks its attribute up itself instead of calling _find, and the
    # integer getters repeat one lookup-check-unpack shape per width instead of sharing
    # a helper: they are what every property and to_dict() run, and each saved call is
    # a fifth of a getter (an intentional specialisation).
    def _get_u8(self, t: int) -> int | None:
        """Unsigned 8-bit attribute."""
        try:
            pos = self._idx.get(t)
        except AttributeError:
            pos = self._index().get(t)
        if pos is None:
            return None
        n = _unpack_nla(self._buf, pos)[0] - _NLA_HDRLEN
        if n != 1:
            raise self._length_error(t, pos, "u8", 1, n)
        return int(self._buf[pos + 4])

    def _get_u16(self, t: int) -> int | None:
        """Unsigned 16-bit attribute, host order (big-endian if ``NLA_F_NET_BYTEORDER``)."""
        try:
            pos = self._idx.get(t)
        except AttributeError:
            pos = self._index().get(t)
        if pos is None:
            return None
        n, type_ = _unpack_nla(self._buf, pos)
        n -= _NLA_HDRLEN
        if n != 2:
            raise self._length_error(t, pos, "u16", 2, n)
        if type_ & _NET_BYTEORDER:
            return int(_unpack_be16(self._buf, pos + 4)[0])
        return int(_unpack_u16(self._buf, pos + 4)[0])

    def _get_u32(self, t: int) -> int | None:
        """Unsigned 32-bit attribute, host order (big-endian if ``NLA_F_NET_BYTEORDER``)."""
        try:
            pos = self._idx.get(t)
        except AttributeError:
            pos = self._index().get(t)
        if pos is None:
            return None
        n, type_ = _unpack_nla(self._buf, pos)
        n -= _NLA_HDRLEN
        if n != 4:
            raise self._length_error(t, pos, "u32", 4, n)
        if type_ & _NET_BYTEORDER:
            return int(_unpack_be32(self._buf, pos + 4)[0])
        return int(_unpack_u32(self._buf, pos + 4)[0])

    def _get_u64(self, t: int) -> int | None:
        """Unsigned 64-bit attribute, host order (big-endian if ``NLA_F_NET_BYTEORDER``)."""
        try:
            pos = self._idx.get(t)
        except AttributeError:
            pos = self._index().get(t)
        if pos is None:
            return None
        n, type_ = _unpack_nla(self._buf, pos)
        n -= _NLA_HDRLEN
        if n != 8:
            raise self._length_error(t, pos, "u64", 8, n)
        if type_ & _NET_BYTEORDER:
            return int(_unpack_be64(self._buf, pos + 4)[0])
        return int(_unpack_u64(self._buf, pos + 4)[0])

    def _get_s32(self, t: int) -> int | None:
        """Signed 32-bit attribute, host order (big-endian if ``NLA_F_NET_BYTEORDER``)."""
        try:
            pos = self._idx.get(t)
        except AttributeError:
            pos = self._index().get(t)
        if pos is None:
            return None
        n, type_ = _unpack_nla(self._buf, pos)
        n -= _NLA_HDRLEN
        if n != 4:
            raise self._length_error(t, pos, "s32", 4, n)
        if type_ & _NET_BYTEORDER:
            v = int(_unpack_be32(self._buf, pos + 4)[0])
            return v - (_S32_SIGN << 1) if v & _S32_SIGN else v
        return int(_unpack_s32(self._buf, pos + 4)[0])

    def _get_be16(self, t: int) -> int | None:
        """Unsigned 16-bit big-endian attribute (network order whatever the flag says)."""
        f = self._find(t)
        if f is None:
            return None
        if f[1] != 2:
            raise self._length_error(t, f[0], "be16", 2, f[1])
        return int(_unpack_be16(self._buf, f[0] + 4)[0])

    def _get_be32(self, t: int) -> int | None:
        """Unsigned 32-bit big-endian attribute (network order whatever the flag says)."""
        f = self._find(t)
        if f is None:
            return None
        if f[1] != 4:
            raise self._length_error(t, f[0], "be32", 4, f[1])
        return int(_unpack_be32(self._buf, f[0] + 4)[0])

    def _get_bytes(self, t: int) -> bytes | None:
        """Copy of the payload (any length)."""
        try:
            pos = self._idx.get(t)
        except AttributeError:
            pos = self._index().get(t)
        if pos is None:
            return None
        return bytes(self._buf[pos + 4:pos + _unpack_nla(self._buf, pos)[0]])

    def _get_str(self, t: int) -> str | None:
        """NUL-terminated string (``NLA_NUL_STRING``); the terminator is required.

        Text after an embedded NUL is dropped; bytes that are not UTF-8 are kept
        losslessly as surrogate escapes.
        """
        try:
            pos = self._idx.get(t)
        except AttributeError:
            pos = self._index().get(t)
        if pos is None:
            return None
        n = _unpack_nla(self._buf, pos)[0] - _NLA_HDRLEN
        if n < 1 or self._buf[pos + 4 + n - 1] != 0:
            raise DecodeError(f"{self._attr_name(t)}: string is not NUL-terminated", pos)
        raw = bytes(self._buf[pos + 4:pos + 4 + n - 1])
        nul = raw.find(b"\0")
        if nul >= 0:
            raw = raw[:nul]
        return raw.decode("utf-8", "surrogateescape")

    def _get_ip(self, t: int) -> str | None:
        """IPv4 (4 bytes) or IPv6 (16 bytes) address text, as glibc's ``inet_ntop``."""
        try:
            pos = self._idx.get(t)
        except AttributeError:
            pos = self._index().get(t)
        if pos is None:
            return None
        n = _unpack_nla(self._buf, pos)[0] - _NLA_HDRLEN
        if n == 4:
            return ntop4(self._buf, pos + 4)
        if n == 16:
            return ntop6(bytes(self._buf[pos + 4:pos + 20]))
        raise DecodeError(f"{self._attr_name(t)}: {n} bytes is no IP address", pos)

    def _get_lladdr(self, t: int) -> str | None:
        """Link-layer address as ``aa:bb:..`` (any length)."""
        f = self._find(t)
        if f is None:
            return None
        start = f[0] + 4
        return ":".join(f"{x:02x}" for x in bytes(self._buf[start:start + f[1]]))

    def _get_struct(self, t: int, st: struct.Struct, *, extensible: bool = False,
                    ) -> tuple[Any, ...] | None:
        """A fixed-layout payload unpacked with ``st``.

        Args:
            t: the attribute type.
            st: the payload's struct (``fib_rule_uid_range`` ...).
            extensible: accept a longer payload (a kernel struct that may grow at its
                end, such as ``*_cacheinfo``); the known leading fields are read.
        """
        try:
            pos = self._idx.get(t)
        except AttributeError:
            pos = self._index().get(t)
        if pos is None:
            return None
        n = _unpack_nla(self._buf, pos)[0] - _NLA_HDRLEN
        if n != st.size and not (extensible and n > st.size):
            raise self._length_error(t, pos, "struct", st.size, n)
        return st.unpack_from(self._buf, pos + 4)

    def _get_nested(self, t: int) -> dict[int, Attr] | None:
        """Attributes nested in ``t`` as ``{type: Attr}`` (first occurrence wins)."""
        a = self.raw(t)
        if a is None:
            return None
        out: dict[int, Attr] = {}
        for inner in a.nested():
            if inner.type not in out:
                out[inner.type] = inner
        return out

    def __repr__(self) -> str:
        try:
            names = " ".join(self.attr_names())
        except DecodeError as exc:
            names = f"<undecodable: {exc}>"
        return f"<{type(self).__name__} type={self.nlmsg_type} len={self.nlmsg_len} {names}>"
