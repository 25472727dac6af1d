"""The command line's manners against the real kernel: bad namespaces, a global
``-n``, permission refused, the demo stopped by SIGINT, benchmark output."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from nsutil import Netns, have_root

import netring
from netring.errors import NamespaceError, NamespaceNotFound, NotANamespace
from netring.tools.demo import STAGES

pytestmark = pytest.mark.skipif(not have_root(), reason="needs root: enters network namespaces")


def _netring(*args: str, timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netring", *args], capture_output=True,
                          text=True, timeout=timeout, **kw)


def _one_line(err: str) -> str:
    assert "Traceback" not in err, err
    assert err.count("\n") == 1, err
    return err.rstrip("\n")


BAD = [
    ("/tmp", NotANamespace, "/tmp is a directory, not a network namespace (setns: EINVAL)"),
    ("/etc/passwd", NotANamespace, "/etc/passwd is not a network namespace (setns: EINVAL)"),
    ("", NotANamespace, "empty network namespace name ''"),
    ("/proc/self/ns/uts", NotANamespace,
     "/proc/self/ns/uts is a uts namespace, not a network namespace (setns: EINVAL)"),
    ("nrt-no-such-namespace", NamespaceNotFound,
     "no network namespace named 'nrt-no-such-namespace' "
     "(/run/netns/nrt-no-such-namespace does not exist)"),
    ("/nonexistent/ns", NamespaceNotFound, "/nonexistent/ns: no such network namespace file"),
]


@pytest.mark.parametrize(("ns", "cls", "text"), BAD, ids=[b[0] or "empty" for b in BAD])
def test_bad_namespace_through_the_library(ns: str, cls: type[NamespaceError], text: str) -> None:
    with pytest.raises(cls) as info:
        netring.Rtnl(ns)
    assert str(info.value) == text
    assert isinstance(info.value, NamespaceError) and isinstance(info.value, OSError)
    assert not isinstance(info.value, ValueError)
    if cls is NamespaceNotFound:
        assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize(("ns", "cls", "text"), BAD, ids=[b[0] or "empty" for b in BAD])
def test_bad_namespace_through_the_cli(ns: str, cls: type[NamespaceError], text: str) -> None:
    for argv in (["dump", "links", "--netns", ns], ["-n", ns, "dump", "links"]):
        p = _netring(*argv)
        assert p.returncode == 2, (argv, p.stderr)
        line = _one_line(p.stderr)
        assert line.startswith("netring dump: ")
        if cls is NotANamespace:  # dump's own "no such namespace" line covers the others
            assert line == f"netring dump: {text}"
        assert p.stdout == ""


def test_global_netns_before_the_command(netns: Netns) -> None:
    netns.add_veth("mv0", "mv1")
    netns.ip("route", "add", "198.51.100.0/24", "dev", "mv0")
    p = _netring("-n", netns.name, "dump", "routes", "--json")
    assert p.returncode == 0, p.stderr
    dsts = {json.loads(line)["dst"] for line in p.stdout.splitlines()}
    assert "198.51.100.0/24" in dsts
    here = _netring("dump", "links", "--json")
    assert "mv0" not in here.stdout
    p = _netring("--netns", netns.path, "dump", "links", "--json")
    assert {json.loads(line)["ifname"] for line in p.stdout.splitlines()} >= {"lo", "mv0", "mv1"}
    p = _netring("-n", "/tmp", "dump", "links", "--netns", netns.name)  # the command's own wins
    assert p.returncode == 0 and "mv0" in p.stdout
    p = _netring("-n", netns.name, "probe")
    assert p.returncode == 2
    assert _one_line(p.stderr) == (
        f"netring probe: -n/--netns {netns.name}: this command does not run in a network namespace")


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_permission_refused_says_what_not_run_as_root(netns: Netns) -> None:
    # root inside a fresh user namespace: setns into the host's namespaces is refused
    p = subprocess.run(
        ["unshare", "--user", "--map-root-user", sys.executable, "-m", "netring",
         "dump", "links", "--netns", netns.name],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    if "unshare failed" in p.stderr:
        pytest.skip(f"user namespaces unavailable: {p.stderr.strip()}")
    assert p.returncode == 4, p.stderr
    assert _one_line(p.stderr) == (
        f"netring dump: permission denied: setns into {netns.path}: Operation not permitted")


# -- the demo and SIGINT ------------------------------------------------------------------


def _named_netns_inodes() -> set[int]:
    """The namespaces behind every ``ip netns list`` name (``/run/netns`` entries).

    Other tests may add and remove their own entries meanwhile, so the demo is
    checked by its namespace's inode, not by comparing the listings.
    """
    inodes = set()
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    listed = {line.split()[0] for line in names.splitlines() if line.strip()}
    on_disk = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
    for name in listed | on_disk:
        try:
            inodes.add(os.stat(f"/run/netns/{name}").st_ino)
        except OSError:
            pass
    return inodes


def _holders(nsid: str) -> dict[int, str]:
    """The processes in namespace ``nsid`` now: pid -> start time (to tell a reused pid)."""
    found = {}
    for link in glob.glob("/proc/[0-9]*/ns/net"):
        pid = int(link.split("/")[2])
        try:
            if os.readlink(link) == nsid:
                found[pid] = _started(pid)
        except OSError:
            pass
    return found


def _started(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[19]  # field 22: starttime


def _alive(pid: int, started: str) -> bool:
    try:
        return _started(pid) == started
    except OSError:
        return False


@pytest.fixture
def demo_proc() -> Iterator[subprocess.Popen[str]]:
    p = subprocess.Popen([sys.executable, "-m", "netring", "demo", "--count", "3000000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=30)
        for f in (p.stdout, p.stderr):
            if f is not None:
                f.close()


def test_demo_sigint_says_where_it_stopped_and_leaves_nothing(
        demo_proc: subprocess.Popen[str]) -> None:
    assert demo_proc.stdout is not None and demo_proc.stderr is not None
    head = demo_proc.stdout.readline()
    assert head.startswith("netring demo: working in a private network namespace (net:[")
    nsid = head.split("(", 1)[1].split(")", 1)[0]
    inode = int(nsid.removeprefix("net:[").removesuffix("]"))
    lines = []
    for _ in range(20):  # stage 1's report arrives, then stage 2's heading as it starts
        line = demo_proc.stdout.readline()
        lines.append(line)
        if line.startswith("[2] "):
            break
    assert lines[:2] == ["removed when the demo ends.\n", "\n"], lines
    assert lines[2].startswith("[1] ring support") and lines[3].startswith("    backend:"), lines
    assert lines[4:] == ["\n", "[2] USERSOCK stream between two processes (recvmmsg)\n"], lines
    holders = _holders(nsid)
    assert holders  # the demo's namespace exists while it runs, unnamed
    assert inode not in _named_netns_inodes()
    demo_proc.send_signal(signal.SIGINT)
    rc = demo_proc.wait(timeout=60)
    err = demo_proc.stderr.read()
    assert rc == 130
    assert _one_line(err) == (
        f"netring demo: interrupted in stage 2 of {len(STAGES)} (usersock: USERSOCK stream between two "
        "processes (recvmmsg)); its namespace is removed")
    # every process that was in it has ended, and it never had a name: it is gone
    # (its inode number may already serve a namespace another test made since)
    assert [pid for pid, t in holders.items() if _alive(pid, t)] == []


def test_demo_prints_each_stage_as_it_finishes(demo_proc: subprocess.Popen[str]) -> None:
    # the report of stage 1 is readable while stage 2 (3 million messages) still runs
    assert demo_proc.stdout is not None
    seen = [demo_proc.stdout.readline() for _ in range(7)]
    assert seen[3].startswith("[1] ring support") and seen[4].startswith("    backend: "), seen
    assert seen[6].startswith("[2] USERSOCK stream"), seen
    assert demo_proc.poll() is None
    demo_proc.send_signal(signal.SIGINT)
    assert demo_proc.wait(timeout=60) == 130


def test_demo_usersock_stage_matches_the_benchmark_sizes() -> None:
    from netring.tools.bench import recvmmsg

    p = _netring("demo", "--count", "2000", "--json")
    assert p.returncode == 0, p.stderr
    u = json.loads(p.stdout)["usersock"]
    assert u["ok"] and u["messages"] == 2000 and u["in_order"] and u["sender_pid_matches"]
    assert (u["message_size"], u["batch"]) == (recvmmsg.MSG_SIZE, recvmmsg.BATCH)


# -- benchmarks and probe ---------------------------------------------------------------


def test_bench_text_and_json_output() -> None:
    p = _netring("bench", "codec", "--quick")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("Message walk over ")  # no blank first line
    assert "command: python -m netring bench codec --quick" in lines
    machine = [ln for ln in lines if ln.startswith("machine: ")]
    assert len(machine) == 1 and "{" not in machine[0] and " cores, Linux " in machine[0]
    assert not any("goal" in ln.lower() for ln in lines)
    p = _netring("bench", "codec", "--quick", "--json")
    assert p.returncode == 0, p.stderr
    obj = json.loads(p.stdout)  # exactly one JSON object
    assert isinstance(obj, dict) and obj["messages"] > 0 and "machine" in obj
    p = _netring("bench", "nosuch")
    assert p.returncode == 2 and _one_line(p.stderr).startswith("netring bench: unknown benchmark")


def test_probe_fanout_modes_agree_with_one_socket_per_mode() -> None:
    import socket

    from netring.tools.probe import FANOUT_MODES, probe

    direct = []
    group = (os.getpid() & 0x7FFF) + 0x100
    for name, mode in FANOUT_MODES.items():
        try:
            with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) as s:
                s.bind(("lo", 0x0003))
                s.setsockopt(263, 18, group | (mode << 16))
                direct.append(name)
        except OSError:
            pass
        group += 1
    assert probe()["af_packet"]["fanout_modes"] == direct
