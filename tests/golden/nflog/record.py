"""Record the golden nfnetlink_log captures in this directory from the real kernel.

Run once as root: ``PYTHONPATH=src python3 tests/golden/nflog/record.py``.  Two
namespaces joined by a veth pair (fixed MAC addresses); the receiving one logs
with nft and a netring Log receives the datagrams whole:

* ``input_batch.bin``  one datagram: 3 messages of group 5 (input hook on veth1:
  devices, hardware address and header, timestamp, prefix, mark, SEQ,
  SEQ_GLOBAL, UDP payload) and the NLMSG_DONE that closes a batch;
* ``output_uid.bin``   one message of group 6 (output hook: a socket of uid/gid
  1234, no timestamp, IPv6);
* ``netdev.bin``       one message of group 7 (netdev ingress: L2HDR);
* ``meta.json``        what the setup makes true (indexes, addresses, ports, uid).
"""
import json
import os
import socket
import subprocess
import time

from netring.netns import run_in_netns
from netring.subsystems.nfnetlink.edge.log import Log
from netring.subsystems.nfnetlink.log.constants import NFULNL_CFG_F

OUT = os.path.dirname(os.path.abspath(__file__))
A, B = "nrgold-nfa", "nrgold-nfb"


def sh(*a, inp=None):
    return subprocess.run(a, check=True, capture_output=True, text=True, input=inp).stdout


for ns in (A, B):
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    sh("ip", "netns", "add", ns)
try:
    sh("ip", "-n", A, "link", "add", "veth0", "address", "02:00:00:00:0a:01", "type", "veth",
       "peer", "name", "veth1", "address", "02:00:00:00:0b:01", "netns", B)
    for ns, dev, addr, addr6 in ((A, "veth0", "10.9.0.1/24", "fd00::1/64"),
                                 (B, "veth1", "10.9.0.2/24", "fd00::2/64")):
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
        sh("ip", "-n", ns, "addr", "add", addr6, "dev", dev, "nodad")
    sh("ip", "-n", A, "neigh", "add", "10.9.0.2", "lladdr", "02:00:00:00:0b:01", "dev", "veth0")
    sh("ip", "-n", B, "neigh", "add", "10.9.0.1", "lladdr", "02:00:00:00:0a:01", "dev", "veth1")
    sh("ip", "netns", "exec", B, "nft", "-f", "-", inp="""
table inet g {
  chain in { type filter hook input priority 0; udp dport 7000 meta mark set 0x2a log group 5 prefix "golden in: " ; }
  chain out { type filter hook output priority 0; udp dport 7001 log group 6 prefix "golden out: " ; }
}
table netdev g {
  chain ing { type filter hook ingress device veth1 priority 0; udp dport 7002 log group 7 prefix "golden l2: " ; }
}
""")
    links = json.loads(sh("ip", "-n", B, "-j", "link", "show"))
    index = {ln["ifname"]: ln["ifindex"] for ln in links}
    t0 = time.time_ns()
    with Log(netns=B, flags=NFULNL_CFG_F.SEQ | NFULNL_CFG_F.SEQ_GLOBAL) as log:
        log.bind(5, qthresh=3, timeout=5)
        log.bind(6, qthresh=1)
        log.bind(7, qthresh=1)

        def send_a():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("10.9.0.1", 40000))
            for i in range(3):
                s.sendto(b"golden %d" % i, ("10.9.0.2", 7000))
            s.sendto(b"l2", ("10.9.0.2", 7002))
            return None

        def send_b():
            os.setgid(1234)
            os.setuid(1234)
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.bind(("fd00::2", 40001))
            s.sendto(b"golden out", ("fd00::1", 7001))

        run_in_netns(f"/run/netns/{A}", send_a)
        pid = os.fork()
        if pid == 0:
            try:
                run_in_netns(f"/run/netns/{B}", send_b)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        got = {}
        for b in log.batches(idle=1.0):
            data = bytes(b.data)
            msgs = list(b)
            got.setdefault(msgs[0].group, data)
        t1 = time.time_ns()
    names = {5: "input_batch.bin", 6: "output_uid.bin", 7: "netdev.bin"}
    for g, name in names.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(got[g])
    meta = {"index": index, "mac_a": "02:00:00:00:0a:01", "mac_b": "02:00:00:00:0b:01",
            "uid": 1234, "gid": 1234, "mark": 42, "t0_ns": t0, "t1_ns": t1,
            "sport_in": 40000, "sport_out": 40001}
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    print("recorded", {g: len(d) for g, d in got.items()})
finally:
    for ns in (A, B):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
