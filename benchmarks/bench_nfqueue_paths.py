#!/usr/bin/env python3
"""nfqueue accept-all throughput, 64-byte UDP through iptables NFQUEUE on lo, one run.

Two modes: ``flood`` (the sender runs while the consumer works: both share the
cores, as in production) and ``drain`` (the sender fills the kernel's queue
first, then the consumer empties it alone: the consumer's own cost per packet).

Consumers (one at a time, rounds interleaved): a C recvmmsg + VERDICT_BATCH loop
(benchmarks/c/nfq_batch.c, when gcc is there), a raw Python recvmmsg +
VERDICT_BATCH loop, netring's batch API, netring's per-packet API, and netring
with one receive and one verdict per packet.  A bounded C sender
(benchmarks/c/nfq_send.c: sendmmsg of COUNT datagrams) runs in the same private
namespace; both share the machine's cores.  Rates are verdicts per second from
the first packet to the last verdict.

Run it alone (``flock /tmp/netring-bench.lock python benchmarks/bench_nfqueue_paths.py``);
``--count N`` (default 300000), ``--rounds R`` (default 3), ``--batch K`` (64).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

from netring.netns import socket_in
from netring.tools.bench._common import machine, machine_line, print_table
from netring.tools.nfqueue_consumers import (
    run_netring,
    run_netring_packets,
    run_netring_single,
    run_raw,
)

HERE = os.path.dirname(os.path.abspath(__file__))
NS = f"nrbench-nfq-{os.getpid()}"
PORT = 9555
QUEUE = 7


def sh(*a: str) -> None:
    subprocess.run(a, check=True, capture_output=True)


def build(tmp: str) -> dict[str, str]:
    out = {}
    if shutil.which("gcc") is None:
        return out
    for name in ("nfq_send", "nfq_batch"):
        exe = os.path.join(tmp, name)
        subprocess.run(["gcc", "-O2", "-o", exe, os.path.join(HERE, "c", name + ".c")],
                       check=True)
        out[name] = exe
    return out


def sender(exe: dict[str, str], count: int) -> subprocess.Popen[bytes]:
    if "nfq_send" in exe:
        cmd = ["ip", "netns", "exec", NS, exe["nfq_send"], str(count), str(PORT), "64"]
    else:  # a Python sender when there is no compiler
        code = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                f"d=b'x'*64\nfor _ in range({count}): s.sendto(d,('127.0.0.1',{PORT}))\n")
        cmd = ["ip", "netns", "exec", NS, sys.executable, "-c", code]
    return subprocess.Popen(cmd)


def python_consumer(fn, count: int, batch: int, exe: dict[str, str],
                    drain: bool) -> tuple[int, float]:
    box: dict[str, subprocess.Popen[bytes]] = {}

    def ready() -> None:
        box["p"] = sender(exe, count)
        if drain:
            box["p"].wait(60)

    kw = {} if fn is run_netring_single else {"batch": batch}
    try:
        got, secs = fn(QUEUE, count, netns=NS, ready=ready, maxlen=200_000, rcvbuf=256 << 20,
                       **kw)
    finally:
        p = box.get("p")
        if p is not None:
            p.wait(60)
    return got, secs


def c_consumer(count: int, batch: int, exe: dict[str, str], drain: bool) -> tuple[int, float]:
    c = subprocess.Popen(["ip", "netns", "exec", NS, exe["nfq_batch"], str(QUEUE), str(count),
                          str(batch)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert c.stdout is not None and c.stdin is not None
    assert c.stdout.readline().strip() == "ready"
    p = sender(exe, count)
    if drain:
        p.wait(60)
    c.stdin.write("go\n")
    c.stdin.flush()
    out = c.stdout.readline().split()
    c.wait(60)
    p.wait(60)
    return int(out[0]), float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=300_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--mode", choices=("flood", "drain", "both"), default="both")
    a = ap.parse_args()
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    sh("ip", "netns", "add", NS)
    tmp = tempfile.mkdtemp()
    try:
        sh("ip", "-n", NS, "link", "set", "lo", "up")
        sh("ip", "netns", "exec", NS, "iptables", "-A", "OUTPUT", "-o", "lo", "-p", "udp",
           "--dport", str(PORT), "-j", "NFQUEUE", "--queue-num", str(QUEUE))
        exe = build(tmp)
        consumers: list[tuple[str, object]] = []
        if "nfq_batch" in exe:
            consumers.append((f"C recvmmsg + VERDICT_BATCH (batch {a.batch})", "c"))
        consumers += [
            (f"raw Python recvmmsg + VERDICT_BATCH (batch {a.batch})", run_raw),
            (f"netring Queue.batches() + batch.accept() (batch {a.batch})", run_netring),
            (f"netring Queue.packets() + pkt.accept() (batch {a.batch})", run_netring_packets),
            ("netring one recv + one verdict per packet (batch 1)", run_netring_single),
        ]
        modes = ("flood", "drain") if a.mode == "both" else (a.mode,)
        sink = socket_in(f"/run/netns/{NS}", socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", PORT))  # accepted packets end here (never read)
        for mode in modes:
            rates: dict[str, list[float]] = {name: [] for name, _ in consumers}
            lost: dict[str, int] = dict.fromkeys(rates, 0)
            for _ in range(a.rounds):
                for name, fn in consumers:
                    if fn == "c":
                        got, secs = c_consumer(a.count, a.batch, exe, mode == "drain")
                    else:
                        got, secs = python_consumer(fn, a.count, a.batch, exe, mode == "drain")
                    rates[name].append(got / secs)
                    lost[name] += a.count - got
            base = statistics.median(rates[consumers[0][0]])
            rows = []
            for name, _ in consumers:
                med = statistics.median(rates[name])
                rows.append((name, f"{med / 1e3:,.0f} k/s",
                             f"{min(rates[name]) / 1e3:,.0f}-{max(rates[name]) / 1e3:,.0f} k/s",
                             f"{med / base:.2f}x", f"{lost[name]}"))
            print_table(sys.stdout, f"{mode}: nfqueue accept-all, 64-byte UDP, {a.count} packets "
                        f"x {a.rounds} rounds (median; ratio to the first row)", rows,
                        ("consumer", "verdicts/s", "range", "ratio", "not received"),
                        first=mode == modes[0])
        print()
        print("sender: " + ("benchmarks/c/nfq_send.c (sendmmsg)" if exe else "Python sendto"))
        print("command: " + " ".join(["python"] + sys.argv))
        print("machine: " + machine_line(machine()))
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
