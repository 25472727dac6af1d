"""``netring dump routes|rules`` and ``netring route get`` against iproute2 6.1:
text line for line, JSON object for object (key order too), on a namespace with
routes and rules of every kind ``ip`` prints differently."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import re
import subprocess
import sys
from typing import Any

import pytest
from nsutil import Netns

from netring.cli import main

SRC = str(pathlib.Path(__file__).resolve().parents[2] / "src")

ROUTES = [
    "route add 10.1.0.0/16 via 10.0.0.2 metric 5 proto static",
    "route add 10.2.0.0/16 via inet6 fe80::1 dev v0",
    "route add 10.3.0.0/16 via 10.0.0.2 rtt 100ms rttvar 50ms mtu lock 1400 features ecn "
    "congctl cubic fastopen_no_cookie 1 initcwnd 10 advmss 1300",
    "route add 10.4.0.0/16 via 10.0.0.2 realms 3/4 table 100",
    "route add 10.5.0.0/16 dev v0 realm 7 table 2000",
    "route add 2001:db8:6::/48 dev v0 expires 7200",
    "route add 10.7.0.0/16 nexthop via 10.0.0.2 weight 3 nexthop via 10.0.0.3 dev v0 weight 1",
    "route add blackhole 10.8.0.0/16",
    "route add unreachable 10.9.0.0/16 metric 3",
    "route add prohibit 10.10.0.0/16 table 100",
    "route add throw 10.11.0.0/16 table 100",
    "route add local 10.12.0.1 dev v0 table 2000",
    "route add broadcast 10.12.0.255 dev v0 table 2000",
    "route add 10.13.0.0/16 dev v0 proto 42 scope link src 10.0.0.1 metric 77",
    "route add 10.14.0.0/16 via 10.0.0.2 rto_min 2s tos 0x10 rttvar 1200ms",
    "route add 10.15.0.0/16 via 10.0.0.2 dev v0 onlink quickack 1 hoplimit 64 window 1000 "
    "ssthresh 10 cwnd 5 reordering 3 initrwnd 20",
    "route add 2001:db8:1::/48 via 2001:db8::2 metric 9 pref high",
    "route add 2001:db8:2::/48 dev v0 table 100 mtu 1300",
    "route add 2001:db8:3::/48 nexthop via 2001:db8::2 dev v0 weight 2 "
    "nexthop via 2001:db8::3 dev v0 weight 4",
    "route add blackhole 2001:db8:4::/48",
    "route add default via 10.0.0.254",
]
RULES = [
    "rule add from 10.10.0.0/24 lookup 100 prio 100",
    "rule add to 10.20.0.0/16 iif v0 lookup 2000 prio 101",
    "rule add oif v1 fwmark 0x10/0xff lookup main prio 102",
    "rule add fwmark 7 uidrange 100-200 lookup 100 prio 103",
    "rule add sport 1000-2000 dport 80 ipproto tcp lookup 100 prio 104",
    "rule add realms 3/4 lookup 100 prio 105",
    "rule add not from 10.30.0.0/16 goto 110 prio 106",
    "rule add tos 0x10 lookup 100 prio 107",
    "rule add lookup main suppress_prefixlength 0 prio 108",
    "rule add nop prio 110",
    "rule add from 10.50.0.0/16 blackhole prio 111",
    "rule add iif v1 unreachable prio 112",
    "rule add from 10.40.0.1 prohibit prio 113",
    "rule add sport 53 lookup 100 prio 114 proto static",
    "-6 rule add from 2001:db8::/32 lookup 100 prio 100",
    "-6 rule add to 2001:db8:1::1 fwmark 0x3 lookup 2000 prio 101",
]


@pytest.fixture(scope="module")
def ns() -> Any:
    from nsutil import have_ip, have_root

    if not have_root() or not have_ip():
        pytest.skip("needs root and iproute2's ip (creates a network namespace)")
    n = Netns()
    try:
        n.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
        n.ip("link", "set", "v0", "up")
        n.ip("link", "set", "v1", "up")
        n.ip("addr", "add", "10.0.0.1/24", "dev", "v0")
        n.ip("addr", "add", "2001:db8::1/64", "dev", "v0", "nodad")
        n.batch(ROUTES)
        for r in RULES:
            n.ip(*r.split())
        yield n
    finally:
        n.close()


def _ticks(text: str) -> str:
    """Route lifetimes tick between two dumps: compare them modulo the seconds."""
    return re.sub(r"expires -?\d+sec", "expires Nsec", text)


def _netring(*args: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(list(args)) == 0
    return buf.getvalue()


def _ip(ns: Netns, *args: str) -> str:
    return ns.ip(*args).stdout


CASES = [
    (["dump", "routes"], ["route", "show"]),
    (["dump", "routes", "--table", "all"], ["route", "show", "table", "all"]),
    (["dump", "routes", "-6"], ["-6", "route", "show"]),
    (["dump", "routes", "-6", "--table", "all"], ["-6", "route", "show", "table", "all"]),
    (["dump", "routes", "table", "100"], ["route", "show", "table", "100"]),
    (["dump", "routes", "--table", "2000"], ["route", "show", "table", "2000"]),
    (["dump", "routes", "dev", "v0"], ["route", "show", "dev", "v0"]),
    (["dump", "routes", "table", "all", "type", "local"],
     ["route", "show", "table", "all", "type", "local"]),
    (["dump", "routes", "--table", "all", "proto", "kernel"],
     ["route", "show", "table", "all", "proto", "kernel"]),
    (["dump", "routes", "scope", "link"], ["route", "show", "scope", "link"]),
    (["dump", "routes", "root", "10.0.0.0/8"], ["route", "show", "root", "10.0.0.0/8"]),
    (["dump", "routes", "match", "10.1.2.3"], ["route", "show", "match", "10.1.2.3"]),
    (["dump", "routes", "10.1.0.0/16"], ["route", "show", "10.1.0.0/16"]),
    (["dump", "rules"], ["rule", "show"]),
    (["dump", "rules", "-6"], ["-6", "rule", "show"]),
]


@pytest.mark.parametrize(("mine", "theirs"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_text_equals_ip_line_for_line(ns: Netns, mine: list[str], theirs: list[str]) -> None:
    want = _ticks(_ip(ns, *theirs)).splitlines()
    got = _ticks(_netring(*mine, "--netns", ns.name)).splitlines()
    assert got == want
    assert want  # every case selects something


def test_the_words_people_look_for(ns: Netns) -> None:
    text = _netring("dump", "routes", "--table", "all", "--netns", ns.name)
    for words in ("10.2.0.0/16 via inet6 fe80::1 dev v0 ",
                  "mtu lock 1400 rtt 100ms rttvar 50ms advmss 1300 initcwnd 10 features ecn "
                  "congctl cubic fastopen_no_cookie 1 ",
                  "rttvar 1.2s rto_min lock 2s", "realms 3/4", "realm 7",
                  "\tnexthop via 10.0.0.2 dev v0 weight 3 ", "pref medium", "blackhole ",
                  "throw 10.11.0.0/16 table 100", "broadcast 10.12.0.255"):
        assert words in text
    assert "None" not in text
    rules = _netring("dump", "rules", "--netns", ns.name)
    assert "103:\tfrom all fwmark 0x7 uidrange 100-200 lookup 100\n" in rules
    assert "100:\tfrom 10.10.0.0/24 lookup 100\n" in rules


def _objects(text: str) -> list[list[tuple[str, Any]]]:
    out = []
    for d in text if isinstance(text, list) else [json.loads(x) for x in text.splitlines()]:
        if "expires" in d:
            d["expires"] = "N"
        out.append(list(d.items()))
    return out


JSON_CASES = [c for c in CASES if "match" not in c[0]]


@pytest.mark.parametrize(("mine", "theirs"), JSON_CASES,
                         ids=[" ".join(c[0]) for c in JSON_CASES])
def test_json_equals_ip_j_object_for_object(ns: Netns, mine: list[str],
                                            theirs: list[str]) -> None:
    want = _objects(ns.ip_json(*theirs))
    got = _objects(_netring(*mine, "--json", "--netns", ns.name))  # type: ignore[arg-type]
    assert got == want  # keys in ip's order too


GETS = [["10.1.2.3"], ["10.1.2.3", "from", "10.0.0.1"], ["10.1.2.3", "fibmatch"],
        ["10.1.2.3", "mark", "5"], ["10.1.2.3", "oif", "v0"], ["10.0.0.1"], ["10.2.3.4"],
        ["2001:db8:1::5"], ["2001:db8:1::5", "from", "2001:db8::1"], ["10.0.0.255"]]


@pytest.mark.parametrize("words", GETS, ids=[" ".join(w) for w in GETS])
def test_route_get_equals_ip(ns: Netns, words: list[str]) -> None:
    assert _netring("route", "get", *words, "--netns", ns.name) == _ip(
        ns, "route", "get", *words)
    got = [json.loads(x) for x in _netring("route", "get", *words, "--json", "--netns",
                                           ns.name).splitlines()]
    assert [list(d.items()) for d in got] == [list(d.items()) for d in ns.ip_json(
        "route", "get", *words)]


def _cli(*args: str, shell_tail: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC)
    cmd = [sys.executable, "-m", "netring", *args]
    if shell_tail:
        return subprocess.run(" ".join(cmd) + shell_tail, shell=True, capture_output=True,
                              text=True, env=env, timeout=60)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)


BAD = [
    ["dump", "routes", "--table", "bogus"],
    ["dump", "routes", "table", "bogus"],
    ["dump", "routes", "dev", "nope0"],
    ["dump", "routes", "--dev", "nope0"],
    ["dump", "routes", "-c", "0"],
    ["dump", "routes", "-c", "-1"],
    ["dump", "routes", "--count", "x"],
    ["dump", "links", "table", "5"],
    ["dump", "rules", "dev", "v0"],
    ["dump", "rules", "--table", "5"],
    ["dump", "addrs", "--scope", "link"],
    ["dump", "routes", "proto", "nonsense"],
    ["dump", "routes", "root"],
    ["dump", "routes", "10.0.0.0/33"],
    ["dump", "routes", "--total", "-c", "3"],
    ["route", "get", "10.1.2.3", "oif", "nope0"],
    ["route", "get", "10.1.2.3", "mark", "x"],
    ["route", "get", "not-an-address"],
]


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a) for a in BAD])
def test_bad_input_is_one_line_and_exit_2(ns: Netns, args: list[str]) -> None:
    p = _cli(*args, "--netns", ns.name)
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    assert len(p.stderr.splitlines()) == 1 and "Traceback" not in p.stderr
    assert p.stderr.startswith("netring ")


def test_count_and_total(ns: Netns) -> None:
    everything = _netring("dump", "routes", "--table", "all", "--netns", ns.name)
    two = _netring("dump", "routes", "--table", "all", "-c", "2", "--netns", ns.name)
    first = everything.split("\n")
    assert two.splitlines() == first[:2]
    total = _netring("dump", "routes", "--table", "all", "--total", "--netns", ns.name)
    n = len([x for x in everything.splitlines() if not x.startswith("\t")])
    assert total == f"{n}\n"
    assert _netring("dump", "rules", "-c", "1", "--netns", ns.name) == "0:\tfrom all lookup local\n"


def test_head_closes_the_pipe_quietly(netns: Netns) -> None:
    netns.add_veth()
    netns.batch([f"route add 10.{i >> 8}.{i & 255}.0/24 dev veth0" for i in range(5000)])
    p = _cli("dump", "routes", "--netns", netns.name, shell_tail=" | head -1")
    assert p.returncode == 0
    assert p.stdout == "10.0.0.0/24 dev veth0 scope link \n"
    assert p.stderr == ""
