"""The rtnetlink view base: a :class:`~netring.codec.view.MessageView` with the
rtnetlink conventions on top.

Every rtnetlink family header starts with the address family byte, and the
route-like headers (``struct rtmsg``, ``struct fib_rule_hdr``) share their first
four bytes::

    +----------+--------+---------+---------+-----+---------------------------
    | nlmsghdr | family | dst_len | src_len | tos | ... rest of rtmsg / fib_rule_hdr
    | 16 bytes | u8     | u8      | u8      | u8  |
    +----------+--------+---------+---------+-----+---------------------------
               ^ +16    ^ +17     ^ +18     ^ +19            (offsets from the message)

Each object kind's ``TYPES`` is its ``(RTM_NEWxxx, RTM_DELxxx)`` pair, so
:attr:`RtnlObject.deleted` is a comparison with the second.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...codec.align import NLMSG_HDRLEN
from ...codec.types import TYPE_CHECKING
from ...codec.view import MessageView
from ...errors import DecodeError

if TYPE_CHECKING:
    from typing import Any

__all__ = ["RtnlObject", "RouteLikeHeader"]

#: offsets of the shared leading header bytes, from the start of the message
_FAMILY = NLMSG_HDRLEN
_DST_LEN = NLMSG_HDRLEN + 1
_SRC_LEN = NLMSG_HDRLEN + 2
_TOS = NLMSG_HDRLEN + 3


class RtnlObject(MessageView):
    """Base of the lazy rtnetlink views: links, addresses, routes, neighbours, rules.

    Adds to :class:`~netring.codec.view.MessageView` the address family, the
    deletion flag and the ``to_dict()`` contract: each kind returns what
    ``ip -j`` prints for it (same keys, value formats and omitted defaults), with
    interface names from a ``names`` mapping (ifindex -> name; a missing index
    prints as ``ifN``).
    """

    __slots__ = ()

    @property
    def family(self) -> int:
        """The address family: the first byte of every rtnetlink family header
        (``ifi_family``, ``ifa_family``, ``rtm_family``, ``ndm_family``, ``family``)."""
        return int(self._buf[self._off + _FAMILY])

    @property
    def deleted(self) -> bool:
        """True for an ``RTM_DEL*`` message (a deletion notification)."""
        return self.nlmsg_type == self.TYPES[1]

    def to_dict(self, names: Mapping[int, str] | None = None) -> dict[str, Any]:
        """``ip -j`` form of the object (see each subclass)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        try:
            body = " ".join(f"{k}={v!r}" for k, v in list(self.to_dict().items())[:6])
        except DecodeError as exc:
            body = f"<undecodable: {exc}>"
        return f"<{type(self).__name__} {body}>"


class RouteLikeHeader(RtnlObject):
    """The first four bytes ``struct rtmsg`` and ``struct fib_rule_hdr`` share
    (``family, dst_len, src_len, tos``; fib_rules.h mirrors rtnetlink.h)."""

    __slots__ = ()

    @property
    def dst_len(self) -> int:
        """``rtm_dst_len`` / ``dst_len``: prefix length of the destination."""
        return int(self._buf[self._off + _DST_LEN])

    @property
    def src_len(self) -> int:
        """``rtm_src_len`` / ``src_len``: prefix length of the source."""
        return int(self._buf[self._off + _SRC_LEN])

    @property
    def tos(self) -> int:
        """``rtm_tos`` / ``tos``."""
        return int(self._buf[self._off + _TOS])
