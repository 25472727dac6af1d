"""Request encoders for nfnetlink_log: one ``NFULNL_MSG_CONFIG`` message each.

Each returns the whole message as a ``bytearray`` with ``nlmsg_seq`` 0 (the
connection stamps a fresh one) and ``NLM_F_ACK`` set::

    nlmsghdr (type 0x0401) | nfgenmsg: family, NFNETLINK_V0, res_id = group (be16)
                           | NFULA_CFG_CMD      nfulnl_msg_config_cmd   (optional)
                           | NFULA_CFG_MODE     nfulnl_msg_config_mode  (optional)
                           | NFULA_CFG_NLBUFSIZ / TIMEOUT / QTHRESH     be32 (optional)
                           | NFULA_CFG_FLAGS    be16                    (optional)

The kernel applies the command first (``BIND`` creates the instance with the
defaults: copy everything, 1 s flush timeout, 100 messages per batch), then the
parameters in the same message, so one request binds and configures.
``PF_BIND``/``PF_UNBIND`` take the family from ``nfgenmsg`` and ignore the rest.

Values the kernel would clamp or silently ignore are refused here with
:class:`~netring.errors.EncodeError`: a copy range over
:data:`~.constants.NFULNL_COPY_RANGE_MAX`, a batch buffer outside
4096..:data:`~.constants.NFULNL_NLBUFSIZ_MAX` (the kernel ignores anything below
``NLMSG_GOODSIZE``, 3776 bytes on x86-64 with 4 KiB pages, and above 131072),
flag bits it does not define.
"""

from __future__ import annotations

from ....codec import NLM_F, Builder
from ....errors import EncodeError
from ..constants import NFNETLINK_V0, NFPROTO
from ..structs import nfgenmsg
from .constants import (
    NFULA_CFG,
    NFULNL_CFG_CMD,
    NFULNL_CFG_F,
    NFULNL_COPY,
    NFULNL_COPY_RANGE_MAX,
    NFULNL_MSG_TYPE_CONFIG,
    NFULNL_NLBUFSIZ_MAX,
)
from .structs import nfulnl_msg_config_cmd, nfulnl_msg_config_mode

__all__ = ["config_request", "NLBUFSIZ_MIN"]

#: smallest batch buffer accepted here: a page, above the kernel's NLMSG_GOODSIZE
NLBUFSIZ_MIN = 4096
_U32_MAX = 0xFFFFFFFF
_FLAGS_ALL = int(NFULNL_CFG_F.SEQ | NFULNL_CFG_F.SEQ_GLOBAL | NFULNL_CFG_F.CONNTRACK)


def _u32(name: str, value: int) -> int:
    if not 0 <= value <= _U32_MAX:
        raise EncodeError(f"{name} {value} outside 0..{_U32_MAX}")
    return value


def config_request(
    group: int = 0, *, family: int = NFPROTO.UNSPEC, cmd: int | None = None,
    copy_mode: int | None = None, copy_range: int = 0, nlbufsiz: int | None = None,
    timeout: int | None = None, qthresh: int | None = None, flags: int | None = None,
) -> bytearray:
    """One ``NFULNL_MSG_CONFIG`` request.

    Args:
        group: the log group (``nfgenmsg.res_id``), 0..65535.
        family: ``nfgenmsg.nfgen_family``; only ``PF_BIND``/``PF_UNBIND`` read it.
        cmd: an :class:`~.constants.NFULNL_CFG_CMD` (``None``: no command, only
            parameters for an instance this socket already bound).
        copy_mode: :class:`~.constants.NFULNL_COPY` (``None``: unchanged).
        copy_range: bytes of each packet to copy with ``PACKET`` (0: as many as fit,
            :data:`~.constants.NFULNL_COPY_RANGE_MAX`).
        nlbufsiz: bytes of the kernel's batch buffer (one datagram at most).
        timeout: flush timeout in 1/100 s.
        qthresh: messages per batch at most.
        flags: :class:`~.constants.NFULNL_CFG_F` bits; they replace the old ones.

    Raises:
        EncodeError: a value out of range (see the module docstring).
    """
    if not 0 <= group <= 0xFFFF:
        raise EncodeError(f"log group {group} outside 0..65535")
    if not 0 <= family <= 0xFF:
        raise EncodeError(f"family {family} outside 0..255")
    b = Builder(128)
    b.begin(NFULNL_MSG_TYPE_CONFIG, NLM_F.REQUEST | NLM_F.ACK)
    b.put_struct(nfgenmsg, family, NFNETLINK_V0, group)
    if cmd is not None:
        try:
            command = NFULNL_CFG_CMD(cmd)
        except ValueError:
            raise EncodeError(f"unknown nfnetlink_log command {cmd}") from None
        b.attr(NFULA_CFG.CMD, nfulnl_msg_config_cmd.pack(command))
    if copy_mode is not None:
        try:
            mode = NFULNL_COPY(copy_mode)
        except ValueError:
            raise EncodeError(f"unknown copy mode {copy_mode}") from None
        if not 0 <= copy_range <= NFULNL_COPY_RANGE_MAX:
            raise EncodeError(f"copy range {copy_range} outside 0..{NFULNL_COPY_RANGE_MAX}")
        b.attr(NFULA_CFG.MODE, nfulnl_msg_config_mode.pack(copy_range, mode))
    if nlbufsiz is not None:
        if not NLBUFSIZ_MIN <= nlbufsiz <= NFULNL_NLBUFSIZ_MAX:
            raise EncodeError(
                f"nlbufsiz {nlbufsiz} outside {NLBUFSIZ_MIN}..{NFULNL_NLBUFSIZ_MAX} "
                "(the kernel would ignore it)")
        b.attr_be32(NFULA_CFG.NLBUFSIZ, nlbufsiz)
    if timeout is not None:
        b.attr_be32(NFULA_CFG.TIMEOUT, _u32("flush timeout", timeout))
    if qthresh is not None:
        b.attr_be32(NFULA_CFG.QTHRESH, _u32("qthresh", qthresh))
    if flags is not None:
        if flags & ~_FLAGS_ALL or flags < 0:
            raise EncodeError(f"nfnetlink_log flags {flags:#x}: unknown bits "
                              f"(known: {_FLAGS_ALL:#x})")
        b.attr_be16(NFULA_CFG.FLAGS, int(flags))
    b.end()
    return bytearray(b.view())
