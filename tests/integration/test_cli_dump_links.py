"""`netring dump links|addrs|neigh` print what `ip` prints (text line for line, JSON
object for object with key order), with ip's views (-d, -s, -br, -o) and selectors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from nsutil import Netns

# ip's view options, and the netring dump words for ip's object names
VIEWS = ["", "-d", "-s", "-br", "-d -s"]
KINDS = {"link": "links", "addr": "addrs", "neigh": "neigh"}


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[Netns, Netns]]:
    ns, peer = Netns(), Netns()
    try:
        # no IPv6 addresses changing state (DAD) while the two readers look
        subprocess.run(["ip", "netns", "exec", ns.name, "sysctl", "-qw",
                        "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
                       check=True)
        ns.ip("link", "add", "x0", "type", "veth", "peer", "name", "x1", "netns", peer.name)
        ns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
        ns.ip("link", "add", "br0", "type", "bridge")
        ns.ip("link", "set", "v1", "master", "br0")
        for dev in ("v0", "v1", "x0"):  # br0 stays down: its port timers do not tick
            ns.ip("link", "set", dev, "up")
        ns.ip("addr", "add", "10.0.0.1/24", "dev", "v0")
        ns.ip("addr", "add", "10.0.0.9/24", "dev", "v0", "label", "v0:1")
        ns.ip("neigh", "add", "10.0.0.2", "lladdr", "02:00:00:00:00:02", "dev", "v0")
        yield ns, peer
    finally:
        ns.close()
        peer.close()


def _netring(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netring", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("obj", ["link", "addr"])
def test_text_equals_ip(lab: tuple[Netns, Netns], obj: str, view: str) -> None:
    ns = lab[0]
    want = ns.ip(*view.split(), obj, "show").stdout
    got = _netring("-n", ns.name, "dump", KINDS[obj], *view.split())
    assert got.returncode == 0, got.stderr
    assert got.stdout.splitlines() == want.splitlines()
    assert "link-netns" in want or obj == "addr" or view == "-br"  # the peer's namespace named


@pytest.mark.parametrize("words", [["dev", "v0"], ["--dev", "v0"]])
def test_selectors_equal_ip(lab: tuple[Netns, Netns], words: list[str]) -> None:
    ns = lab[0]
    for obj in ("link", "addr", "neigh"):
        want = ns.ip(obj, "show", "dev", "v0").stdout
        got = _netring("dump", KINDS[obj], *words, "--netns", ns.name)
        assert got.returncode == 0, got.stderr
        assert got.stdout == want, obj


def test_neigh_and_oneline_equal_ip(lab: tuple[Netns, Netns]) -> None:
    ns = lab[0]
    for ip_args, nr_args in ((["neigh", "show"], ["neigh"]),
                             (["neigh", "show", "nud", "all"], ["neigh", "nud", "all"]),
                             (["-o", "addr", "show"], ["addrs", "-o"])):
        got = _netring("dump", *nr_args, "--netns", ns.name)
        assert got.returncode == 0, got.stderr
        assert got.stdout == ns.ip(*ip_args).stdout, ip_args


@pytest.mark.parametrize("view", ["", "-d", "-s", "-d -s"])
def test_link_json_equals_ip(lab: tuple[Netns, Netns], view: str) -> None:
    ns = lab[0]
    want = json.loads(ns.ip("-j", *view.split(), "link", "show").stdout)
    got = _netring("dump", "links", "--json", *view.split(), "--netns", ns.name)
    assert got.returncode == 0, got.stderr
    assert [list(json.loads(line).items()) for line in got.stdout.splitlines()] == [
        list(d.items()) for d in want]


@pytest.mark.parametrize("args", [["rules", "-d"], ["routes", "-br"], ["neigh", "nud", "bogus"],
                                  ["links", "dev", "nosuch0"], ["rules", "dev", "v0"],
                                  ["links", "proxy"]])
def test_views_and_selectors_that_do_not_apply_are_refused(lab: tuple[Netns, Netns],
                                                           args: list[str]) -> None:
    got = _netring("dump", *args, "--netns", lab[0].name)
    assert got.returncode == 2 and got.stdout == ""
    assert len(got.stderr.strip().splitlines()) == 1 and "Traceback" not in got.stderr


@pytest.mark.parametrize("view", ["", "-o"])
def test_addr_json_equals_ip(lab: tuple[Netns, Netns], view: str) -> None:
    """`ip -j addr show` groups addresses by interface (with the link's keys);
    `ip -j -o addr show` keeps only each interface's addr_info."""
    ns = lab[0]
    want = json.loads(ns.ip("-j", *view.split(), "addr", "show").stdout)
    got = _netring("dump", "addrs", "--json", *view.split(), "--netns", ns.name)
    assert got.returncode == 0, got.stderr
    assert [list(json.loads(line).items()) for line in got.stdout.splitlines()] == [
        list(d.items()) for d in want]
    assert any(d.get("addr_info") for d in want)


def test_dump_links_loads_no_startup_heavy_module(lab: tuple[Netns, Netns]) -> None:
    """`netring dump links` runs without typing, the socket module's enum set-up or
    shutil (with the compression modules behind it): start-up time a command pays."""
    ns = lab[0]
    # (ctypes stays: -n needs setns, which the os module has only from Python 3.12)
    heavy = ("typing", "socket", "selectors", "shutil", "zlib", "asyncio")
    code = ("import sys, io, contextlib\n"
            f"sys.argv = ['netring', '-n', {ns.name!r}, 'dump', 'links']\n"
            "from netring.cli import main\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            "    rc = main()\n"
            f"print(rc, 'x0@if' in out.getvalue(), [m for m in {heavy!r} if m in sys.modules])\n")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert got.stdout.strip() == "0 True []"
