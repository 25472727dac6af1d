"""iproute2 6.1's text for links, addresses and neighbours, on hand-built messages:
the cases a test namespace does not produce (large counters, deletions, unknown
netns ids, deprecated lifetimes, unnamed flag bits) and ip's neighbour selection.
The expected strings are iproute2's formats worked by hand from its sources."""

from __future__ import annotations

import struct

from netring.subsystems.rtnetlink import (
    AF_INET,
    AF_INET6,
    IFA,
    IFA_F,
    IFF,
    IFLA,
    IFLA_INFO,
    NDA,
    NTF,
    NUD,
    RTM,
    Address,
    Link,
    Neighbour,
)
from netring.subsystems.rtnetlink.constants import IFLA_BR, IFLA_MACVLAN, IFLA_VXLAN, MACVLAN_MODE
from netring.subsystems.rtnetlink.linkinfo import bridge_id_str
from netring.subsystems.rtnetlink.structs import ifa_cacheinfo, ifaddrmsg, ifinfomsg, ndmsg
from netring.subsystems.rtnetlink.text.address import addr_lines, addr_text
from netring.subsystems.rtnetlink.text.context import TextContext
from netring.subsystems.rtnetlink.text.link import link_lines
from netring.subsystems.rtnetlink.text.neighbour import neigh_line, neigh_shown
from netring.testing.fake import _tlv, message

_UP = int(IFF.UP | IFF.RUNNING | IFF.LOWER_UP | IFF.BROADCAST | IFF.MULTICAST)
_MAC = bytes.fromhex("020000000001")
_BRD = b"\xff" * 6


def _u32(v: int) -> bytes:
    return struct.pack("=I", v)


def _link(attrs: bytes, *, index: int = 3, flags: int = _UP, type_: int = RTM.NEWLINK) -> Link:
    body = ifinfomsg.pack(0, 1, index, flags, 0) + attrs
    return Link.from_bytes(message(type_, body))


def _base(name: str = "ve0") -> bytes:
    return (_tlv(IFLA.IFNAME, name.encode() + b"\0") + _tlv(IFLA.MTU, _u32(1500))
            + _tlv(IFLA.QDISC, b"noqueue\0") + _tlv(IFLA.OPERSTATE, b"\x06")
            + _tlv(IFLA.LINKMODE, b"\x00") + _tlv(IFLA.GROUP, _u32(0))
            + _tlv(IFLA.TXQLEN, _u32(1000)) + _tlv(IFLA.ADDRESS, _MAC)
            + _tlv(IFLA.BROADCAST, _BRD))


def _stats(**vals: int) -> bytes:
    fields = ["rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
              "rx_dropped", "tx_dropped", "multicast", "collisions", "rx_length_errors",
              "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
              "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
              "tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed",
              "rx_nohandler", "rx_otherhost_dropped"]
    return _tlv(IFLA.STATS64, b"".join(struct.pack("=Q", vals.get(f, 0)) for f in fields))


HEAD = ("3: ve0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP "
        "mode DEFAULT group default qlen 1000")
LL = "    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff"


def test_plain_link_and_oneline_and_brief() -> None:
    ln = _link(_base() + _tlv(IFLA.IFALIAS, b"an alias\0"))
    assert link_lines(ln, TextContext()) == [HEAD, LL, "    alias an alias"]
    assert link_lines(ln, TextContext(oneline=True)) == [
        f"{HEAD}\\{LL}\\    alias an alias"]
    assert link_lines(ln, TextContext(brief=True)) == [
        "ve0              UP             02:00:00:00:00:01 <BROADCAST,MULTICAST,UP,LOWER_UP> "]


def test_deleted_peer_none_and_unknown_netnsid() -> None:
    ln = _link(_base() + _tlv(IFLA.LINK, _u32(0)) + _tlv(IFLA.LINK_NETNSID,
                                                         struct.pack("=i", -1)),
               type_=RTM.DELLINK)
    lines = link_lines(ln, TextContext())
    assert lines[0].startswith("Deleted 3: ve0@NONE: <")
    assert lines[1] == LL + " link-netnsid unknown"


def test_peer_names_netns_and_m_down() -> None:
    ln = _link(_base() + _tlv(IFLA.LINK, _u32(7)) + _tlv(IFLA.LINK_NETNSID, _u32(4)))
    assert link_lines(ln, TextContext(netns_names={4: "blue"}))[:2] == [
        HEAD.replace("ve0:", "ve0@if7:"), LL + " link-netns blue"]
    assert link_lines(ln, TextContext())[1] == LL + " link-netnsid 4"
    local = _link(_base() + _tlv(IFLA.LINK, _u32(2)), flags=int(IFF.BROADCAST))
    out = link_lines(local, TextContext(names={2: "ve1"}), link_flags={2: 0})
    assert out[0].startswith("3: ve0@ve1: <BROADCAST,M-DOWN> mtu")
    # without the flags of the other links nothing is claimed about them
    assert "M-DOWN" not in link_lines(local, TextContext(names={2: "ve1"}))[0]


def test_unnamed_flag_bits_and_operstate_out_of_range() -> None:
    ln = _link(_tlv(IFLA.IFNAME, b"x\0") + _tlv(IFLA.OPERSTATE, b"\x09"),
               flags=int(IFF.UP | IFF.RUNNING) | 0x80000)
    assert link_lines(ln, TextContext())[0] == "3: x: <UP,80000> state 0x9"


def test_stats_columns_widen_with_the_values() -> None:
    ln = _link(_base() + _stats(rx_bytes=123456789012, rx_packets=5, tx_bytes=7,
                                rx_nohandler=3) + _tlv(IFLA.CARRIER_CHANGES, _u32(2)))
    # size_columns: the bytes column is as wide as its widest value (12 digits here)
    got = link_lines(ln, TextContext(stats=True, stats_level=1))[2:]
    assert got == [
        "    RX:    bytes packets errors dropped  missed   mcast           ",
        "    123456789012       5      0       0       0       0 ",
        "    TX:    bytes packets errors dropped carrier collsns           ",
        "               7       0      0       0       0       0 ",
    ]
    got = link_lines(ln, TextContext(stats=True, stats_level=2))[2:]
    assert got[2:4] == [
        "    RX errors:    length    crc   frame    fifo overrun  nohandler",
        "                       0      0       0       0       0          3 ",
    ]
    assert got[6:] == [
        "    TX errors:   aborted   fifo  window heartbt transns",
        "                       0      0       0       0       2 ",
    ]
    tx = ln.to_dict(stats=True, stats_level=2)["stats64"]["tx"]
    assert tx["carrier_changes"] == 2 and list(tx)[-1] == "carrier_changes"
    assert ln.to_dict(stats=True)["stats64"]["rx"] == {
        "bytes": 123456789012, "packets": 5, "errors": 0, "dropped": 0, "over_errors": 0,
        "multicast": 0}


def _br_attrs() -> bytes:
    bid = b"\x80\x00" + bytes.fromhex("0a000b0c0d0e")
    data = (_tlv(IFLA_BR.FORWARD_DELAY, _u32(1500)) + _tlv(IFLA_BR.BRIDGE_ID, bid)
            + _tlv(IFLA_BR.ROOT_ID, bid) + _tlv(IFLA_BR.GC_TIMER, struct.pack("=Q", 12345))
            + _tlv(IFLA_BR.GROUP_FWD_MASK, struct.pack("=H", 0x4)))
    return _tlv(IFLA.LINKINFO, _tlv(IFLA_INFO.KIND, b"bridge\0") + _tlv(IFLA_INFO.DATA, data))


def test_bridge_details_text_and_json() -> None:
    assert bridge_id_str(b"\x80\x00" + bytes.fromhex("0a000b0c0d0e")) == "8000.a:0:b:c:d:e"
    ln = _link(_base("br0") + _br_attrs() + _tlv(IFLA.PROMISCUITY, _u32(0)))
    lines = link_lines(ln, TextContext(details=True))
    assert lines[1] == LL + " promiscuity 0 "
    assert lines[2] == ("    bridge forward_delay 1500 bridge_id 8000.a:0:b:c:d:e designated_root "
                        "8000.a:0:b:c:d:e gc_timer  123.45 group_fwd_mask 0x4 ")
    d = ln.to_dict(details=True)
    assert d["promiscuity"] == 0
    assert d["linkinfo"] == {"info_kind": "bridge", "info_data": {
        "forward_delay": 1500, "bridge_id": "8000.a:0:b:c:d:e", "root_id": "8000.a:0:b:c:d:e",
        "gc_timer": 123.45, "group_fwd_mask": "0x4"}}
    assert "linkinfo" not in ln.to_dict()  # the default output is unchanged


def test_vxlan_and_macvlan_fields() -> None:
    vx = (_tlv(IFLA_VXLAN.ID, _u32(42)) + _tlv(IFLA_VXLAN.GROUP, bytes([239, 1, 1, 1]))
          + _tlv(IFLA_VXLAN.PORT, struct.pack("!H", 4789)) + _tlv(IFLA_VXLAN.LEARNING, b"\0")
          + _tlv(IFLA_VXLAN.TTL, b"\0") + _tlv(IFLA_VXLAN.AGEING, _u32(0))
          + _tlv(IFLA_VXLAN.UDP_CSUM, b"\0"))
    ln = _link(_base("vx") + _tlv(IFLA.LINKINFO, _tlv(IFLA_INFO.KIND, b"vxlan\0")
                                  + _tlv(IFLA_INFO.DATA, vx)))
    assert link_lines(ln, TextContext(details=True))[2] == (
        "    vxlan id 42 group 239.1.1.1 dstport 4789 nolearning ttl auto ageing none noudpcsum ")
    assert ln.to_dict(details=True)["linkinfo"]["info_data"] == {
        "id": 42, "group": "239.1.1.1", "port": 4789, "learning": False, "ttl": 0,
        "ageing": 0, "udp_csum": False}
    mv = _tlv(IFLA_MACVLAN.MODE, _u32(MACVLAN_MODE.PRIVATE)) + _tlv(IFLA_MACVLAN.FLAGS,
                                                                   struct.pack("=H", 1))
    ln = _link(_base("mv") + _tlv(IFLA.LINKINFO, _tlv(IFLA_INFO.KIND, b"macvlan\0")
                                  + _tlv(IFLA_INFO.DATA, mv)))
    assert link_lines(ln, TextContext(details=True))[2] == "    macvlan mode private nopromisc "
    veth = _link(_base() + _tlv(IFLA.LINKINFO, _tlv(IFLA_INFO.KIND, b"veth\0")))
    assert veth.to_dict(details=True)["linkinfo"] == {"info_kind": "veth"}


def _addr(family: int, local: bytes, plen: int, flags: int, attrs: bytes = b"",
          life: tuple[int, int] = (0xFFFFFFFF, 0xFFFFFFFF)) -> Address:
    body = ifaddrmsg.pack(family, plen, flags & 0xFF, 0, 3) + _tlv(IFA.ADDRESS, local) + attrs
    body += _tlv(IFA.FLAGS, _u32(flags)) + _tlv(IFA.CACHEINFO, ifa_cacheinfo.pack(
        life[1], life[0], 0, 0))
    return Address.from_bytes(message(RTM.NEWADDR, body))


def test_address_text() -> None:
    v6 = _addr(AF_INET6, bytes.fromhex("20010db8" + "0" * 23 + "1"), 64,
               int(IFA_F.SECONDARY | IFA_F.DEPRECATED | IFA_F.DADFAILED) | 0x1000,
               life=(100, 0xFFFFFFF6))
    assert addr_text(v6, TextContext()) == (
        "    inet6 2001:db8::1/64 scope global temporary dadfailed deprecated dynamic flags 1000 "
        "\n       valid_lft 100sec preferred_lft -10sec")
    v4 = _addr(AF_INET, bytes([10, 0, 0, 1]), 24, int(IFA_F.PERMANENT),
               _tlv(IFA.LOCAL, bytes([10, 0, 0, 1])) + _tlv(IFA.LABEL, b"ve0:1\0"))
    ctx = TextContext(names={3: "ve0"}, oneline=True)
    assert addr_text(v4, ctx) == ("3: ve0    inet 10.0.0.1/24 scope global ve0:1"
                                  "\n       valid_lft forever preferred_lft forever")
    ln = _link(_base())
    assert addr_lines(ln, [v4, v6], ctx) == [
        "3: ve0    inet 10.0.0.1/24 scope global ve0:1\\       valid_lft forever "
        "preferred_lft forever",
        "3: ve0    inet6 2001:db8::1/64 scope global temporary dadfailed deprecated dynamic "
        "flags 1000 \\       valid_lft 100sec preferred_lft -10sec"]
    assert addr_lines(ln, [v4], TextContext(brief=True)) == [
        "ve0              UP             10.0.0.1/24 "]
    block = addr_lines(ln, [v4], TextContext())
    assert block[0] == HEAD.replace("mode DEFAULT ", "")


def _neigh(state: int, flags: int = 0, lladdr: bool = True) -> Neighbour:
    body = ndmsg.pack(AF_INET, 3, state, flags, 1) + _tlv(NDA.DST, bytes([10, 0, 0, 9]))
    if lladdr:
        body += _tlv(NDA.LLADDR, _MAC)
    return Neighbour.from_bytes(message(RTM.NEWNEIGH, body))


def test_neighbour_selection_and_text() -> None:
    perm, noarp, none = _neigh(NUD.PERMANENT), _neigh(NUD.NOARP), _neigh(0)
    prox = _neigh(0, int(NTF.PROXY), lladdr=False)
    assert [neigh_shown(n) for n in (perm, noarp, none, prox)] == [True, False, False, False]
    assert [neigh_shown(n, nud_all=True) for n in (perm, noarp, none, prox)] == [
        True, True, True, False]
    assert [neigh_shown(n, proxy=True) for n in (perm, noarp, none, prox)] == [
        False, False, False, True]
    ctx = TextContext(names={3: "ve0"})
    assert neigh_line(perm, ctx) == "10.0.0.9 dev ve0 lladdr 02:00:00:00:00:01 PERMANENT "
    assert neigh_line(prox, ctx) == "10.0.0.9 dev ve0 proxy "
    router = _neigh(int(NUD.STALE), int(NTF.ROUTER))
    assert neigh_line(router, TextContext()) == (
        "10.0.0.9 dev if3 lladdr 02:00:00:00:00:01 router STALE ")
