#!/usr/bin/env python3
"""nfnetlink_queue with a callback that costs CPU: one process, a worker pool, two queues.

The callback busy-waits ``--cost`` microseconds (default 20) per packet and accepts
it.  Variants, each in its own processes, one run::

    single      one process: Queue.run(callback)                        (no pool)
    pool W=1    QueuePool(queue, callback, workers=1): the owner receives and sends
                verdicts, one worker runs the callback
    pool W=2    the same with two workers, fanout flow (symmetric 5-tuple hash) and rr
    balance     iptables ... -j NFQUEUE --queue-balance Q:Q+1 and two independent
                processes, each Queue.run(callback) on its own queue

Traffic: 64-byte UDP datagrams to 127.0.0.1 from 64 source addresses
(127.0.0.2 ..., so that the kernel's --queue-balance hash, which reads addresses
only, spreads them), iptables OUTPUT -o lo -> NFQUEUE in a private namespace.

* ``drain``: the consumers are bound, COUNT datagrams are queued first (the
  kernel holds them: queue_total = COUNT), then the consumers are told to go; the
  time runs from go to the last verdict.  The sender does not compete for the CPUs.
  Accepted datagrams are dropped by an INPUT rule whose counter checks the count.
* ``flood``: a C program sends in sendmmsg bursts of 32, keeping at most 512
  datagrams between its send and its sink (a thread that receives them), while
  the consumers work: the rate is what reached the sink per second, the sender's
  and sink's CPU included in what the 2 cores share.

Reported per variant: verdicts/s (the best of ``--rounds``), the ratio to pool W=1,
CPU microseconds per packet of the consumer processes (owner and workers), and the
kernel's counts (nothing may stay queued).  Run it alone on the machine:
``flock /tmp/netring-bench.lock python benchmarks/bench_nfqueue_pool.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from netring.netns import socket_in
from netring.subsystems.nfnetlink.edge.pool import QueuePool
from netring.subsystems.nfnetlink.edge.queue import Queue
from netring.subsystems.nfnetlink.queue.stats import parse_proc_nfnetlink_queue
from netring.tools.bench._common import command_line, machine, machine_line, print_table

PORT = 9
QUEUE = 40
SOURCES = 64
WINDOW = 512
RCVBUF = 1 << 30  # drain: every queued packet charges the socket buffer (~8 KiB each)

VARIANTS: tuple[tuple[str, str], ...] = (
    ("single", "one process: Queue.run(callback)"),
    ("pool1", "QueuePool workers=1"),
    ("pool2_flow", "QueuePool workers=2, fanout flow"),
    ("pool2_rr", "QueuePool workers=2, fanout rr"),
    ("balance", "--queue-balance, 2 processes x Queue.run"),
)

TRAFFIC_C = r'''/* bench_nfqueue_pool flood traffic: COUNT UDP datagrams from FLOWS source addresses
 * (127.0.0.2 ...) to 127.0.0.1:PORT in sendmmsg bursts of 32, at most WINDOW of them
 * between the send and the sink (received by a second thread: in flight = sent - received,
 * so reordering does not matter).  Prints one JSON line. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BURST 32
static uint64_t count, sent, received, t0, t_last;
static int sink_fd, window, done;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *sink(void *arg) {
    (void)arg;
    static char bufs[64][2048];
    struct mmsghdr m[64];
    struct iovec iov[64];
    for (int i = 0; i < 64; i++) {
        iov[i].iov_base = bufs[i]; iov[i].iov_len = sizeof bufs[i];
        memset(&m[i], 0, sizeof m[i]);
        m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t quiet = 0;
    for (;;) {
        int n = recvmmsg(sink_fd, m, 64, MSG_WAITFORONE, NULL);
        uint64_t t = now_ns();
        if (n > 0) {
            __atomic_add_fetch(&received, (uint64_t)n, __ATOMIC_SEQ_CST);
            t_last = t;
            quiet = t;
        } else if (__atomic_load_n(&done, __ATOMIC_SEQ_CST)) {
            if (__atomic_load_n(&received, __ATOMIC_SEQ_CST) >= count || t - quiet > 500000000ULL)
                break;
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: %s PORT COUNT FLOWS WINDOW SECONDS\n", argv[0]); return 2; }
    int port = atoi(argv[1]), flows = atoi(argv[3]);
    count = strtoull(argv[2], NULL, 10);
    window = atoi(argv[4]);
    uint64_t limit = (uint64_t)(atof(argv[5]) * 1e9);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sink_fd = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 64 << 20;
    setsockopt(sink_fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
    setsockopt(sink_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (bind(sink_fd, (struct sockaddr *)&to, sizeof to) < 0) { perror("bind sink"); return 1; }
    int *tx = calloc((size_t)flows, sizeof *tx);
    for (int f = 0; f < flows; f++) {
        struct sockaddr_in from = {.sin_family = AF_INET};
        from.sin_addr.s_addr = htonl(0x7f000002 + (uint32_t)f);
        tx[f] = socket(AF_INET, SOCK_DGRAM, 0);
        setsockopt(tx[f], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
        if (bind(tx[f], (struct sockaddr *)&from, sizeof from) < 0) { perror("bind"); return 1; }
        if (connect(tx[f], (struct sockaddr *)&to, sizeof to) < 0) { perror("connect"); return 1; }
    }
    static char payload[BURST][64];
    struct mmsghdr m[BURST];
    struct iovec iov[BURST];
    for (int i = 0; i < BURST; i++) {
        iov[i].iov_base = payload[i]; iov[i].iov_len = 64;
        memset(&m[i], 0, sizeof m[i]);
        m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1;
    }
    pthread_t th;
    t0 = now_ns();
    pthread_create(&th, NULL, sink, NULL);
    int f = 0;
    while (sent < count && now_ns() - t0 < limit) {
        int n = count - sent < BURST ? (int)(count - sent) : BURST;
        while (sent + (uint64_t)n - __atomic_load_n(&received, __ATOMIC_SEQ_CST) > (uint64_t)window
               && now_ns() - t0 < limit)
            usleep(50);
        for (int i = 0; i < n; i++) { uint64_t s = sent + (uint64_t)i; memcpy(payload[i], &s, 8); }
        int r = sendmmsg(tx[f], m, (unsigned)n, 0);
        f = (f + 1) % flows;
        if (r > 0) sent += (uint64_t)r;
    }
    __atomic_store_n(&done, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    printf("{\"sent\": %llu, \"received\": %llu, \"seconds\": %.6f}\n", (unsigned long long)sent,
           (unsigned long long)received, (double)(t_last - t0) / 1e9);
    return 0;
}
'''


def _sh(*args: str) -> str:
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def make_callback(cost_us: float) -> Callable[[Any], None]:
    """The benchmark's callback: busy-wait ``cost_us`` microseconds, then accept."""
    cost = cost_us * 1e-6
    clock = time.perf_counter

    def callback(pkt: Any) -> None:
        end = clock() + cost
        while clock() < end:
            pass
        pkt.accept()

    return callback


class Rig:
    """The namespace, its rules, the senders and the kernel's counters."""

    def __init__(self, tmp: str) -> None:
        self.ns = f"nrbench-pool-{os.getpid()}"
        self.path = f"/run/netns/{self.ns}"
        self.tmp = tmp
        _sh("ip", "netns", "add", self.ns)
        _sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        self.rules: list[list[str]] = []
        self.senders: list[socket.socket] = []

    def ipt(self, *args: str) -> str:
        return _sh("ip", "netns", "exec", self.ns, "iptables", "-w", *args)

    def set_rules(self, balance: bool, drop_input: bool) -> None:
        self.ipt("-F", "OUTPUT")
        self.ipt("-F", "INPUT")
        target = (["--queue-balance", f"{QUEUE}:{QUEUE + 1}"] if balance
                  else ["--queue-num", str(QUEUE)])
        self.ipt("-A", "OUTPUT", "-o", "lo", "-p", "udp", "--dport", str(PORT), "-j", "NFQUEUE",
                 *target)
        self.ipt("-A", "INPUT", "-p", "udp", "--dport", str(PORT),
                 *(["-j", "DROP"] if drop_input else []))

    def input_count(self) -> int:
        out = self.ipt("-nvxL", "INPUT")
        return int(out.splitlines()[2].split()[0])

    def kernel(self) -> dict[int, Any]:
        return parse_proc_nfnetlink_queue(_sh("ip", "netns", "exec", self.ns, "cat",
                                              "/proc/net/netfilter/nfnetlink_queue"))

    def fill(self, count: int) -> None:
        if not self.senders:
            for k in range(SOURCES):
                s = socket_in(self.path, socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, 32, 256 << 20)  # SO_SNDBUFFORCE
                s.bind((f"127.0.0.{k + 2}", 0))
                self.senders.append(s)
        payload = b"\xa5" * 56
        dst = ("127.0.0.1", PORT)
        senders = self.senders
        for i in range(count):
            senders[i % SOURCES].sendto(i.to_bytes(8, "little") + payload, dst)

    def close(self) -> None:
        for s in self.senders:
            s.close()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


def parallel_capacity(seconds: float = 0.3) -> float:
    """How much two CPU-bound processes get done against one, on this machine now (2.0:
    two free cores; a shared or throttled VM gives less).  Each process counts loop
    rounds of pure Python for ``seconds``."""
    def spin() -> int:
        n = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            for _ in range(1000):
                pass
            n += 1
        return n

    r, w = os.pipe()
    alone = spin()
    pids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            os.write(w, f"{spin()}\n".encode())
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    os.close(w)
    got = sum(int(x) for x in os.read(r, 256).split())
    os.close(r)
    return got / alone if alone else 0.0


def _child(fn: Callable[[], dict[str, Any]], out: int) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            res = fn()
            os.write(out, (json.dumps(res) + "\n").encode())
            code = 0
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, then exit
            os.write(out, (json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n").encode())
        finally:
            os._exit(code)
    return pid


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def consumer(rig: Rig, variant: str, queue: int, callback: Callable[[Any], None], count: int,
             ready: int, go: int, seconds: float) -> dict[str, Any]:
    """In a child: bind, say ready, wait for the go (the count to take), consume, report."""
    q = Queue(queue, netns=rig.path, maxlen=max(1024, 2 * count), rcvbuf=RCVBUF, window=4096,
              delay=0.005)
    pool = None
    if variant.startswith("pool"):
        workers = 1 if variant == "pool1" else 2
        fanout = "flow" if variant.endswith("flow") else "rr"
        pool = QueuePool(q, callback, workers=workers, fanout=fanout)
        pool.start()
    os.write(ready, b"r")
    word = os.read(go, 64).decode().strip()
    want = None if word == "flood" else int(word)  # flood: until SIGTERM
    c0 = _cpu()
    t0 = time.monotonic()
    if want == 0:
        n = 0
        t1 = t0
        extra: dict[str, Any] = {"batch_messages": 0, "single_messages": 0}
        if pool is not None:
            pool.close()
    elif pool is not None:
        n = pool.run(count=want, timeout=seconds, handle_signals=True)
        t1 = time.monotonic()
        st = pool.stats()
        pool.close()
        extra = {"batch_messages": st.batch_messages, "single_messages": st.single_messages,
                 "per_worker": [w.verdicts for w in st.workers]}
    else:
        n = q.run(callback, count=want, timeout=seconds)  # SIGTERM: closes the queue
        t1 = time.monotonic()
        b = q.batcher
        extra = {"batch_messages": b.batch_messages, "single_messages": b.single_messages}
    q.close()
    c1 = _cpu()
    return {"packets": n, "start": t0, "end": t1, "cpu": (c1[0] - c0[0]) + (c1[1] - c0[1]),
            "owner_cpu": c1[0] - c0[0], **extra}


def run_variant(rig: Rig, variant: str, mode: str, count: int, cost: float,
                traffic: str | None) -> dict[str, Any]:
    balance = variant == "balance"
    rig.set_rules(balance, drop_input=mode == "drain")
    callback = make_callback(cost)
    queues = [QUEUE, QUEUE + 1] if balance else [QUEUE]
    rd, wr = os.pipe()
    kids = []
    for qn in queues:
        gr, gw = os.pipe()
        ready_r, ready_w = os.pipe()
        pid = _child(lambda qn=qn, gr=gr, ready_w=ready_w: consumer(
            rig, variant, qn, callback, count, ready_w, gr, 60.0), wr)
        kids.append((pid, gw, ready_r))
    for _pid, _gw, ready_r in kids:
        if os.read(ready_r, 1) != b"r":
            raise RuntimeError(f"{variant}: a consumer did not start")
    res: dict[str, Any] = {"variant": variant, "mode": mode}
    if mode == "drain":
        rig.fill(count)
        deadline = time.monotonic() + 30
        while True:
            k = rig.kernel()
            queued = [k[q].queue_total if q in k else 0 for q in queues]
            if sum(queued) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        res["split"] = queued
        t_go = time.monotonic()
        for (_pid, gw, _r), n in zip(kids, queued, strict=True):
            os.write(gw, f"{n}\n".encode())
    else:
        assert traffic is not None
        for _pid, gw, _r in kids:
            os.write(gw, b"flood\n")
        t_go = time.monotonic()
        tr = json.loads(subprocess.run(["ip", "netns", "exec", rig.ns, traffic, str(PORT),
                                        str(count), str(SOURCES), str(WINDOW), "60"],
                                       capture_output=True, text=True, timeout=120
                                       ).stdout.strip().splitlines()[-1])
        res["traffic"] = tr
        for pid, _gw, _r in kids:
            os.kill(pid, signal.SIGTERM)
    reports = []
    buf = b""
    while len(reports) < len(kids):
        chunk = os.read(rd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            reports.append(json.loads(line))
    for pid, gw, ready_r in kids:
        os.waitpid(pid, 0)
        os.close(gw)
        os.close(ready_r)
    os.close(rd)
    os.close(wr)
    errors = [r["error"] for r in reports if "error" in r]
    if errors:
        raise RuntimeError(f"{variant}: {errors[0]}")
    packets = sum(r["packets"] for r in reports)
    cpu = sum(r["cpu"] for r in reports)
    if mode == "drain":
        seconds = max(r["end"] for r in reports) - t_go
        res["delivered"] = rig.input_count()
    else:
        seconds = res["traffic"]["seconds"]
        packets = res["traffic"]["received"]
    k = rig.kernel()
    res.update(packets=packets, seconds=round(seconds, 4),
               rate=round(packets / seconds) if seconds > 0 else 0,
               cpu_us_per_packet=round(cpu / packets * 1e6, 2) if packets else None,
               owner_us_per_packet=round(sum(r["owner_cpu"] for r in reports) / packets * 1e6, 2)
               if packets and variant.startswith("pool") else None,
               left_queued=sum(k[q].queue_total for q in queues if q in k),
               batch_messages=sum(r["batch_messages"] for r in reports),
               single_messages=sum(r["single_messages"] for r in reports))
    if "per_worker" in reports[0]:
        res["per_worker"] = reports[0]["per_worker"]
    rig.ipt("-Z")
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=40_000, help="datagrams per run (drain)")
    ap.add_argument("--flood-count", type=int, default=60_000, help="datagrams per flood run")
    ap.add_argument("--cost", type=float, default=20.0, help="callback microseconds per packet")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds (best kept)")
    ap.add_argument("--mode", choices=("drain", "flood", "both"), default="both")
    ap.add_argument("--only", nargs="*", help="variants to run (default all)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_nfqueue_pool: needs root (a network namespace and iptables rules)")
        return 1
    variants = [v for v in VARIANTS if not args.only or v[0] in args.only]
    modes = ["drain", "flood"] if args.mode == "both" else [args.mode]
    tmp = tempfile.mkdtemp(prefix="netring-bench-pool-")
    traffic = None
    if "flood" in modes:
        src = os.path.join(tmp, "traffic.c")
        with open(src, "w") as f:
            f.write(TRAFFIC_C)
        traffic = os.path.join(tmp, "traffic")
        _sh("gcc", "-O2", "-pthread", "-o", traffic, src)
    rig = Rig(tmp)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {m: {} for m in modes}
    load = os.getloadavg()[0]
    capacity = [parallel_capacity()]
    try:
        for _ in range(args.rounds):
            for mode in modes:
                for key, _label in variants:
                    n = args.count if mode == "drain" else args.flood_count
                    r = run_variant(rig, key, mode, n, args.cost, traffic)
                    print(f"bench_nfqueue_pool: {mode} {key}: {r['rate']} verdicts/s",
                          file=sys.stderr, flush=True)
                    results[mode].setdefault(key, []).append(r)
        capacity.append(parallel_capacity())
    finally:
        rig.close()
        shutil.rmtree(tmp, ignore_errors=True)
    out: dict[str, Any] = {"benchmark": "nfqueue_pool", "machine": machine(),
                           "command": command_line(), "cost_us": args.cost,
                           "load_average": load, "parallel_capacity": capacity, "modes": {}}
    for mode in modes:
        best = {k: max(rs, key=lambda r: r["rate"]) for k, rs in results[mode].items()}
        for k, r in best.items():
            r["rounds"] = [x["rate"] for x in results[mode][k]]
        out["modes"][mode] = best
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    for i, mode in enumerate(modes):
        best = out["modes"][mode]
        base = best.get("pool1", {}).get("rate")
        rows = []
        for key, label in variants:
            r = best.get(key)
            if r is None:
                continue
            own = r.get("owner_us_per_packet")
            rows.append((label, f"{r['rate'] / 1e3:.1f} k", f"{r['rate'] / base:.2f}x" if base
                         else "-", f"{r['cpu_us_per_packet']:.1f}"
                         + (f" ({own:.1f} owner)" if own is not None else ""),
                         f"{r['batch_messages']}/{r['single_messages']}",
                         " ".join(str(x) for x in r.get("split", r.get("per_worker", []))),
                         str(r["left_queued"]),
                         " ".join(f"{x / 1e3:.1f}" for x in r["rounds"])))
        n = args.count if mode == "drain" else args.flood_count
        print_table(sys.stdout, f"{mode}: {n} 64-byte UDP datagrams, callback {args.cost:g} us "
                    "busy + accept; best of the rounds",
                    rows, ("variant", "verdicts/s", "vs pool W=1", "CPU us/pkt",
                           "batch/single msgs", "split", "left queued", "rounds (k/s)"),
                    first=i == 0)
    print(f"\ncommand: {out['command']}")
    print(f"machine: {machine_line(out['machine'])}; 1-minute load average {load:.2f} at the "
          "start")
    print("parallel capacity (two CPU-bound Python processes against one, before and after): "
          + " / ".join(f"{c:.2f}x" for c in capacity))
    return 0


if __name__ == "__main__":
    sys.exit(main())
