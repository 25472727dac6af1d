"""iproute2's names for link numbers: operstate, link mode, link type, flags (``lib/ll_types.c``, ``ip/ipaddress.c``)."""

from __future__ import annotations

from ..constants import IF_LINK_MODE, IF_OPER, IFF

__all__ = ["operstate_name", "linkmode_name", "group_name", "lltype_name", "link_flag_names"]

_OPERSTATE = {int(s): s.name for s in IF_OPER}
_LINKMODE = {int(m): m.name for m in IF_LINK_MODE}


# lib/ll_types.c
_LLTYPE = {
    0: "netrom", 1: "ether", 2: "eether", 3: "ax25", 4: "pronet", 5: "chaos", 6: "ieee802",
    7: "arcnet", 8: "atalk", 15: "dlci", 19: "atm", 23: "metricom", 24: "ieee1394",
    27: "eui64", 32: "infiniband", 256: "slip", 257: "cslip", 258: "slip6", 259: "cslip6",
    260: "rsrvd", 264: "adapt", 270: "rose", 271: "x25", 272: "hwx25", 280: "can",
    512: "ppp", 513: "cisco", 516: "lapb", 517: "ddcmp", 518: "rawhdlc", 519: "rawip",
    768: "ipip", 769: "tunnel6", 770: "frad", 771: "skip", 772: "loopback", 773: "localtlk",
    774: "fddi", 775: "bif", 776: "sit", 777: "ip/ddp", 778: "gre", 779: "pimreg",
    780: "hippi", 781: "ash", 782: "econet", 783: "irda", 784: "fcpp", 785: "fcal",
    786: "fcpl", 787: "fcfb", 800: "tr", 801: "tr+rif", 802: "ieee802.11",
    803: "ieee802.11/prism", 804: "ieee802.11/radiotap", 805: "ieee802.15.4",
    806: "ieee802.15.4/monitor", 820: "phonet", 821: "phonet_pipe", 822: "caif",
    823: "ip6gre", 824: "netlink", 825: "6lowpan", 826: "vsockmon", 0xFFFE: "none",
    0xFFFF: "void",
}


# print_link_flags' order (ip/ipaddress.c, iproute2 6.1); the names are the IFF_* names
_LINK_FLAGS = tuple((int(f), str(f.name)) for f in (
    IFF.LOOPBACK, IFF.BROADCAST, IFF.POINTOPOINT, IFF.MULTICAST, IFF.NOARP, IFF.ALLMULTI,
    IFF.PROMISC, IFF.MASTER, IFF.SLAVE, IFF.DEBUG, IFF.DYNAMIC, IFF.AUTOMEDIA, IFF.PORTSEL,
    IFF.NOTRAILERS, IFF.UP, IFF.LOWER_UP, IFF.DORMANT, IFF.ECHO))
_IFF_UP = int(IFF.UP)
_IFF_RUNNING = int(IFF.RUNNING)


def operstate_name(n: int) -> str:
    """``IF_OPER_*`` name as iproute2 prints it, else the number."""
    return _OPERSTATE.get(n) or str(n)


def linkmode_name(n: int) -> str:
    """``IF_LINK_MODE_*`` name as iproute2 prints it, else the number."""
    return _LINKMODE.get(n) or str(n)


def group_name(n: int) -> str:
    """``rtnl_group_n2a``: ``"default"`` for 0, else the number."""
    return "default" if n == 0 else str(n)


def lltype_name(n: int) -> str:
    """``ll_type_n2a``: ``"ether"``, ``"loopback"``, ... else ``"[N]"``."""
    return _LLTYPE.get(n) or f"[{n}]"


def link_flag_names(flags: int, master_down: bool = False) -> list[str]:
    """``print_link_flags``: iproute2's order, ``NO-CARRIER``, hex rest, ``M-DOWN``."""
    out: list[str] = []
    if flags & _IFF_UP and not flags & _IFF_RUNNING:
        out.append("NO-CARRIER")
    flags &= ~_IFF_RUNNING
    for bit, name in _LINK_FLAGS:
        if flags & bit:
            out.append(name)
            flags &= ~bit
    if flags:
        out.append(f"{flags:x}")
    if master_down:
        out.append("M-DOWN")
    return out
