"""Route dump: netring typed views kept in a list vs ``ip -4 route show`` vs pyroute2.

Setup: a private network namespace (made and removed here) with a veth pair and
N IPv4 /32 routes on it, installed with ``ip -batch`` (default 1M; ``quick``:
100k).  Every variant runs in its **own child process** started inside the
namespace (``ip netns exec``), so peak RSS (``ru_maxrss``) belongs to that
variant alone:

* ``netring list``   ``Rtnl().routes(family=AF_INET)``: one lazy view per route,
  all kept in a list (receive chunks shared by the views).
* ``netring count``  ``Rtnl().count_routes(family=AF_INET)``: walk and count only.
* ``ip -4 route show > /dev/null``  iproute2 (C, formats text).
* ``pyroute2``       ``list(IPRoute().get_routes(family=AF_INET))``.  pyroute2 takes
  ~80 s and ~3 GiB for 1M routes, so when N is above ``PYROUTE2_MAX`` it runs on
  a second namespace holding ``PYROUTE2_MAX`` routes and its figures are reported
  as measured there (rate) and scaled linearly to N (time, RSS); the output says so.

Per variant: best wall time of the runs, routes/s, peak RSS (``VmHWM`` of the
child; for ``ip`` GNU time's ``%M``) and RSS per kept route (the child's ``VmRSS``
after the dump, with the list alive, minus before, over the route count).
``ru_maxrss`` is not used for the Python children: Linux carries the forking
parent's RSS across ``exec`` into it.

Run: ``netring bench dump [--quick]`` or ``python benchmarks/bench_dump.py [--quick]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any, TextIO

from ._common import command_line, machine, print_table

__all__ = ["run", "PYROUTE2_MAX"]

#: largest route count pyroute2 is run on (it decodes ~12k routes/s)
PYROUTE2_MAX = 200_000

_CHILD = r"""
import json, os, subprocess, sys, time
variant, n = sys.argv[1], int(sys.argv[2])

def status(key):
    # VmHWM / VmRSS of this process image only (ru_maxrss would include the RSS the
    # forking parent had before exec)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0

out = {}
if variant in ("netring_list", "netring_count"):
    from netring import Rtnl
    from netring.subsystems.rtnetlink import AF_INET
    rt = Rtnl()
    rt.names()
    base = status("VmRSS")
    t0 = time.perf_counter()
    if variant == "netring_list":
        routes = rt.routes(family=AF_INET)
        count = len(routes)
    else:
        count = rt.count_routes(family=AF_INET)
    dt = time.perf_counter() - t0
    out = {"count": count, "seconds": dt, "base_kib": base, "peak_kib": status("VmHWM"),
           "kept_kib": status("VmRSS") - base}
    if variant == "netring_list":
        s = routes[len(routes) // 2]
        out["sample"] = s.to_dict(rt.names())
elif variant == "ip":
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "ip", "-4", "route", "show"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    count = subprocess.run(["ip", "-4", "route", "show"], capture_output=True,
                           text=True).stdout.count("\n")
    out = {"count": count, "seconds": dt, "base_kib": 0,
           "peak_kib": int(p.stderr.strip().splitlines()[-1])}
elif variant == "pyroute2":
    from socket import AF_INET
    from pyroute2 import IPRoute
    ipr = IPRoute()
    base = status("VmRSS")
    t0 = time.perf_counter()
    routes = list(ipr.get_routes(family=AF_INET))
    dt = time.perf_counter() - t0
    out = {"count": len(routes), "seconds": dt, "base_kib": base, "peak_kib": status("VmHWM"),
           "kept_kib": status("VmRSS") - base}
print(json.dumps(out))
"""


def _sh(*args: str, input: str | None = None) -> None:
    subprocess.run(list(args), check=True, input=input, text=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _make_ns(name: str, n: int) -> float:
    """Namespace ``name`` with veth0/veth1 up and ``n`` /32 routes on veth0; returns
    the seconds ``ip -batch`` took to install them."""
    _sh("ip", "netns", "add", name)
    _sh("ip", "-n", name, "link", "set", "lo", "up")
    _sh("ip", "-n", name, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
    _sh("ip", "-n", name, "link", "set", "veth0", "up")
    _sh("ip", "-n", name, "link", "set", "veth1", "up")
    lines = "".join(
        f"route add 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}/32 dev veth0\n"
        for i in range(n))
    t0 = time.perf_counter()
    _sh("ip", "-n", name, "-batch", "-", input=lines)
    return time.perf_counter() - t0


def _child(ns: str, variant: str, n: int, timeout: float = 900) -> dict[str, Any]:
    proc = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", _CHILD, variant, str(n)],
        capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} child failed: {proc.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _best(ns: str, variant: str, n: int, repeat: int) -> dict[str, Any]:
    runs = [_child(ns, variant, n) for _ in range(repeat)]
    best = min(runs, key=lambda r: float(r["seconds"]))
    best["runs"] = [round(float(r["seconds"]), 4) for r in runs]
    return best


def _have_pyroute2() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyroute2") is not None


def run(quick: bool = False, out: TextIO | None = sys.stdout, n: int | None = None) -> dict[str, Any]:
    """Run the benchmark (root needed); returns the figures as a JSON-able dict."""
    if os.geteuid() != 0:
        msg = "netring bench dump: needs root (creates a network namespace)"
        if out is not None:
            print(msg, file=out)
        return {"error": msg}
    n = n or (100_000 if quick else 1_000_000)
    repeat = 3
    ns = f"nrbench-dump-{os.getpid()}"
    ns_small = f"{ns}-py"
    result: dict[str, Any] = {"benchmark": "dump", "routes": n, "machine": machine(),
                              "command": command_line(), "variants": {}}
    try:
        install_s = _make_ns(ns, n)
        result["install_seconds"] = round(install_s, 2)
        if out is not None:
            print(f"installed {n} routes with ip -batch in {install_s:.1f} s", file=out)
        v = result["variants"]
        v["netring_list"] = _best(ns, "netring_list", n, repeat)
        v["netring_count"] = _best(ns, "netring_count", n, repeat)
        v["ip"] = _best(ns, "ip", n, repeat)
        if _have_pyroute2():
            py_n = min(n, PYROUTE2_MAX)
            py_ns = ns
            if py_n < n:
                _make_ns(ns_small, py_n)
                py_ns = ns_small
            p = _child(py_ns, "pyroute2", py_n)
            p["measured_on"] = py_n
            if py_n < n:
                scale = n / py_n
                p["scaled"] = True
                p["seconds_measured"] = p["seconds"]
                p["seconds"] = p["seconds"] * scale
                p["peak_kib_measured"] = p["peak_kib"]
                p["peak_kib"] = int(p["base_kib"] + (p["peak_kib"] - p["base_kib"]) * scale)
                p["kept_kib_measured"] = p["kept_kib"]
                p["kept_kib"] = int(p["kept_kib"] * scale)
            v["pyroute2"] = p
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns_small], capture_output=True)

    rows: list[tuple[str, ...]] = []
    for name, label in (("netring_list", "netring: typed views kept in a list"),
                        ("netring_count", "netring: count only"),
                        ("ip", "ip -4 route show > /dev/null"),
                        ("pyroute2", "pyroute2 list(IPRoute().get_routes())")):
        r = v.get(name)
        if r is None:
            continue
        count = int(r["count"]) if name != "pyroute2" or not r.get("scaled") else n
        rate = count / float(r["seconds"]) if r["seconds"] else 0.0
        r["routes_per_s"] = round(rate)
        per_route = int(r.get("kept_kib", 0)) * 1024 / max(count, 1)
        r["rss_bytes_per_route"] = round(per_route, 1) if name != "ip" else None
        note = f" (measured on {r['measured_on']} routes, scaled)" if r.get("scaled") else ""
        rows.append((label + note, f"{count}", f"{float(r['seconds']):.3f}",
                     f"{rate / 1e6:.2f} M" if rate >= 1e5 else f"{rate / 1e3:.1f} k",
                     f"{int(r['peak_kib']) / 1024:.1f}",
                     "-" if name == "ip" else f"{per_route:.0f}"))
    nl = v["netring_list"]["routes_per_s"]
    ratios = {"list_vs_ip": round(nl / v["ip"]["routes_per_s"], 2),
              "count_routes_per_s": v["netring_count"]["routes_per_s"]}
    if "pyroute2" in v:
        ratios["list_vs_pyroute2"] = round(nl / v["pyroute2"]["routes_per_s"], 1)
    result["ratios"] = ratios
    if out is not None:
        print_table(out, f"IPv4 route dump, {n} routes ({command_line()})", rows,
                    ("variant", "routes", "best s", "routes/s", "peak RSS MiB", "B/route"))
        print(f"\nnetring list vs ip: {ratios['list_vs_ip']}x"
              + (f"; vs pyroute2: {ratios['list_vs_pyroute2']}x" if "list_vs_pyroute2" in ratios
                 else "; pyroute2 not installed")
              + f"; count-only {ratios['count_routes_per_s'] / 1e6:.2f} M routes/s", file=out)
        if v.get("pyroute2", {}).get("scaled"):
            print(f"pyroute2 ran on {v['pyroute2']['measured_on']} routes (it would take over "
                  f"60 s on {n}); its time and RSS are scaled linearly to {n}", file=out)
        m = result["machine"]
        print(f"machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, "
              f"{m['implementation']} {m['python']}", file=out)
    return result


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
