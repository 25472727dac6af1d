"""Build netlink messages in place, libmnl style.

A :class:`Builder` owns (or borrows) one preallocated buffer and appends to it;
several messages can be built back to back and sent with one ``sendmsg``::

    b = Builder(4096)
    b.begin(RTM_GETLINK, NLM_F.REQUEST | NLM_F.DUMP, seq=1)
    b.put_struct(ifinfomsg, AF_UNSPEC, 0, 0, 0, 0)   # extra (family) header
    b.attr_u32(IFLA_EXT_MASK, 1)
    nest = b.nest_start(IFLA_LINKINFO)
    b.attr_str(IFLA_INFO_KIND, "veth")
    b.nest_end(nest)
    b.end()                                          # patches nlmsg_len
    sock.send(b.view())

Every write is bounds-checked: running out of room, a value out of range or an
attribute over 65535 bytes raises :class:`~netring.errors.EncodeError` and leaves
the buffer's already finished messages intact.
"""

from __future__ import annotations

import struct

from ..errors import EncodeError
from .constants import NLM_F
from .structs import be16, be32, be64, nlattr, nlmsghdr, s8, s16, s32, s64, u8, u16, u32, u64
from .types import TYPE_CHECKING, WritableBuffer

if TYPE_CHECKING:
    from ipaddress import IPv4Address, IPv6Address

__all__ = ["Builder"]

_NLA_F_NESTED = 0x8000


class Builder:
    """In-place builder of one or more netlink messages in a preallocated buffer.

    Args:
        buf: a writable buffer to build into, or a size in bytes to allocate.
    """

    __slots__ = ("buf", "tail", "_msg_start", "_nests", "count")

    def __init__(self, buf: WritableBuffer | int = 8192) -> None:
        self.buf: memoryview = memoryview(bytearray(buf) if isinstance(buf, int) else buf)
        if self.buf.readonly:
            raise EncodeError("builder needs a writable buffer")
        if self.buf.format != "B":
            self.buf = self.buf.cast("B")
        self.tail = 0
        self._msg_start = -1
        self._nests: list[int] = []
        self.count = 0

    # -- whole buffer ------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything built; the buffer is reused."""
        self.tail = 0
        self._msg_start = -1
        self._nests.clear()
        self.count = 0

    def view(self) -> memoryview:
        """The finished messages (a view of the buffer, valid until the next write)."""
        if self._msg_start >= 0:
            raise EncodeError("message still open: call end() first")
        return self.buf[: self.tail]

    def tobytes(self) -> bytes:
        """Copy of the finished messages."""
        return bytes(self.view())

    @property
    def room(self) -> int:
        """Bytes still free in the buffer."""
        return len(self.buf) - self.tail

    def _reserve(self, n: int) -> int:
        at = self.tail
        new_tail = at + ((n + 3) & ~3)
        if new_tail > len(self.buf):
            raise EncodeError(
                f"no room: need {new_tail - at} bytes at offset {at}, buffer is {len(self.buf)}"
            )
        # zero the padding so no stale bytes leak onto the wire
        for i in range(at + n, new_tail):
            self.buf[i] = 0
        self.tail = new_tail
        return at

    def _need_open(self) -> None:
        if self._msg_start < 0:
            raise EncodeError("no message open: call begin() first")

    # -- messages -------------------------------------------------------------------
    def begin(
        self, type_: int, flags: int = NLM_F.REQUEST, seq: int = 0, portid: int = 0
    ) -> int:
        """Start a message: write its ``nlmsghdr``; returns the message's offset."""
        if self._msg_start >= 0:
            raise EncodeError("previous message still open: call end() first")
        for name, val, lim in (("type", type_, 0xFFFF), ("flags", flags, 0xFFFF),
                               ("seq", seq, 0xFFFFFFFF), ("portid", portid, 0xFFFFFFFF)):
            if not 0 <= val <= lim:
                raise EncodeError(f"nlmsg {name} {val} out of range")
        at = self._reserve(16)
        nlmsghdr.pack_into(self.buf, at, 16, type_, flags, seq, portid)
        self._msg_start = at
        return at

    def end(self) -> int:
        """Finish the open message: patch ``nlmsg_len``; returns its length."""
        self._need_open()
        if self._nests:
            raise EncodeError(f"{len(self._nests)} nest(s) still open")
        length = self.tail - self._msg_start
        u32.pack_into(self.buf, self._msg_start, length)
        self._msg_start = -1
        self.count += 1
        return length

    def abort(self) -> None:
        """Drop the open message, keeping the finished ones."""
        if self._msg_start >= 0:
            self.tail = self._msg_start
            self._msg_start = -1
            self._nests.clear()

    @property
    def msg_offset(self) -> int:
        """Offset of the open message (-1 when none is open)."""
        return self._msg_start

    def put(self, data: bytes | bytearray | memoryview) -> int:
        """Append raw bytes (aligned to 4 with zero padding); returns their offset."""
        self._need_open()
        n = len(data)
        at = self._reserve(n)
        self.buf[at : at + n] = data
        return at

    def put_struct(self, st: struct.Struct, *values: object) -> int:
        """Append a packed struct (e.g. a family header); returns its offset."""
        self._need_open()
        at = self._reserve(st.size)
        try:
            st.pack_into(self.buf, at, *values)
        except struct.error as exc:
            self.tail = at
            raise EncodeError(f"cannot pack {values!r} as {st.format!r}: {exc}") from None
        return at

    # -- attributes -------------------------------------------------------------------
    def attr(self, type_: int, data: bytes | bytearray | memoryview = b"") -> int:
        """Append an attribute with a raw payload; returns the attribute's offset."""
        self._need_open()
        n = 4 + len(data)
        if n > 0xFFFF:
            raise EncodeError(f"attribute type {type_}: {n} bytes exceeds nla_len's 65535")
        if not 0 <= type_ <= 0xFFFF:
            raise EncodeError(f"attribute type {type_} out of range")
        at = self._reserve(n)
        nlattr.pack_into(self.buf, at, n, type_)
        self.buf[at + 4 : at + n] = data
        return at

    def _attr_packed(self, type_: int, st: struct.Struct, value: int) -> int:
        self._need_open()
        if not 0 <= type_ <= 0xFFFF:
            raise EncodeError(f"attribute type {type_} out of range")
        n = 4 + st.size
        at = self._reserve(n)
        try:
            st.pack_into(self.buf, at + 4, value)
        except struct.error:
            self.tail = at
            raise EncodeError(
                f"attribute type {type_}: {value!r} does not fit {st.format!r}"
            ) from None
        nlattr.pack_into(self.buf, at, n, type_)
        return at

    def attr_u8(self, type_: int, value: int) -> int:
        """Append an unsigned 8-bit attribute."""
        return self._attr_packed(type_, u8, value)

    def attr_u16(self, type_: int, value: int) -> int:
        """Append an unsigned 16-bit attribute (host order)."""
        return self._attr_packed(type_, u16, value)

    def attr_u32(self, type_: int, value: int) -> int:
        """Append an unsigned 32-bit attribute (host order)."""
        return self._attr_packed(type_, u32, value)

    def attr_u64(self, type_: int, value: int) -> int:
        """Append an unsigned 64-bit attribute (host order)."""
        return self._attr_packed(type_, u64, value)

    def attr_s8(self, type_: int, value: int) -> int:
        """Append a signed 8-bit attribute."""
        return self._attr_packed(type_, s8, value)

    def attr_s16(self, type_: int, value: int) -> int:
        """Append a signed 16-bit attribute (host order)."""
        return self._attr_packed(type_, s16, value)

    def attr_s32(self, type_: int, value: int) -> int:
        """Append a signed 32-bit attribute (host order)."""
        return self._attr_packed(type_, s32, value)

    def attr_s64(self, type_: int, value: int) -> int:
        """Append a signed 64-bit attribute (host order)."""
        return self._attr_packed(type_, s64, value)

    def attr_be16(self, type_: int, value: int) -> int:
        """Append an unsigned 16-bit big-endian attribute."""
        return self._attr_packed(type_, be16, value)

    def attr_be32(self, type_: int, value: int) -> int:
        """Append an unsigned 32-bit big-endian attribute."""
        return self._attr_packed(type_, be32, value)

    def attr_be64(self, type_: int, value: int) -> int:
        """Append an unsigned 64-bit big-endian attribute."""
        return self._attr_packed(type_, be64, value)

    def attr_str(self, type_: int, value: str) -> int:
        """Append a NUL-terminated string attribute."""
        return self.attr(type_, value.encode("utf-8", "surrogateescape") + b"\0")

    def attr_flag(self, type_: int) -> int:
        """Append a zero-length (flag) attribute."""
        return self.attr(type_, b"")

    def attr_ip(self, type_: int, value: str | IPv4Address | IPv6Address) -> int:
        """Append an IPv4 (4-byte) or IPv6 (16-byte) address attribute."""
        import ipaddress  # on first use: most programs never build an address attribute

        try:
            addr = ipaddress.ip_address(value)
        except ValueError as exc:
            raise EncodeError(str(exc)) from None
        return self.attr(type_, addr.packed)

    def attr_lladdr(self, type_: int, value: str) -> int:
        """Append a link-layer address given as ``aa:bb:cc:dd:ee:ff``."""
        try:
            raw = bytes(int(x, 16) for x in value.split(":"))
        except ValueError:
            raise EncodeError(f"bad link-layer address {value!r}") from None
        return self.attr(type_, raw)

    def nest_start(self, type_: int, nested_flag: bool = True) -> int:
        """Open a nested attribute; returns a token for :meth:`nest_end`.

        Args:
            nested_flag: set ``NLA_F_NESTED`` on the type (modern kernels expect it
                for strictly validated nests).
        """
        self._need_open()
        t = type_ | _NLA_F_NESTED if nested_flag else type_
        at = self._reserve(4)
        nlattr.pack_into(self.buf, at, 4, t)
        self._nests.append(at)
        return at

    def nest_end(self, token: int) -> int:
        """Close the nest opened at ``token``: patch its ``nla_len``; returns it."""
        if not self._nests or self._nests[-1] != token:
            raise EncodeError("nest_end does not match the innermost open nest")
        self._nests.pop()
        n = self.tail - token
        if n > 0xFFFF:
            raise EncodeError(f"nest of {n} bytes exceeds nla_len's 65535")
        u16.pack_into(self.buf, token, n)
        return n
