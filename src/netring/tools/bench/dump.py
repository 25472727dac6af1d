"""Route dump, like for like, each variant a whole process: netring's CLI against
``ip`` (text and JSON), netring's library objects against pyroute2's.

Setup: a private network namespace (made and removed here) with a veth pair and
N IPv4 /32 routes on it, installed with ``ip -batch`` (default 1M; ``quick``:
100k).  Pairs compared, each command run as its own process, all of them in
turn ``repeat`` times (alternating, so a busy machine slows every variant
alike), medians reported:

* text:    ``netring dump routes -4 --table all --netns NS > /dev/null``
           vs ``ip -n NS -4 route show table all > /dev/null``
* JSON:    ``netring dump routes -4 --table all --json ...`` vs ``ip -n NS -j -4 route
           show table all``
* objects: ``list(Rtnl().routes(family=AF_INET))`` vs
           ``list(IPRoute().get_routes(family=AF_INET))`` (pyroute2, both run with
           ``ip netns exec NS python -c ...``).  pyroute2 decodes ~12k routes/s, so
           above ``PYROUTE2_MAX`` routes it runs on a second namespace holding
           ``PYROUTE2_MAX`` routes, and netring's objects are measured there too
           (that pair's row says so).

Wall time is the whole process (start-up, interpreter, imports included),
measured around the child, after one warm-up run of each command; peak RSS is
GNU time's ``%M`` of the process.  The Python children keep their compiled
bytecode (in a private cache directory) as an installed package does.

Run: ``netring bench dump [--quick]`` or ``python benchmarks/bench_dump.py [--quick]``.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

from ...codec.types import TYPE_CHECKING
from ._common import command_line, machine

if TYPE_CHECKING:
    from typing import Any, TextIO

__all__ = ["run", "PYROUTE2_MAX"]

#: largest route count pyroute2 is run on (it decodes ~12k routes/s)
PYROUTE2_MAX = 200_000

_NETRING_OBJECTS = ("from netring import Rtnl; from netring.subsystems.rtnetlink import AF_INET; "
                    "rt = Rtnl(); routes = rt.routes(family=AF_INET); print(len(routes))")
_PYROUTE2_OBJECTS = ("from socket import AF_INET; from pyroute2 import IPRoute; "
                     "routes = list(IPRoute().get_routes(family=AF_INET)); print(len(routes))")


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


def _netring_cmd(ns: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "netring", "dump", "routes", "-4", "--table", "all",
            *extra, "--netns", ns]


def _variants(ns: str, py_ns: str, have_pyroute2: bool) -> dict[str, list[str]]:
    v = {
        "netring_text": _netring_cmd(ns),
        "ip_text": ["ip", "-n", ns, "-4", "route", "show", "table", "all"],
        "netring_json": _netring_cmd(ns, "--json"),
        "ip_json": ["ip", "-n", ns, "-j", "-4", "route", "show", "table", "all"],
        "netring_objects": ["ip", "netns", "exec", py_ns, sys.executable, "-c",
                            _NETRING_OBJECTS],
    }
    if have_pyroute2:
        v["pyroute2_objects"] = ["ip", "netns", "exec", py_ns, sys.executable, "-c",
                                 _PYROUTE2_OBJECTS]
    return v


def _child_env() -> dict[str, str]:
    """This process's environment, with the netring being measured first on the path."""
    import netring

    src = os.path.dirname(os.path.dirname(os.path.abspath(netring.__file__)))
    env = dict(os.environ)
    # start-up as installed: bytecode compiled once and kept (in a private cache
    # directory, so the source tree stays clean), even where the caller turned it off
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", os.path.join(tempfile.gettempdir(),
                                                       "netring-bench-pycache"))
    env["PYTHONPATH"] = os.pathsep.join([src] + [p for p in env.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    return env


def _once(cmd: list[str], env: dict[str, str], timeout: float = 900) -> tuple[float, int]:
    """(wall seconds, peak RSS KiB) of one run of ``cmd``, its output to /dev/null."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-f", "%M", "-o", tf.name, *cmd]
        t0 = time.perf_counter()
        proc = subprocess.run(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, timeout=timeout, env=env)
        dt = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(cmd)} failed: {proc.stderr.strip()[-2000:]}")
        lines = tf.read().strip().splitlines()
    return dt, int(lines[-1]) if lines else 0


def _have_pyroute2() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyroute2") is not None


def _count(cmd: list[str]) -> int:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return out.count("\n")


def run(quick: bool = False, out: TextIO | None = sys.stdout, n: int | None = None,
        repeat: int = 3) -> dict[str, Any]:
    """Run the benchmark (root needed); returns the figures as a JSON-able dict."""
    if os.geteuid() != 0:
        msg = "netring bench dump: needs root (creates a network namespace)"
        if out is not None:
            print(msg, file=out)
        return {"error": msg}
    if not os.path.exists("/usr/bin/time"):
        msg = "netring bench dump: needs GNU time (/usr/bin/time) for peak RSS"
        if out is not None:
            print(msg, file=out)
        return {"error": msg}
    n = n or (100_000 if quick else 1_000_000)
    ns = f"nrbench-dump-{os.getpid()}"
    ns_small = f"{ns}-py"
    py_n = min(n, PYROUTE2_MAX)
    result: dict[str, Any] = {"benchmark": "dump", "routes": n, "objects_routes": py_n,
                              "machine": machine(), "command": command_line(),
                              "repeat": repeat, "variants": {}}
    v = result["variants"]
    try:
        install_s = _make_ns(ns, n)
        result["install_seconds"] = round(install_s, 2)
        py_ns = ns
        if py_n < n:
            _make_ns(ns_small, py_n)
            py_ns = ns_small
        cmds = _variants(ns, py_ns, _have_pyroute2())
        shown = _count(cmds["ip_text"])
        env = _child_env()
        runs: dict[str, list[tuple[float, int]]] = {k: [] for k in cmds}
        for cmd in cmds.values():
            _once(cmd, env)  # warm-up: page cache, compiled bytecode
        for _ in range(repeat):
            for name, cmd in cmds.items():
                runs[name].append(_once(cmd, env))
        for name, cmd in cmds.items():
            secs = [r[0] for r in runs[name]]
            routes = py_n if name.endswith("_objects") else shown
            med = statistics.median(secs)
            v[name] = {"command": shlex.join(cmd), "routes": routes,
                       "seconds": round(med, 4), "runs": [round(s, 4) for s in secs],
                       "peak_kib": max(r[1] for r in runs[name]),
                       "routes_per_s": round(routes / med) if med else 0}
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns_small], capture_output=True)

    pairs = [("text", "netring_text", "ip_text"), ("JSON", "netring_json", "ip_json"),
             ("objects", "netring_objects", "pyroute2_objects")]
    ratios: dict[str, float] = {}
    for label, mine, theirs in pairs:
        if mine in v and theirs in v and v[theirs]["seconds"]:
            ratios[label] = round(v[mine]["seconds"] / v[theirs]["seconds"], 4)
    result["ratios"] = ratios
    if out is not None:
        _report(out, result)
    return result


def _report(out: TextIO, result: dict[str, Any]) -> None:
    v = result["variants"]
    n, py_n = result["routes"], result["objects_routes"]
    print(f"IPv4 route dump, {n} routes on a veth in a private namespace, whole processes, "
          f"median of {result['repeat']} alternating runs", file=out)
    labels = {"netring_text": "netring dump routes (text)", "ip_text": "ip route show (text)",
              "netring_json": "netring dump routes --json", "ip_json": "ip -j route show",
              "netring_objects": "netring Rtnl().routes()",
              "pyroute2_objects": "pyroute2 IPRoute().get_routes()"}
    rows = [("variant", "routes", "median s", "routes/s", "peak RSS MiB")]
    for name, label in labels.items():
        r = v.get(name)
        if r is None:
            continue
        rate = float(r["routes_per_s"])
        rows.append((label, str(r["routes"]), f"{r['seconds']:.3f}",
                     f"{rate / 1e6:.2f} M" if rate >= 1e5 else f"{rate / 1e3:.1f} k",
                     f"{r['peak_kib'] / 1024:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(),
              file=out)
    ratios = result["ratios"]
    words = [f"{k} {x:.2f}x ip's" for k, x in ratios.items() if k != "objects"]
    if "objects" in ratios:
        x = ratios["objects"]
        text = f"objects {x:.3f}x pyroute2's (1/{1 / x:.0f})" if x else "objects -"
        words.append(text + (f", both on {py_n} routes" if py_n < n else ""))
    elif "pyroute2_objects" not in v:
        words.append("objects: pyroute2 not installed")
    print("netring's time (below 1: faster): " + "; ".join(words), file=out)
    print("commands:", file=out)
    for name in labels:
        if name in v:
            print(f"  {v[name]['command']}", file=out)
    m = result["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, "
          f"{m['implementation']} {m['python']}; routes installed with ip -batch in "
          f"{result.get('install_seconds', 0):.1f} s", file=out)


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
