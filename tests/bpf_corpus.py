"""Hand-built Ethernet frames and tcpdump expressions for the classic BPF tests.

The frames cover IPv4/IPv6 TCP/UDP/ICMP, ARP, fragments, IP options, IPv6
extension headers, VLAN and QinQ tags, 802.3/LLC, broadcast and multicast
destinations, and short or truncated frames.  Checksums are not filled in:
nothing on the path from one veth end to a packet socket on the other checks them.

``kernel_view(frame, ...)`` is what an ``AF_PACKET`` socket's filter on the
receiving veth end sees: the receive path takes the outer 802.1Q/802.1ad tag out
of the bytes (``skb_vlan_untag``) into the skb's VLAN fields, and
``eth_type_trans`` sets the packet type and protocol.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from netring.packet.bpf import BPF_ALU_OP as A
from netring.packet.bpf import BPF_CLASS as C
from netring.packet.bpf import BPF_JMP_OP as J
from netring.packet.bpf import BPF_MODE as M
from netring.packet.bpf import BPF_RVAL as R
from netring.packet.bpf import BPF_SIZE as S
from netring.packet.bpf import BPF_SRC as X
from netring.packet.bpf import SKF_AD, SKF_AD_OFF, Instruction, Program, jump, stmt

MAC_TX = bytes.fromhex("020000000001")  # veth0, the sending end
MAC_RX = bytes.fromhex("020000000002")  # veth1, the receiving end
MAC_OTHER = bytes.fromhex("02000000aa99")
BROADCAST = b"\xff" * 6
MCAST_MDNS = bytes.fromhex("01005e0000fb")
MCAST_V6_NS = bytes.fromhex("3333ff000002")
MCAST_V6_ALL = bytes.fromhex("333300000001")
STP_DST = bytes.fromhex("0180c2000000")
LLDP_DST = bytes.fromhex("0180c200000e")

PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST = 0, 1, 2, 3
ETH_P_802_3, ETH_P_802_2 = 0x0001, 0x0004
ARPHRD_ETHER = 1

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR = (
    0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80)


def v4(text: str) -> bytes:
    return bytes(int(p) for p in text.split("."))


def v6(text: str) -> bytes:
    import ipaddress

    return ipaddress.IPv6Address(text).packed


def eth(dst: bytes, src: bytes, ethertype: int, payload: bytes = b"") -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def tagged(dst: bytes, src: bytes, tci: int, ethertype: int, payload: bytes,
           tpid: int = 0x8100) -> bytes:
    return dst + src + struct.pack("!HHH", tpid, tci, ethertype) + payload


def ipv4(src: str, dst: str, proto: int, payload: bytes = b"", *, ttl: int = 64, tos: int = 0,
         ident: int = 1, flags_frag: int = 0, options: bytes = b"", ihl: int | None = None,
         version: int = 4) -> bytes:
    hl = ihl if ihl is not None else 5 + len(options) // 4
    total = 20 + len(options) + len(payload)
    return struct.pack("!BBHHHBBH4s4s", version << 4 | hl, tos, total, ident, flags_frag, ttl,
                       proto, 0, v4(src), v4(dst)) + options + payload


def ipv6(src: str, dst: str, nh: int, payload: bytes = b"", *, hlim: int = 64) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, hlim, v6(src), v6(dst)) + payload


def tcp(sport: int, dport: int, flags: int, payload: bytes = b"", *, options: bytes = b"") -> bytes:
    doff = 5 + len(options) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, doff << 4, flags, 65535, 0, 0) \
        + options + payload


def udp(sport: int, dport: int, payload: bytes = b"") -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(type_: int, code: int, payload: bytes = b"") -> bytes:
    return struct.pack("!BBHI", type_, code, 0, 0x12340001) + payload


def arp(op: int, sha: bytes, spa: str, tha: bytes, tpa: str) -> bytes:
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, v4(spa), tha, v4(tpa))


def pad(n: int) -> bytes:
    return bytes(i & 0xFF for i in range(n))


def _frames() -> list[tuple[str, bytes]]:
    a, b, o = MAC_TX, MAC_RX, MAC_OTHER
    syn = tcp(40000, 80, TCP_SYN, options=b"\x02\x04\x05\xb4")
    f: list[tuple[str, bytes]] = [
        ("v4 tcp syn :80", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, syn))),
        ("v4 tcp syn-ack from :80", eth(a, b, 0x0800, ipv4("10.0.0.2", "10.0.0.1", 6,
                                                           tcp(80, 40000, TCP_SYN | TCP_ACK)))),
        ("v4 tcp ack :443 200B", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6,
                                                        tcp(40001, 443, TCP_ACK, pad(200))))),
        ("v4 tcp fin-ack :22", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6,
                                                      tcp(50022, 22, TCP_FIN | TCP_ACK)))),
        ("v4 tcp rst :8080", eth(b, a, 0x0800, ipv4("10.0.0.3", "10.0.0.2", 6,
                                                    tcp(8080, 41000, TCP_RST)))),
        ("v4 options tcp syn :80", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, syn,
                                                          options=b"\x01\x01\x01\x00"))),
        ("v4 tcp psh-ack :80 1000B", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6,
                                                            tcp(40002, 80, TCP_PSH | TCP_ACK,
                                                                pad(1000))))),
        ("v4 udp dns query", eth(b, a, 0x0800, ipv4("10.0.0.1", "8.8.8.8", 17,
                                                    udp(53000, 53, pad(30))))),
        ("v4 udp dns reply", eth(a, b, 0x0800, ipv4("8.8.8.8", "10.0.0.1", 17,
                                                    udp(53, 53000, pad(90))))),
        ("v4 udp :5000", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 17, udp(33000, 5000)))),
        ("v4 udp :6000", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 17, udp(33000, 6000)))),
        ("v4 udp dhcp broadcast", eth(BROADCAST, a, 0x0800,
                                      ipv4("0.0.0.0", "255.255.255.255", 17,
                                           udp(68, 67, pad(240))))),
        ("v4 udp mdns multicast", eth(MCAST_MDNS, a, 0x0800,
                                      ipv4("10.0.0.1", "224.0.0.251", 17, udp(5353, 5353, pad(40)),
                                           ttl=255))),
        ("v4 icmp echo", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 1, icmp(8, 0, pad(56))))),
        ("v4 icmp echo reply", eth(a, b, 0x0800, ipv4("10.0.0.2", "10.0.0.1", 1,
                                                      icmp(0, 0, pad(56))))),
        ("v4 icmp unreachable", eth(b, a, 0x0800, ipv4("10.0.0.254", "10.0.0.1", 1,
                                                       icmp(3, 3, pad(28))))),
        ("v4 first fragment udp :53", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 17,
                                                             udp(53001, 53, pad(64)),
                                                             flags_frag=0x2000))),
        ("v4 later fragment", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 17,
                                                     udp(53001, 53, pad(64)), flags_frag=185))),
        ("v4 ttl 1 tcp :80", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6,
                                                    tcp(40003, 80, TCP_SYN), ttl=1))),
        ("v4 tos 0x10 udp", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2),
                                                   tos=0x10))),
        ("v4 192.168 tcp :80", eth(b, a, 0x0800, ipv4("192.168.1.10", "10.0.0.2", 6,
                                                      tcp(40004, 80, TCP_ACK)))),
        ("v4 172.16 udp ntp", eth(o, a, 0x0800, ipv4("172.16.5.4", "10.1.2.3", 17,
                                                     udp(123, 123, pad(48))))),
        ("v4 gre", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 47, pad(24)))),
        ("v4 sctp", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 132, pad(32)))),
        ("v4 header cut at 10B", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6)[:10])),
        ("v4 tcp cut at 2B", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6,
                                                    tcp(40005, 80, TCP_SYN))[:22])),
        ("v4 tcp cut at 4B", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6,
                                                    tcp(40005, 80, TCP_SYN))[:24])),
        ("ethernet header only", eth(b, a, 0x0800)),
        ("arp request", eth(BROADCAST, a, 0x0806,
                            arp(1, a, "10.0.0.1", b"\x00" * 6, "10.0.0.2"))),
        ("arp reply", eth(a, b, 0x0806, arp(2, b, "10.0.0.2", a, "10.0.0.1"))),
        ("v6 tcp syn :80", eth(b, a, 0x86DD, ipv6("2001:db8::1", "2001:db8::2", 6,
                                                  tcp(40010, 80, TCP_SYN)))),
        ("v6 udp dns", eth(b, a, 0x86DD, ipv6("2001:db8::1", "2001:db8:1::53", 17,
                                              udp(53010, 53, pad(40))))),
        ("v6 icmp6 echo", eth(b, a, 0x86DD, ipv6("2001:db8::1", "2001:db8::2", 58,
                                                 icmp(128, 0, pad(32))))),
        ("v6 neighbour solicitation", eth(MCAST_V6_NS, a, 0x86DD,
                                          ipv6("fe80::1", "ff02::1:ff00:2", 58,
                                               icmp(135, 0, pad(24)), hlim=255))),
        ("v6 hop-by-hop then udp", eth(b, a, 0x86DD, ipv6("2001:db8::1", "2001:db8::2", 0,
                                                          bytes([17, 0, 1, 4, 0, 0, 0, 0])
                                                          + udp(9000, 9001, pad(8))))),
        ("v6 fragment then tcp", eth(b, a, 0x86DD, ipv6("2001:db8::1", "2001:db8::2", 44,
                                                        bytes([6, 0, 0, 1, 0, 0, 0, 7])
                                                        + tcp(40011, 443, TCP_ACK)))),
        ("v6 link-local all-nodes", eth(MCAST_V6_ALL, a, 0x86DD,
                                        ipv6("fe80::1", "ff02::1", 58, icmp(134, 0, pad(16))))),
        ("v6 cut at 20B", eth(b, a, 0x86DD, ipv6("2001:db8::1", "2001:db8::2", 6)[:20])),
        ("vlan 100 v4 tcp :80", tagged(b, a, 100, 0x0800,
                                       ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40012, 80, TCP_SYN)))),
        ("vlan 200 prio 5 arp", tagged(BROADCAST, a, 5 << 13 | 200, 0x0806,
                                       arp(1, a, "10.0.0.1", b"\x00" * 6, "10.0.0.9"))),
        ("qinq 300/400 v4 udp", tagged(b, a, 300, 0x8100,
                                       struct.pack("!HH", 400, 0x0800)
                                       + ipv4("10.0.0.1", "10.0.0.2", 17, udp(7, 7, pad(20))),
                                       tpid=0x88A8)),
        ("802.3 llc stp", STP_DST + a + struct.pack("!H", 38) + b"\x42\x42\x03" + pad(35)),
        ("802.3 raw novell", BROADCAST + a + struct.pack("!H", 30) + b"\xff\xff" + pad(28)),
        ("ethertype 0x88b5", eth(b, a, 0x88B5, pad(46))),
        ("lldp", eth(LLDP_DST, a, 0x88CC, pad(60))),
        ("v4 tcp :80 1400B", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6,
                                                    tcp(40013, 80, TCP_ACK, pad(1400))))),
        ("v4 ihl 15 udp", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 17, udp(1000, 2000),
                                                 options=b"\x01" * 40))),
        ("v4 tcp ecn cwr", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6,
                                                  tcp(40014, 80, TCP_ACK | TCP_ECE | TCP_CWR)))),
        ("v4 udp ports 65535 -> 0", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 17,
                                                           udp(65535, 0)))),
        ("v4 to 10.0.0.255", eth(BROADCAST, a, 0x0800, ipv4("10.0.0.1", "10.0.0.255", 17,
                                                            udp(138, 138, pad(20))))),
        ("v6 tcp :443 300B", eth(b, a, 0x86DD, ipv6("2001:db8:2::7", "2001:db8::2", 6,
                                                    tcp(40015, 443, TCP_PSH | TCP_ACK,
                                                        pad(300))))),
        ("v4 ihl 3 (bad)", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6,
                                                  tcp(40016, 80, TCP_SYN), ihl=3))),
        ("v6 inside ethertype 0x0800", eth(b, a, 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6,
                                                              tcp(1, 2, 0), version=6))),
        ("other-host v4 tcp :25", eth(o, a, 0x0800, ipv4("10.9.9.9", "10.8.8.8", 6,
                                                         tcp(25, 40017, TCP_ACK)))),
    ]
    return f


#: (name, frame) in send order; every frame is distinct
FRAMES: list[tuple[str, bytes]] = _frames()
assert len({f for _, f in FRAMES}) == len(FRAMES)

#: (expression, snaplen) pairs; most with tcpdump's default snaplen, some shorter so the
#: accepting `ret` truncates
EXPRESSIONS: list[tuple[str, int]] = [(e, 262144) for e in (
    "ip", "ip6", "arp", "tcp", "udp", "icmp", "icmp6", "sctp",
    "port 53", "tcp port 80", "udp port 53", "src port 53", "dst port 80", "dst port 0",
    "portrange 5000-5100", "tcp portrange 1-1024", "udp portrange 100-200",
    "host 10.0.0.1", "src host 10.0.0.1", "dst host 10.0.0.2", "dst host 10.0.0.255",
    "net 192.168.0.0/16", "src net 172.16.0.0/12", "dst net 10.0.0.0/8",
    "ip6 host 2001:db8::1", "ip6 net 2001:db8::/32", "ip6 dst net 2001:db8:1::/48",
    "ether broadcast", "ether multicast", "ether host 02:00:00:00:00:02",
    "ether src 02:00:00:00:00:02", "ether dst ff:ff:ff:ff:ff:ff", "ether proto 0x88cc",
    "tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)",
    "tcp[tcpflags] & tcp-rst != 0", "tcp[13] & 0x11 = 0x11", "tcp[tcpflags] == tcp-syn",
    "tcp[tcpflags] & (tcp-ece|tcp-cwr) != 0", "tcp[0:2] > 1023",
    "len > 100", "len <= 64", "greater 500", "less 60",
    "ip[8] < 5", "ip[1] & 0xfc = 0x10", "ip[6:2] & 0x1fff != 0", "ip[6] & 0x20 != 0",
    "ip[0] & 0xf > 5", "ip[2:2] > 576",
    "icmp[icmptype] = icmp-echo", "icmp[icmptype] == icmp-echoreply", "icmp6 and ip6[40] == 128",
    "ip proto 47", "ip6 proto 58", "ip multicast", "ip6 multicast",
    "not ip", "not tcp and not udp", "tcp or udp", "ip and (tcp port 80 or udp port 53)",
    "arp and ether broadcast", "host 10.0.0.1 and not port 22",
    "(src net 10.0.0.0/8 or src net 192.168.0.0/16) and tcp",
    "vlan", "vlan 100", "vlan and arp", "llc", "stp", "ether[12:2] = 0x8100",
    "ether[0] & 1 = 1", "udp[8:2] == 0x0001", "ip6[6] == 17",
)] + [("ip", 64), ("len > 100", 96), ("tcp port 80", 60), ("ip6", 128), ("arp", 42),
      ("udp", 1)]


@dataclass(frozen=True)
class View:
    """What the receiving socket's filter sees of one frame."""

    data: bytes
    ancillary: dict[int, int]


def kernel_view(frame: bytes, ifindex: int, rx_mac: bytes = MAC_RX) -> View:
    """The bytes and skb fields a packet socket's filter on the receiving veth sees."""
    data = frame
    vlan = {SKF_AD.VLAN_TAG_PRESENT: 0, SKF_AD.VLAN_TAG: 0, SKF_AD.VLAN_TPID: 0}
    tpid = struct.unpack_from("!H", frame, 12)[0]
    if tpid in (0x8100, 0x88A8) and len(frame) >= 18:
        tci = struct.unpack_from("!H", frame, 14)[0]
        data = frame[:12] + frame[16:]
        vlan = {SKF_AD.VLAN_TAG_PRESENT: 1, SKF_AD.VLAN_TAG: tci, SKF_AD.VLAN_TPID: tpid}
    dst = data[:6]
    if dst[0] & 1:
        pkttype = PACKET_BROADCAST if dst == BROADCAST else PACKET_MULTICAST
    else:
        pkttype = PACKET_HOST if dst == rx_mac else PACKET_OTHERHOST
    proto = struct.unpack_from("!H", data, 12)[0]
    if proto < 0x0600:
        proto = ETH_P_802_3 if data[14:16] == b"\xff\xff" else ETH_P_802_2
    return View(data, {SKF_AD.PROTOCOL: proto, SKF_AD.PKTTYPE: pkttype, SKF_AD.IFINDEX: ifindex,
                       SKF_AD.HATYPE: ARPHRD_ETHER, SKF_AD.MARK: 0, SKF_AD.QUEUE: 0, **vlan})


# -- programs the kernel's checker refuses, by the rule netring names, and some it takes ----------
def _bad_and_good() -> tuple[list[tuple[str, Program]], list[Program]]:
    ret0, ret_a = stmt(C.RET | R.K, 0), stmt(C.RET | R.A)
    ldh12 = stmt(C.LD | S.H | M.ABS, 12)

    def p(*insns: Instruction) -> Program:
        return Program(insns)

    bad = [
        ("length", p()),
        ("length", Program((ret0,) * 4097)),
        ("opcode", p(stmt(C.RET | R.X), ret0)),
        ("opcode", p(stmt(C.LD | S.H | M.IMM, 1), ret0)),
        ("opcode", p(stmt(C.LDX | S.W | M.ABS, 0), ret0)),  # seccomp's load, not sockets'
        ("opcode", p(stmt(C.ALU | A.NEG | X.X), ret0)),
        ("opcode", p(stmt(C.JMP | J.JA | X.X), ret0)),
        ("opcode", p(stmt(C.MISC | 0x08), ret0)),
        ("opcode", p(stmt(0xFFFF), ret0)),
        ("div-by-zero", p(stmt(C.ALU | A.DIV | X.K, 0), ret_a)),
        ("div-by-zero", p(stmt(C.ALU | A.MOD | X.K, 0), ret_a)),
        ("shift", p(stmt(C.ALU | A.LSH | X.K, 32), ret_a)),
        ("shift", p(stmt(C.ALU | A.RSH | X.K, 0xFFFFFFFF), ret_a)),
        ("scratch-index", p(stmt(C.ST, 16), ret_a)),
        ("scratch-index", p(stmt(C.LDX | M.MEM, 99), ret_a)),
        ("jump-range", p(stmt(C.JMP | J.JA, 1), ret0)),
        ("jump-range", p(ret0, stmt(C.JMP | J.JA, 0xFFFFFFFF), ret0)),  # backwards
        ("jump-range", p(ldh12, jump(C.JMP | J.JEQ | X.K, 0x800, 2, 0), ret0, ret_a)),
        ("jump-range", p(ldh12, jump(C.JMP | J.JGT | X.X, 0, 0, 5), ret0, ret_a)),
        ("jump-range", p(ret0, jump(C.JMP | J.JSET | X.K, 1, 0, 0))),  # a jump as the last
        ("ancillary", p(stmt(C.LD | S.W | M.ABS, SKF_AD_OFF + 64), ret_a)),
        ("ancillary", p(stmt(C.LD | S.H | M.ABS, SKF_AD_OFF + 2), ret_a)),
        ("ancillary", p(stmt(C.LD | S.B | M.ABS, -1), ret_a)),
        ("last-ret", p(stmt(C.LD | M.IMM, 1))),
        ("last-ret", p(ret0, stmt(C.MISC | 0x00))),
        ("scratch-uninit", p(stmt(C.LD | M.MEM, 0), ret_a)),
        ("scratch-uninit", p(ldh12, jump(C.JMP | J.JEQ | X.K, 0x800, 0, 1), stmt(C.ST, 2),
                             stmt(C.LD | M.MEM, 2), ret_a)),
        ("scratch-uninit", p(stmt(C.ST, 1), stmt(C.JMP | J.JA, 1), stmt(C.ST, 2),
                             stmt(C.LDX | M.MEM, 2), ret_a)),
    ]
    good = [
        p(ret0),
        p(ret_a),
        Program((stmt(C.LD | M.IMM, 7),) * 4095 + (ret_a,)),
        p(ldh12, jump(C.JMP | J.JEQ | X.K, 0x800, 0, 2), stmt(C.ST, 2), stmt(C.JMP | J.JA, 1),
          stmt(C.STX, 2), stmt(C.LD | M.MEM, 2), ret_a),
        p(stmt(C.ST, 15), stmt(C.LDX | M.MEM, 15), stmt(C.ALU | A.LSH | X.K, 31),
          stmt(C.ALU | A.DIV | X.K, 1), stmt(C.ALU | A.MOD | X.X), ret_a),
        *[p(stmt(C.LD | S.W | M.ABS, SKF_AD_OFF + int(ad)), ret_a) for ad in SKF_AD
          if ad is not SKF_AD.MAX],
        p(stmt(C.LD | S.B | M.ABS, SKF_AD_OFF - 1), ret_a),  # below SKF_AD_OFF: a header load
        p(stmt(C.LDX | S.B | M.MSH, SKF_AD_OFF + 64), ret_a),  # only absolute loads are checked
        p(stmt(C.LD | S.W | M.IND, SKF_AD_OFF + 64), ret_a),
        p(jump(C.JMP | J.JGE | X.X, 0, 1, 1), ret0, ret_a),
    ]
    return bad, good


BAD_PROGRAMS, GOOD_PROGRAMS = _bad_and_good()
