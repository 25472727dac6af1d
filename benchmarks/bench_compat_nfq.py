#!/usr/bin/env python3
"""netring's NetfilterQueue drop-in against NetfilterQueue 1.1.0: consumer CPU per packet
with the queue drained, and what ``verdict_delay`` buys.

In a private namespace (iptables OUTPUT -o lo -j NFQUEUE), each round queues K
64-byte UDP datagrams while the consumer waits, then times ``run(block=False)``
emptying the queue (process CPU time: the verdicts' kernel work included); the
first two rounds warm up.  Every consumer is the same script, a NetfilterQueue
user's callback ``pkt.accept()`` after a loop of W additions (the callback's own
work), run once with ``from netfilterqueue import NetfilterQueue`` (the cache
venv of ``netring bench queue``, when NetfilterQueue is installed there) and
with netring's drop-in at several ``verdict_delay`` values (0: every verdict
sent when it is given, as NetfilterQueue does).  It prints microseconds of
consumer CPU per packet and packets per verdict message.

Needs root.  ``python benchmarks/bench_compat_nfq.py [--rounds R] [--count K]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from netring.tools.bench._common import machine, machine_line, print_table
from netring.tools.bench.queue import peer_venv_dir

PORT = 9557
QUEUE = 7
DELAYS = (0.0, 0.0001, 0.0005, 0.002)
WORK = (0, 100, 1000)

CONSUMER = r'''
import json, socket, sys, time
which, delay, work, count, rounds = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5])
if which == "netfilterqueue":
    from netfilterqueue import NetfilterQueue
    nfq = NetfilterQueue()
else:
    from netring.compat.netfilterqueue import NetfilterQueue
    nfq = NetfilterQueue(verdict_delay=delay)

def cb(pkt):
    x = 0
    for i in range(work):
        x += i
    pkt.accept()

rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)       # SO_RCVBUFFORCE
rx.bind(("127.0.0.1", PORT))
rx.setblocking(False)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tx.setsockopt(socket.SOL_SOCKET, 32, 8 << 20)        # SO_SNDBUFFORCE: queued datagrams count
nfq.bind(QUEUE, cb, max_len=16384, sock_len=32 << 20)
cpu, got = 0.0, 0
for r in range(rounds + 2):
    for i in range(count):
        tx.sendto(b"x" * 64, ("127.0.0.1", PORT))
    t0 = time.process_time()
    nfq.run(block=False)
    t1 = time.process_time()
    n = 0
    while True:
        try:
            rx.recv(2048)
            n += 1
        except BlockingIOError:
            break
    if r >= 2:
        cpu += t1 - t0
        got += n
out = {"us_per_packet": cpu / got * 1e6 if got else None, "packets": got}
q = getattr(nfq, "queue", None)
if q is not None:
    st = q.stats(kernel=False)
    out["per_message"] = st.packets / max(1, st.batch_messages + st.single_messages)
print(json.dumps(out))
'''.replace("PORT", str(PORT)).replace("QUEUE", str(QUEUE))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--count", type=int, default=400, help="datagrams queued per round")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench_compat_nfq: needs root (a namespace and an iptables rule)")
        return 2
    import netring

    src = os.path.dirname(os.path.dirname(os.path.abspath(netring.__file__)))
    env = dict(os.environ, PYTHONPATH=src)
    peer = os.path.join(peer_venv_dir(), "bin", "python")
    have_peer = os.path.exists(peer) and subprocess.run(
        [peer, "-c", "import netfilterqueue"], capture_output=True).returncode == 0
    ns = f"nrbench-compat-{os.getpid()}"
    rows = []
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "netns", "exec", ns, "iptables", "-A", "OUTPUT", "-o", "lo", "-p",
                        "udp", "--dport", str(PORT), "-j", "NFQUEUE", "--queue-num", str(QUEUE)],
                       check=True)
        for work in WORK:
            runs = ([("NetfilterQueue 1.1.0", peer, "netfilterqueue", 0.0)] if have_peer else [])
            runs += [(f"netring drop-in, verdict_delay={d:g}", sys.executable, "netring", d)
                     for d in DELAYS]
            for label, python, which, delay in runs:
                r = subprocess.run(["ip", "netns", "exec", ns, python, "-c", CONSUMER, which,
                                    str(delay), str(work), str(args.count), str(args.rounds)],
                                   capture_output=True, text=True, env=env, timeout=600)
                if r.returncode != 0:
                    rows.append((str(work), label, "failed", r.stderr.strip()[-80:]))
                    continue
                res = json.loads(r.stdout.strip().splitlines()[-1])
                per = res.get("per_message")
                rows.append((str(work), label, f"{res['us_per_packet']:.2f}",
                             f"{per:.1f}" if per else "1 (one per packet)"))
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    print_table(sys.stdout, f"Drained queue, 64-byte UDP, {args.count} per round, "
                f"{args.rounds} rounds: consumer CPU per packet", rows,
                ("callback work (additions)", "consumer", "us CPU/packet", "packets/message"),
                first=True)
    if not have_peer:
        print(f"not run: NetfilterQueue 1.1.0: not installed in {peer_venv_dir()} "
              "(netring bench queue installs it)")
    print(f"\nmachine: {machine_line(machine())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
