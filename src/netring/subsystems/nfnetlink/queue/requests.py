"""Encoders for nfnetlink_queue: configuration bodies and verdict messages, pure.

Configuration (``NFQNL_MSG_CONFIG``, sent through the connection's ``request``;
the kernel handles the command first, then the other attributes, so one message
can bind a queue and set it up)::

    nfgenmsg (family AF_UNSPEC, version 0, res_id = queue)
    NFQA_CFG_CMD     nfqnl_msg_config_cmd { command, _pad, pf be16 }
    NFQA_CFG_PARAMS  nfqnl_msg_config_params { copy_range be32, copy_mode u8 }
    NFQA_CFG_QUEUE_MAXLEN be32
    NFQA_CFG_MASK be32, NFQA_CFG_FLAGS be32     (flags need their mask)

Verdicts (``NFQNL_MSG_VERDICT`` / ``NFQNL_MSG_VERDICT_BATCH``) are written back
to back into one buffer by :class:`VerdictWriter` and sent with one ``sendmsg``;
the kernel processes them in order::

    nlmsghdr | nfgenmsg (res_id = queue) | NFQA_VERDICT_HDR { verdict be32, id be32 }
             [| NFQA_MARK be32] [| NFQA_CT { CTA_MARK, CTA_LABELS }] [| NFQA_PAYLOAD]

A plain verdict is 32 bytes, written with two ``pack_into`` calls.
"""

from __future__ import annotations

import struct

from ....codec.builder import Builder
from ....codec.constants import NLM_F
from ....codec.structs import nlmsghdr
from ....codec.types import ReadableBuffer
from ....errors import EncodeError
from ..constants import NFNETLINK_V0, NFNL_SUBSYS, NFPROTO
from ..structs import nfgenmsg
from .constants import NFQA, NFQA_CFG, NFQA_CFG_F_MAX, NFQNL_CFG_CMD, NFQNL_COPY, NFQNL_MSG
from .structs import nfqnl_msg_config_cmd, nfqnl_msg_config_params, nfqnl_msg_verdict_hdr

__all__ = ["NFQNL_CONFIG_TYPE", "NFQNL_VERDICT_TYPE", "NFQNL_VERDICT_BATCH_TYPE",
           "config_body", "VerdictWriter", "PLAIN_VERDICT_SIZE"]

NFQNL_CONFIG_TYPE = (NFNL_SUBSYS.QUEUE << 8) | NFQNL_MSG.CONFIG
NFQNL_VERDICT_TYPE = (NFNL_SUBSYS.QUEUE << 8) | NFQNL_MSG.VERDICT
NFQNL_VERDICT_BATCH_TYPE = (NFNL_SUBSYS.QUEUE << 8) | NFQNL_MSG.VERDICT_BATCH

#: bytes of a verdict without extra attributes (nlmsghdr, nfgenmsg, NFQA_VERDICT_HDR)
PLAIN_VERDICT_SIZE = nlmsghdr.size + nfgenmsg.size + 4 + nfqnl_msg_verdict_hdr.size

# nfgenmsg + the NFQA_VERDICT_HDR nlattr header: family u8, version u8, res_id be16 |
# nla_len u16, nla_type u16 in host order: packed as one big-endian struct with the
# nlattr half pre-swapped on little-endian hosts
_tail = struct.Struct("!BBH")
_nla = struct.Struct("=HH")
_vhdr = nfqnl_msg_verdict_hdr
_seq = struct.Struct("=I")  # nlmsg_seq, host order
_id = struct.Struct("!I")  # nfqnl_msg_verdict_hdr.id


def _check_queue(queue: int) -> None:
    if not 0 <= queue <= 0xFFFF:
        raise EncodeError(f"queue {queue} outside 0..65535")


def config_body(
    queue: int, *, command: int | None = None, pf: int = NFPROTO.UNSPEC,
    copy_mode: int | None = None, copy_range: int = 0, maxlen: int | None = None,
    flags: int | None = None, mask: int | None = None,
) -> bytes:
    """The body (nfgenmsg and attributes) of one ``NFQNL_MSG_CONFIG`` request.

    Args:
        queue: the queue number (``res_id``).
        command: an :class:`NFQNL_CFG_CMD` (BIND, UNBIND, PF_BIND, PF_UNBIND) or ``None``.
        pf: the family of a PF_BIND / PF_UNBIND command.
        copy_mode: :class:`NFQNL_COPY` to set (with ``copy_range``), or ``None``.
        copy_range: bytes of each packet to copy (PACKET mode; 0 = the kernel's maximum).
        maxlen: the queue's length limit (``NFQA_CFG_QUEUE_MAXLEN``), or ``None``.
        flags: :class:`NFQA_CFG_F` bits to set.
        mask: which flags ``flags`` changes (default: every known flag, so the
            flags not listed are cleared).

    Raises:
        EncodeError: a value out of range.
    """
    _check_queue(queue)
    b = Builder(256)
    b.begin(NFQNL_CONFIG_TYPE, NLM_F.REQUEST)
    b.put_struct(nfgenmsg, NFPROTO.UNSPEC, NFNETLINK_V0, queue)
    if command is not None:
        if command not in NFQNL_CFG_CMD.__members__.values():
            raise EncodeError(f"unknown config command {command}")
        b.attr(NFQA_CFG.CMD, nfqnl_msg_config_cmd.pack(command, pf))
    if copy_mode is not None:
        if copy_mode not in NFQNL_COPY.__members__.values():
            raise EncodeError(f"unknown copy mode {copy_mode}")
        if not 0 <= copy_range <= 0xFFFFFFFF:
            raise EncodeError(f"copy range {copy_range} outside 0..2**32-1")
        b.attr(NFQA_CFG.PARAMS, nfqnl_msg_config_params.pack(copy_range, copy_mode))
    if maxlen is not None:
        if not 1 <= maxlen <= 0xFFFFFFFF:
            raise EncodeError(f"queue maxlen {maxlen} outside 1..2**32-1")
        b.attr_be32(NFQA_CFG.QUEUE_MAXLEN, maxlen)
    if flags is not None or mask is not None:
        f = 0 if flags is None else int(flags)
        m = (NFQA_CFG_F_MAX - 1) if mask is None else int(mask)
        if not 0 <= f < NFQA_CFG_F_MAX or not 0 <= m < NFQA_CFG_F_MAX:
            raise EncodeError(f"queue flags {f:#x} / mask {m:#x}: unknown flag bits")
        b.attr_be32(NFQA_CFG.MASK, m)
        b.attr_be32(NFQA_CFG.FLAGS, f)
    b.end()
    return bytes(b.view()[nlmsghdr.size:])


class VerdictWriter:
    """Verdict messages written back to back into one preallocated buffer.

    Args:
        size: buffer bytes (a flush is due when :attr:`room` gets small; the kernel
            accepts one ``sendmsg`` of up to ``sk_sndbuf - 32`` bytes).

    Attributes:
        tail: bytes written.
        count: messages written.
    """

    __slots__ = ("buf", "_mv", "tail", "count", "_builder", "_nla_vhdr", "_nla_mark",
                 "_templates")

    def __init__(self, size: int = 65536) -> None:
        self.buf = bytearray(size)
        self._mv = memoryview(self.buf)
        self.tail = 0
        self.count = 0
        self._builder: Builder | None = None
        self._nla_vhdr = _nla.pack(4 + _vhdr.size, NFQA.VERDICT_HDR)
        self._nla_mark = _nla.pack(8, NFQA.MARK)
        self._templates: dict[tuple[int, int, int], bytes] = {}

    @property
    def room(self) -> int:
        """Bytes still free."""
        return len(self.buf) - self.tail

    def view(self) -> memoryview:
        """The messages written (valid until the next write or :meth:`reset`)."""
        return self._mv[:self.tail]

    def reset(self) -> None:
        """Forget what was written."""
        self.tail = 0
        self.count = 0

    def plain(self, type_: int, queue: int, packet_id: int, verdict: int, seq: int,
              mark: int | None = None) -> None:
        """Append a verdict (``type_``: VERDICT or VERDICT_BATCH) with an optional mark.

        Raises:
            EncodeError: no room, or a value out of range.
        """
        at = self.tail
        buf = self.buf
        if mark is None:
            # the common case: a 32-byte template per (type, queue, verdict); only the
            # seq and the id differ from one message to the next
            tpl = self._templates.get((type_, queue, verdict))
            if tpl is not None and at + PLAIN_VERDICT_SIZE <= len(buf):
                buf[at:at + PLAIN_VERDICT_SIZE] = tpl
                try:
                    _seq.pack_into(buf, at + 8, seq)
                    _id.pack_into(buf, at + 28, packet_id)
                except struct.error:
                    raise EncodeError(f"verdict for packet {packet_id!r} (seq {seq!r}): a "
                                      "value out of range") from None
                self.tail = at + PLAIN_VERDICT_SIZE
                self.count += 1
                return
        size = PLAIN_VERDICT_SIZE + (8 if mark is not None else 0)
        if at + size > len(buf):
            raise EncodeError(f"verdict buffer full ({self.tail} of {len(self.buf)} bytes)")
        try:
            nlmsghdr.pack_into(buf, at, size, type_, NLM_F.REQUEST, seq, 0)
            _tail.pack_into(buf, at + 16, NFPROTO.UNSPEC, NFNETLINK_V0, queue)
            buf[at + 20:at + 24] = self._nla_vhdr
            _vhdr.pack_into(buf, at + 24, verdict, packet_id)
            if mark is not None:
                buf[at + 32:at + 36] = self._nla_mark
                struct.pack_into("!I", buf, at + 36, mark)
        except struct.error:
            raise EncodeError(
                f"verdict {verdict!r} for packet {packet_id!r} of queue {queue!r} (mark "
                f"{mark!r}): a value out of range") from None
        if mark is None and len(self._templates) < 4096:
            self._templates[(type_, queue, verdict)] = bytes(buf[at:at + size])
        self.tail = at + size
        self.count += 1

    def full(self, queue: int, packet_id: int, verdict: int, seq: int, *,
             mark: int | None = None, connmark: int | None = None, labels: int | None = None,
             payload: ReadableBuffer | None = None) -> None:
        """Append a single verdict with any of mark, connmark, labels and payload.

        Raises:
            EncodeError: no room (the buffer is left as it was), or a value out of range.
        """
        from ..conntrack import put_ct_changes

        _check_queue(queue)
        b = Builder(self._mv[self.tail:])
        try:
            b.begin(NFQNL_VERDICT_TYPE, NLM_F.REQUEST, seq)
            b.put_struct(nfgenmsg, NFPROTO.UNSPEC, NFNETLINK_V0, queue)
            b.attr(NFQA.VERDICT_HDR, _vhdr.pack(verdict, packet_id))
            if mark is not None:
                b.attr_be32(NFQA.MARK, mark)
            if connmark is not None or labels is not None:
                put_ct_changes(b, NFQA.CT, mark=connmark, labels=labels)
            if payload is not None:
                b.attr(NFQA.PAYLOAD, memoryview(payload).cast("B"))
            b.end()
        except struct.error:
            raise EncodeError(f"verdict {verdict!r} for packet {packet_id!r}: a value out of "
                              "range") from None
        self.tail += b.tail
        self.count += 1
