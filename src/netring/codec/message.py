"""Zero-copy iteration over netlink messages.

A buffer holds messages back to back, each starting 4-byte aligned::

    offset 0                    16                 nlmsg_len   align4(nlmsg_len)
    +------+------+-------+-----+-------------------+---------+----------------
    | len  | type | flags | seq | portid | payload  | padding | next message...
    +------+------+-------+-----+-------------------+---------+----------------
      u32    u16    u16     u32   u32      (family header + attributes)

:func:`iter_messages` yields :class:`Message` views that reference the buffer;
nothing is copied.  A message is *valid* when at least 16 bytes remain,
``nlmsg_len >= 16`` and ``nlmsg_len`` does not run past the buffer; anything else
raises :class:`~netring.errors.DecodeError` with the offset.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import DecodeError
from .attribute import Attr, iter_attrs
from .constants import NLMSG, nlm_f_str
from .structs import nlmsghdr
from .types import ReadableBuffer

__all__ = ["Message", "iter_messages", "as_memoryview"]

_unpack_hdr = nlmsghdr.unpack_from


def as_memoryview(buf: ReadableBuffer) -> memoryview:
    """Return ``buf`` as a flat unsigned-byte memoryview (no copy)."""
    mv = buf if isinstance(buf, memoryview) else memoryview(buf)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


class Message:
    """A view of one netlink message inside a larger buffer.

    Header fields are decoded once when the view is made; the payload is not
    copied.  The view (and every memoryview it hands out) is valid only while
    the underlying buffer holds this message: for a receive buffer or a ring
    frame, until it is reused or released.  Call :meth:`tobytes` to keep it.

    Attributes:
        buf: memoryview of the whole buffer the message lives in.
        offset: where the message starts in ``buf``.
        len: ``nlmsg_len`` (header included, padding excluded).
        type: ``nlmsg_type``.
        flags: ``nlmsg_flags``.
        seq: ``nlmsg_seq``.
        portid: ``nlmsg_pid`` (the sender's netlink port id; 0 for the kernel).
        group: destination multicast group when known (``NETLINK_PKTINFO``), else 0.
        creds: sender ``(pid, uid, gid)`` when known (``SO_PASSCRED``), else ``None``.
    """

    __slots__ = ("buf", "offset", "len", "type", "flags", "seq", "portid", "group", "creds")

    def __init__(
        self,
        buf: memoryview,
        offset: int,
        length: int,
        type_: int,
        flags: int,
        seq: int,
        portid: int,
    ) -> None:
        self.buf = buf
        self.offset = offset
        self.len = length
        self.type = type_
        self.flags = flags
        self.seq = seq
        self.portid = portid
        self.group = 0
        self.creds: tuple[int, int, int] | None = None

    @property
    def payload(self) -> memoryview:
        """Bytes after the 16-byte header, up to ``nlmsg_len`` (a view, not a copy)."""
        return self.buf[self.offset + 16 : self.offset + self.len]

    @property
    def data(self) -> memoryview:
        """The whole message, header included (a view, not a copy)."""
        return self.buf[self.offset : self.offset + self.len]

    @property
    def end(self) -> int:
        """Offset in ``buf`` just past ``nlmsg_len``."""
        return self.offset + self.len

    def tobytes(self) -> bytes:
        """Copy the whole message out of the buffer."""
        return self.buf[self.offset : self.offset + self.len].tobytes()

    @property
    def is_error(self) -> bool:
        """True for ``NLMSG_ERROR`` (an error or an ACK)."""
        return self.type == NLMSG.ERROR

    @property
    def is_done(self) -> bool:
        """True for ``NLMSG_DONE``."""
        return self.type == NLMSG.DONE

    def attrs(self, hdrlen: int = 0) -> Iterator[Attr]:
        """Iterate the attributes that follow a ``hdrlen``-byte family header."""
        start = self.offset + 16 + ((hdrlen + 3) & ~3)
        if start > self.offset + self.len:
            raise DecodeError(
                f"message of {self.len} bytes too short for a {hdrlen}-byte family header",
                self.offset,
            )
        return iter_attrs(self.buf, start, self.offset + self.len)

    def flags_str(self, kind: str | None = None) -> str:
        """Flags as ``request|multi|0x100`` (see :func:`~netring.codec.nlm_f_str`)."""
        return nlm_f_str(self.flags, kind)

    def __repr__(self) -> str:
        try:
            tname = NLMSG(self.type).name if self.type < 0x10 else str(self.type)
        except ValueError:
            tname = str(self.type)
        return (
            f"<Message len={self.len} type={tname} flags={self.flags_str()} "
            f"seq={self.seq} portid={self.portid}>"
        )


def iter_messages(
    buf: ReadableBuffer, offset: int = 0, end: int | None = None
) -> Iterator[Message]:
    """Iterate the netlink messages in ``buf[offset:end]`` as zero-copy views.

    Args:
        buf: bytes, bytearray, memoryview or mmap holding whole messages.
        offset: where the first message starts.
        end: where the messages end (default: end of ``buf``).

    Raises:
        DecodeError: a header is truncated, ``nlmsg_len < 16``, or a message runs
            past ``end``; ``offset`` names the bad message.
    """
    mv = as_memoryview(buf)
    if end is None:
        end = len(mv)
    elif end > len(mv) or end < 0:
        raise DecodeError(f"end {end} outside a buffer of {len(mv)} bytes", offset)
    if offset < 0:
        raise DecodeError("negative offset", offset)
    unpack = _unpack_hdr
    new = Message
    while offset < end:
        if end - offset < 16:
            raise DecodeError(f"truncated nlmsghdr: {end - offset} bytes left", offset)
        length, type_, flags, seq, portid = unpack(mv, offset)
        if length < 16:
            raise DecodeError(f"nlmsg_len {length} < 16", offset)
        if length > end - offset:
            raise DecodeError(
                f"nlmsg_len {length} runs past the buffer ({end - offset} bytes left)", offset
            )
        yield new(mv, offset, length, type_, flags, seq, portid)
        offset += (length + 3) & ~3
