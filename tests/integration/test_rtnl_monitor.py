"""The monitor against the real kernel: it sees each change made by ``ip``, and after a
provoked overrun (tiny receive buffer + a burst of ``ip -batch``) it re-dumps and ends
with exactly the state ``ip`` shows."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from typing import Any

from nsutil import Netns

from netring import Event, Rtnl
from netring.cli import main
from netring.subsystems.rtnetlink import Route


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
