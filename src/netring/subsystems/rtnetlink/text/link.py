"""``ip link show`` text of one link, as iproute2 6.1 prints it (``print_linkinfo``).

::

    3: ve0@ve1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc noqueue state UP mode DEFAULT group default qlen 500
        link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff link-netns blue promiscuity 0 ...   (-d)
        veth addrgenmode eui64 numtxqueues 2 ...                                               (-d)
        alias my alias
        RX:  bytes packets errors dropped  missed   mcast                                     (-s)
               726       9      0       0       0       0

The block is built as iproute2 builds it: one string in which ``_SL_`` (a line
break, or a backslash under ``-o``) separates the lines, so trailing blanks and
the words that share a line come out exactly as ``ip`` prints them.
``ip addr show`` prints the same header without ``mode``, ``alias`` and the
address-generation mode (iproute2's ``do_link`` is false there);
:mod:`.address` uses :func:`link_block` for it.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import names as _n
from ..constants import IF_LINK_MODE, IF_OPER, IFF, IFLA
from ..jsonfmt import dev_name
from ..link import Link
from .context import TextContext

__all__ = ["link_lines", "link_block", "brief_head", "stats_text", "split_block"]

_IFF_UP = int(IFF.UP)
_IFF_POINTOPOINT = int(IFF.POINTOPOINT)
#: iproute2's oper_states[] (indexes past the end print as hex)
_OPER_STATES = tuple(s.name for s in sorted(IF_OPER))
#: iproute2's link_modes[]: only DEFAULT and DORMANT have a name
_LINK_MODES = (IF_LINK_MODE.DEFAULT.name, IF_LINK_MODE.DORMANT.name)
#: print_link_event's names (IFLA_EVENT_*); 0 prints nothing
_EVENTS = ("NONE", "REBOOT", "FEATURE CHANGE", "BONDING FAILOVER", "NOTIFY PEERS",
           "RESEND IGMP", "BONDING OPTION")


def split_block(text: str, ctx: TextContext) -> list[str]:
    """Lines of a block whose lines are separated by ``\\n`` (one line under ``-o``)."""
    lines = text.split("\n")
    return ["\\".join(lines)] if ctx.oneline else lines


def link_lines(link: Link, ctx: TextContext, *,
               link_flags: Mapping[int, int] | None = None) -> list[str]:
    """The lines ``ip link show`` prints for ``link`` (``-d``, ``-s``, ``-br``, ``-o`` by ``ctx``).

    Args:
        link: the link.
        ctx: names and ``ip``'s options.
        link_flags: ifindex -> ``ifi_flags`` of the other links, for ``M-DOWN``
            (a link whose lower device is down); without it ``M-DOWN`` is not printed.
    """
    if ctx.brief:
        return [brief_head(link, ctx, link_flags, address=True)]
    return split_block(link_block(link, ctx, link_flags, do_link=True), ctx)


def _name_and_link(link: Link, ctx: TextContext,
                   link_flags: Mapping[int, int] | None) -> tuple[str, bool]:
    """``print_name_and_link``: ``name@peer`` and whether the lower device is down."""
    name = link.name or f"if{link.index}"
    if not link.has(IFLA.LINK):
        return name, False
    iflink = link.link or 0
    if iflink == 0:
        return f"{name}@NONE", False
    if link.has(IFLA.LINK_NETNSID):
        return f"{name}@if{iflink}", False
    mdown = link_flags is not None and iflink in link_flags and not link_flags[iflink] & _IFF_UP
    return f"{name}@{dev_name(ctx.names, iflink)}", mdown


def _flags_text(flags: int, mdown: bool) -> str:
    """``print_link_flags``: ``<A,B,C> `` (``,M-DOWN`` appended as iproute2 does)."""
    body = ",".join(_n.link_flag_names(flags))
    return f"<{body}{',M-DOWN' if mdown else ''}> "


def _operstate(state: int, brief: bool) -> str:
    if state >= len(_OPER_STATES):
        return f"state {state:#x}"
    if brief:
        return f"{_OPER_STATES[state]:<14} "
    return f"state {_OPER_STATES[state]} "


def brief_head(link: Link, ctx: TextContext, link_flags: Mapping[int, int] | None,
               *, address: bool) -> str:
    """``print_linkinfo_brief``: name column, state column (and, for ``ip -br link``,
    the address and the flags)."""
    name, mdown = _name_and_link(link, ctx, link_flags)
    s = "Deleted " if link.deleted else ""
    s += f"{name:<16} "
    op = link.operstate
    if op is not None:
        s += _operstate(op, True)
    if address:
        if link.has(IFLA.ADDRESS):
            s += f"{link.address} "
        s += _flags_text(link.flags, mdown)
    return s


def link_block(link: Link, ctx: TextContext, link_flags: Mapping[int, int] | None,
               *, do_link: bool) -> str:
    """The ``print_linkinfo`` block with ``\\n`` between lines (no final newline).

    Args:
        do_link: ``ip link`` (True) or ``ip addr`` (False): the latter leaves out
            ``mode``, the address-generation mode and (without ``-d``) the alias.
    """
    name, mdown = _name_and_link(link, ctx, link_flags)
    s = "Deleted " if link.deleted else ""
    s += f"{link.index}: {name}: " + _flags_text(link.flags, mdown)
    if link.has(IFLA.MTU):
        s += f"mtu {link.mtu} "
    if link.has(IFLA.QDISC):
        s += f"qdisc {link.qdisc} "
    if link.has(IFLA.MASTER):
        s += f"master {dev_name(ctx.names, link.master or 0)} "
    op = link.operstate
    if op is not None:
        s += _operstate(op, False)
    mode = link.linkmode
    if do_link and mode is not None:
        s += f"mode {_LINK_MODES[mode]} " if mode < len(_LINK_MODES) else f"mode {mode} "
    if link.has(IFLA.GROUP):
        s += f"group {_n.group_name(link.group or 0)} "
    if link.txqlen:
        s += f"qlen {link.txqlen}"
    ev = link.event
    if ev is not None:
        if ev >= len(_EVENTS):
            s += f"event {ev} "
        elif ev:
            s += f"event {_EVENTS[ev]} "
    s += f"\n    link/{_n.lltype_name(link.type)} "
    raw_addr = link._get_bytes(IFLA.ADDRESS)
    if raw_addr is not None:
        s += link.address or ""
    if link.has(IFLA.BROADCAST):
        s += " peer " if link.flags & _IFF_POINTOPOINT else " brd "
        s += link.broadcast or ""
    perm = link._get_bytes(IFLA.PERM_ADDRESS)
    if perm is not None and perm != raw_addr:
        s += f" permaddr {_n.lladdr_str(perm, link.type)}"
    nsid = link.link_netnsid
    if nsid is not None:
        if nsid < 0:
            s += " link-netnsid unknown"
        elif nsid in ctx.netns_names:
            s += f" link-netns {ctx.netns_names[nsid]}"
        else:
            s += f" link-netnsid {nsid}"
    if link.proto_down:
        s += " protodown on "
    if ctx.details:
        from ..linkinfo import fields_text  # per-kind tables: loaded for -d only

        s += fields_text(link.details_head())
        if link.has(IFLA.LINKINFO):
            data, sdata = link.linkinfo_fields(ctx.names)
            kind, skind = link.kind, link.slave_kind
            if kind is not None:
                s += f"\n    {kind} " + ("" if data is None else fields_text(data))
            if skind is not None:
                s += f"\n    {skind}_slave " + ("" if sdata is None else fields_text(sdata))
        gen = link.addr_gen_mode_name() if do_link else None
        if gen is not None:
            s += f"addrgenmode {gen} "
        s += fields_text(link.details_tail())
    if (do_link or ctx.details) and link.has(IFLA.IFALIAS):
        s += f"\n    alias {link.ifalias}"
    if do_link and ctx.stats:
        st = stats_text(link, ctx)
        if st is not None:
            s += "\n" + st
    for alt in link.alt_names:
        s += f"\n    altname {alt}"
    return s


def _width(v: int) -> int:
    return len(str(v))


def _size(cols: list[int], *vals: int) -> None:
    """``size_columns``: widen each column to its value's digits."""
    for i, v in enumerate(vals):
        cols[i] = max(cols[i], _width(v))


def _nums(cols: list[int], vals: tuple[int, ...]) -> str:
    """``print_num`` per value: right-aligned in its column, a blank after it."""
    return "".join(f"{v:>{cols[i]}} " for i, v in enumerate(vals))


def stats_text(link: Link, ctx: TextContext) -> str | None:
    """``print_stats64``'s text (``-s``; ``-s -s``: the error lines), ``\\n`` between lines;
    None when the link carries no ``IFLA_STATS64``."""
    st = link.stats64
    if st is None:
        return None
    s = {k: st.get(k, 0) for k in (
        "rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "rx_missed_errors", "multicast",
        "rx_compressed", "rx_length_errors", "rx_crc_errors", "rx_frame_errors",
        "rx_fifo_errors", "rx_over_errors", "rx_nohandler", "rx_otherhost_dropped",
        "tx_bytes", "tx_packets", "tx_errors", "tx_dropped", "tx_carrier_errors",
        "collisions", "tx_compressed", "tx_aborted_errors", "tx_fifo_errors",
        "tx_window_errors", "tx_heartbeat_errors")}
    level = max(ctx.stats_level, 1)
    cc_raw = link.carrier_changes
    cc = cc_raw or 0
    cols = [len("*X errors:"), len("packets"), len("errors"), len("dropped"), len("heartbt"),
            len("overrun"), len("compressed"), len("otherhost")]
    rx = (s["rx_bytes"], s["rx_packets"], s["rx_errors"], s["rx_dropped"],
          s["rx_missed_errors"], s["multicast"])
    tx = (s["tx_bytes"], s["tx_packets"], s["tx_errors"], s["tx_dropped"],
          s["tx_carrier_errors"], s["collisions"])
    _size(cols, *rx, s["rx_compressed"], 0)
    if level > 1:
        _size(cols, 0, s["rx_length_errors"], s["rx_crc_errors"], s["rx_frame_errors"],
              s["rx_fifo_errors"], s["rx_over_errors"], s["rx_nohandler"],
              s["rx_otherhost_dropped"])
    _size(cols, *tx, s["tx_compressed"], 0)
    if level > 1:
        _size(cols, 0, 0, s["tx_aborted_errors"], s["tx_fifo_errors"], s["tx_window_errors"],
              s["tx_heartbeat_errors"], cc, 0)
    c = cols
    out = (f"    RX: {'bytes':>{c[0] - 4}} {'packets':>{c[1]}} {'errors':>{c[2]}} "
           f"{'dropped':>{c[3]}} {'missed':>{c[4]}} {'mcast':>{c[5]}} "
           f"{'compressed' if s['rx_compressed'] else '':>{c[6]}}\n")
    out += "    " + _nums(c, rx)
    if s["rx_compressed"]:
        out += f"{s['rx_compressed']:>{c[6]}} "
    if level > 1:
        nh, oh = s["rx_nohandler"], s["rx_otherhost_dropped"]
        out += (f"\n    RX errors:{'':>{c[0] - 10}} {'length':>{c[1]}} {'crc':>{c[2]}} "
                f"{'frame':>{c[3]}} {'fifo':>{c[4]}} {'overrun':>{c[5]}}"
                f"{' nohandler' if nh else '':>{c[6] + 1 if nh else 0}}"
                f"{' otherhost' if oh else '':>{c[7] + 1 if oh else 0}}\n")
        out += " " * (c[0] + 5)
        out += "".join(f"{v:>{c[i + 1]}} " for i, v in enumerate((
            s["rx_length_errors"], s["rx_crc_errors"], s["rx_frame_errors"],
            s["rx_fifo_errors"], s["rx_over_errors"])))
        if nh:
            out += f"{nh:>{c[6]}} "
        if oh:
            out += f"{oh:>{c[7]}} "
    out += "\n"
    out += (f"    TX: {'bytes':>{c[0] - 4}} {'packets':>{c[1]}} {'errors':>{c[2]}} "
            f"{'dropped':>{c[3]}} {'carrier':>{c[4]}} {'collsns':>{c[5]}} "
            f"{'compressed' if s['tx_compressed'] else '':>{c[6]}}\n")
    out += "    " + _nums(c, tx)
    if s["tx_compressed"]:
        out += f"{s['tx_compressed']:>{c[6]}} "
    if level > 1:
        out += (f"\n    TX errors:{'':>{c[0] - 10}} {'aborted':>{c[1]}} {'fifo':>{c[2]}} "
                f"{'window':>{c[3]}} {'heartbt':>{c[4]}} "
                f"{'transns' if cc_raw is not None else '':>{c[5]}}\n")
        out += " " * (c[0] + 5)
        out += "".join(f"{v:>{c[i + 1]}} " for i, v in enumerate((
            s["tx_aborted_errors"], s["tx_fifo_errors"], s["tx_window_errors"],
            s["tx_heartbeat_errors"])))
        if cc_raw is not None:
            out += f"{cc_raw:>{c[5]}} "
    return out
