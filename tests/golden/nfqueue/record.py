"""Record the golden nfnetlink_queue captures in this directory from the real kernel.

Run once as root: ``PYTHONPATH=src python3 tests/golden/nfqueue/record.py``.  In a
private namespace it queues (iptables NFQUEUE, OUTPUT on lo) an IPv4 UDP datagram
with a mark, an IPv6 UDP datagram, a TCP SYN, an ICMP echo request (queue 5,
conntrack and uid/gid on) and a UDP datagram cut by a 40-byte copy range (queue 6),
and stores every datagram exactly as received (``packets.bin``: a 4-byte
little-endian length before each) with what was sent (``meta.json``).

This kernel has no ``CONFIG_NETFILTER_NETLINK_GLUE_CT`` (``NFQA_CFG_F_CONNTRACK``
is refused with EOPNOTSUPP), so the conntrack nest format is recorded from
ctnetlink itself, which builds the same attributes: a conntrack dump of the
namespace after the traffic (``ct_dump.bin``, connections with a connmark and a
connlabel set by iptables) and ``/proc/net/nf_conntrack`` at that moment
(``nf_conntrack.txt``), the oracle.
"""
import json
import os
import socket
import struct
import subprocess
import time

from netring.netns import socket_in
from netring.subsystems.nfnetlink.edge.queue import Queue

OUT = os.path.dirname(os.path.abspath(__file__))
NS = "nrgold-nfq"


def sh(*a):
    return subprocess.run(a, check=True, capture_output=True, text=True).stdout


subprocess.run(["ip", "netns", "del", NS], capture_output=True)
sh("ip", "netns", "add", NS)
try:
    sh("ip", "-n", NS, "link", "set", "lo", "up")
    ipt = ["ip", "netns", "exec", NS, "iptables"]
    ip6t = ["ip", "netns", "exec", NS, "ip6tables"]
    sh(*ipt, "-t", "mangle", "-A", "OUTPUT", "-p", "udp", "--dport", "4000", "-j", "MARK",
       "--set-mark", "0x2a")
    sh(*ipt, "-t", "mangle", "-A", "OUTPUT", "-p", "udp", "--dport", "4000", "-m", "connlabel",
       "--label", "3", "--set", "-j", "CONNMARK", "--set-mark", "0x2b")
    for proto, port in (("udp", "4000"), ("tcp", "4001")):
        sh(*ipt, "-A", "OUTPUT", "-o", "lo", "-p", proto, "--dport", port, "-j", "NFQUEUE",
           "--queue-num", "5")
    sh(*ipt, "-A", "OUTPUT", "-o", "lo", "-p", "icmp", "-j", "NFQUEUE", "--queue-num", "5")
    sh(*ipt, "-A", "OUTPUT", "-o", "lo", "-p", "udp", "--dport", "4002", "-j", "NFQUEUE",
       "--queue-num", "6")
    sh(*ip6t, "-A", "OUTPUT", "-o", "lo", "-p", "udp", "--dport", "4000", "-j", "NFQUEUE",
       "--queue-num", "5")
    q = Queue(5, netns=NS, uid_gid=True)
    q6 = Queue(6, netns=NS, copy_range=40)
    s4 = socket_in(NS, socket.AF_INET, socket.SOCK_DGRAM)
    s6 = socket_in(NS, socket.AF_INET6, socket.SOCK_DGRAM)
    s4.bind(("127.0.0.1", 3999))
    s6.bind(("::1", 3999))
    s4.sendto(b"golden udp payload", ("127.0.0.1", 4000))
    s6.sendto(b"golden udp6", ("::1", 4000))
    t = socket_in(NS, socket.AF_INET, socket.SOCK_STREAM)
    t.setblocking(False)
    t.bind(("127.0.0.1", 3998))
    try:
        t.connect(("127.0.0.1", 4001))
    except BlockingIOError:
        pass
    icmp = socket_in(NS, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    echo = bytearray(struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"ping")
    from netring.subsystems.nfnetlink.queue.checksum import inet_checksum
    struct.pack_into("!H", echo, 2, inet_checksum(echo))
    icmp.sendto(echo, ("127.0.0.1", 0))
    s4.sendto(b"0123456789" * 10, ("127.0.0.1", 4002))
    frames = []
    deadline = time.monotonic() + 5
    while len(frames) < 5 and time.monotonic() < deadline:
        b = q.recv_batch(timeout=1)
        frames += [b.data(i).tobytes() for i in range(len(b))]
        b.accept()
    b = q6.recv_batch(timeout=2)
    frames += [b.data(i).tobytes() for i in range(len(b))]
    b.accept()
    q.flush()
    q6.flush()
    with open(os.path.join(OUT, "packets.bin"), "wb") as f:
        for fr in frames:
            f.write(struct.pack("<I", len(fr)) + fr)
    from netring.codec import NETLINK
    from netring.socket import NetlinkSocket
    from netring.subsystems.nfnetlink.structs import nfgenmsg
    ct = NetlinkSocket(NETLINK.NETFILTER, netns=NS)
    with open(os.path.join(OUT, "ct_dump.bin"), "wb") as f:
        for m in ct.dump((1 << 8) | 1, nfgenmsg.pack(socket.AF_INET, 0, 0)):  # IPCTNL_MSG_CT_GET
            raw = m.tobytes()
            f.write(struct.pack("<I", len(raw)) + raw)
    ct.close()
    with open(os.path.join(OUT, "nf_conntrack.txt"), "w") as f:
        f.write(subprocess.run(["ip", "netns", "exec", NS, "cat", "/proc/net/nf_conntrack"],
                               check=True, capture_output=True, text=True).stdout)
    meta = {
        "count": len(frames),
        "udp4": {"payload": "golden udp payload", "sport": 3999, "dport": 4000, "mark": 42},
        "udp6": {"payload": "golden udp6", "sport": 3999, "dport": 4000},
        "tcp": {"sport": 3998, "dport": 4001},
        "icmp": {"id": 0x1234, "seq": 1},
        "cut": {"copy_range": 40, "len": 128},
        "uid": os.geteuid(), "gid": os.getegid(),
        "lo": socket.if_nametoindex("lo"),
    }
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(len(frames), "frames")
    q.close()
    q6.close()
finally:
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
