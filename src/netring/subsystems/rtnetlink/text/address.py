"""``ip addr show`` text of one interface, as iproute2 6.1 prints it (``print_addrinfo``).

::

    3: ve0@ve1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc noqueue state UP group default qlen 500
        link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff
        inet 10.0.0.1/24 brd 10.0.0.255 scope global ve0
           valid_lft forever preferred_lft forever
        inet 10.1.0.1 peer 10.1.0.2/32 scope global ve0
           valid_lft forever preferred_lft forever
        inet6 2001:db8:1::1/64 scope global nodad dynamic noprefixroute
           valid_lft 1972sec preferred_lft 972sec

``-o`` prints one line per address (``3: ve0    inet ...\\       valid_lft ...``)
and no link lines; ``-br`` one line per interface (name, state, addresses).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .. import names as _n
from ..address import Address
from ..constants import AF_INET, AF_INET6, IFA, IFA_F
from ..jsonfmt import dev_name
from ..link import Link
from .context import TextContext
from .link import brief_head, link_block, split_block, stats_text

__all__ = ["addr_lines", "addr_text", "INFINITY_LIFE_TIME"]

#: ``INFINITY_LIFE_TIME`` (``ifa_cacheinfo`` lifetimes that never expire)
INFINITY_LIFE_TIME = 0xFFFFFFFF

# print_ifa_flags' table (ifa_flag_data[]), in its order; PERMANENT prints as "dynamic"
# when absent, SECONDARY as "temporary" for IPv6
_IFA_FLAG_WORDS = tuple((int(bit), word) for bit, word in (
    (IFA_F.SECONDARY, "secondary"), (IFA_F.NODAD, "nodad"), (IFA_F.OPTIMISTIC, "optimistic"),
    (IFA_F.DADFAILED, "dadfailed"), (IFA_F.HOMEADDRESS, "home"),
    (IFA_F.DEPRECATED, "deprecated"), (IFA_F.TENTATIVE, "tentative"),
    (IFA_F.PERMANENT, "permanent"), (IFA_F.MANAGETEMPADDR, "mngtmpaddr"),
    (IFA_F.NOPREFIXROUTE, "noprefixroute"), (IFA_F.MCAUTOJOIN, "autojoin"),
    (IFA_F.STABLE_PRIVACY, "stable-privacy")))
_IFA_F_SECONDARY = int(IFA_F.SECONDARY)
_IFA_F_PERMANENT = int(IFA_F.PERMANENT)
_IFA_F_DEPRECATED = int(IFA_F.DEPRECATED)
_ADDR_BYTES = {AF_INET: 4, AF_INET6: 16}


def _flags_text(family: int, flags: int) -> str:
    out = ""
    for bit, word in _IFA_FLAG_WORDS:
        if bit == _IFA_F_PERMANENT:
            if not flags & bit:
                out += "dynamic "
        elif flags & bit:
            out += "temporary " if bit == _IFA_F_SECONDARY and family == AF_INET6 else f"{word} "
        flags &= ~bit
    if flags:
        out += f"flags {flags:02x} "
    return out


def _local_and_peer(a: Address) -> str:
    """``local[ peer address]/prefixlen [metric N ]`` (empty without any address)."""
    local = a._get_bytes(IFA.LOCAL)
    addr = a._get_bytes(IFA.ADDRESS)
    if local is None:
        local = addr
    if addr is None:
        addr = local
    if local is None or addr is None:
        return ""
    s = _n.ntop(local)
    n = _ADDR_BYTES.get(a.family, 16)
    if addr[:n] != local[:n]:
        s += f" peer {_n.ntop(addr)}"
    s += f"/{a.prefixlen} "
    metric = a.rt_priority
    if metric is not None:
        s += f"metric {metric} "
    return s


def addr_text(a: Address, ctx: TextContext) -> str:
    """One address as ``print_addrinfo`` prints it, ``\\n`` between its two lines.

    Under ``ctx.oneline`` the line starts with ``index: dev`` (``ip -o addr``).
    """
    s = "Deleted " if a.deleted else ""
    if ctx.oneline:
        s += f"{a.index}: {dev_name(ctx.names, a.index)}"
    fname = _n.family_name(a.family)
    s += f"    {fname} " if fname != "???" else f"    family {a.family} "
    s += _local_and_peer(a)
    brd = a._get_bytes(IFA.BROADCAST)
    if brd is not None:
        s += f"brd {_n.ntop(brd)} "
    anyc = a._get_bytes(IFA.ANYCAST)
    if anyc is not None:
        s += f"any {_n.ntop(anyc)} "
    s += f"scope {_n.rtscope_name(a.scope)} "
    flags = a.flags
    s += _flags_text(a.family, flags)
    label = a.label
    if label is not None:
        s += label
    ci = a.cacheinfo
    if ci is not None:
        preferred, valid = ci[0], ci[1]
        s += "\n       valid_lft "
        s += "forever" if valid == INFINITY_LIFE_TIME else f"{valid}sec"
        s += " preferred_lft "
        if preferred == INFINITY_LIFE_TIME:
            s += "forever"
        elif flags & _IFA_F_DEPRECATED:
            s += f"{preferred - (1 << 32) if preferred >= 1 << 31 else preferred}sec"
        else:
            s += f"{preferred}sec"
    return s


def _brief_addr(a: Address) -> str:
    return ("Deleted " if a.deleted else "") + _local_and_peer(a)


def addr_lines(link: Link, addrs: Sequence[Address], ctx: TextContext, *,
               link_flags: Mapping[int, int] | None = None) -> list[str]:
    """The lines ``ip addr show`` prints for one interface and its addresses.

    ``addrs`` are printed in the order given (iproute2 prints the kernel's dump
    order); addresses of other interfaces are skipped.  ``ctx.oneline``: one line per
    address and no link lines (``ip -o addr``); ``ctx.brief``: one line
    (``ip -br addr``); ``ctx.stats``: the link's counters after the addresses.

    Args:
        link: the interface.
        addrs: its addresses.
        ctx: names and ``ip``'s options.
        link_flags: ifindex -> ``ifi_flags``, for ``M-DOWN`` (see :func:`.link.link_lines`).
    """
    mine = [a for a in addrs if a.index == link.index]
    if ctx.brief:
        return [brief_head(link, ctx, link_flags, address=False)
                + "".join(_brief_addr(a) for a in mine)]
    if ctx.oneline:
        return [split_block(addr_text(a, ctx), ctx)[0] for a in mine]
    out = split_block(link_block(link, ctx, link_flags, do_link=False), ctx)
    for a in mine:
        out.extend(addr_text(a, ctx).split("\n"))
    if ctx.stats:
        st = stats_text(link, ctx)
        if st is not None:
            out.extend(st.split("\n"))
    return out
