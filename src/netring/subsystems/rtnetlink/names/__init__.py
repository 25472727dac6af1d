"""iproute2's names for rtnetlink numbers, so ``to_dict()`` prints what ``ip -j`` prints.

The tables mirror iproute2's compiled-in defaults plus the stock
``/etc/iproute2/rt_protos`` (``lib/rt_names.c``, ``lib/ll_types.c``).  A number
without a name prints as its decimal string, as iproute2 does.

Addresses are formatted like glibc's ``inet_ntop`` (:mod:`netring.codec.inet`).

One module per object kind (``common``, ``link``, ``route``, ``neighbour``); this
package resolves ``_n.rtprot_name`` to its module on first use, so a link dump
never builds the route tables (nor their enums).
"""

from __future__ import annotations

from ....codec.types import TYPE_CHECKING
from ....lazy import lazy_names

if TYPE_CHECKING:
    from .common import (
        family_name,
        family_of,
        lladdr_str,
        ntop,
    )
    from .link import (
        group_name,
        link_flag_names,
        linkmode_name,
        lltype_name,
        operstate_name,
    )
    from .neighbour import (
        nud_state_names,
    )
    from .route import (
        HOPLIMIT_UNSET,
        METRIC_TEXT,
        RTN_BY_NAME,
        RTPROT_BY_NAME,
        SCOPE_BY_NAME,
        TABLE_BY_NAME,
        dsfield_name,
        ipproto_name,
        realm_name,
        route_flag_names,
        rtntype_name,
        rtprot_name,
        rtscope_name,
        rttable_name,
    )

__all__ = [
    "family_name",
    "family_of",
    "ntop",
    "lladdr_str",
    "operstate_name",
    "linkmode_name",
    "group_name",
    "lltype_name",
    "link_flag_names",
    "RTN_BY_NAME",
    "RTPROT_BY_NAME",
    "SCOPE_BY_NAME",
    "TABLE_BY_NAME",
    "rtprot_name",
    "rtscope_name",
    "rttable_name",
    "rtntype_name",
    "realm_name",
    "dsfield_name",
    "ipproto_name",
    "route_flag_names",
    "METRIC_TEXT",
    "HOPLIMIT_UNSET",
    "nud_state_names",
]

#: where each name lives
_HOME: dict[str, str] = {
    "family_name": "common",
    "family_of": "common",
    "ntop": "common",
    "lladdr_str": "common",
    "operstate_name": "link",
    "linkmode_name": "link",
    "group_name": "link",
    "lltype_name": "link",
    "link_flag_names": "link",
    "RTN_BY_NAME": "route",
    "RTPROT_BY_NAME": "route",
    "SCOPE_BY_NAME": "route",
    "TABLE_BY_NAME": "route",
    "rtprot_name": "route",
    "rtscope_name": "route",
    "rttable_name": "route",
    "rtntype_name": "route",
    "realm_name": "route",
    "dsfield_name": "route",
    "ipproto_name": "route",
    "route_flag_names": "route",
    "METRIC_TEXT": "route",
    "HOPLIMIT_UNSET": "route",
    "nud_state_names": "neighbour",
}

__getattr__, __dir__ = lazy_names(__name__, globals(), _HOME)
