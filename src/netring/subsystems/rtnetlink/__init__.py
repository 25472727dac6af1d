"""rtnetlink (``NETLINK_ROUTE``), pure part: constants, headers, lazy views, requests.

* :mod:`.constants` - ``RTM``, ``IFLA``, ``IFA``, ``RTA``, ``NDA``, ``FRA``, ``RTN``,
  ``RTPROT``, ``RT_SCOPE``, ``RT_TABLE``, ``RTNLGRP``, ``IFF`` ... (kernel names).
* :mod:`.structs` - one :class:`struct.Struct` per kernel header.
* :mod:`.objects` - :class:`Link`, :class:`Address`, :class:`Route`,
  :class:`Neighbour`, :class:`Rule`: slotted views decoded on access, with an
  iproute2-compatible ``to_dict()``.
* :mod:`.dump` - :class:`DumpReader`, the sans-I/O dump collector (hot path).
* :mod:`.requests` - request encoders writing into a :class:`~netring.codec.Builder`.
* :mod:`.names` - iproute2's names for protocols, scopes, tables, flags.

The OS side (sockets, namespaces) is :mod:`netring.rtnl`.
"""

from __future__ import annotations

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
)
from .dump import DumpReader
from .objects import (
    OBJECT_CLASSES,
    Address,
    Link,
    Neighbour,
    NextHop,
    Route,
    RtnlObject,
    Rule,
    decode,
)

__all__ = [
    "AF_INET", "AF_INET6", "AF_UNSPEC", "ARPHRD", "FIB_RULE", "FR_ACT", "FRA", "IF_OPER",
    "IFA", "IFA_F", "IFF", "IFLA", "IFLA_INFO", "NDA", "NTF", "NUD", "RT_SCOPE", "RT_TABLE",
    "RTA", "RTAX", "RTM", "RTM_F", "RTN", "RTNH_F", "RTNLGRP", "RTPROT",
    "DumpReader", "OBJECT_CLASSES", "Address", "Link", "Neighbour", "NextHop", "Route",
    "RtnlObject", "Rule", "decode",
]
