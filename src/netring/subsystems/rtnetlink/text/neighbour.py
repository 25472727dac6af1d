"""``ip neigh show`` text of one neighbour entry, as iproute2 6.1 prints it (``print_neigh``).

::

    10.0.0.5 dev ve0 lladdr 02:00:00:00:00:05 PERMANENT
    10.0.0.8 dev ve0 proxy
    10.0.0.6 dev ve0 lladdr 02:00:00:00:00:06 used 12/12/12 probes 0 STALE      (-s)

Every word is followed by a blank, the last one too, as ``ip`` prints it.
:func:`neigh_shown` is ip's default selection of what a dump returned.
"""

from __future__ import annotations

from .. import names as _n
from ..constants import NDA, NTF, NUD, USER_HZ
from ..jsonfmt import dev_name
from ..neighbour import Neighbour
from .context import TextContext

__all__ = ["neigh_line", "neigh_shown"]

_NTF_PROXY = int(NTF.PROXY)
_NTF_EXT_LEARNED = int(NTF.EXT_LEARNED)
#: ``NTF_EXT_MANAGED`` (bit 0 of ``NDA_FLAGS_EXT``, uapi/linux/neighbour.h)
_NTF_EXT_MANAGED = 1 << 0
# ipneigh.c: the state filter of a plain ``ip neigh show`` (0xFF & ~NUD_NOARP), and the
# bit iproute2 uses for "state NONE requested"
_DEFAULT_STATES = 0xFF & ~int(NUD.NOARP)
_NUD_NONE_BIT = 0x100


def neigh_shown(neigh: Neighbour, nud_all: bool = False, proxy: bool = False) -> bool:
    """Whether ``ip neigh show`` prints ``neigh``.

    Args:
        neigh: an entry of a neighbour dump (plain or proxy dump, or both together).
        nud_all: ``ip neigh show nud all`` (every state, ``NOARP`` and ``NONE`` too);
            else NOARP and NONE entries are left out.
        proxy: ``ip neigh show proxy``: only the proxy entries; else none of them.
    """
    flags = neigh.flags
    if bool(flags & _NTF_PROXY) != proxy:
        return False
    state = neigh.state
    wanted = ~0 if nud_all else _DEFAULT_STATES
    return bool(wanted & state or flags & (_NTF_PROXY | _NTF_EXT_LEARNED)
                or (not state and wanted & _NUD_NONE_BIT))


def neigh_line(neigh: Neighbour, ctx: TextContext, *, hide_dev: bool = False) -> str:
    """The line ``ip neigh show`` prints for ``neigh`` (``ctx.stats``: ``ip -s neigh``).

    ``hide_dev``: leave out ``dev NAME``, as ``ip neigh show dev NAME`` does.
    """
    s = ""
    if neigh.deleted:
        s += "Deleted "
    elif neigh.miss:
        s += "miss "
    dst = neigh._get_bytes(NDA.DST)
    if dst is not None:
        s += f"{_n.ntop(dst)} "
    if neigh.ifindex and not hide_dev:
        s += f"dev {dev_name(ctx.names, neigh.ifindex)} "
    if neigh.has(NDA.LLADDR):
        s += f"lladdr {neigh.lladdr} "
    flags = neigh.flags
    ext = neigh.flags_ext or 0
    if flags & NTF.ROUTER:
        s += "router "
    if flags & NTF.PROXY:
        s += "proxy "
    if ext & _NTF_EXT_MANAGED:
        s += "managed "
    if flags & NTF.EXT_LEARNED:
        s += "extern_learn "
    if flags & NTF.OFFLOADED:
        s += "offload "
    if ctx.stats:
        ci = neigh.cacheinfo
        if ci is not None:
            confirmed, used, updated, refcnt = ci
            if refcnt:
                s += f" ref {refcnt}"
            s += f" used {used // USER_HZ}/{confirmed // USER_HZ}/{updated // USER_HZ}"
        probes = neigh.probes
        if probes is not None:
            s += f"probes {probes} "
    if neigh.state:
        s += "".join(f"{name} " for name in _n.nud_state_names(neigh.state))
    proto = neigh.protocol
    if proto:
        s += f"proto {_n.rtprot_name(proto)} "
    return s
