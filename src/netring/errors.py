"""The one exception hierarchy of netring.

Every error netring raises derives from :class:`NetringError`.  Errors are always
raised, never stored inside decoded data.

``DecodeError``       the peer (kernel or process) sent bytes we cannot parse
``EncodeError``       the caller asked us to build something invalid
``NetlinkError``      the kernel answered a request with a negative errno
``DumpInterrupted``   a dump reply carried ``NLM_F_DUMP_INTR``
``Overrun``           the kernel dropped messages for this socket (ENOBUFS)
``RingError``         an illegal ring frame transition or ring misuse
``NotSupportedError`` the kernel or platform lacks a feature (says which)
"""

from __future__ import annotations

import errno as _errno

__all__ = [
    "NetringError",
    "DecodeError",
    "EncodeError",
    "NetlinkError",
    "DumpInterrupted",
    "Overrun",
    "RingError",
    "NotSupportedError",
]


class NetringError(Exception):
    """Root of every exception netring raises."""


class DecodeError(NetringError, ValueError):
    """Malformed input: the bytes at ``offset`` cannot be decoded.

    Attributes:
        offset: byte offset into the buffer being decoded where the problem lies.
        reason: short human-readable explanation.
    """

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"{reason} (at offset {offset})")
        self.reason = reason
        self.offset = offset


class EncodeError(NetringError, ValueError):
    """The caller built something invalid (no room, value out of range, ...)."""


class NetlinkError(NetringError, OSError):
    """The kernel rejected a request.

    Attributes:
        errno: positive errno value reported by the kernel.
        op: what was being done (e.g. ``"RTM_NEWLINK"`` or ``"request type 16"``).
        seq: sequence number of the failed request.
        ext_msg: extended-ack message text (``NLMSGERR_ATTR_MSG``) or ``None``.
        ext_offset: extended-ack offset of the offending attribute or ``None``.
        miss_type: extended-ack missing attribute type or ``None``.
    """

    def __init__(
        self,
        errno: int,
        op: str = "",
        seq: int = 0,
        ext_msg: str | None = None,
        ext_offset: int | None = None,
        miss_type: int | None = None,
    ) -> None:
        self.op = op
        self.seq = seq
        self.ext_msg = ext_msg
        self.ext_offset = ext_offset
        self.miss_type = miss_type
        name = _errno.errorcode.get(errno, str(errno))
        text = f"{op}: " if op else ""
        text += f"{name}, seq {seq}"
        if ext_msg:
            text += f": {ext_msg}"
        if ext_offset is not None:
            text += f" [attribute at offset {ext_offset}]"
        if miss_type is not None:
            text += f" [missing attribute type {miss_type}]"
        OSError.__init__(self, errno, text)

    def __str__(self) -> str:
        return str(self.strerror)


class DumpInterrupted(NetringError):
    """A dump reply carried ``NLM_F_DUMP_INTR``: the kernel data changed while dumping.

    The dump is inconsistent and should be restarted (``retry=True`` does so).
    """


class Overrun(NetringError):
    """The kernel dropped messages for this socket (ENOBUFS on receive).

    The socket stays usable; state derived from notifications must be re-synchronised.

    Attributes:
        count: overruns seen on this socket so far (including this one).
        drops: kernel drop counter for the socket when it could be read, else ``None``.
    """

    def __init__(self, count: int, drops: int | None = None) -> None:
        super().__init__(
            f"netlink receive overrun (ENOBUFS): messages were lost; overrun #{count}"
            + (f", kernel drop counter {drops}" if drops is not None else "")
        )
        self.count = count
        self.drops = drops


class RingError(NetringError):
    """An illegal ring frame transition, a bad geometry, or ring misuse."""


class NotSupportedError(NetringError):
    """The kernel or platform lacks a feature; the message says which."""
