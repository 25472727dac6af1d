"""AF_PACKET capture and transmit: netring against tcpdump and against itself, in one run.

Run as root, one at a time on a shared machine::

    flock /tmp/netring-bench.lock python benchmarks/bench_capture.py [--frames N] [--quick]

Everything happens on a veth pair in a private network namespace created and
removed here.  Traffic comes from a 40-line C ``sendmmsg`` generator compiled
with gcc into a temporary directory (60-byte frames, experimental ethertype).

1. Drain ceiling: a ring is opened and NOT read while N frames are sent; then the
   drain of the full ring is timed.  netring V3 count-only (block headers),
   per-packet iteration (``for blk in ring.blocks(): for pkt in blk``), the same
   reading one field, ``drain(callback)``, a mixed-size run of the same walk, and
   ``tcpdump -w /dev/null`` (stopped with SIGSTOP while the traffic is sent,
   timed from SIGCONT until it exits after ``-c N``).
2. Live rate: the generator floods while the reader reads (netring V3 count-only
   and per-packet; tcpdump); captured packets per second and kernel drops.
3. Transmit: netring's TX ring against ``sendmmsg`` of the same frames, with and
   without ``PACKET_QDISC_BYPASS``.
4. Fanout: live capture with one member process against two (mode lb).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from netring.packet import CaptureRing, Geometry, MmsgSender, TxRing  # noqa: E402

#: a separate venv with the peers (pip install pcapy-ng): never netring's own
PEERS_PYTHON = os.environ.get("NETRING_PEERS_PYTHON", "/tmp/peers-venv/bin/python")

GEN_C = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#define B 1024
static char buf[B][2048];
int main(int argc, char **argv) {
    long n = atol(argv[2]); int size = atoi(argv[3]); int mixed = argc > 4;
    int fd = socket(AF_PACKET, SOCK_RAW, 0), one = 1;
    struct sockaddr_ll a = {0};
    a.sll_family = AF_PACKET; a.sll_ifindex = if_nametoindex(argv[1]); a.sll_protocol = htons(3);
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    struct mmsghdr m[B]; struct iovec v[B];
    memset(m, 0, sizeof m);
    for (int i = 0; i < B; i++) {
        unsigned char *f = (unsigned char *)buf[i];
        memset(f, 0, 2048); memcpy(f, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x88\xb5", 14);
        f[14] = i >> 8; f[15] = i;
        v[i].iov_base = f; v[i].iov_len = mixed ? size + (i * 8) % 64 : size;
        m[i].msg_hdr.msg_iov = &v[i]; m[i].msg_hdr.msg_iovlen = 1;
        m[i].msg_hdr.msg_name = &a; m[i].msg_hdr.msg_namelen = sizeof a;
    }
    struct timespec t0, t1; clock_gettime(CLOCK_MONOTONIC, &t0);
    long sent = 0;
    while (sent < n) {
        int k = n - sent < B ? n - sent : B;
        int r = sendmmsg(fd, m, k, 0);
        if (r < 0) { if (errno == ENOBUFS || errno == EAGAIN) continue; perror("sendmmsg"); return 1; }
        sent += r;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%ld %.6f\n", sent, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
"""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


class Bench:
    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.ns = f"nrbench-capture-{os.getpid()}"
        self.tmp = tempfile.mkdtemp(prefix="netring-bench-")
        sh("ip", "netns", "add", self.ns)
        for cmd in (["link", "set", "lo", "up"],
                    ["link", "add", "veth0", "type", "veth", "peer", "name", "veth1"],
                    ["link", "set", "veth0", "up"], ["link", "set", "veth1", "up"]):
            sh("ip", "-n", self.ns, *cmd)
        src = os.path.join(self.tmp, "gen.c")
        with open(src, "w") as f:
            f.write(GEN_C)
        self.gen = os.path.join(self.tmp, "gen")
        sh("gcc", "-O2", "-o", self.gen, src)

    def close(self) -> None:
        sh("ip", "netns", "del", self.ns, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def generate(self, n: int, size: int = 60, mixed: bool = False) -> tuple[int, float]:
        out = sh("ip", "netns", "exec", self.ns, self.gen, "veth0", str(n), str(size),
                 *(["mixed"] if mixed else [])).stdout.split()
        return int(out[0]), float(out[1])

    def start_gen(self, n: int) -> subprocess.Popen[str]:
        return subprocess.Popen(["ip", "netns", "exec", self.ns, self.gen, "veth0", str(n), "60"],
                                stdout=subprocess.PIPE, text=True)

    # -- 1. drain ceiling ---------------------------------------------------------------
    def ring(self) -> CaptureRing:
        blocks = max(8, self.frames * 144 // (1 << 20) + 8)
        g = Geometry.v3(1 << 20, blocks, retire_ms=60000)  # blocks close only when full
        return CaptureRing("veth1", netns=self.ns, geometry=g, ignore_outgoing=True)

    def drain_netring(self, how: str, mixed: bool = False) -> tuple[int, float]:
        with self.ring() as ring:
            self.generate(self.frames, mixed=mixed)
            time.sleep(0.05)
            # the last, partly filled block closes at the retire timeout: flush it by
            # reading only whole blocks, and count what the timer left as not drained
            t0 = time.perf_counter()
            n = 0
            if how == "count":
                n = ring.count()
            elif how == "iterate":
                for blk in ring.blocks(timeout=0):
                    for _pkt in blk:
                        n += 1
            elif how == "field":
                for blk in ring.blocks(timeout=0):
                    for pkt in blk:
                        n += pkt.wirelen > 0
            elif how == "drain":
                n = ring.drain(_noop)
            elif how == "column":
                for blk in ring.blocks(timeout=0):
                    col = blk.column("wirelen")  # type: ignore[union-attr]
                    n += len(col) if sum(col) else 0
            dt = time.perf_counter() - t0
            return n, dt

    def drain_tcpdump(self) -> tuple[int, float] | None:
        if shutil.which("tcpdump") is None:
            return None
        n = self.frames
        p = subprocess.Popen(["ip", "netns", "exec", self.ns, "tcpdump", "-i", "veth1", "-Q", "in",
                              "-B", str(max(65536, n * 200 // 1024)), "-w", "/dev/null",
                              "-c", str(n - 2048), "-s", "262144"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert p.stderr is not None
        p.stderr.readline()  # "listening on veth1 ..."
        time.sleep(0.3)
        os.kill(p.pid, signal.SIGSTOP)
        self.generate(n)
        time.sleep(1.2)  # libpcap's 1 s block timeout closes the last block
        t0 = time.perf_counter()
        os.kill(p.pid, signal.SIGCONT)
        p.wait(60)
        dt = time.perf_counter() - t0
        err = p.stderr.read()
        got = int(err.split(" packets captured")[0].split()[-1]) if "captured" in err else 0
        return got, dt

    def drain_pcapy(self) -> tuple[int, float] | None:
        """pcapy-ng's callback loop over the same paused ring (libpcap V3 underneath)."""
        py = PEERS_PYTHON
        if not os.path.exists(py):
            return None
        n = self.frames - 2048
        bufsize = max(64 << 20, self.frames * 200)
        code = (
            "import sys, time, pcapy\n"
            f"p = pcapy.create('veth1'); p.set_buffer_size({bufsize}); p.set_snaplen(262144)\n"
            "p.set_timeout(1000); p.activate(); p.setdirection(pcapy.PCAP_D_IN)\n"
            "print('ready', flush=True); sys.stdin.readline()\n"
            "c = [0]\n"
            "def cb(h, d): c[0] += 1\n"
            f"t = time.perf_counter(); p.loop({n}, cb); dt = time.perf_counter() - t\n"
            "print(c[0], dt, flush=True)\n")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns, py, "-c", code],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert p.stdout is not None and p.stdin is not None
        if p.stdout.readline().strip() != "ready":
            p.kill()
            return None
        self.generate(self.frames)
        time.sleep(1.2)
        p.stdin.write("go\n")
        p.stdin.flush()
        got, dt = p.stdout.readline().split()
        p.wait(30)
        return int(got), float(dt)

    # -- 2. live ------------------------------------------------------------------------
    def live_netring(self, per_packet: bool, members: int = 1) -> tuple[int, int, float]:
        n = self.frames
        group = os.getpid() & 0xFFFF
        rings = [CaptureRing("veth1", netns=self.ns, buffer_size=64 << 20, retire_ms=10,
                             ignore_outgoing=True,
                             fanout=(group, "lb") if members > 1 else None)
                 for _ in range(members)]
        pids = []
        r, w = os.pipe()
        for i, ring in enumerate(rings):
            pid = os.fork()
            if pid == 0:
                try:
                    got = 0
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline:
                        if per_packet:
                            b = ring.next_block(timeout=0.3)
                            if b is None:
                                if got:
                                    break
                                continue
                            with b:
                                for _p in b:
                                    got += 1
                        else:
                            k = ring.count(timeout=0.3)
                            if not k and got:
                                break
                            got += k
                    st = ring.stats_total
                    os.write(w, f"{i} {got} {st.drops}\n".encode())
                finally:
                    os._exit(0)
            pids.append(pid)
        time.sleep(0.2)
        sent, dt = self.generate(n)
        got = drops = 0
        for pid in pids:
            os.waitpid(pid, 0)
        os.close(w)
        for line in os.fdopen(r).read().split("\n"):
            if line:
                _, g, d = line.split()
                got, drops = got + int(g), drops + int(d)
        for ring in rings:
            ring.close()
        return got, drops, dt

    # -- 3. transmit ----------------------------------------------------------------------
    def tx(self, method: str, bypass: bool) -> float:
        frames = [b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x88\xb5" + bytes(46)] * 1024
        rounds = max(1, self.frames // 1024 // 4)
        sender = (TxRing("veth0", netns=self.ns, frame_nr=2048, qdisc_bypass=bypass)
                  if method == "ring" else MmsgSender("veth0", netns=self.ns, qdisc_bypass=bypass))
        with sender:
            t0 = time.perf_counter()
            for _ in range(rounds):
                sender.send(frames)
            sender.flush(10)
            dt = time.perf_counter() - t0
        return rounds * 1024 / dt


def _noop(_p: object) -> None:
    return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="200k frames")
    args = ap.parse_args()
    frames = 200_000 if args.quick else args.frames
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
          f"Python {platform.python_version()}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    b = Bench(frames)
    try:
        print(f"\n1. drain ceiling: {frames} frames of 60 bytes in a paused ring, then drained")
        res: dict[str, float] = {}
        for how in ("count", "iterate", "field", "drain", "column"):
            n, dt = b.drain_netring(how)
            res[how] = n / dt
            print(f"   netring V3 {how:8s} {n:>8} pkts {dt * 1000:8.1f} ms {n / dt / 1e6:7.2f} M pps")
        n, dt = b.drain_netring("iterate", mixed=True)
        res["mixed"] = n / dt
        print(f"   netring V3 iterate, mixed sizes (60..116 B): {n / dt / 1e6:.2f} M pps")
        pc = b.drain_pcapy()
        if pc:
            n, dt = pc
            res["pcapy"] = n / dt
            print(f"   pcapy-ng loop(cb)     {n:>8} pkts {dt * 1000:8.1f} ms {n / dt / 1e6:7.2f} M pps")
            for k in ("iterate", "field", "drain", "column", "mixed"):
                print(f"   ratio netring {k} / pcapy-ng: {res[k] / res['pcapy']:.2f}")
        td = b.drain_tcpdump()
        if td:
            n, dt = td
            res["tcpdump"] = n / dt
            print(f"   tcpdump -w /dev/null  {n:>8} pkts {dt * 1000:8.1f} ms "
                  f"{n / dt / 1e6:7.2f} M pps (includes its exit)")
            for k in ("count", "iterate", "field", "drain", "column", "mixed"):
                print(f"   ratio netring {k} / tcpdump: {res[k] / res['tcpdump']:.2f}")
        print(f"\n2. live: the generator floods {frames} frames while the reader reads")
        for per in (False, True):
            got, drops, dt = b.live_netring(per)
            print(f"   netring V3 {'per-packet' if per else 'count-only'}: {got} captured, "
                  f"{drops} dropped, generator {frames / dt / 1e6:.2f} M pps")
        print("\n3. transmit, 60-byte frames")
        for method in ("ring", "sendmmsg"):
            for bypass in (False, True):
                pps = b.tx(method, bypass)
                print(f"   {method:8s} qdisc_bypass={bypass!s:5s} {pps / 1e6:6.2f} M pps")
        print("\n4. fanout lb: one member process against two (live, count-only)")
        for m in (1, 2):
            got, drops, dt = b.live_netring(False, members=m)
            print(f"   {m} member(s): {got} captured, {drops} dropped, "
                  f"generator {frames / dt / 1e6:.2f} M pps")
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
