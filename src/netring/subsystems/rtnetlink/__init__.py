"""rtnetlink (``NETLINK_ROUTE``), pure part: constants, headers, lazy views, requests.

* :mod:`.constants` - ``RTM``, ``IFLA``, ``IFA``, ``RTA``, ``NDA``, ``FRA``, ``RTN``,
  ``RTPROT``, ``RT_SCOPE``, ``RT_TABLE``, ``RTNLGRP``, ``IFF`` ... (kernel names).
* :mod:`.structs` - one :class:`struct.Struct` per kernel header.
* :mod:`.base` - :class:`RtnlObject`, the rtnetlink flavour of the codec's lazy
  :class:`~netring.codec.view.MessageView`.
* :mod:`.link`, :mod:`.address`, :mod:`.route` (with :class:`NextHop`),
  :mod:`.neighbour`, :mod:`.rule` - :class:`Link`, :class:`Address`,
  :class:`Route`, :class:`Neighbour`, :class:`Rule`: slotted views decoded on
  access, with an iproute2-compatible ``to_dict()``; :mod:`.jsonfmt` holds the
  ``ip -j`` pieces they share.
* :mod:`.registry` - :data:`OBJECT_CLASSES` (message type -> view) and :func:`decode`.
* :mod:`.dump` - :class:`DumpReader`, the sans-I/O dump collector (hot path).
* :mod:`.requests` - request encoders writing into a :class:`~netring.codec.Builder`.
* :mod:`.names` - iproute2's names for protocols, scopes, tables, flags.

The OS side (sockets, namespaces) is :mod:`netring.rtnl`.

Each name loads its module on first use: ``import netring.subsystems.rtnetlink``
builds no view class and no enum until one is asked for.
"""

from __future__ import annotations

from ...codec.types import TYPE_CHECKING
from ...lazy import lazy_names

if TYPE_CHECKING:
    from .address import Address
    from .base import RtnlObject
    from .constants import (
        AF_INET,
        AF_INET6,
        AF_UNSPEC,
        ARPHRD,
        FIB_RULE,
        FR_ACT,
        FRA,
        IF_OPER,
        IFA,
        IFA_F,
        IFF,
        IFLA,
        IFLA_INFO,
        NDA,
        NTF,
        NUD,
        RT_SCOPE,
        RT_TABLE,
        RTA,
        RTAX,
        RTM,
        RTM_F,
        RTN,
        RTNH_F,
        RTNLGRP,
        RTPROT,
        USER_HZ,
    )
    from .dump import DumpReader
    from .link import Link
    from .neighbour import Neighbour
    from .registry import GROUPS, KIND_OF_CLASS, KINDS, OBJECT_CLASSES, decode
    from .route import NextHop, Route
    from .rule import Rule

__all__ = [
    "AF_INET", "AF_INET6", "AF_UNSPEC", "ARPHRD", "FIB_RULE", "FR_ACT", "FRA", "IF_OPER",
    "IFA", "IFA_F", "IFF", "IFLA", "IFLA_INFO", "NDA", "NTF", "NUD", "RT_SCOPE", "RT_TABLE",
    "RTA", "RTAX", "RTM", "RTM_F", "RTN", "RTNH_F", "RTNLGRP", "RTPROT", "USER_HZ",
    "DumpReader", "OBJECT_CLASSES", "KINDS", "GROUPS", "KIND_OF_CLASS", "Address", "Link", "Neighbour", "NextHop", "Route",
    "RtnlObject", "Rule", "decode",
]

#: the module each name lives in
_HOME: dict[str, str] = {
    "AF_INET": "constants",
    "AF_INET6": "constants",
    "AF_UNSPEC": "constants",
    "ARPHRD": "constants",
    "FIB_RULE": "constants",
    "FR_ACT": "constants",
    "FRA": "constants",
    "IF_OPER": "constants",
    "IFA": "constants",
    "IFA_F": "constants",
    "IFF": "constants",
    "IFLA": "constants",
    "IFLA_INFO": "constants",
    "NDA": "constants",
    "NTF": "constants",
    "NUD": "constants",
    "RT_SCOPE": "constants",
    "RT_TABLE": "constants",
    "RTA": "constants",
    "RTAX": "constants",
    "RTM": "constants",
    "RTM_F": "constants",
    "RTN": "constants",
    "RTNH_F": "constants",
    "RTNLGRP": "constants",
    "RTPROT": "constants",
    "USER_HZ": "constants",
    "Address": "address",
    "RtnlObject": "base",
    "DumpReader": "dump",
    "Link": "link",
    "Neighbour": "neighbour",
    "GROUPS": "registry",
    "KIND_OF_CLASS": "registry",
    "KINDS": "registry",
    "OBJECT_CLASSES": "registry",
    "decode": "registry",
    "NextHop": "route",
    "Route": "route",
    "Rule": "rule",
}

__getattr__, __dir__ = lazy_names(__name__, globals(), _HOME)
