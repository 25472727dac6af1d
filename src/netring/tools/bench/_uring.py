"""Benchmark section: the io_uring ring beside the recvmmsg filler and plain recv.

Part of ``netring bench ring`` (run after its own tables, in its namespace and on
its routes) and runnable alone: ``python benchmarks/bench_uring.py [--quick]``.

1. Two processes, 64-byte USERSOCK messages (the sender uses ``sendmmsg`` batches
   of 256), receiver variants in one run:
   * ``plain recv_into``        one ``recv_into`` per message (the naive baseline)
   * ``ring, recvmmsg filler``  the user-space engine filling its ring in process
   * ``ring, io_uring``         the kernel fills the frames (multishot RECVMSG)
   * ``ring, io_uring + meta``  the same with NETLINK_PKTINFO and SCM_CREDENTIALS
                                parsed into every frame header
   Every ring is read with ``data()`` (a view per message).
2. Drain: the same messages already waiting in the socket, read from the first
   call to the last message (the filler's and the kernel's receive work included).
3. A route dump read by ``messages()`` through each variant, one child process each.

Each io_uring row reports ``io_uring_enter`` calls per 1000 messages: submissions
(re-arming the multishot receive) plus waits for completions.  The stream and the
drain run in :data:`ROUNDS` interleaved rounds (every variant once per round), the
best round of each variant kept: on a shared machine one round moves by 10-20 %.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from ...codec import NETLINK, NLMSG, iter_messages
from ...codec.types import TYPE_CHECKING
from ...netns import socket_in
from ...nlmmap.edge.factory import default_geometry, open_ring
from ...nlmmap.edge.uring import UringRing, support
from ...nlmmap.geometry import RingGeometry
from ..ringtraffic import send_sequence
from ._common import command_line, machine, print_footer, print_table
from ._ringkit import cpu as _cpu
from ._ringkit import dump_request as _dump_request
from ._ringkit import fork as _fork
from ._ringkit import reap as _reap
from ._ringkit import usersock as _usersock

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO

__all__ = ["section", "run"]

SIZE = 64
FILLER = "ring, recvmmsg filler"
URING = "ring, io_uring"
URING_META = "ring, io_uring + meta"
PLAIN = "plain recv_into"
FRAMES = 8192  # frames of every ring (io_uring: 256 bytes, the filler: 128, as in bench ring)
ROUNDS = 3  # interleaved rounds of the stream and drain measures; the best of each kept
BATCH = 1024  # frames per recvmmsg (filler) and per data() step (both rings)
DUMP_FRAME = 32768 + 24  # frames that hold a whole dump datagram, 64 of them
DRAIN_RCVBUF = 256 << 20  # room for 100k waiting 64-byte datagrams (about 1 KiB each)


def _ring(r: socket.socket, kind: str) -> Any:
    if kind == FILLER:
        return open_ring(r, default_geometry(128, FRAMES), None, backend="user", meta=False,
                         batch=BATCH)
    return UringRing(r, default_geometry(256, FRAMES), meta=kind == URING_META)


def _enters(ring: Any, n: int) -> float | None:
    st = ring.stats()
    return st["enters"] * 1000 / n if "enters" in st else None


# -- 1. two processes ------------------------------------------------------------------
def _stream(ns: str, n: int, kind: str) -> tuple[float, float, float | None]:
    """(msgs/s, receive CPU s/msg, io_uring_enter per 1000 msgs) of one variant."""
    r = _usersock(ns)
    ring = None if kind == PLAIN else _ring(r, kind)
    pid = _fork(send_sequence, ns, r.getsockname()[0], n, SIZE)
    c0, t0 = _cpu(), time.perf_counter()
    got = 0
    if ring is None:
        buf = bytearray(65536)
        recv_into = r.recv_into
        while got < n:
            recv_into(buf)
            got += 1
    else:
        for _v in ring.data(timeout=10, count=n, batch=BATCH):
            got += 1
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    _reap(pid)
    enters = _enters(ring, n) if ring is not None else None
    if ring is not None:
        ring.close()
    r.close()
    if got != n:
        raise RuntimeError(f"{kind} delivered {got} of {n}")
    return n / dt, cpu / n, enters


def _sender_alone(ns: str, n: int) -> tuple[float, float]:
    """(msgs/s, sender CPU s/msg) of the stream's sender into a socket nobody reads,
    with room for all ``n``: what any reader of the stream can reach at most."""
    r = _usersock(ns, DRAIN_RCVBUF)
    c0, t0 = time.process_time(), time.perf_counter()
    send_sequence(ns, r.getsockname()[0], n, SIZE)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    r.close()
    return n / dt, cpu / n


# -- 2. drain -----------------------------------------------------------------------------
def _drain(ns: str, n: int, kind: str) -> tuple[float, float | None]:
    """(msgs/s, io_uring_enter per 1000) reading ``n`` messages that already wait."""
    r = _usersock(ns, DRAIN_RCVBUF)
    send_sequence(ns, r.getsockname()[0], n, SIZE)  # blocks if they do not all fit
    ring = None if kind == PLAIN else _ring(r, kind)
    t0 = time.perf_counter()
    if ring is None:
        buf = bytearray(65536)
        recv_into = r.recv_into
        for _ in range(n):
            recv_into(buf)
        got = n
    else:
        got = 0
        for _v in ring.data(timeout=5, count=n, batch=BATCH):
            got += 1
    rate = n / (time.perf_counter() - t0)
    enters = _enters(ring, n) if ring is not None else None
    if ring is not None:
        ring.close()
    r.close()
    if got != n:
        raise RuntimeError(f"{kind} drained {got} of {n}")
    return rate, enters


# -- 3. route dump ------------------------------------------------------------------------
def _dump(ns: str, wfd: int, kind: str) -> None:
    s = socket_in(ns, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.ROUTE)
    s.bind((0, 0))
    done = int(NLMSG.DONE)
    count = 0
    enters = -1.0
    if kind == PLAIN:
        s.send(_dump_request())
        buf = bytearray(1 << 16)
        t0 = time.perf_counter()
        while True:
            n = s.recv_into(buf)
            end = False
            for m in iter_messages(buf, 0, n):
                if m.type == done:
                    end = True
                    break
                count += 1
            if end:
                break
    else:
        g = RingGeometry.for_frames(DUMP_FRAME, 64)
        ring: Any = (open_ring(s, g, None, backend="user") if kind == FILLER
                     else UringRing(s, g, meta=kind == URING_META))
        s.send(_dump_request())
        t0 = time.perf_counter()
        for m in ring.messages(timeout=10):
            if m.type == done:
                break
            count += 1
        if kind != FILLER:
            enters = ring.stats()["enters"] * 1000 / max(1, count)
    os.write(wfd, f"{count} {time.perf_counter() - t0} {enters}".encode())


def _dump_child(ns: str, kind: str) -> tuple[int, float, float | None]:
    rfd, wfd = os.pipe()
    pid = _fork(_dump, ns, wfd, kind)
    os.close(wfd)
    status, _ru = _reap(pid, 180)
    data = os.read(rfd, 200).decode().split()
    os.close(rfd)
    if os.waitstatus_to_exitcode(status) != 0 or len(data) != 3:
        raise RuntimeError(f"dump child {kind} failed")
    enters = float(data[2])
    return int(data[0]), float(data[1]), enters if enters >= 0 else None


def _best(measure: Callable[[str], tuple[Any, ...]], kinds: tuple[str, ...]
          ) -> dict[str, tuple[Any, ...]]:
    """Each variant measured in :data:`ROUNDS` interleaved rounds; the result of its
    fastest round (the first field is the rate)."""
    best: dict[str, tuple[Any, ...]] = {}
    for _ in range(ROUNDS):
        for k in kinds:
            r = measure(k)
            if k not in best or r[0] > best[k][0]:
                best[k] = r
    return best


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


# -- driver --------------------------------------------------------------------------------
def section(ns: str, n: int, drain_n: int, out: TextIO | None, dump: bool = True
            ) -> dict[str, Any]:
    """The io_uring tables, in namespace ``ns`` (its routes serve the dump)."""
    results: dict[str, Any] = {"uring": dict(support())}
    if not results["uring"]["available"]:
        if out is not None:
            print(f"\nio_uring ring: not available here ({results['uring']['reason']})",
                  file=out)
        return results
    kinds = (PLAIN, FILLER, URING, URING_META)
    measured = _best(lambda k: _stream(ns, n, k), kinds)
    base, fill = measured[PLAIN][0], measured[FILLER][0]
    print_table(out, f"io_uring ring: two processes, {SIZE}-byte messages, {n} each, "
                     f"{FRAMES}-frame rings, best of {ROUNDS}",
                [(k, f"{v[0] / 1e6:.3f}", f"{v[0] / base:.2f}x", f"{v[0] / fill:.2f}x",
                  f"{v[1] * 1e6:.2f}", _fmt(v[2])) for k, v in measured.items()],
                ("variant", "M msg/s", "vs plain", "vs filler", "receive CPU us/msg",
                 "enter/1000"))
    results["stream"] = {k: {"msgs_per_s": round(v[0]), "cpu_us_per_msg": round(v[1] * 1e6, 3),
                             "enters_per_1000": v[2]} for k, v in measured.items()}
    alone, alone_cpu = _sender_alone(ns, drain_n)
    results["stream"]["sender_alone"] = {"msgs_per_s": round(alone),
                                         "cpu_us_per_msg": round(alone_cpu * 1e6, 3)}
    if out is not None:
        print(f"the sender alone, into a socket nobody reads ({drain_n} messages): "
              f"{alone / 1e6:.3f} M msg/s, {alone_cpu * 1e6:.2f} us of its CPU each "
              f"(no reader of the stream can go faster)", file=out)
    drained = _best(lambda k: _drain(ns, drain_n, k), kinds)
    base, fill = drained[PLAIN][0], drained[FILLER][0]
    print_table(out, f"io_uring ring: drain {drain_n} waiting {SIZE}-byte messages "
                     "(receive work included)",
                [(k, f"{v[0] / 1e6:.3f}", f"{v[0] / base:.2f}x", f"{v[0] / fill:.2f}x",
                  _fmt(v[1])) for k, v in drained.items()],
                ("variant", "M msg/s", "vs plain", "vs filler", "enter/1000"))
    results["drain"] = {k: {"msgs_per_s": round(v[0]), "enters_per_1000": v[1]}
                        for k, v in drained.items()}
    if dump:
        dumped = {k: _dump_child(ns, k) for k in kinds}
        base, fill = (dumped[PLAIN][0] / dumped[PLAIN][1], dumped[FILLER][0] / dumped[FILLER][1])
        rows = []
        for k, (count, secs, enters) in dumped.items():
            rate = count / secs
            rows.append((k, str(count), f"{rate / 1e6:.3f}", f"{rate / base:.2f}x",
                         f"{rate / fill:.2f}x", _fmt(enters)))
        print_table(out, "io_uring ring: route dump read with messages(), one child each",
                    rows, ("variant", "messages", "M msg/s", "vs plain", "vs filler",
                           "enter/1000"))
        results["route_dump"] = {k: {"messages": v[0], "msgs_per_s": round(v[0] / v[1]),
                                     "enters_per_1000": v[2]} for k, v in dumped.items()}
    return results


def run(quick: bool = False, out: TextIO | None = sys.stdout) -> dict[str, Any]:
    """The section on its own, in a namespace made (with routes) and removed here."""
    if os.geteuid() != 0:
        raise PermissionError("the io_uring benchmark needs root (it creates a network namespace)")
    name = f"nrbench-uring-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    path = f"/run/netns/{name}"
    routes = 20_000 if quick else 200_000
    try:
        for args in (["link", "add", "veth0", "type", "veth", "peer", "name", "veth1"],
                     ["link", "set", "veth0", "up"]):
            subprocess.run(["ip", "-n", name, *args], check=True, capture_output=True)
        lines = "".join(f"route add 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32 dev veth0\n"
                        for i in range(routes))
        subprocess.run(["ip", "-n", name, "-batch", "-"], input=lines.encode(), check=True,
                       capture_output=True)
        results = section(path, 50_000 if quick else 200_000, 20_000 if quick else 100_000, out)
        results.update({"machine": machine(), "command": command_line(), "routes": routes})
        print_footer(out, results)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return results


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
