"""The monitor against the real kernel: it sees each change made by ``ip``, and after a
provoked overrun (tiny receive buffer + a burst of ``ip -batch``) it re-dumps and ends
with exactly the state ``ip`` shows."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from nsutil import Netns
from procutil import SignalsWhenCollected

import netring
from netring import Event, Rtnl
from netring.cli import main
from netring.subsystems.rtnetlink import Route
from netring.subsystems.rtnetlink.state import object_key


def no_link_local(ns: Netns) -> None:
    """New links get no IPv6 link-local address: its route would appear on its own,
    once DAD completes, possibly after a test compared the final state."""
    subprocess.run(["ip", "netns", "exec", ns.name, "sysctl", "-qw",
                    "net.ipv6.conf.default.addr_gen_mode=1"], check=True)


def collect(mon: Any, idle: float = 1.0, timeout: float = 60.0) -> list[Event]:
    return list(mon.events(idle=idle, timeout=timeout))


def test_monitor_sees_each_change(netns: Netns) -> None:
    netns.add_veth()
    with Rtnl(netns.path) as rt, rt.monitor() as mon:
        netns.ip("link", "add", "br0", "type", "bridge")
        netns.ip("addr", "add", "10.0.0.1/24", "dev", "veth0")
        netns.ip("route", "add", "10.5.0.0/24", "via", "10.0.0.2", "table", "100")
        netns.ip("neigh", "add", "10.0.0.9", "lladdr", "02:00:00:00:00:09", "dev", "veth0")
        netns.ip("rule", "add", "prio", "500", "table", "100")
        netns.ip("route", "del", "10.5.0.0/24", "table", "100")
        netns.ip("rule", "del", "prio", "500")
        netns.ip("neigh", "del", "10.0.0.9", "dev", "veth0")
        netns.ip("addr", "del", "10.0.0.1/24", "dev", "veth0")
        netns.ip("link", "del", "br0")
        events = collect(mon, idle=0.5)
        names = rt.names()
        seen = [(e.kind, e.action, e.to_dict(names)) for e in events]
        st = mon.stats()
    assert st["overruns"] == 0 and st["messages"] == len(events)

    def has(kind: str, action: str, **kv: Any) -> bool:
        return any(k == kind and a == action and all(d.get(x) == y for x, y in kv.items())
                   for k, a, d in seen)

    assert has("links", "new", ifname="br0") and has("links", "del", ifname="br0")
    assert has("addrs", "new", local="10.0.0.1") and has("addrs", "del", local="10.0.0.1")
    assert has("routes", "new", dst="10.5.0.0/24", table="100", gateway="10.0.0.2")
    assert has("routes", "del", dst="10.5.0.0/24", deleted=True)
    assert has("neigh", "new", dst="10.0.0.9", lladdr="02:00:00:00:00:09")
    assert has("neigh", "del", dst="10.0.0.9")
    assert has("rules", "new", priority=500) and has("rules", "del", priority=500)


def _route_state(rt: Rtnl) -> set[tuple[Any, ...]]:
    return {r.key() for r in rt.routes()}


def test_monitor_recovers_from_overrun(netns: Netns) -> None:
    no_link_local(netns)
    netns.add_veth()
    netns.ip("addr", "add", "10.0.0.1/16", "dev", "veth0")
    with Rtnl(netns.path) as rt, rt.monitor("routes", rcvbuf=4096) as mon:
        state: dict[tuple[Any, ...], Route] = {r.key(): r for r in rt.routes()}
        # a burst the 4 KiB receive buffer cannot hold while we are not reading
        adds = [f"route add 10.{20 + i // 250}.{i % 250}.0/24 via 10.0.0.2" for i in range(3000)]
        dels = [f"route del 10.{20 + i // 250}.{i % 250}.0/24" for i in range(0, 3000, 3)]
        netns.batch(adds + dels)
        resyncs = 0

        def later_changes() -> None:
            time.sleep(0.3)
            netns.ip("route", "add", "10.99.0.0/24", "dev", "veth0")
            netns.ip("route", "del", "10.20.1.0/24")

        t = threading.Thread(target=later_changes)
        t.start()
        for ev in mon.events(idle=1.5, timeout=60):
            if ev.kind == "resync":
                resyncs += 1
                assert ev.state is not None
                state = {r.key(): r for r in ev.state["routes"]}  # type: ignore[union-attr]
            else:
                assert isinstance(ev.obj, Route)
                if ev.action == "del":
                    state.pop(ev.obj.key(), None)
                else:
                    state[ev.obj.key()] = ev.obj
        t.join()
        stats = mon.stats()
        final_ip = {(r.get("table"), r["dst"]) for r in netns.ip_json("route", "show", "table", "all")}
        final_mine = {(r.to_dict().get("table"), r.to_dict()["dst"]) for r in state.values()}
        assert set(state) == _route_state(rt)
    assert stats["overruns"] >= 1 and resyncs >= 1
    assert final_mine == final_ip
    assert (None, "10.99.0.0/24") in final_mine and (None, "10.20.1.0/24") not in final_mine


def test_cli_monitor_json_and_stats(netns: Netns) -> None:
    netns.add_veth()
    out = io.StringIO()
    err = io.StringIO()

    def change() -> None:
        time.sleep(0.5)
        netns.ip("route", "add", "10.7.0.0/24", "dev", "veth0")

    t = threading.Thread(target=change)
    t.start()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["monitor", "routes", "--json", "--netns", netns.name, "--count", "1",
                   "--timeout", "20"])
    t.join()
    assert rc == 0
    ev = json.loads(out.getvalue().splitlines()[0])
    assert ev["kind"] == "routes" and ev["dst"] == "10.7.0.0/24" and ev["dev"] == "veth0"
    assert "1 messages, 0 overruns, 0 resyncs" in err.getvalue()


# -- netring monitor as a subprocess: bursts, resyncs, signals -------------------------------

SRC = str(Path(netring.__file__).resolve().parent.parent)
STATS = re.compile(r"netring monitor: (\d+) messages, (\d+) overruns, (\d+) resyncs, "
                   r"(\d+) kernel drops, (\d+) resync events, rcvbuf (\d+) bytes")


class MonitorProc:
    """``python -m netring monitor ...`` in a subprocess; stdout lines gathered by a thread."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONPATH=SRC)
        self.proc = subprocess.Popen([sys.executable, "-m", "netring", "monitor", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stderr = ""
        self._stopped = False

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def wait_for(self, pred: Callable[[str], bool], timeout: float = 60.0) -> bool:
        """Wait (bounded) until a line satisfies ``pred``."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            with self._lock:
                new = self.lines[seen:]
            if any(pred(x) for x in new):
                return True
            seen += len(new)
            if self.proc.poll() is not None and not self._reader.is_alive():
                return False
            time.sleep(0.05)
        return False

    def wait_complete(self, needle: str, timeout: float = 120.0) -> bool:
        """Wait (bounded) until a JSON line containing ``needle`` is out and, when it
        came in a resync's difference, every event of that difference is out too
        (a difference lists additions before removals)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                lines = list(self.lines)
            hit = next((i for i, x in enumerate(lines) if needle in x), None)
            if hit is not None:
                if '"resync": true' not in lines[hit]:
                    return True
                j = max(i for i in range(hit) if lines[i].startswith('{"kind": "resync"'))
                summary = json.loads(lines[j])
                if len(lines) > j + summary["added"] + summary["changed"] + summary["removed"]:
                    return True
            if self.proc.poll() is not None and not self._reader.is_alive():
                return False
            time.sleep(0.05)
        return False

    def stop(self, sig: int | None = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self._stopped:
            return self.proc.returncode  # stopped already
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=10)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        self._stopped = True
        return rc

    def json_events(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.lines]

    def stats(self) -> tuple[int, ...]:
        m = STATS.search(self.stderr)
        assert m, self.stderr
        return tuple(int(g) for g in m.groups())


def route_key(d: dict[str, Any]) -> tuple[Any, ...]:
    """A route's identity from its ``ip -j`` dict (what a consumer of the stream keys by)."""
    return (d.get("type", "unicast"), d["dst"], d.get("table", "main"), d.get("tos"),
            d.get("metric", 0), d.get("from"), d.get("dev"), d.get("gateway"))


def ip_routes(ns: Netns) -> set[tuple[Any, ...]]:
    both = ns.ip_json("route", "show", "table", "all") + ns.ip_json("-6", "route", "show",
                                                                   "table", "all")
    return {route_key(d) for d in both}


def apply_stream(state: dict[Any, Any], events: Iterable[dict[str, Any]],
                 key: Callable[[dict[str, Any]], Any], kind: str) -> None:
    """What a consumer does with the NDJSON stream: ``new`` sets, ``deleted`` forgets."""
    for ev in events:
        if ev["kind"] != kind:
            continue
        k = key(ev)
        if ev.get("deleted"):
            state.pop(k, None)
        else:
            state[k] = ev


def start_ready(ns: Netns, *args: str) -> MonitorProc:
    """Start ``netring monitor`` and wait until it prints (so it has joined and dumped)."""
    mon = MonitorProc(*args, "--netns", ns.name)
    for i in range(50):  # the monitor may still be starting: poke until it prints
        ns.ip("route", "replace", "10.254.254.0/24", "dev", "veth0", "metric", str(i))
        if mon.wait_for(lambda x: "10.254.254.0" in x, timeout=0.5):
            return mon
    mon.stop()
    raise AssertionError(f"netring monitor printed nothing: {mon.stderr}")


def test_cli_burst_with_overruns_reconstructs_the_routes(netns: Netns) -> None:
    """A 4 KiB receive buffer and ~9000 changes in one ip -batch: overruns, resyncs,
    and a consumer applying the NDJSON stream ends with ip's routes exactly."""
    no_link_local(netns)
    netns.add_veth()
    netns.ip("addr", "add", "10.0.0.1/16", "dev", "veth0")
    netns.ip("addr", "add", "2001:db8::1/64", "dev", "veth0", "nodad")
    old = [f"10.{20 + i // 250}.{i % 250}.0/24" for i in range(3000)]
    netns.batch([f"route add {p} via 10.0.0.2" for p in old])
    mon = start_ready(netns, "routes", "--json", "--rcvbuf", "4096", "--timeout", "120")
    state = {route_key(d): d for d in netns.ip_json("route", "show", "table", "all")
             + netns.ip_json("-6", "route", "show", "table", "all")}
    try:
        burst = ([f"route del {p}" for p in old[:1000]]                       # removed
                 + [f"route replace {p} via 10.0.0.3" for p in old[1000:2000]]  # changed
                 + [f"route add 10.{40 + i // 250}.{i % 250}.0/24 dev veth0 metric 7"
                    for i in range(3000)]                                      # added
                 + [f"route add 2001:db8:{i:x}::/64 via 2001:db8::2" for i in range(1000)]
                 + [f"route change {p} via 10.0.0.4 metric 0" for p in old[2000:2500]])
        netns.batch(burst)
        # a sentinel after the burst: once it is printed, every earlier change is too
        # (a loss before it shows as an overrun first, and the resync covers it)
        netns.ip("route", "add", "10.253.0.0/24", "dev", "veth0")
        done = mon.wait_complete('"10.253.0.0/24"')
        if not done:
            mon.stop()
        assert done, mon.stderr
    finally:
        rc = mon.stop(signal.SIGTERM)
    events = mon.json_events()
    messages, overruns, resyncs, drops, resync_events, rcvbuf = mon.stats()
    assert rc == -signal.SIGTERM
    assert overruns >= 1 and resyncs >= 1 and resync_events >= 1 and drops > 0
    assert 0 < rcvbuf < 64 * 1024
    summaries = [e for e in events if e["kind"] == "resync"]
    assert len(summaries) == resyncs
    marked = [e for e in events if e.get("resync") is True]
    assert len(marked) == resync_events
    assert {"added", "changed", "removed"} <= set(summaries[0])
    apply_stream(state, events, route_key, "routes")
    want = ip_routes(netns)
    assert set(state) == want, (sorted(set(state) - want)[:5], sorted(want - set(state))[:5])


def _link_key(d: dict[str, Any]) -> int:
    return int(d["ifindex"])


def _addr_key(d: dict[str, Any]) -> tuple[Any, ...]:
    return (d["index"], d["family"], d["local"], d["prefixlen"])


def _ip_links(ns: Netns) -> dict[int, str]:
    return {d["ifindex"]: d["ifname"] for d in ns.ip_json("link", "show")}


def _ip_addrs(ns: Netns) -> set[tuple[Any, ...]]:
    return {(link["ifindex"], a["family"], a["local"], a["prefixlen"])
            for link in ns.ip_json("addr", "show") for a in link.get("addr_info", [])}


def test_cli_burst_with_overruns_reconstructs_links_and_addresses(netns: Netns) -> None:
    subprocess.run(["ip", "netns", "exec", netns.name, "sysctl", "-qw",
                    "net.ipv6.conf.default.disable_ipv6=1"], check=True)
    netns.add_veth()
    netns.ip("addr", "add", "10.0.0.1/16", "dev", "veth0")
    netns.batch([f"link add a{i} type veth peer name b{i}" for i in range(100)])
    mon = MonitorProc("links,addrs", "--json", "--rcvbuf", "4096", "--timeout", "120",
                      "--netns", netns.name)
    try:
        for i in range(50):
            netns.ip("addr", "replace", f"10.0.200.{i + 1}/32", "dev", "veth0")
            if mon.wait_for(lambda x: "10.0.200." in x, timeout=0.5):
                break
        links = {d["ifindex"]: d for d in netns.ip_json("link", "show")}
        addrs = {(link["ifindex"], a["family"], a["local"], a["prefixlen"]): a
                 for link in netns.ip_json("addr", "show") for a in link.get("addr_info", [])}
        burst = ([f"link del a{i}" for i in range(0, 100, 2)]                    # removed
                 + [f"link set a{i} name r{i}" for i in range(1, 100, 4)]         # changed
                 + [f"link add c{i} type veth peer name d{i}" for i in range(100)]  # added
                 + [f"addr add 10.1.{i}.1/24 dev c{i}" for i in range(100)]
                 + [f"addr add 10.2.{i}.1/24 dev d{i}" for i in range(100)]
                 + [f"link set c{i} up" for i in range(50)]
                 + [f"link set d{i} up" for i in range(50)]
                 + [f"addr del 10.1.{i}.1/24 dev c{i}" for i in range(0, 100, 3)]
                 + [f"link del d{i}" for i in range(50, 100, 5)])
        netns.batch(burst)
        netns.ip("addr", "add", "10.0.201.1/32", "dev", "veth0")
        done = mon.wait_complete('"10.0.201.1"')
        if not done:
            mon.stop()
        assert done, mon.stderr
    finally:
        rc = mon.stop(signal.SIGINT)
    assert rc == 130
    events = mon.json_events()
    _messages, overruns, resyncs, _drops, resync_events, _rcvbuf = mon.stats()
    assert overruns >= 1 and resyncs >= 1 and resync_events >= 1
    apply_stream(links, events, _link_key, "links")
    apply_stream(addrs, events, _addr_key, "addrs")
    assert {k: v["ifname"] for k, v in links.items()} == _ip_links(netns)
    assert set(addrs) == _ip_addrs(netns)


def test_monitor_reports_routes_the_kernel_flushes_silently(netns: Netns) -> None:
    """IPv4 routes leave without RTM_DELROUTE when their link goes down (ip monitor
    shows nothing); the monitor re-dumps the routes and reports them removed."""
    no_link_local(netns)
    netns.add_veth()
    netns.ip("addr", "add", "10.0.0.1/24", "dev", "veth0")
    netns.ip("route", "add", "10.9.0.0/24", "via", "10.0.0.2")
    with Rtnl(netns.path) as rt, rt.monitor("routes") as mon:
        state = {k: o for k, o in mon.state.objects["routes"].items()}
        netns.ip("link", "set", "veth0", "down")
        events = collect(mon, idle=1.0)
        assert mon.stats()["refreshes"] >= 1
        for ev in events:
            assert ev.obj is not None
            if ev.action == "del":
                state.pop(object_key("routes", ev.obj), None)
            else:
                state[object_key("routes", ev.obj)] = ev.obj
        assert set(state) == set(mon.state.objects["routes"])
        assert set(state) == {object_key("routes", r) for r in rt.routes()}
        names = rt.names()
        mine = {route_key(r.to_dict(names)) for r in state.values()}
    gone = [e for e in events if e.action == "del" and e.resync]
    assert any(e.to_dict()["dst"] == "10.9.0.0/24" for e in gone)
    assert mine == {route_key(d) for d in netns.ip_json("route", "show", "table", "all")}


def test_cli_sigint_and_sigterm_print_statistics(netns: Netns) -> None:
    netns.add_veth()
    for sig, want in ((signal.SIGINT, 130), (signal.SIGTERM, -signal.SIGTERM)):
        mon = start_ready(netns, "routes")
        rc = mon.stop(sig)
        assert rc == want, mon.stderr
        messages, overruns, resyncs, drops, _rev, rcvbuf = mon.stats()
        assert messages >= 1 and overruns == 0 and resyncs == 0 and drops == 0
        # the default receive buffer (SO_RCVBUFFORCE as root), doubled by the kernel
        assert rcvbuf == 2 * (128 << 20)
        assert "Traceback" not in mon.stderr
        assert any(line.startswith("10.254.254.0/24 dev veth0") for line in mon.lines)


def test_cli_count_and_timestamps(netns: Netns) -> None:
    netns.add_veth()
    mon = MonitorProc("routes", "-t", "--count", "2", "--timeout", "60", "--netns", netns.name)
    mon_j = MonitorProc("routes", "--json", "--timestamp", "-c", "1", "--timeout", "60",
                        "--netns", netns.name)
    ip_t = subprocess.Popen(["ip", "-n", netns.name, "-t", "monitor", "route"],
                            stdout=subprocess.PIPE, text=True)
    try:
        for i in range(100):
            netns.ip("route", "add", f"10.{i}.0.0/24", "dev", "veth0")
            if mon.proc.poll() is not None and mon_j.proc.poll() is not None:
                break
            time.sleep(0.1)
        assert mon.stop(None) == 0 and mon_j.stop(None) == 0
    finally:
        ip_t.send_signal(signal.SIGTERM)
        ip_out = ip_t.communicate(timeout=10)[0]
    stamp = re.compile(r"^Timestamp: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} \d{1,6} usec$")
    assert stamp.match(ip_out.splitlines()[0])  # the oracle's shape
    assert len(mon.lines) == 4 and mon.stats()[0] == 2  # exactly 2 events: stamp + event each
    assert stamp.match(mon.lines[0]) and stamp.match(mon.lines[2])
    assert mon.lines[1].startswith("10.") and mon.lines[3].startswith("10.")
    (ev,) = mon_j.json_events()
    ts = datetime.fromisoformat(ev["timestamp"])
    assert ts.tzinfo is not None and abs(ts.timestamp() - time.time()) < 600
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d", ev["timestamp"])


def test_cli_text_equals_ip_monitor(netns: Netns) -> None:
    """`netring monitor` prints what `ip monitor` prints for the same changes (routes,
    addresses, neighbours, rules; a link change differs only in ip leaving out
    `mode`/`qlen` in notifications, so links are left out here)."""
    netns.add_veth()
    cmds = [["addr", "add", "10.5.0.1/24", "dev", "veth0"],
            ["route", "add", "10.6.0.0/24", "dev", "veth0"],
            ["route", "del", "10.6.0.0/24", "dev", "veth0"],
            ["neigh", "add", "10.5.0.2", "lladdr", "02:00:00:00:00:02", "dev", "veth0"],
            ["rule", "add", "from", "10.7.0.0/24", "lookup", "100"]]
    kinds = ["addrs,routes,neigh,rules", "address", "route", "neigh", "rule"]
    ipmon = subprocess.Popen(["ip", "-n", netns.name, "monitor", *kinds[1:]],
                             stdout=subprocess.PIPE, text=True)
    nr = subprocess.Popen([sys.executable, "-m", "netring", "monitor", kinds[0], "--netns",
                           netns.name, "--timeout", "20"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # both have joined their groups
        for c in cmds:
            netns.ip(*c)
        time.sleep(1.0)
    finally:
        for p in (ipmon, nr):
            p.send_signal(signal.SIGINT)
        ip_out = ipmon.communicate(timeout=10)[0]
        nr_out = nr.communicate(timeout=10)[0]
    assert nr_out.splitlines() == ip_out.splitlines()
    assert "Deleted 10.6.0.0/24 dev veth0" in nr_out


def test_sigterm_ends_events_after_the_event_in_hand_even_from_a_finaliser(
        netns: Netns) -> None:
    netns.add_veth()
    with Rtnl(netns.path) as rt, rt.monitor("routes") as mon:
        for i in range(3):
            netns.ip("route", "add", f"10.77.{i}.0/24", "dev", "veth0")
        got: list[Event] = []
        started = time.monotonic()
        with mon.stop_on_signal() as stop:
            for ev in mon.events(timeout=30):
                got.append(ev)
                victim = SignalsWhenCollected()
                del victim  # SIGTERM arrives inside the finaliser
        elapsed = time.monotonic() - started
        left = collect(mon, idle=0.5, timeout=10)
    assert stop.requested
    assert len(got) == 1 and elapsed < 10  # ended after that event, not at the timeout
    # nothing lost: the other notifications are still there for the next reader
    dsts = {e.to_dict()["dst"] for e in got + left if e.kind == "routes"}
    assert {f"10.77.{i}.0/24" for i in range(3)} <= dsts


def test_sigterm_ends_a_waiting_monitor_at_once(netns: Netns) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with Rtnl(netns.path) as rt, rt.monitor("routes") as mon:
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
        started = time.monotonic()
        with mon.stop_on_signal() as stop:
            timer.start()
            events = list(mon.events(timeout=30))
        elapsed = time.monotonic() - started
        timer.join()
    assert stop.requested and events == [] and elapsed < 5
    # outside the block SIGTERM is back to its previous disposition
    assert signal.getsignal(signal.SIGTERM) is before
