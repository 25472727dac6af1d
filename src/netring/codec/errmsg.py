"""``NLMSG_ERROR`` / ``NLMSG_DONE`` payloads, extended-ack TLVs included.

An error or ACK message::

    nlmsghdr | int error | echoed request nlmsghdr [+ request payload] | NLMSGERR_ATTR_* TLVs
      16         4              16 (capped)  or  request nlmsg_len        (NLM_F_ACK_TLVS set)

``error`` is 0 for an ACK, else a negative errno.  With ``NLM_F_CAPPED`` only the
request header is echoed (``NETLINK_CAP_ACK``, and every success ACK on modern
kernels).  ``NLMSG_DONE`` carries an int (0 or a negative errno), optionally
followed by TLVs.
"""

from __future__ import annotations

from ..errors import DecodeError
from .attribute import iter_attrs
from .constants import NLM_F, NLMSG, NLMSGERR_ATTR
from .message import Message
from .structs import nlmsgerr_error, nlmsghdr

__all__ = ["ErrorMessage", "parse_error", "parse_done"]


class ErrorMessage:
    """Decoded ``struct nlmsgerr`` with its extended-ack TLVs.

    Attributes:
        error: 0 for an ACK, else a negative errno.
        req_len, req_type, req_flags, req_seq, req_portid: the echoed request header.
        capped: only the request header was echoed (``NLM_F_CAPPED``).
        msg: ``NLMSGERR_ATTR_MSG`` text, or ``None``.
        offs: ``NLMSGERR_ATTR_OFFS`` (offset of the bad attribute from the request
            header), or ``None``.
        cookie: ``NLMSGERR_ATTR_COOKIE`` bytes, or ``None``.
        policy: raw ``NLMSGERR_ATTR_POLICY`` nest bytes, or ``None``.
        miss_type: ``NLMSGERR_ATTR_MISS_TYPE``, or ``None``.
        miss_nest: ``NLMSGERR_ATTR_MISS_NEST``, or ``None``.
    """

    __slots__ = (
        "error", "req_len", "req_type", "req_flags", "req_seq", "req_portid", "capped",
        "msg", "offs", "cookie", "policy", "miss_type", "miss_nest",
    )

    def __init__(self, error: int) -> None:
        self.error = error
        self.req_len = self.req_type = self.req_flags = self.req_seq = self.req_portid = 0
        self.capped = False
        self.msg: str | None = None
        self.offs: int | None = None
        self.cookie: bytes | None = None
        self.policy: bytes | None = None
        self.miss_type: int | None = None
        self.miss_nest: int | None = None

    @property
    def is_ack(self) -> bool:
        """True for a success ACK (error 0)."""
        return self.error == 0

    @property
    def errno(self) -> int:
        """The positive errno (0 for an ACK)."""
        return -self.error

    def __repr__(self) -> str:
        return (
            f"<ErrorMessage error={self.error} req_type={self.req_type} req_seq={self.req_seq}"
            f" msg={self.msg!r} offs={self.offs}>"
        )


def _parse_tlvs(out: ErrorMessage, buf: memoryview, start: int, end: int) -> None:
    for a in iter_attrs(buf, start, end):
        t = a.type
        if t == NLMSGERR_ATTR.MSG:
            out.msg = a.text()
        elif t == NLMSGERR_ATTR.OFFS:
            out.offs = a.u32()
        elif t == NLMSGERR_ATTR.COOKIE:
            out.cookie = a.bytes()
        elif t == NLMSGERR_ATTR.POLICY:
            out.policy = a.bytes()
        elif t == NLMSGERR_ATTR.MISS_TYPE:
            out.miss_type = a.u32()
        elif t == NLMSGERR_ATTR.MISS_NEST:
            out.miss_nest = a.u32()


def parse_error(msg: Message) -> ErrorMessage:
    """Decode an ``NLMSG_ERROR`` message.

    Raises:
        DecodeError: the message is not an error, the ``nlmsgerr`` is truncated, the
            echoed request runs past the message, or a TLV is malformed.
    """
    if msg.type != NLMSG.ERROR:
        raise DecodeError(f"type {msg.type} is not NLMSG_ERROR", msg.offset)
    buf = msg.buf
    base = msg.offset
    end = base + msg.len
    if msg.len < 16 + 20:
        raise DecodeError(f"truncated nlmsgerr: {msg.len - 16} bytes, need 20", base)
    out = ErrorMessage(int(nlmsgerr_error.unpack_from(buf, base + 16)[0]))
    (out.req_len, out.req_type, out.req_flags, out.req_seq, out.req_portid) = (
        nlmsghdr.unpack_from(buf, base + 20)
    )
    out.capped = bool(msg.flags & NLM_F.CAPPED)
    if out.capped or out.error == 0:
        tlv_start = base + 36
    else:
        if out.req_len < 16:
            raise DecodeError(f"echoed request nlmsg_len {out.req_len} < 16", base + 20)
        tlv_start = base + 20 + ((out.req_len + 3) & ~3)
        if base + 20 + out.req_len > end:
            raise DecodeError(
                f"echoed request of {out.req_len} bytes runs past the error message", base + 20
            )
    if msg.flags & NLM_F.ACK_TLVS and tlv_start < end:
        _parse_tlvs(out, buf, tlv_start, end)
    return out


def parse_done(msg: Message) -> ErrorMessage:
    """Decode an ``NLMSG_DONE`` message: its status int and any extended-ack TLVs.

    A ``NLMSG_DONE`` with no payload (some user-space senders) reads as status 0.
    """
    if msg.type != NLMSG.DONE:
        raise DecodeError(f"type {msg.type} is not NLMSG_DONE", msg.offset)
    if msg.len == 16:
        return ErrorMessage(0)
    if msg.len < 20:
        raise DecodeError(f"truncated NLMSG_DONE status: {msg.len - 16} bytes", msg.offset)
    out = ErrorMessage(int(nlmsgerr_error.unpack_from(msg.buf, msg.offset + 16)[0]))
    if msg.flags & NLM_F.ACK_TLVS and msg.len > 20:
        _parse_tlvs(out, msg.buf, msg.offset + 20, msg.offset + msg.len)
    return out
