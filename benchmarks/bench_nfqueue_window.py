#!/usr/bin/env python3
"""What a verdict costs with N packets queued: the in-flight window's price.

The kernel finds the packet a verdict names by walking its queue from the oldest
entry (``find_dequeue_entry``), so a verdict for a recent packet costs more the
more packets wait.  For each window W (1, 64, 1024, 4096) the script queues W
64-byte UDP packets (iptables NFQUEUE on lo, a private namespace), receives
them all, then gives them verdicts one message per ``send``: oldest first, and
in random order; it prints microseconds per verdict.  The default window of
:class:`netring.subsystems.nfnetlink.edge.queue.Queue` comes from these figures
(docs/nfqueue.md).

Run it alone: ``flock /tmp/netring-bench.lock python benchmarks/bench_nfqueue_window.py``.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time

from netring.netns import socket_in
from netring.subsystems.nfnetlink.constants import NF
from netring.subsystems.nfnetlink.edge.queue import Queue
from netring.subsystems.nfnetlink.queue.requests import NFQNL_VERDICT_TYPE, VerdictWriter
from netring.tools.bench._common import machine, machine_line, print_table

NS = f"nrbench-win-{os.getpid()}"
PORT = 9556
WINDOWS = tuple(int(x) for x in sys.argv[1:]) or (1, 64, 1024, 4096)
VERDICTS = 20_000


def measure(q: Queue, tx: socket.socket, w: int, shuffled: bool, rng: random.Random) -> float:
    total = 0.0
    n = 0
    writer = VerdictWriter(64)
    send = q.sock.socket.send
    while n < VERDICTS:
        for _ in range(w):
            tx.sendto(b"x" * 36, ("127.0.0.1", PORT))
        ids: list[int] = []
        while len(ids) < w:
            b = q.recv_batch(timeout=5)
            if not b:
                raise RuntimeError(f"only {len(ids)} of {w} packets arrived")
            ids += b.ids
            b._done = True  # measured by hand below: the queue must not give them verdicts
        q.batcher.forget(7)  # out of the bookkeeping: the kernel still holds them
        q._last_id[7] = ids[-1]
        if shuffled:
            rng.shuffle(ids)
        msgs = []
        for i in ids:
            writer.reset()
            writer.plain(NFQNL_VERDICT_TYPE, 7, i, NF.ACCEPT, 1)
            msgs.append(bytes(writer.view()))
        t = time.perf_counter()
        for m in msgs:
            send(m)
        total += time.perf_counter() - t
        n += w
    return total / n * 1e6


def main() -> None:
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "netns", "exec", NS, "iptables", "-A", "OUTPUT", "-o", "lo", "-p",
                        "udp", "--dport", str(PORT), "-j", "NFQUEUE", "--queue-num", "7"],
                       check=True)
        sink = socket_in(f"/run/netns/{NS}", socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", PORT))
        tx = socket_in(f"/run/netns/{NS}", socket.AF_INET, socket.SOCK_DGRAM)
        tx.setsockopt(socket.SOL_SOCKET, 32, 16 << 20)  # SO_SNDBUFFORCE
        rng = random.Random(7)
        rows = []
        with Queue(7, netns=f"/run/netns/{NS}", maxlen=65536, window=1 << 20,
                   rcvbuf=64 << 20) as q:
            for w in WINDOWS:
                oldest = measure(q, tx, w, False, rng)
                rand = measure(q, tx, w, True, rng)
                rows.append((str(w), f"{oldest:.2f}", f"{rand:.2f}"))
        print_table(sys.stdout, f"verdict cost by packets in flight (one verdict per send, "
                    f"{VERDICTS} verdicts each)", rows,
                    ("in flight", "oldest first us/verdict", "random order us/verdict"),
                    first=True)
        print()
        print("command: " + " ".join(["python"] + sys.argv))
        print("machine: " + machine_line(machine()))
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)


if __name__ == "__main__":
    main()
