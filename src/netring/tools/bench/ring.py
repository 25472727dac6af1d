"""Benchmark: netlink rings beside plain recv, a unix datagram socket and multiprocessing.Queue.

Run as ``netring bench ring`` or ``python benchmarks/bench_ring.py [--quick]``.
Everything runs in a private network namespace made and removed here.

1. Two processes, 64-byte messages, sender -> receiver, in one run:
   * ``plain netlink recv``   USERSOCK, ``recv_into`` per message (naive baseline)
   * ``ring (in-process)``    USERSOCK through the user-space ring engine, the
                              receiver fills its ring with ``recvmmsg``
   * ``ring (feeder process)`` a third process fills the ring; the consumer only
                              walks frames (no syscall while frames wait)
   * ``ring, peer writes frames (no socket)`` the sender process writes the
                              messages straight into the shared ring with
                              :class:`~netring.nlmmap.edge.writer.RingWriter` (no socket, no
                              syscall per message); the consumer walks frames as above
   * ``unix datagram``        ``socketpair(AF_UNIX, SOCK_DGRAM)``, ``recv_into``
   * ``multiprocessing.Queue`` ``put``/``get`` of 64-byte ``bytes``
   Every socket sender uses ``sendmmsg`` batches of 256 and the ring writer
   ``send_many`` batches of 256 (sequence numbers stamped into a staging buffer
   with one strided write per batch, then one copy per message), so the receiving
   side is what is measured.  The socket-fed rings pay the kernel's per-datagram
   cost (the same in every socket variant); the direct writer does not, which is
   why it is a separate row, not a replacement.
2. Drain rate: messages already waiting, read by the consumer (ring: no system
   call at all; plain: one ``recv`` each).
3. A route dump through a ring vs plain recv: messages/s and peak RSS, each
   variant in its own child process.
4. The io_uring ring beside the recvmmsg filler and plain recv: two processes,
   drain and route dump, with io_uring_enter calls per 1000 messages
   (:mod:`netring.tools.bench._uring`).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from array import array

from ...codec import NETLINK, NLMSG, iter_messages
from ...codec.structs import nlmsghdr
from ...codec.types import TYPE_CHECKING
from ...netns import socket_in
from ...nlmmap.edge.factory import default_geometry, open_ring, ring_support
from ...nlmmap.edge.fanout import Feeder
from ...nlmmap.edge.shm import SharedRing
from ...nlmmap.edge.tx import FrameSender
from ...nlmmap.edge.user import UserRing
from ...nlmmap.edge.writer import RingWriter
from ...nlmmap.geometry import RingGeometry
from ..ringtraffic import send_sequence
from ._common import command_line, machine, print_footer, print_table
from ._ringkit import cpu as _cpu
from ._ringkit import dump_request as _dump_request
from ._ringkit import fork as _fork
from ._ringkit import reap as _reap
from ._ringkit import usersock as _usersock

if TYPE_CHECKING:
    from typing import Any, TextIO

__all__ = ["run"]

SIZE = 64
BATCH = 1024  # frames offered to one recvmmsg by the ring filler
SOCKET_INPROC = "ring <- socket, in-process filler"
SOCKET_FEEDER = "ring <- socket, feeder process"
DIRECT = "ring <- peer writes frames (no socket)"


# -- 1. two processes ------------------------------------------------------------------
def _plain(ns: str, n: int) -> tuple[float, float]:
    r = _usersock(ns)
    buf = bytearray(65536)
    pid = _fork(send_sequence, ns, r.getsockname()[0], n, SIZE)
    c0, t0 = _cpu(), time.perf_counter()
    got = 0
    recv_into = r.recv_into
    while got < n:
        recv_into(buf)
        got += 1
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    _reap(pid)
    r.close()
    return n / dt, cpu / n


def _ring_inproc(ns: str, n: int) -> tuple[float, float]:
    r = _usersock(ns)
    ring = open_ring(r, default_geometry(128, 8192), None, backend="user", meta=False,
                     batch=BATCH)
    pid = _fork(send_sequence, ns, r.getsockname()[0], n, SIZE)
    c0, t0 = _cpu(), time.perf_counter()
    got = 0
    for _v in ring.data(timeout=10, count=n):
        got += 1
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    _reap(pid)
    assert isinstance(ring, UserRing)
    ring.close()
    r.close()
    if got != n:
        raise RuntimeError(f"ring delivered {got} of {n}")
    return n / dt, cpu / n


def _ring_feeder(ns: str, n: int) -> tuple[float, float]:
    r = _usersock(ns)
    shared = SharedRing.create(default_geometry(128, 8192))
    feeder = Feeder(r, [shared], batch=BATCH, meta=False)
    sender = _fork(send_sequence, ns, r.getsockname()[0], n, SIZE)
    feeder_pid = _fork(lambda: feeder.run(count=n, duration=60))
    ring = UserRing.attach(shared)
    c0, t0 = _cpu(), time.perf_counter()
    got = 0
    for _v in ring.data(timeout=10, count=n):
        got += 1
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    _reap(sender)
    _, ru = _reap(feeder_pid)
    cpu += ru.ru_utime + ru.ru_stime  # the feeder's work is receive-side work too
    feeder.close()
    ring.close()
    r.close()
    if got != n:
        raise RuntimeError(f"ring delivered {got} of {n}")
    return n / dt, cpu / n


def _direct_writer(shared: SharedRing, n: int) -> None:
    """The sender of the direct variant: 64-byte USERSOCK-shaped messages, ``nlmsg_seq``
    0, 1, 2, ..., stamped into a staging buffer, ``send_many`` batches of 256."""
    batch = 256
    stage = bytearray(SIZE * batch)
    for k in range(batch):
        nlmsghdr.pack_into(stage, k * SIZE, SIZE, NLMSG.MIN_TYPE, 0, 0, 0)
    mv = memoryview(stage)
    words = mv.cast("I")
    views = [mv[k * SIZE : (k + 1) * SIZE] for k in range(batch)]
    stride = SIZE // 4
    with RingWriter(shared, timeout=30) as w:
        sent = 0
        while sent < n:
            k = min(batch, n - sent)
            words[2 : 2 + k * stride : stride] = array("I", range(sent, sent + k))
            sent += w.send_many(views if k == batch else views[:k])


def _ring_direct(n: int) -> tuple[float, float]:
    shared = SharedRing.create(default_geometry(128, 8192))
    pid = _fork(_direct_writer, shared, n)
    ring = UserRing.attach(shared)
    c0, t0 = _cpu(), time.perf_counter()
    got = 0
    for _v in ring.data(timeout=10, count=n):
        got += 1
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    _reap(pid)
    ring.close()
    if got != n:
        raise RuntimeError(f"ring delivered {got} of {n}")
    return n / dt, cpu / n


def _unix_sender(sock: socket.socket, n: int) -> None:
    g = RingGeometry.for_frames(SIZE + 24, 256)
    buf = bytearray(g.size)
    fs = FrameSender(buf, g, dest_portid=None)
    lens = array("Q", [SIZE]) * 256
    sent = 0
    while sent < n:
        k = min(256, n - sent)
        sent += fs.send(sock.fileno(), 0, lens[:k])
    fs.close()


def _unix(n: int) -> tuple[float, float]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    pid = _fork(_unix_sender, a, n)
    buf = bytearray(65536)
    c0, t0 = _cpu(), time.perf_counter()
    recv_into = b.recv_into
    for _ in range(n):
        recv_into(buf)
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    _reap(pid)
    a.close()
    b.close()
    return n / dt, cpu / n


def _queue_sender(q: Any, n: int) -> None:
    msg = bytes(SIZE)
    put = q.put
    for _ in range(n):
        put(msg)


def _mpqueue(n: int) -> tuple[float, float]:
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_queue_sender, args=(q, n))
    p.start()
    c0, t0 = _cpu(), time.perf_counter()
    get = q.get
    for _ in range(n):
        get(timeout=30)
    dt, cpu = time.perf_counter() - t0, _cpu() - c0
    p.join(30)
    return n / dt, cpu / n


# -- 2. drain -----------------------------------------------------------------------------
def _drain(ns: str, n: int) -> tuple[float, float]:
    """(ring msgs/s, plain msgs/s) reading ``n`` messages that are already waiting."""
    r = _usersock(ns, 64 << 20)
    send_sequence(ns, r.getsockname()[0], n, SIZE)
    buf = bytearray(65536)
    t0 = time.perf_counter()
    for _ in range(n):
        r.recv_into(buf)
    plain = n / (time.perf_counter() - t0)
    ring = open_ring(r, default_geometry(128, n), None, backend="user", meta=False, batch=256)
    assert isinstance(ring, UserRing)
    send_sequence(ns, r.getsockname()[0], n, SIZE)
    filled = 0
    while filled < n:  # fill the ring first: the consumer below makes no syscall
        got = ring.fill()
        if got <= 0:
            break
        filled += got
    rx = ring.rx
    assert rx is not None
    t0 = time.perf_counter()
    got = 0
    for _v in rx.iter_data(filled):
        got += 1
    fast = got / (time.perf_counter() - t0)
    ring.close()
    r.close()
    return fast, plain


# -- 3. route dump ------------------------------------------------------------------------
def _dump_plain(ns: str, wfd: int) -> None:
    s = socket_in(ns, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.ROUTE)
    s.bind((0, 0))
    s.send(_dump_request())
    buf = bytearray(1 << 16)
    count = 0
    nlmsg_done = int(NLMSG.DONE)  # a plain int: an enum member lookup costs ~0.1 us per message
    t0 = time.perf_counter()
    while True:
        n = s.recv_into(buf)
        done = False
        for m in iter_messages(buf, 0, n):
            if m.type == nlmsg_done:
                done = True
                break
            count += 1
        if done:
            break
    os.write(wfd, f"{count} {time.perf_counter() - t0}".encode())


def _dump_ring(ns: str, wfd: int) -> None:
    s = socket_in(ns, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.ROUTE)
    s.bind((0, 0))
    ring = open_ring(s, RingGeometry.for_frames(32768 + 24, 64), None, backend="user")
    s.send(_dump_request())
    count = 0
    nlmsg_done = int(NLMSG.DONE)
    t0 = time.perf_counter()
    for m in ring.messages(timeout=10):
        if m.type == nlmsg_done:
            break
        count += 1
    os.write(wfd, f"{count} {time.perf_counter() - t0}".encode())


def _idle(ns: str, wfd: int) -> None:
    os.write(wfd, b"0 0")


def _dump_child(fn: Any, ns: str) -> tuple[int, float, int]:
    rfd, wfd = os.pipe()
    pid = _fork(fn, ns, wfd)
    os.close(wfd)
    status, ru = _reap(pid, 120)
    data = os.read(rfd, 100).decode().split()
    os.close(rfd)
    if os.waitstatus_to_exitcode(status) != 0 or len(data) != 2:
        raise RuntimeError(f"dump child {fn.__name__} failed")
    return int(data[0]), float(data[1]), int(ru.ru_maxrss)


# -- driver --------------------------------------------------------------------------------
def run(quick: bool = False, out: TextIO | None = sys.stdout) -> dict[str, Any]:
    """Run every comparison once; print a table (unless ``out`` is None); return figures."""
    if os.geteuid() != 0:
        raise PermissionError("netring bench ring needs root (it creates a network namespace)")
    name = f"nrbench-{os.getpid()}"

    def _alarm(signum: int, frame: Any) -> None:
        raise TimeoutError("netring bench ring: a variant hung (sender died?)")

    old_handler = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(120 if quick else 300)  # bounds the whole run, blocking recv loops included
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    path = f"/run/netns/{name}"
    n = 100_000 if quick else 400_000
    routes = 30_000 if quick else 1_000_000
    results: dict[str, Any] = {"machine": machine(), "command": command_line(),
                               "messages": n, "size": SIZE, "backend": ring_support()}
    try:
        measured = {
            "plain netlink recv": _plain(path, n),
            SOCKET_INPROC: _ring_inproc(path, n),
            SOCKET_FEEDER: _ring_feeder(path, n),
            DIRECT: _ring_direct(n),
            "unix datagram": _unix(n),
            "multiprocessing.Queue": _mpqueue(n // 4),
        }
        rates = {k: v[0] for k, v in measured.items()}
        base = rates["plain netlink recv"]
        q = rates["multiprocessing.Queue"]
        rows = [(k, f"{v / 1e6:.3f}", f"{v / base:.2f}x", f"{v / q:.1f}x",
                 f"{measured[k][1] * 1e6:.2f}") for k, v in rates.items()]
        print_table(out, f"two processes, {SIZE}-byte messages, {n} each "
                         f"({results['backend']['reason']})",
                    rows, ("variant", "M msg/s", "vs plain recv", "vs mp.Queue",
                           "receive CPU us/msg"), first=True)
        results["two_process_msgs_per_s"] = {k: round(v) for k, v in rates.items()}
        results["receive_cpu_us_per_msg"] = {k: round(v[1] * 1e6, 3)
                                             for k, v in measured.items()}
        best_ring = max(rates[SOCKET_INPROC], rates[SOCKET_FEEDER])
        results["ratio_ring_vs_plain"] = round(best_ring / base, 3)  # fed from a socket
        results["ratio_ring_vs_mpqueue"] = round(best_ring / q, 2)
        direct = rates[DIRECT]
        results["ratio_direct_ring_vs_plain"] = round(direct / base, 3)
        results["ratio_direct_ring_vs_mpqueue"] = round(direct / q, 2)
        if out is not None:
            print(f"\nring fed from a netlink socket (best of two): {best_ring / base:.2f}x plain "
                  f"recv, {best_ring / q:.1f}x mp.Queue\n"
                  f"ring written directly by the peer (no socket): {direct / base:.2f}x plain "
                  f"recv, {direct / q:.1f}x mp.Queue",
                  file=out)

        drain_n = 20_000 if quick else 50_000
        fast, plain = _drain(path, drain_n)
        print_table(out, f"drain {drain_n} waiting messages (consumer side only)",
                    [("ring (no syscall)", f"{fast / 1e6:.3f}", f"{fast / plain:.2f}x"),
                     ("plain recv", f"{plain / 1e6:.3f}", "1.00x")],
                    ("variant", "M msg/s", "ratio"))
        results["drain_msgs_per_s"] = {"ring": round(fast), "plain": round(plain)}

        subprocess.run(["ip", "-n", name, "link", "add", "veth0", "type", "veth", "peer",
                        "name", "veth1"], check=True, capture_output=True)
        subprocess.run(["ip", "-n", name, "link", "set", "veth0", "up"], check=True,
                       capture_output=True)
        lines = "".join(f"route add 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32 dev veth0\n"
                        for i in range(routes))
        subprocess.run(["ip", "-n", name, "-batch", "-"], input=lines.encode(), check=True,
                       capture_output=True)
        _, _, idle_rss = _dump_child(_idle, path)
        dump = {}
        for label, fn in (("plain recv", _dump_plain), ("ring", _dump_ring)):
            count, secs, rss = _dump_child(fn, path)
            dump[label] = {"messages": count, "msgs_per_s": round(count / secs),
                           "peak_rss_kib": rss, "rss_over_idle_kib": rss - idle_rss}
        print_table(out, f"route dump, {routes} routes, one child process per variant",
                    [(k, str(v["messages"]), f"{v['msgs_per_s'] / 1e6:.3f}",
                      str(v["peak_rss_kib"]), str(v["rss_over_idle_kib"]))
                     for k, v in dump.items()],
                    ("variant", "messages", "M msg/s", "peak RSS KiB", "over idle KiB"))
        results["route_dump"] = dump
        results["parent_peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if out is not None:
            print(f"\nparent peak RSS {results['parent_peak_rss_kib']} KiB", file=out)
        # -- 4. the io_uring ring (tools/bench/_uring.py), same namespace and routes --
        from ._uring import section as uring_section

        results["io_uring"] = uring_section(path, n, drain_n, out)
        print_footer(out, results)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return results


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
