"""Namespaces that do not exist, and sockets that outlive the name of theirs."""

from __future__ import annotations

import os

import pytest
from nsutil import Netns, have_ip, have_root

import netring
from netring.errors import NamespaceError, NamespaceNotFound


def test_opening_a_namespace_that_does_not_exist_is_a_netring_file_not_found() -> None:
    name = f"nrt-missing-{os.getpid()}"
    with pytest.raises(NamespaceNotFound) as ei:
        netring.NetlinkSocket(netring.NETLINK.ROUTE, netns=name)
    err = ei.value
    assert isinstance(err, FileNotFoundError) and isinstance(err, NamespaceError)
    assert isinstance(err, netring.NetringError) and err.errno == 2
    assert err.path == f"/run/netns/{name}" and name in str(err)


@pytest.mark.skipif(not (have_root() and have_ip()), reason="needs root and iproute2's ip")
def test_socket_whose_namespace_was_deleted_says_so() -> None:
    ns = Netns()
    try:
        sock = netring.NetlinkSocket(netring.NETLINK.ROUTE, netns=ns.name)
        assert repr(sock).endswith(f"netns=/run/netns/{ns.name}>") and not sock.netns_deleted
    finally:
        ns.close()
    assert sock.netns_deleted and repr(sock).endswith(f"netns=/run/netns/{ns.name} (deleted)>")
    again = Netns(ns.name)  # the same name, another namespace
    try:
        assert sock.netns_deleted
        links = list(netring.Rtnl(sock=sock).links())  # the socket still works in its own
        assert [link.name for link in links] == ["lo"]
    finally:
        again.close()
        sock.close()


def test_a_failure_inside_the_switch_reaches_the_caller_as_it_is(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Anything but an OS refusal raised while entering the namespace (a bug, an
    interrupt) is raised to the caller unchanged, not lost in the helper thread."""
    from netring import netns as netns_module

    def broken(fd: int, nstype: int) -> None:
        raise RuntimeError("setns wrapper broke")

    monkeypatch.setattr(netns_module._sys, "setns", broken)
    fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        with pytest.raises(RuntimeError, match="setns wrapper broke"):
            netns_module.run_in_netns(fd, lambda: None)
    finally:
        os.close(fd)
