"""Message type -> rtnetlink view class, and :func:`decode`, the typed view of any
rtnetlink message::

    nlmsg_type   RTM_NEWLINK/DELLINK   RTM_NEWADDR/DELADDR   RTM_NEWROUTE/DELROUTE
    view         Link                  Address               Route
    nlmsg_type   RTM_NEWNEIGH/DELNEIGH/GETNEIGH (miss)       RTM_NEWRULE/DELRULE
    view         Neighbour                                   Rule
"""

from __future__ import annotations

from ...codec.structs import nlmsghdr, u16
from ...codec.types import ReadableBuffer
from ...errors import DecodeError
from .address import Address
from .base import RtnlObject
from .constants import RTM, RTNLGRP
from .link import Link
from .neighbour import Neighbour
from .route import Route
from .rule import Rule

__all__ = ["OBJECT_CLASSES", "KINDS", "GROUPS", "KIND_OF_CLASS", "decode"]

#: message type -> view class
OBJECT_CLASSES: dict[int, type[RtnlObject]] = {
    t: cls for cls in (Link, Address, Route, Neighbour, Rule) for t in cls.TYPES
}
OBJECT_CLASSES[RTM.GETNEIGH] = Neighbour  # "miss" notifications (app_probes)

#: object kinds, as the CLI names them -> (view class, dump request type)
KINDS: dict[str, tuple[type[RtnlObject], int]] = {
    "links": (Link, RTM.GETLINK),
    "addrs": (Address, RTM.GETADDR),
    "routes": (Route, RTM.GETROUTE),
    "neigh": (Neighbour, RTM.GETNEIGH),
    "rules": (Rule, RTM.GETRULE),
}

#: multicast groups to join per kind
GROUPS: dict[str, tuple[int, ...]] = {
    "links": (RTNLGRP.LINK,),
    "addrs": (RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR),
    "routes": (RTNLGRP.IPV4_ROUTE, RTNLGRP.IPV6_ROUTE),
    "neigh": (RTNLGRP.NEIGH,),
    "rules": (RTNLGRP.IPV4_RULE, RTNLGRP.IPV6_RULE),
}

#: view class -> kind name
KIND_OF_CLASS: dict[type[RtnlObject], str] = {cls: kind for kind, (cls, _) in KINDS.items()}

_NLMSG_TYPE = 4  # offset of nlmsg_type in struct nlmsghdr


def decode(buf: ReadableBuffer, offset: int = 0) -> RtnlObject | None:
    """The typed view of the message at ``offset``, or ``None`` for other types.

    Raises:
        DecodeError: truncated header or a message shorter than its family header.
    """
    if len(buf) - offset < nlmsghdr.size:
        raise DecodeError("truncated nlmsghdr", offset)
    cls = OBJECT_CLASSES.get(u16.unpack_from(buf, offset + _NLMSG_TYPE)[0])
    return None if cls is None else cls(buf, offset)
