"""Record the golden rtnetlink captures in this directory from the real kernel.

Run once as root: ``python3 tests/golden/rtnl/record.py``.  It builds a private
namespace with links, addresses, routes (gateway, device, blackhole, multipath,
other tables, metrics, protocols, IPv6), neighbours and rules, records the raw
dump datagrams (``*.bin``), a burst of notifications, and what ``ip -j`` printed
at the same moment (``expected_ip_json.json``).
"""
import json
import os
import struct
import subprocess
import time

from netring import Rtnl
from netring.socket import NetlinkSocket
from netring.subsystems.rtnetlink.constants import IFLA, RTEXT_FILTER, RTM
from netring.subsystems.rtnetlink.dump import dump_request
from netring.subsystems.rtnetlink.structs import fib_rule_hdr, ifaddrmsg, ifinfomsg, ndmsg, rtmsg

OUT = os.path.dirname(os.path.abspath(__file__))
NS = "nrgold"


def sh(*a, **kw):
    return subprocess.run(a, check=True, capture_output=True, text=True, **kw).stdout



subprocess.run(["ip","netns","del",NS], capture_output=True)
sh("ip","netns","add",NS)
N = ["ip","-n",NS]
cmds = """link set lo up
link add veth0 address 02:00:00:00:00:01 type veth peer name veth1 address 02:00:00:00:00:02
link set veth0 up
link set veth1 up
link add br0 address 02:00:00:00:00:03 type bridge
link add mv0 link veth0 address 02:00:00:00:00:04 type macvlan mode bridge
link add vx0 address 02:00:00:00:00:05 type vxlan id 42 dstport 4789 local 10.0.0.1
addr add 10.0.0.1/24 dev veth0
addr add 10.0.0.100/24 dev veth0
addr add 192.168.7.1 peer 192.168.7.2 dev veth0
addr add 2001:db8::1/64 dev veth0 nodad
route add 10.1.0.0/24 via 10.0.0.2
route add blackhole 10.2.0.0/24
route add 10.3.0.0/24 dev veth0 metric 100 proto static
route add 10.4.0.0/24 nexthop via 10.0.0.2 weight 1 nexthop via 10.0.0.3 weight 2
route add 10.5.0.0/24 via 10.0.0.2 table 100 mtu 1400 advmss 1300
route add 10.6.0.0/24 dev veth0 proto 99 src 10.0.0.1 scope link
route add unreachable 10.7.0.0/24
route add prohibit 10.8.0.0/24 table 1000
route add default via 10.0.0.254 metric 10
route add throw 10.9.0.0/16 table 100
route add 10.10.0.0/24 via 10.0.0.2 proto bgp metric 20 table 200 mtu lock 1300 rtt 100 initcwnd 10
route add 2001:db8:1::/64 via 2001:db8::2
route add 2001:db8:2::/64 dev veth0 metric 5 pref high
route add 2001:db8:3::/64 nexthop via 2001:db8::2 nexthop via 2001:db8::3
neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev veth0
neigh add 10.0.0.10 lladdr 02:00:00:00:00:0a dev veth0 nud noarp
neigh add 10.0.0.11 lladdr 02:00:00:00:00:0b dev veth0 nud stale router
neigh add 2001:db8::9 lladdr 02:00:00:00:00:09 dev veth0
neigh add proxy 10.0.0.50 dev veth0
rule add from 10.9.0.0/16 table 100 prio 100
rule add fwmark 0x10/0xff lookup 200 prio 99
rule add iif veth0 blackhole prio 98
rule add not to 10.20.0.0/16 oif veth1 table 300 prio 97
rule add prio 96 uidrange 1000-2000 ipproto tcp dport 80-90 table 100
rule add prio 95 goto 100
"""
sh("ip","-n",NS,"-batch","-", input=cmds)
sh("ip","-n",NS,"-6","rule","add","from","2001:db8::/32","table","100","prio","100")
cmds += "-6 rule add from 2001:db8::/32 table 100 prio 100\n"
time.sleep(1.5)  # let DAD / ll addresses settle
sock = NetlinkSocket(0, netns=NS, strict_check=True)
def record(name, type_, hdr, attrs=()):
    msg = dump_request(type_, hdr, attrs)
    seq = sock.next_seq()
    struct.pack_into("=I", msg, 8, seq)
    sock.send(msg)
    data = bytearray()
    while True:
        buf = sock.socket.recv(65536)
        data += buf
        # DONE?
        off = 0
        done = False
        while off < len(buf):
            ln, t = struct.unpack_from("=IH", buf, off)
            if t == 3:
                done = True
            off += (ln + 3) & ~3
        if done:
            break
    open(f"{OUT}/{name}.bin","wb").write(bytes(data))
    return seq
meta = {"namespace_setup": cmds.strip().splitlines()}
meta["seq"] = {}
meta["seq"]["routes"] = record("routes", RTM.GETROUTE, rtmsg.pack(0,0,0,0,0,0,0,0,0))
meta["seq"]["links"] = record("links", RTM.GETLINK, ifinfomsg.pack(0,0,0,0,0), [(IFLA.EXT_MASK, struct.pack("=I", RTEXT_FILTER.VF|RTEXT_FILTER.SKIP_STATS))])
meta["seq"]["addrs"] = record("addrs", RTM.GETADDR, ifaddrmsg.pack(0,0,0,0,0))
meta["seq"]["neigh"] = record("neigh", RTM.GETNEIGH, ndmsg.pack(0,0,0,0,0))
meta["seq"]["rules4"] = record("rules4", RTM.GETRULE, fib_rule_hdr.pack(2,0,0,0,0,0,0,0,0))
meta["seq"]["rules6"] = record("rules6", RTM.GETRULE, fib_rule_hdr.pack(10,0,0,0,0,0,0,0,0))
def ipj(*a):
    return json.loads(sh("ip","-n",NS,"-j",*a) or "[]")
exp = {"routes": ipj("route","show","table","all"), "links": ipj("link","show"),
       "addrs": [e for ln in ipj("-o", "addr", "show") for e in ln["addr_info"]],
       "neigh": ipj("neigh","show","nud","all"), "rules4": ipj("-4","rule","show"),
       "rules6": ipj("-6","rule","show")}
json.dump(exp, open(f"{OUT}/expected_ip_json.json","w"), indent=1)
r = Rtnl(NS)
meta["names"] = {str(k): v for k, v in r.names().items()}
meta["link_flags"] = {str(k): v for k, v in r.link_flags().items()}
# notifications: a monitor socket catching changes
mon = NetlinkSocket(0, netns=NS)
for g in (1, 3, 5, 7, 8, 9, 11):
    mon.add_membership(g)
sh("ip","-n",NS,"-batch","-", input="route add 10.77.0.0/24 dev veth0\nroute del 10.77.0.0/24 dev veth0\nlink set br0 mtu 1400\nneigh del 10.0.0.9 dev veth0\nrule del prio 100\naddr del 10.0.0.100/24 dev veth0\n")
time.sleep(0.3)
data = bytearray()
mon.socket.setblocking(False)
while True:
    try:
        data += mon.socket.recv(65536)
    except BlockingIOError:
        break
open(f"{OUT}/notifications.bin","wb").write(bytes(data))
meta["kernel"] = os.uname().release
meta["iproute2"] = sh("ip","-V").strip()
json.dump(meta, open(f"{OUT}/meta.json","w"), indent=1)
subprocess.run(["ip","netns","del",NS])
print("ok", {k: os.path.getsize(f"{OUT}/{k}.bin") for k in ("routes","links","addrs","neigh","rules4","rules6","notifications")})
