"""NetlinkSocket against the real kernel, each test inside a private network namespace."""

from __future__ import annotations

import errno
import os
import selectors
import socket
import struct
import subprocess
import threading

import pytest
from nsutil import Netns

from netring import NETLINK, NLM_F, DumpInterrupted, Message, NetlinkError, _sys
from netring.codec import Builder
from netring.netns import current_netns, run_in_netns, socket_in
from netring.socket import NetlinkSocket, net_core_rmem_max

RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR, RTM_GETADDR = 16, 18, 20, 22
IFLA_IFNAME, IFLA_MTU, IFLA_LINKINFO, IFLA_INFO_KIND = 3, 4, 18, 1
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTNLGRP_LINK = 1
ifinfomsg = struct.Struct("=BxHiII")
ifaddrmsg = struct.Struct("=BBBBI")
LINK_DUMP = ifinfomsg.pack(socket.AF_UNSPEC, 0, 0, 0, 0)


def link_names(msgs: list[Message]) -> list[str]:
    out = []
    for m in msgs:
        for a in m.attrs(ifinfomsg.size):
            if a.type == IFLA_IFNAME:
                out.append(a.text())
    return out


def dump_link_names(sock: NetlinkSocket) -> list[str]:
    names = []
    for m in sock.dump(RTM_GETLINK, LINK_DUMP, op="RTM_GETLINK"):
        assert m.type == RTM_NEWLINK and m.flags & NLM_F.MULTI
        names.extend(link_names([m]))
    return names


def test_dump_links_of_a_namespace_matches_ip(netns: Netns) -> None:
    netns.add_veth("nrtva", "nrtvb")
    netns.add_veth("nrtvc", "nrtvd")
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as sock:
        names = dump_link_names(sock)
        assert sock.stale == 0
    expected = [link["ifname"] for link in netns.ip_json("link")]
    assert sorted(names) == sorted(expected)
    assert {"lo", "nrtva", "nrtvb", "nrtvc", "nrtvd"} <= set(names)


def test_dump_addresses_of_a_namespace(netns: Netns) -> None:
    netns.add_veth("nrtva", "nrtvb")
    netns.ip("addr", "add", "192.0.2.1/24", "dev", "nrtva")
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as sock:
        addrs = []
        for m in sock.dump(RTM_GETADDR, ifaddrmsg.pack(socket.AF_INET, 0, 0, 0, 0)):
            for a in m.attrs(ifaddrmsg.size):
                if a.type == IFA_LOCAL:
                    addrs.append(str(a.ip()))
    assert sorted(addrs) == ["127.0.0.1", "192.0.2.1"]


def test_dump_early_stop_leaves_the_socket_usable(netns: Netns) -> None:
    for i in range(40):  # enough links for several dump chunks
        netns.add_veth(f"e{i}a", f"e{i}b", up=False)
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as sock:
        for _m in sock.dump(RTM_GETLINK, LINK_DUMP):
            break
        assert len(dump_link_names(sock)) == 81  # a second dump works (no EBUSY)


def test_unknown_link_kind_raises_with_extended_ack(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as sock:
        assert sock.features["ext_ack"] and sock.features["cap_ack"]
        body = Builder(256)
        body.begin(0)  # build in place; request() gets the body (after the 16-byte header)
        body.put_struct(ifinfomsg, 0, 0, 0, 0, 0)
        body.attr_str(IFLA_IFNAME, "nrtbad0")
        nest = body.nest_start(IFLA_LINKINFO)
        body.attr_str(IFLA_INFO_KIND, "no-such-kind")
        body.nest_end(nest)
        body.end()
        with pytest.raises(NetlinkError) as ei:
            sock.request(
                RTM_NEWLINK, body.view()[16:],
                NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL, op="RTM_NEWLINK",
            )
    e = ei.value
    assert e.errno == errno.EOPNOTSUPP
    assert e.op == "RTM_NEWLINK" and e.seq > 0
    assert e.ext_msg  # the kernel's text, e.g. "Unknown device type"
    proc = netns.ip("link", "add", "nrtbad0", "type", "no-such-kind", check=False)
    assert proc.returncode != 0  # iproute2 agrees the request is invalid


def test_bad_attribute_reports_its_offset(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as sock:
        b = Builder(256)
        b.begin(RTM_NEWLINK, NLM_F.REQUEST | NLM_F.ACK)
        b.put_struct(ifinfomsg, 0, 0, 1, 0, 0)
        bad_at = b.attr_u8(IFLA_MTU, 1)  # IFLA_MTU must be a u32
        b.end()
        with pytest.raises(NetlinkError) as ei:
            sock.request_raw(b.view(), op="RTM_NEWLINK")
    assert ei.value.errno == errno.ERANGE
    assert ei.value.ext_offset == bad_at
    assert ei.value.ext_msg


def test_request_returns_the_reply_then_ack(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as sock:
        out = sock.request(RTM_GETLINK, ifinfomsg.pack(0, 0, 1, 0, 0), op="RTM_GETLINK")
        assert link_names(out) == ["lo"]
        assert sock.last_ack is not None and sock.last_ack.is_ack
        out = sock.request(RTM_GETLINK, ifinfomsg.pack(0, 0, 1, 0, 0), NLM_F.REQUEST)
        assert link_names(out) == ["lo"]


def test_many_messages_in_one_sendmsg_get_one_ack_each(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as sock:
        b = Builder(4096)
        seqs = []
        for i in [1, 2, 3, 4, 2]:  # the last one repeats 10.9.0.2 -> EEXIST
            seq = sock.next_seq()
            seqs.append(seq)
            b.begin(RTM_NEWADDR, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL, seq=seq)
            b.put_struct(ifaddrmsg, socket.AF_INET, 32, 0, 0, 1)
            b.attr_ip(IFA_LOCAL, f"10.9.0.{i}")
            b.attr_ip(IFA_ADDRESS, f"10.9.0.{i}")
            b.end()
        res = sock.request_many(b.view(), check=False)
        assert [r.req_seq for r in res] == seqs
        assert [r.error for r in res] == [0, 0, 0, 0, -errno.EEXIST]
        # and with check=True the error is raised once everything was collected
        b2 = Builder(256)
        b2.begin(RTM_NEWADDR, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL, seq=sock.next_seq())
        b2.put_struct(ifaddrmsg, socket.AF_INET, 32, 0, 0, 1)
        b2.attr_ip(IFA_LOCAL, "10.9.0.1")
        b2.end()
        with pytest.raises(NetlinkError) as ei:
            sock.request_many([b2.view()])
        assert ei.value.errno == errno.EEXIST
        assert dump_link_names(sock) == ["lo"]  # the socket is clean afterwards
    addrs = {a["local"] for link in netns.ip_json("addr", "show", "dev", "lo") for a in link["addr_info"]}
    assert {"10.9.0.1", "10.9.0.2", "10.9.0.3", "10.9.0.4"} <= addrs


def test_netns_reaches_the_namespace_without_moving_the_caller(netns: Netns) -> None:
    netns.add_veth("nrtonly0", "nrtonly1")
    before = current_netns()
    thread_before = os.readlink("/proc/thread-self/ns/net")
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as inside, NetlinkSocket(NETLINK.ROUTE) as here:
        assert "nrtonly0" in dump_link_names(inside)
        assert "nrtonly0" not in dump_link_names(here)
    assert os.readlink("/proc/thread-self/ns/net") == thread_before == before
    assert os.readlink("/proc/self/ns/net") == before
    assert before != f"net:[{os.stat(netns.path).st_ino}]"
    # a bare name works too, and so does a /proc/PID/ns/net path
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.name) as by_name:
        assert "nrtonly0" in dump_link_names(by_name)
    with NetlinkSocket(NETLINK.ROUTE, netns=f"/proc/{os.getpid()}/ns/net") as same:
        assert "nrtonly0" not in dump_link_names(same)
    fd = os.open(netns.path, os.O_RDONLY)
    try:
        with NetlinkSocket(NETLINK.ROUTE, netns=fd) as by_fd:  # an open namespace fd
            assert "nrtonly0" in dump_link_names(by_fd)
        os.fstat(fd)  # still open: the caller owns it
    finally:
        os.close(fd)


def test_netns_helper_other_threads_stay_put(netns: Netns) -> None:
    seen: list[str] = []
    stop = threading.Event()

    def watcher() -> None:
        while not stop.is_set():
            seen.append(os.readlink("/proc/thread-self/ns/net"))
            stop.wait(0.001)

    t = threading.Thread(target=watcher)
    home = current_netns()
    t.start()
    try:
        for _ in range(20):
            assert run_in_netns(netns.path, current_netns) == f"net:[{os.stat(netns.path).st_ino}]"
            s = socket_in(netns.path, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.ROUTE)
            s.close()
    finally:
        stop.set()
        t.join()
    assert seen and set(seen) == {home}
    assert current_netns() == home
    with pytest.raises(FileNotFoundError):
        run_in_netns("/run/netns/nrt-does-not-exist", current_netns)
    with pytest.raises(ZeroDivisionError):
        run_in_netns(netns.path, lambda: 1 // 0)


def test_options_buffers_and_memberships(netns: Netns) -> None:
    with NetlinkSocket(
        NETLINK.ROUTE, netns=netns.path, rcvbuf=1 << 20, sndbuf=1 << 19, strict_check=True,
        groups=1 << (RTNLGRP_LINK - 1),
    ) as sock:
        assert sock.features == {"ext_ack": True, "cap_ack": True, "strict_check": True}
        sock.require("ext_ack", "strict_check")
        assert sock.rcvbuf_forced  # root: SO_RCVBUFFORCE, beyond net.core.rmem_max
        assert sock.rcvbuf >= 1 << 20
        assert sock.sndbuf >= 1 << 19
        rmax = net_core_rmem_max()
        assert rmax is not None and rmax > 0
        assert sock.memberships() == [RTNLGRP_LINK]
        sock.add_membership(33)  # beyond the legacy 32-bit mask
        sock.add_membership(5)
        assert sock.memberships() == [RTNLGRP_LINK, 5, 33]
        sock.drop_membership(33)
        sock.drop_membership(RTNLGRP_LINK)
        assert sock.memberships() == [5]
        assert sock.portid != 0
        assert sock.drops() == 0


def test_explicit_portid_and_close_twice(netns: Netns) -> None:
    sock = NetlinkSocket(NETLINK.USERSOCK, netns=netns.path, portid=0x7EADBEEF)
    assert sock.portid == 0x7EADBEEF
    with pytest.raises(OSError) as ei:
        NetlinkSocket(NETLINK.USERSOCK, netns=netns.path, portid=0x7EADBEEF)
    assert ei.value.errno == errno.EADDRINUSE
    assert sock.fileno() >= 0
    sock.close()
    sock.close()
    assert sock.closed and sock.fileno() == -1
    with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path, portid=0x7EADBEEF) as again:
        assert again.portid == 0x7EADBEEF  # the port id was released


def test_link_notifications_with_pktinfo_and_selectors(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.path, pktinfo=True) as sock:
        sock.add_membership(RTNLGRP_LINK)
        sock.setblocking(False)
        assert not sock.getblocking()
        assert sock.recv(block=False) == []
        sel = selectors.DefaultSelector()
        sel.register(sock, selectors.EVENT_READ)
        netns.add_veth("nrtn0", "nrtn1", up=False)
        seen = []
        for _ in range(50):  # bounded
            if not sel.select(timeout=5):
                break
            for m in sock.messages(block=False):
                assert m.group == RTNLGRP_LINK
                seen.extend(link_names([m]))
            if {"nrtn0", "nrtn1"} <= set(seen):
                break
        sel.close()
        assert {"nrtn0", "nrtn1"} <= set(seen)
        # a request on a non-blocking socket still waits for its answer
        assert "nrtn0" in dump_link_names(sock)


def test_request_keeps_notifications_that_arrive_meanwhile(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as sock:
        sock.add_membership(RTNLGRP_LINK)
        netns.add_veth("nrtk0", "nrtk1", up=False)  # notifications queue up first
        out = sock.request(RTM_GETLINK, ifinfomsg.pack(0, 0, 1, 0, 0))
        assert link_names(out) == ["lo"]
        kept = [m for m in sock.recv(timeout=5)]
        assert {"nrtk0", "nrtk1"} <= set(link_names(kept))
        assert all(m.seq == 0 or m.group for m in kept)


def test_timeout_on_a_silent_socket(netns: Netns) -> None:
    with NetlinkSocket(NETLINK.USERSOCK, netns=netns.path) as sock:
        with pytest.raises(TimeoutError):
            sock.recv(timeout=0.05)


def test_debug_logging(netns: Netns, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NETRING_DEBUG", "1")
    with NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as sock:
        assert link_names(sock.request(RTM_GETLINK, ifinfomsg.pack(0, 0, 1, 0, 0))) == ["lo"]
    err = capsys.readouterr().err
    assert "netring: send" in err and "netring: recv" in err
    assert "message length" in err and "sequence number" in err


def test_unprivileged_rcvbuf_falls_back_to_so_rcvbuf(netns: Netns) -> None:
    """Without CAP_NET_ADMIN, SO_RCVBUFFORCE is refused: SO_RCVBUF (capped by rmem_max) is used."""
    rmax = net_core_rmem_max()
    assert rmax is not None
    # a forked child enters the namespace, drops root, then opens its sockets
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(r)
            _sys.setns(os.open(netns.path, os.O_RDONLY))  # this forked child only
            os.setgid(65534)
            os.setuid(65534)
            with NetlinkSocket(NETLINK.ROUTE, rcvbuf=rmax * 4) as sock:
                report = f"{int(sock.rcvbuf_forced)} {sock.rcvbuf} {int(sock.features['ext_ack'])}"
                report += f" {dump_link_names(sock).count('lo')}"
                try:
                    NetlinkSocket(NETLINK.USERSOCK, groups=1)  # USERSOCK multicast needs root
                    report += " joined"
                except PermissionError:
                    report += " EPERM"
            os.write(w, report.encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r) as f:
        report = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, report
    forced, size, ext_ack, lo, join = report.split()
    assert forced == "0"
    assert int(size) == 2 * rmax  # SO_RCVBUF: clamped to rmem_max, then doubled by the kernel
    assert ext_ack == "1" and lo == "1"
    assert join == "EPERM"


def test_real_dump_intr_is_raised_and_retry_recovers(netns: Netns) -> None:
    """Addresses churning during a multi-chunk address dump make the kernel set NLM_F_DUMP_INTR."""
    netns.add_veth("nrti0", "nrti1")
    netns.batch([f"addr add 10.{i // 250}.{i % 250}.1/32 dev nrti0" for i in range(3000)])
    churn = subprocess.Popen(
        ["sh", "-c", f"for i in $(seq 1 20000); do ip -n {netns.name} addr add 10.99.0.1/32 dev nrti1;"
         f" ip -n {netns.name} addr del 10.99.0.1/32 dev nrti1; done"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    body = ifaddrmsg.pack(socket.AF_INET, 0, 0, 0, 0)
    try:
        with NetlinkSocket(NETLINK.ROUTE, netns=netns.path) as sock:
            interrupted = 0
            for _ in range(200):  # bounded; typically a few attempts suffice
                try:
                    for _m in sock.dump(RTM_GETADDR, body):
                        pass
                except DumpInterrupted:
                    interrupted += 1
                    if interrupted >= 3:
                        break
            assert interrupted >= 3
            # the socket is clean after each interrupted dump, and retry yields a consistent one:
            # swap the endless churn for a bounded one, so the retries outlast it
            churn.kill()
            churn.wait()
            churn = subprocess.Popen(
                ["sh", "-c", f"for i in $(seq 1 200); do ip -n {netns.name} addr add 10.99.0.1/32"
                 f" dev nrti1; ip -n {netns.name} addr del 10.99.0.1/32 dev nrti1; done"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            msgs = list(sock.dump(RTM_GETADDR, body, retry=2000))
            assert len(msgs) in (3001, 3002)  # 127.0.0.1 + 3000 (+ the churning address)
            assert all(m.type == 20 for m in msgs)  # copies: still readable after the dump
            assert sock.stale == 0
    finally:
        churn.kill()
        churn.wait()
