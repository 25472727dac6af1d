"""rtnetlink constants with their kernel names, one module per object kind.

Sources: ``include/uapi/linux/rtnetlink.h`` (RTM, RTA, RTN, RTPROT, RT_SCOPE,
RT_TABLE, RTM_F, RTNH_F, RTAX, RTNLGRP), ``if_link.h`` (IFLA, IFLA_INFO),
``if.h`` (IFF, IF_OPER), ``if_addr.h`` (IFA, IFA_F), ``neighbour.h`` (NDA, NUD,
NTF), ``fib_rules.h`` (FRA, FR_ACT, FIB_RULE), ``if_arp.h`` (ARPHRD).  Values
checked against the shared ABI notes (docs section 5) and Linux 6.x headers.

Each name lives in one submodule (``core``: message types, families; ``groups``;
``link``, ``kinds`` (per-kind link data), ``address``, ``route``, ``neighbour``,
``rule``); this package resolves ``from .constants import IFLA`` to it on first
use, so a command builds only the enum classes it touches (creating all ~50
costs more than the rest of a small dump).
"""

from __future__ import annotations

from ....codec.types import TYPE_CHECKING
from ....lazy import lazy_names

if TYPE_CHECKING:
    from .address import (
        IFA,
        IFA_F,
    )
    from .core import (
        AF_BRIDGE,
        AF_INET,
        AF_INET6,
        AF_IPX,
        AF_MPLS,
        AF_PACKET,
        AF_UNSPEC,
        NETNSA,
        NETNSA_NSID_NOT_ASSIGNED,
        RTM,
        USER_HZ,
        AF_DECnet,
    )
    from .groups import RTNLGRP
    from .kinds import (
        BR_BOOLOPT,
        BR_STATE,
        IFLA_BR,
        IFLA_BRPORT,
        IFLA_MACVLAN,
        IFLA_VLAN,
        IFLA_VXLAN,
        MACVLAN_FLAG,
        MACVLAN_MODE,
        VETH_INFO,
        VXLAN_DF,
    )
    from .link import (
        ARPHRD,
        IF_LINK_MODE,
        IF_OPER,
        IFF,
        IFLA,
        IFLA_INET6,
        IFLA_INFO,
        IN6_ADDR_GEN_MODE,
        RTEXT_FILTER,
    )
    from .neighbour import (
        NDA,
        NTF,
        NUD,
    )
    from .route import (
        ICMPV6_ROUTER_PREF,
        RT_SCOPE,
        RT_TABLE,
        RTA,
        RTAX,
        RTAX_FEATURE,
        RTM_F,
        RTN,
        RTNH_F,
        RTPROT,
    )
    from .rule import (
        FIB_RULE,
        FR_ACT,
        FRA,
    )

#: where each name lives
_HOME: dict[str, str] = {
    "AF_UNSPEC": "core",
    "AF_INET": "core",
    "AF_IPX": "core",
    "AF_BRIDGE": "core",
    "AF_INET6": "core",
    "AF_DECnet": "core",
    "AF_PACKET": "core",
    "AF_MPLS": "core",
    "USER_HZ": "core",
    "RTM": "core",
    "RTNLGRP": "groups",
    "NETNSA": "core",
    "NETNSA_NSID_NOT_ASSIGNED": "core",
    "RTA": "route",
    "RTAX": "route",
    "RTAX_FEATURE": "route",
    "RTN": "route",
    "RTPROT": "route",
    "RT_SCOPE": "route",
    "RT_TABLE": "route",
    "RTM_F": "route",
    "RTNH_F": "route",
    "ICMPV6_ROUTER_PREF": "route",
    "IFLA": "link",
    "IFLA_INFO": "link",
    "IFF": "link",
    "IF_OPER": "link",
    "IF_LINK_MODE": "link",
    "ARPHRD": "link",
    "RTEXT_FILTER": "link",
    "IFLA_INET6": "link",
    "IN6_ADDR_GEN_MODE": "link",
    "VETH_INFO": "kinds",
    "IFLA_VLAN": "kinds",
    "IFLA_MACVLAN": "kinds",
    "MACVLAN_MODE": "kinds",
    "MACVLAN_FLAG": "kinds",
    "IFLA_VXLAN": "kinds",
    "VXLAN_DF": "kinds",
    "IFLA_BR": "kinds",
    "IFLA_BRPORT": "kinds",
    "BR_STATE": "kinds",
    "BR_BOOLOPT": "kinds",
    "IFA": "address",
    "IFA_F": "address",
    "NDA": "neighbour",
    "NUD": "neighbour",
    "NTF": "neighbour",
    "FRA": "rule",
    "FR_ACT": "rule",
    "FIB_RULE": "rule",
}

__all__ = [
    "AF_UNSPEC",
    "AF_INET",
    "AF_IPX",
    "AF_BRIDGE",
    "AF_INET6",
    "AF_DECnet",
    "AF_PACKET",
    "AF_MPLS",
    "USER_HZ",
    "RTM",
    "RTNLGRP",
    "NETNSA",
    "NETNSA_NSID_NOT_ASSIGNED",
    "RTA",
    "RTAX",
    "RTAX_FEATURE",
    "RTN",
    "RTPROT",
    "RT_SCOPE",
    "RT_TABLE",
    "RTM_F",
    "RTNH_F",
    "ICMPV6_ROUTER_PREF",
    "IFLA",
    "IFLA_INFO",
    "IFF",
    "IF_OPER",
    "IF_LINK_MODE",
    "ARPHRD",
    "RTEXT_FILTER",
    "IFLA_INET6",
    "IN6_ADDR_GEN_MODE",
    "VETH_INFO",
    "IFLA_VLAN",
    "IFLA_MACVLAN",
    "MACVLAN_MODE",
    "MACVLAN_FLAG",
    "IFLA_VXLAN",
    "VXLAN_DF",
    "IFLA_BR",
    "IFLA_BRPORT",
    "BR_STATE",
    "BR_BOOLOPT",
    "IFA",
    "IFA_F",
    "NDA",
    "NUD",
    "NTF",
    "FRA",
    "FR_ACT",
    "FIB_RULE",
]

__getattr__, __dir__ = lazy_names(__name__, globals(), _HOME)
