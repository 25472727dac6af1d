"""nfnetlink_log against the real kernel, in private namespaces made here.

Oracles: the rules themselves (nft ``log group N prefix ...``, iptables
``-j NFLOG``), the sender's own bytes, ports and uid, ``ip -j link`` for
interface indexes, ``/proc/net/netfilter/nfnetlink_log`` and ``nf_log``, and
the socket's kernel drop counter for losses.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import struct
from collections.abc import Iterator

import pytest
from nsutil import Netns, sh
from procutil import fork, reap

from netring import NETLINK
from netring.codec import NLMSG
from netring.errors import NetlinkError, NotSupportedError
from netring.netns import run_in_netns
from netring.socket import NetlinkSocket
from netring.subsystems.nfnetlink.constants import NFPROTO
from netring.subsystems.nfnetlink.edge.log import Log
from netring.subsystems.nfnetlink.log import (
    NFULNL_CFG_CMD,
    NFULNL_CFG_F,
    NFULNL_COPY,
    NFULNL_MSG_TYPE_CONFIG,
    config_request,
)
from netring.subsystems.nfnetlink.structs import nfgenmsg

pytestmark = pytest.mark.skipif(shutil.which("nft") is None, reason="needs nft to add log rules")


def nft(ns: Netns, rules: str) -> None:
    # nft wants a newline or ';' between a chain's '}' and the table's
    sh("ip", "netns", "exec", ns.name, "nft", "-f", "-", input=rules.replace("} }", "}\n}"))


def send_udp(ns: Netns, n: int, port: int, payload: bytes = b"x" * 16,
             dst: str = "127.0.0.1", sport: int = 0) -> int:
    """Send ``n`` datagrams in ``ns``; returns the source port."""
    def run() -> int:
        fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", sport))
        for _ in range(n):
            s.sendto(payload, (dst, port))
        p = int(s.getsockname()[1])
        s.close()
        return p
    return run_in_netns(ns.path, run)


def link_index(ns: Netns, name: str) -> int:
    return int(next(ln["ifindex"] for ln in ns.ip_json("link", "show") if ln["ifname"] == name))


@pytest.fixture
def pair() -> Iterator[tuple[Netns, Netns]]:
    """Two namespaces joined by veth0 (a, 10.7.0.1) - veth1 (b, 10.7.0.2)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: creates network namespaces")
    a, b = Netns(), Netns()
    try:
        a.ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", b.name)
        for ns, dev, addr in ((a, "veth0", "10.7.0.1/24"), (b, "veth1", "10.7.0.2/24")):
            ns.ip("link", "set", dev, "up")
            ns.ip("addr", "add", addr, "dev", dev)
        yield a, b
    finally:
        a.close()
        b.close()


def test_prefix_payload_devices_mark_and_uid(pair: tuple[Netns, Netns]) -> None:
    a, b = pair
    nft(b, """table inet t {
      chain in { type filter hook input priority 0; udp dport 5001 meta mark set 0x2a
                 log group 3 prefix "in: " ; }
      chain out { type filter hook output priority 0; udp dport 5002 log group 4 prefix "out: " ; }
    }""")
    veth1 = link_index(b, "veth1")
    mac_a = next(ln["address"] for ln in a.ip_json("link", "show", "veth0"))
    with Log([3, 4], netns=b.name, qthresh=1) as log:
        sport = send_udp(a, 2, 5001, b"hello from a", dst="10.7.0.2")

        def as_user() -> None:  # a socket owned by uid/gid 4321 sends from b
            def run() -> None:
                os.setgid(4321)
                os.setuid(4321)
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.sendto(b"from uid 4321", ("10.7.0.1", 5002))
            run_in_netns(b.path, run)

        assert reap(fork(as_user)) == 0
        got = {}
        for m in log.messages(count=3, timeout=10):
            got.setdefault(m.group, []).append((m.copy(), bytes(m.payload or b"")))
    (m1, p1), (m2, p2) = got[3]
    for m, p in ((m1, p1), (m2, p2)):
        assert m.prefix == "in: " and m.hook == 1 and m.family == NFPROTO.IPV4
        assert m.indev == veth1 and m.outdev is None and m.mark == 0x2a
        assert m.hwaddr == bytes.fromhex(mac_a.replace(":", "")) and m.hwtype == 1
        assert p[28:] == b"hello from a" and struct.unpack_from("!H", p, 20)[0] == sport
        assert m.timestamp_ns is not None and m.uid is None
    assert (m1.seq_local, m2.seq_local) == (0, 1)
    [(m3, p3)] = got[4]
    assert m3.prefix == "out: " and m3.hook == 3 and m3.outdev == veth1 and m3.indev is None
    assert m3.uid == 4321 and m3.gid == 4321 and m3.timestamp_ns is None
    assert p3[28:] == b"from uid 4321"


def test_iptables_nflog_target(netns: Netns) -> None:
    if shutil.which("iptables") is None:
        pytest.skip("needs iptables for the NFLOG target")
    sh("ip", "netns", "exec", netns.name, "iptables", "-A", "OUTPUT", "-p", "udp",
       "--dport", "5003", "-j", "NFLOG", "--nflog-group", "9", "--nflog-prefix", "ipt: ",
       "--nflog-size", "40")
    with Log(9, netns=netns.name) as log:
        send_udp(netns, 1, 5003, b"y" * 100)
        [m] = [m.copy() for m in log.messages(count=1, timeout=10)]
    assert m.prefix == "ipt: " and m.group == 9 and m.payload_len == 40  # --nflog-size cuts


def test_many_messages_per_datagram_and_the_done(netns: Netns) -> None:
    nft(netns, """table ip t { chain out { type filter hook output priority 0;
                   udp dport 5004 log group 5 ; } }""")
    with Log(5, netns=netns.name, qthresh=50, timeout=30, nlbufsiz=131072) as log:
        send_udp(netns, 200, 5004)
        sizes = []
        for b in log.batches(idle=2):
            data = bytes(b.data)
            sizes.append(len(list(b)))
            # a batch of more than one message ends with NLMSG_DONE carrying the group
            length, type_ = struct.unpack_from("=IH", data, len(data) - 20)
            assert (length, type_) == (20, NLMSG.DONE)
            assert nfgenmsg.unpack_from(data, len(data) - 4) == (0, 0, 5)
            if sum(sizes) == 200:
                break
    assert sizes == [50, 50, 50, 50]  # qthresh reached each time; the 30 s timer never ran
    assert log.stats.datagrams == 4 and log.stats.seq_gaps == 0


def test_many_groups_on_one_socket_and_many_sockets(netns: Netns) -> None:
    nft(netns, """table ip t { chain out { type filter hook output priority 0;
        udp dport 6001 log group 11 ; udp dport 6002 log group 12 ;
        udp dport 6003 log group 13 ; udp dport 6001 log group 14 ; } }""")
    with Log([11, 12, 13], netns=netns.name, qthresh=1) as one, \
            Log(14, netns=netns.name, qthresh=1) as two:
        assert {i.group: i.portid for i in one.instances()} == {
            11: one.conn.portid, 12: one.conn.portid, 13: one.conn.portid,
            14: two.conn.portid}
        for port, n in ((6001, 3), (6002, 2), (6003, 1)):
            send_udp(netns, n, port)
        counts: dict[int, int] = {}
        for m in one.messages(count=6, timeout=10):
            counts[m.group] = counts.get(m.group, 0) + 1
        assert counts == {11: 3, 12: 2, 13: 1}
        assert [m.group for m in two.messages(count=3, timeout=10)] == [14, 14, 14]
        one.unbind(12)
        assert sorted(i.group for i in one.instances()) == [11, 13, 14]


def test_forced_gaps_equal_the_kernels_drops_one_message_per_datagram(netns: Netns) -> None:
    """qthresh 1: every datagram is one message, and the kernel drops whole datagrams,
    each counted once in sk_drops: the sequence gaps equal the drop count exactly."""
    nft(netns, """table ip t { chain out { type filter hook output priority 0;
                   udp dport 5005 log group 6 ; } }""")
    burst = 3000
    with Log(6, netns=netns.name, qthresh=1, rcvbuf=4096, grow=False) as log:
        assert log.conn.drops() == 0
        send_udp(netns, burst, 5005, b"z" * 200)  # nothing read meanwhile
        drops = log.conn.drops()
        assert drops is not None and drops > 0
        got = 0
        for _ in log.messages(idle=0.5):
            got += 1
        send_udp(netns, 1, 5005)  # the next message shows a gap at the end of the burst
        got += len(list(log.messages(count=1, timeout=10)))
        st = log.refresh_stats()
    assert st.drops == drops  # nothing dropped after the burst
    assert st.seq_gaps == drops and got + st.seq_gaps == burst + 1
    assert st.overruns >= 1 and st.messages == got


def test_forced_gaps_with_batches_are_whole_batches(netns: Netns) -> None:
    """qthresh 10 and a timer that never runs: every datagram carries 10 messages, so the
    gaps are ten times the drops."""
    nft(netns, """table ip t { chain out { type filter hook output priority 0;
                   udp dport 5006 log group 7 ; } }""")
    burst = 3000
    with Log(7, netns=netns.name, qthresh=10, timeout=60, rcvbuf=4096, grow=False) as log:
        send_udp(netns, burst, 5006, b"z" * 200)
        got = sum(1 for _ in log.messages(idle=0.5))
        send_udp(netns, 10, 5006)
        got += len(list(log.messages(count=10, timeout=10)))
        st = log.refresh_stats()
    assert st.drops and st.seq_gaps == 10 * st.drops
    assert got + st.seq_gaps == burst + 10


def test_growth_after_an_overrun(netns: Netns) -> None:
    nft(netns, """table ip t { chain out { type filter hook output priority 0;
                   udp dport 5007 log group 8 ; } }""")
    with Log(8, netns=netns.name, qthresh=1, rcvbuf=4096, nlbufsiz=8192) as log:
        before = log.stats.rcvbuf
        send_udp(netns, 2000, 5007, b"z" * 200)
        for _ in log.messages(idle=0.5):
            pass
        st = log.refresh_stats()
        assert st.overruns >= 1 and st.grown >= 1 and st.rcvbuf > before
        assert st.nlbufsiz >= 16384
        send_udp(netns, 1, 5007)  # shows the gap at the end of the burst
        assert len(list(log.messages(count=1, timeout=10))) == 1
        gaps = log.stats.seq_gaps
        assert gaps > 0
        # still receiving, with room now: nothing more lost
        send_udp(netns, 5, 5007)
        assert len(list(log.messages(count=5, timeout=10))) == 5
        assert log.stats.seq_gaps == gaps


def test_pf_bind_makes_nflog_the_familys_logger(netns: Netns) -> None:
    def nf_log() -> str:
        def read() -> str:
            with open("/proc/thread-self/net/netfilter/nf_log") as f:
                return f.read()
        return run_in_netns(netns.path, read)

    def logger_of(family: int) -> str:
        for line in nf_log().splitlines():
            num, name = line.split()[:2]
            if int(num) == family:
                return name
        raise AssertionError(f"family {family} not listed")

    with Log(netns=netns.name) as log:
        log.unbind_pf(NFPROTO.IPV4)
        assert logger_of(2) == "NONE"
        log.bind_pf(NFPROTO.IPV4)
        assert logger_of(2) == "nfnetlink_log"
        log.unbind_pf(NFPROTO.IPV4)
        assert logger_of(2) == "NONE"


def test_another_socket_owns_the_group(netns: Netns) -> None:
    with Log(20, netns=netns.name) as first:
        with pytest.raises(NetlinkError) as ei:
            Log(20, netns=netns.name)
        assert ei.value.errno == errno.EPERM
        assert f"log group 20 is bound by port id {first.conn.portid}" in str(ei.value)


def test_kernel_answers_to_config_requests(netns: Netns) -> None:
    """What the kernel says, asked directly: EBUSY binding twice, ENODEV for a group not
    bound, ERANGE for a timeout of the wrong size; an instance shows in /proc."""
    with NetlinkSocket(NETLINK.NETFILTER, netns=netns.path) as s:
        s.request_raw(config_request(21, cmd=NFULNL_CFG_CMD.BIND))
        with pytest.raises(NetlinkError) as ei:
            s.request_raw(config_request(21, cmd=NFULNL_CFG_CMD.BIND))
        assert ei.value.errno == errno.EBUSY
        with pytest.raises(NetlinkError) as ei:
            s.request_raw(config_request(22, qthresh=5))
        assert ei.value.errno == errno.ENODEV
        with pytest.raises(NetlinkError) as ei:
            s.request_raw(config_request(22, cmd=NFULNL_CFG_CMD.UNBIND))
        assert ei.value.errno == errno.ENODEV
        short = bytearray(config_request(21))
        short += struct.pack("=HH", 6, 4) + b"\0\1\0\0"  # NFULA_CFG_TIMEOUT of 2 bytes
        struct.pack_into("=I", short, 0, len(short))
        with pytest.raises(NetlinkError) as ei:
            s.request_raw(short)
        assert ei.value.errno == errno.ERANGE
        assert struct.unpack_from("=H", short, 4)[0] == NFULNL_MSG_TYPE_CONFIG


def test_conntrack_flag(netns: Netns) -> None:
    """NFULNL_CFG_F_CONNTRACK: a NotSupportedError on kernels without the conntrack glue
    (this one has none: CONFIG_NETFILTER_NETLINK_GLUE_CT unset), else NFULA_CT arrives."""
    nft(netns, """table ip t { chain out { type filter hook output priority 0;
                   ct state new udp dport 5008 log group 23 ; } }""")
    try:
        log = Log(23, netns=netns.name, qthresh=1,
                  flags=NFULNL_CFG_F.SEQ | NFULNL_CFG_F.CONNTRACK)
    except NotSupportedError as exc:
        assert "CONFIG_NETFILTER_NETLINK_GLUE_CT" in str(exc)
        with Log(netns=netns.name) as other:
            assert other.instances() == []  # nothing was left bound
        return
    with log:
        send_udp(netns, 1, 5008)
        [m] = [m.copy() for m in log.messages(count=1, timeout=10)]
    assert m.ct is not None and len(m.ct) > 0 and m.ct_info is not None


def test_copy_modes(netns: Netns) -> None:
    nft(netns, """table ip t { chain out { type filter hook output priority 0;
                   udp dport 5009 log group 24 ; udp dport 5009 log group 25 ; } }""")
    with Log(netns=netns.name, qthresh=1) as log:
        log.bind(24, copy_mode=NFULNL_COPY.META)
        log.bind(25, copy_range=30)
        assert {i.group: (i.copy_mode, i.copy_range) for i in log.instances()} == {
            24: (1, 0), 25: (2, 30)}
        send_udp(netns, 1, 5009, b"q" * 100)
        got = {m.group: m.payload_len for m in log.messages(count=2, timeout=10)}
    assert got == {24: 0, 25: 30}


def test_netdev_family_l2_header(pair: tuple[Netns, Netns]) -> None:
    a, b = pair
    nft(b, """table netdev t { chain ing { type filter hook ingress device veth1 priority 0;
                 udp dport 5010 log group 26 ; } }""")
    mac_b = next(ln["address"] for ln in b.ip_json("link", "show", "veth1"))
    with Log(26, netns=b.name, qthresh=1) as log:
        send_udp(a, 1, 5010, dst="10.7.0.2")
        [m] = [m.copy() for m in log.messages(count=1, timeout=10)]
    l2 = m.l2hdr
    assert m.family == NFPROTO.NETDEV and l2 is not None and len(l2) == 14
    assert bytes(l2[:6]) == bytes.fromhex(mac_b.replace(":", ""))
    assert m.to_dict()["hook"] == "ingress"


def test_asyncio(netns: Netns) -> None:
    import asyncio

    nft(netns, """table ip t { chain out { type filter hook output priority 0;
                   udp dport 5011 log group 27 ; } }""")
    with Log(27, netns=netns.name, qthresh=1) as log:
        send_udp(netns, 3, 5011)

        async def take() -> list[int | None]:
            return [m.seq_local async for m in log.amessages(count=3, timeout=10)]

        assert asyncio.run(take()) == [0, 1, 2]


def test_interface_names_on_demand(pair: tuple[Netns, Netns]) -> None:
    _, b = pair
    with Log(netns=b.name) as log:
        assert log.ifname(link_index(b, "veth1")) == "veth1"
        b.ip("link", "add", "extra0", "type", "veth", "peer", "name", "extra1")
        log._names_at -= 2  # as if the names were read two seconds ago
        assert log.ifname(link_index(b, "extra1")) == "extra1"
        assert log.ifname(None) is None
