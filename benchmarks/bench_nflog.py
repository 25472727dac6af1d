#!/usr/bin/env python3
"""nfnetlink_log to a capture file: ``netring log -w`` against ``tcpdump -i nflog:N -w``.

One private namespace, one rule (``udp dport 9999 log group 5 drop`` at prerouting:
every packet is logged, none is delivered), one bounded sender: N UDP datagrams
of 64 bytes to 127.0.0.1 with ``sendmmsg``, as fast as it goes.  Each capture
runs alone against the same traffic, in turns (repeated; the median is shown):

* ``netring log -g 5 -w FILE --format pcap`` (its defaults: 32 MiB receive
  buffer, 64 KiB kernel batches, recvmmsg),
* ``tcpdump -i nflog:5 -w FILE`` (libpcap's nflog reader, its default buffer),
* ``tcpdump -B 32768 -i nflog:5 -w FILE`` (the same receive buffer as netring).

A second table takes the sender out of the picture: the capture is stopped
(SIGSTOP) while ``--drain-packets`` messages queue on its socket, then
continued, and timed until its socket's queue (``/proc/net/netlink`` Rmem) is
empty: the messages per second a capture can take, with a core to itself.

Reported: packets in the file, lost (sent but not in the file), messages per
second over the sender's time (what was captured while the traffic ran and
drained after), the ratio to each tcpdump, and the capture process's own CPU
time per message (user + system, from ``/proc/PID/stat``).  On two cores the
capture and the sender share the machine, so a capture's CPU slows the
sender: the rate shows both.  Needs root, nft and tcpdump.

    python benchmarks/bench_nflog.py [--quick] [--packets N] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from netring.subsystems.nfnetlink.edge.log import Log
from netring.tools.bench._common import (
    command_line,
    default_sigint,
    machine,
    machine_line,
    print_table,
)

RULES = """table ip bench {
  chain pre { type filter hook prerouting priority 0; udp dport 9999 log group 5 drop ; }
}
"""

SENDER = r"""
import socket, sys, time
from netring._sys.mmsg import sendmmsg_to
n = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", 9999))
bufs = [bytes(64)] * 256
t0 = time.perf_counter()
sent = 0
while sent < n:
    sent += sendmmsg_to(s.fileno(), bufs[:min(256, n - sent)])
print(sent, time.perf_counter() - t0)
"""


def sh(*args: str, input: str | None = None) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, input=input).stdout


def count_pcap(path: str) -> int:
    """Records in a pcap file (any link type), by walking the record headers."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return 0
    magic = struct.unpack_from("=I", data)[0]
    order = "=" if magic in (0xA1B2C3D4, 0xA1B23C4D) else (">" if sys.byteorder == "little" else "<")
    off, n = 24, 0
    while off + 16 <= len(data):
        incl = struct.unpack_from(order + "I", data, off + 8)[0]
        off += 16 + incl
        n += 1
    return n


def wait_bound(ns: str, group: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    with Log(netns=ns) as probe:
        while time.monotonic() < deadline:
            if any(i.group == group for i in probe.instances()):
                return
            time.sleep(0.02)
    raise RuntimeError(f"group {group} was never bound")


def wait_unbound(ns: str, group: int, timeout: float = 20) -> None:
    """Until no process is bound to ``group`` (the previous capture has gone): a capture
    that found the last one's instance still there would start the sender too early."""
    deadline = time.monotonic() + timeout
    with Log(netns=ns) as probe:
        while time.monotonic() < deadline:
            if not any(i.group == group for i in probe.instances()):
                return
            time.sleep(0.02)
    raise RuntimeError(f"group {group} is still bound after {timeout} s")


def wait_idle(ns: str, group: int, path: str, idle: float = 1.0, timeout: float = 60) -> None:
    """Until the capture has nothing left queued: the file stopped growing for ``idle`` s."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        size = os.path.getsize(path) if os.path.exists(path) else 0
        if size != last:
            last, since = size, time.monotonic()
        elif time.monotonic() - since >= idle:
            return
        time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one(ns: str, cmd: list[str], path: str, packets: int, env: dict[str, str]) -> dict[str, float]:
    # ip netns exec execs the command: the process is the capture itself
    wait_unbound(ns, 5)
    proc = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=default_sigint)
    try:
        wait_bound(ns, 5)
        cpu0 = cpu_seconds(proc.pid)
        out = sh("ip", "netns", "exec", ns, sys.executable, "-c", SENDER, str(packets))
        sent, secs = int(out.split()[0]), float(out.split()[1])
        wait_idle(ns, 5, path)
        cpu = cpu_seconds(proc.pid) - cpu0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    got = count_pcap(path)
    return {"sent": sent, "sender_s": secs, "captured": got, "lost": sent - got,
            "rate": got / secs, "cpu_us": cpu / max(got, 1) * 1e6}


def netlink_rmem(ns: str, portid: int) -> int | None:
    """Bytes queued on the netlink socket of ``portid`` (``/proc/net/netlink`` Rmem)."""
    def read() -> str:
        with open("/proc/thread-self/net/netlink") as f:
            return f.read()
    from netring.netns import run_in_netns

    for line in run_in_netns(f"/run/netns/{ns}", read).splitlines()[1:]:
        f = line.split()
        if len(f) >= 5 and f[1] == "12" and int(f[2]) == portid:
            return int(f[4])
    return None


def drain(ns: str, cmd: list[str], path: str, packets: int, env: dict[str, str]) -> dict[str, float]:
    """Queue ``packets`` messages while the capture is stopped, then time its drain."""
    wait_unbound(ns, 5)
    proc = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=default_sigint)
    try:
        wait_bound(ns, 5)
        with Log(netns=ns) as probe:
            portid = next(i.portid for i in probe.instances() if i.group == 5)
        cpu0 = cpu_seconds(proc.pid)
        os.kill(proc.pid, signal.SIGSTOP)
        sh("ip", "netns", "exec", ns, sys.executable, "-c", SENDER, str(packets))
        time.sleep(0.3)  # the kernel's flush timers send the last batches
        queued = netlink_rmem(ns, portid)
        t0 = time.perf_counter()
        os.kill(proc.pid, signal.SIGCONT)
        while (netlink_rmem(ns, portid) or 0) > 0 and time.perf_counter() - t0 < 30:
            time.sleep(0.001)
        secs = time.perf_counter() - t0
        cpu = cpu_seconds(proc.pid) - cpu0
        wait_idle(ns, 5, path, idle=0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    got = count_pcap(path)
    return {"captured": got, "lost": packets - got, "queued": queued or 0, "drain_s": secs,
            "rate": got / secs, "cpu_us": cpu / max(got, 1) * 1e6}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100k packets, 2 rounds")
    ap.add_argument("--packets", type=int, default=300_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--drain-packets", type=int, default=30_000,
                    help="messages queued for the drain table (they must fit tcpdump's "
                         "buffer, which SO_RCVBUF caps at net.core.rmem_max)")
    args = ap.parse_args()
    packets, rounds = (100_000, 2) if args.quick else (args.packets, args.rounds)
    if os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("tcpdump"):
        print("bench_nflog: needs root, nft and tcpdump", file=sys.stderr)
        return 2
    ns = f"nrbench-nflog-{os.getpid()}"
    sh("ip", "netns", "add", ns)
    tmp = tempfile.mkdtemp(prefix="nrbench-nflog-")
    env = dict(os.environ)
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    env["PYTHONPATH"] = os.path.abspath(src) + os.pathsep + env.get("PYTHONPATH", "")
    variants = {
        "netring log -w (pcap)": lambda p: [sys.executable, "-m", "netring", "log", "-g", "5",
                                            "-w", p, "--format", "pcap"],
        "tcpdump -w": lambda p: ["tcpdump", "-q", "-i", "nflog:5", "-w", p],
        "tcpdump -B 32768 -w": lambda p: ["tcpdump", "-q", "-B", "32768", "-i", "nflog:5",
                                          "-w", p],
    }
    results: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
    drains: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
    try:
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "netns", "exec", ns, "nft", "-f", "-", input=RULES)
        for r in range(rounds):
            for name, cmd in variants.items():
                path = os.path.join(tmp, f"{r}-{len(results[name])}.pcap")
                results[name].append(one(ns, cmd(path), path, packets, env))
                os.unlink(path)
                drains[name].append(drain(ns, cmd(path), path, args.drain_packets, env))
                os.unlink(path)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    def med(name: str, key: str, table: dict[str, list[dict[str, float]]] = results) -> float:
        return statistics.median(x[key] for x in table[name])

    ours = med("netring log -w (pcap)", "rate")
    rows = []
    for name in variants:
        rate = med(name, "rate")
        rows.append((name, f"{med(name, 'captured'):.0f}", f"{med(name, 'lost'):.0f}",
                     f"{rate:,.0f}", f"{ours / rate:.2f}x" if rate else "-",
                     f"{med(name, 'cpu_us'):.2f}"))
    print_table(sys.stdout, f"nflog to a capture file: {packets} UDP datagrams of 64 bytes, "
                f"median of {rounds} rounds (sender {med('tcpdump -w', 'sender_s'):.2f} s)",
                rows, ("capture", "packets", "lost", "messages/s", "netring/this",
                                      "capture CPU us/msg"), first=True)
    ours = med("netring log -w (pcap)", "rate", drains)
    rows = []
    for name in variants:
        rate = med(name, "rate", drains)
        rows.append((name, f"{med(name, 'captured', drains):.0f}",
                     f"{med(name, 'lost', drains):.0f}", f"{med(name, 'drain_s', drains):.3f}",
                     f"{rate:,.0f}", f"{ours / rate:.2f}x" if rate else "-",
                     f"{med(name, 'cpu_us', drains):.2f}"))
    print_table(sys.stdout, f"drain: {args.drain_packets} messages queued while the capture "
                "was stopped, then drained alone (median)", rows,
                ("capture", "packets", "lost", "drain s", "messages/s", "netring/this",
                 "capture CPU us/msg"))
    print(f"\ncommand: {command_line()}")
    print(f"machine: {machine_line(machine())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
