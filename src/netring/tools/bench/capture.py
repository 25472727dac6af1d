"""AF_PACKET capture and transmit, side by side in one run: netring, tcpdump, pcapy-ng, scapy.

Everything happens on a veth pair in a private network namespace made and
removed here (IPv6 off, so only the generator's frames flow).  The traffic is a
bounded C ``sendmmsg`` generator compiled with gcc at run time: N frames of 64
bytes (an experimental ethertype) sent from ``veth0`` as fast as it can; the
readers read ``veth1``.

* **Drain ceiling**: a reader's ring (or socket) is opened and not read while
  the generator sends N frames; then only the drain is timed.  netring rows time
  the library call in the harness (blocks close only when full: the last,
  partial one is not read); tcpdump, ``netring capture -w`` and the peers are
  whole processes stopped with SIGSTOP (or waiting on stdin) during the
  traffic and timed from SIGCONT (or the go line) until they have read their
  ``-c`` count and exited (tcpdump and ``netring capture``) or returned.
* **Live**: the generator floods N frames at its full rate while the reader
  reads, each reader with a 32 MiB ring (netring's default; ``-B 32768`` for
  tcpdump, ``set_buffer_size`` for pcapy-ng): captured and dropped counts.
* **Transmit**: 64-byte frames through netring's TX ring and through
  ``sendmmsg`` (``MmsgSender``) on the veth (``noqueue``); then with a qdisc on
  ``veth0`` (``tc qdisc replace dev veth0 root pfifo limit 10000``, then an
  ``htb`` whose one class runs at 100 Gbit/s), the TX ring with
  ``PACKET_QDISC_BYPASS`` against the ring through the qdisc.  A ``pfifo`` that
  is empty hands a packet straight to the device (``TCQ_F_CAN_BYPASS``); ``htb``
  always queues it (this kernel has no ``fq``).  The sender is pinned to one
  CPU (veth receives on the sending CPU, so every variant pays the same receive
  work there); best of :data:`TX_ROUNDS` interleaved rounds.
* **Fanout**: one process draining its paused ring against two processes, each
  with its own paused ring in one ``lb`` group, draining at once with a
  callback that reads ``pkt.data`` (rate = all packets / from the first start
  to the last end; and packets per CPU-second of the members, which shows
  whether the wall-clock rate was held back by the cores the machine had free).

Drain measures run in :data:`DRAIN_ROUNDS` interleaved rounds, fanout in
:data:`FANOUT_ROUNDS`, the best kept.

pcapy-ng and scapy run from a cache venv (``$XDG_CACHE_HOME/netring-bench/venv``,
made with pip at run time, never netring's environment); a peer that cannot be
installed is one printed line, and its rows are left out.  scapy drains fewer
frames (it reads about ten thousand a second).

Run as root, one benchmark at a time on a shared machine::

    netring bench capture [--quick]        python benchmarks/bench_capture.py [--quick]
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

from ...codec.types import TYPE_CHECKING
from ._common import (
    command_line,
    default_sigint,
    machine,
    peer_venv_dir,
    print_footer,
    print_table,
)

if TYPE_CHECKING:
    from typing import Any, TextIO

__all__ = ["run", "GEN_C", "FRAME_SIZE", "PEERS"]

FRAME_SIZE = 64
#: pip requirement and module of each peer (installed into the cache venv)
PEERS = {"pcapy-ng": ("pcapy-ng==2.1.0", "pcapy"), "scapy": ("scapy==2.6.1", "scapy")}
#: the qdiscs put on veth0 for the bypass comparison (veth has none: noqueue): name, and
#: the ``tc`` commands that make it (an htb class at 100 Gbit/s never holds a frame back)
QDISCS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("pfifo", (("qdisc", "replace", "dev", "veth0", "root", "pfifo", "limit", "10000"),)),
    ("htb", (("qdisc", "replace", "dev", "veth0", "root", "handle", "1:", "htb", "default", "1"),
             ("class", "add", "dev", "veth0", "parent", "1:", "classid", "1:1", "htb", "rate",
              "100gbit", "burst", "10mb"))),
)
QDISC_TEXT = {"pfifo": "pfifo limit 10000", "htb": "htb, one class at 100 Gbit/s"}
DRAIN_ROUNDS = 2  # interleaved rounds of every drain measure; the best kept
TX_ROUNDS = 5
FANOUT_ROUNDS = 3  # the two-member rate depends most on what else holds the cores
LIVE_RING_KIB = 32 << 10  # netring's default ring: 32 MiB

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
/* gen IFACE COUNT SIZE: COUNT frames of SIZE bytes, sendmmsg bursts of 1024 */
int main(int argc, char **argv) {
    long n = atol(argv[2]); int size = atoi(argv[3]);
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
        v[i].iov_base = f; v[i].iov_len = size;
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

PCAPY_DRAIN = """
import sys, time, pcapy
p = pcapy.create('veth1'); p.set_buffer_size({bufsize}); p.set_snaplen(262144)
p.set_timeout(1000); p.activate(); p.setdirection(pcapy.PCAP_D_IN)
print('ready', flush=True); sys.stdin.readline()
def cb(hdr, data): pass
t = time.perf_counter(); got = p.loop({count}, cb); dt = time.perf_counter() - t
print({count}, dt, flush=True)
"""

PCAPY_LIVE = """
import sys, time, pcapy
p = pcapy.create('veth1'); p.set_buffer_size({bufsize}); p.set_snaplen(262144)
p.set_timeout(100); p.activate(); p.setdirection(pcapy.PCAP_D_IN)
c = [0]
def cb(hdr, data): c[0] += 1
print('ready', flush=True)
deadline = time.monotonic() + 60; idle = None
while c[0] < {count} and time.monotonic() < deadline:
    if p.dispatch(-1, cb) > 0: idle = None
    elif c[0]:
        idle = idle or time.monotonic()
        if time.monotonic() - idle > 1.0: break
recv, drop, ifdrop = p.stats()
print(c[0], drop, flush=True)
"""

SCAPY_DRAIN = """
import socket, sys, time
from scapy.all import conf, sniff
s = conf.L2listen(iface='veth1')
s.ins.setsockopt(socket.SOL_SOCKET, 33, {rcvbuf})  # SO_RCVBUFFORCE
print('ready', flush=True); sys.stdin.readline()
t = time.perf_counter(); got = sniff(opened_socket=s, count={count}, store=False, timeout=120)
print({count}, time.perf_counter() - t, flush=True)
"""


def _say(text: str) -> None:
    print(f"netring bench capture: {text}", file=sys.stderr, flush=True)


def _sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=300)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip() or r.returncode}")
    return r


def prepare_peers() -> tuple[str, dict[str, str]]:
    """pcapy-ng and scapy in the cache venv; returns (its python, {peer: why not})."""
    venv = peer_venv_dir()
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        _say(f"making the peers' venv {venv}")
        os.makedirs(os.path.dirname(venv), exist_ok=True)
        r = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True,
                           text=True, timeout=600)
        if r.returncode:
            return python, {k: f"python -m venv {venv} failed" for k in PEERS}
    missing = {}
    log = os.path.join(os.path.dirname(venv), "install.log")
    for key, (req, module) in PEERS.items():
        if subprocess.run([python, "-c", f"import {module}"], capture_output=True,
                          timeout=120).returncode == 0:
            continue
        _say(f"pip install {req} into {venv} (log: {log})")
        with open(log, "a") as f:
            r = subprocess.run([python, "-m", "pip", "install", "-q", req], stdout=f,
                               stderr=subprocess.PIPE, text=True, timeout=1800)
            f.write(r.stderr)
        if r.returncode or subprocess.run([python, "-c", f"import {module}"],
                                          capture_output=True, timeout=120).returncode:
            lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
            missing[key] = f"pip install {req} failed: {lines[-1][:160] if lines else '?'}"
    return python, missing


def _version(python: str, dist: str) -> str:
    r = subprocess.run([python, "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
                       capture_output=True, text=True, timeout=60)
    return r.stdout.strip() or "?"


def _noop(_pkt: object) -> None:
    return None


def _read_data(pkt: Any) -> None:
    pkt.data  # noqa: B018 - the view a reader would use


def _watchdog(p: subprocess.Popen[str], seconds: float) -> threading.Timer:
    """Kill ``p`` after ``seconds`` (a bound on every wait for a peer's line)."""
    t = threading.Timer(seconds, p.kill)
    t.daemon = True
    t.start()
    return t


class Rig:
    """The namespace, the veth pair and the generator; removed on :meth:`close`."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.ns = f"nrbench-capture-{os.getpid()}"
        self.tmp = tempfile.mkdtemp(prefix="netring-bench-capture-")
        self.procs: list[subprocess.Popen[str]] = []
        _sh("ip", "netns", "add", self.ns)
        for key in ("all", "default"):
            _sh("ip", "netns", "exec", self.ns, "sysctl", "-qw",
                f"net.ipv6.conf.{key}.disable_ipv6=1")
        for cmd in (["link", "set", "lo", "up"],
                    ["link", "add", "veth0", "type", "veth", "peer", "name", "veth1"],
                    ["link", "set", "veth0", "up"], ["link", "set", "veth1", "up"]):
            _sh("ip", "-n", self.ns, *cmd)
        src = os.path.join(self.tmp, "gen.c")
        with open(src, "w") as f:
            f.write(GEN_C)
        self.gen = os.path.join(self.tmp, "gen")
        _sh("gcc", "-O2", "-o", self.gen, src)
        time.sleep(0.3)  # the links come up

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        _sh("ip", "netns", "del", self.ns, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def popen(self, argv: list[str], **kw: Any) -> subprocess.Popen[str]:
        # SIGINT as the readers' terminal would deliver it, even when this benchmark runs
        # in the background of a shell (which starts it with SIGINT ignored)
        p = subprocess.Popen(argv, text=True, preexec_fn=default_sigint, **kw)
        self.procs.append(p)
        return p

    def in_ns(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *argv]

    def generate(self, n: int) -> tuple[int, float]:
        """Send ``n`` frames now; returns (sent, seconds)."""
        out = _sh(*self.in_ns(self.gen, "veth0", str(n), str(FRAME_SIZE))).stdout.split()
        return int(out[0]), float(out[1])

    def path(self, name: str) -> str:
        return os.path.join(self.tmp, name)

    def clean(self, path: str) -> None:
        """Remove an output file this rig made (only ever one inside its own directory)."""
        if os.path.dirname(path) == self.tmp and os.path.isfile(path):
            os.unlink(path)

    def clean_all(self) -> None:
        """Remove every capture file this rig wrote (the generator stays)."""
        for name in os.listdir(self.tmp):
            if name not in ("gen", "gen.c"):
                self.clean(self.path(name))

    # -- drain ceiling: netring in this process ---------------------------------------
    def paused_ring(self, frames: int, fanout: tuple[int, str] | None = None) -> Any:
        from ...packet import CaptureRing, Geometry

        blocks = frames * 160 // (1 << 20) + 8  # 160 bytes of ring per 64-byte frame
        g = Geometry.v3(1 << 20, blocks, retire_ms=60000)  # blocks close only when full
        return CaptureRing("veth1", netns=self.ns, geometry=g, ignore_outgoing=True,
                           fanout=fanout)

    def drain_netring(self, how: str) -> tuple[int, float]:
        from ...packet.capfile import write_batch
        from ...pcap.writer import open_writer

        with self.paused_ring(self.frames) as ring:
            self.generate(self.frames)
            time.sleep(0.05)
            path = self.path(f"netring.{how}")
            n = 0
            t0 = time.perf_counter()
            if how == "count":
                n = ring.count()
            elif how == "callback":
                n = ring.drain(_noop)
            elif how == "data":
                for blk in ring.blocks(timeout=0):
                    for pkt in blk:
                        pkt.data  # noqa: B018 - the view a reader would use
                        n += 1
            elif how == "datas":
                for blk in ring.blocks(timeout=0):
                    for _data in blk.datas():
                        n += 1
            else:
                with open(path, "wb") as f:
                    w = open_writer(f, how, 1, 262144, **({"name": "veth1"} if how == "pcapng"
                                                         else {}))
                    for blk in ring.blocks(timeout=0):
                        n += write_batch(w, blk, direction=True)
                    w.close()
            dt = time.perf_counter() - t0
            self.clean(path)
            return n, dt

    # -- drain ceiling: whole processes --------------------------------------------------
    def drain_stopped(self, argv: list[str], count: int, parse: Callable[[str], int],
                      env: dict[str, str] | None = None) -> tuple[int, float]:
        """A capture process stopped (SIGSTOP) while the frames are sent, timed from
        SIGCONT until it has read ``count`` packets and exited."""
        p = self.popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        assert p.stderr is not None
        p.stderr.readline()  # "listening on veth1 ..."
        time.sleep(0.3)
        os.kill(p.pid, signal.SIGSTOP)
        self.generate(self.frames)
        time.sleep(0.2)
        cut: list[bool] = []

        def interrupt() -> None:  # fewer than count arrived: stop it (said below)
            cut.append(True)
            p.send_signal(signal.SIGINT)

        stop = threading.Timer(60, interrupt)
        stop.daemon = True
        dog = _watchdog(p, 90)
        t0 = time.perf_counter()
        os.kill(p.pid, signal.SIGCONT)
        stop.start()
        try:
            # a blocking wait sees the exit at once (a wait with a timeout polls in
            # steps of up to 50 ms, which would quantise every whole-process figure)
            p.wait()
        finally:
            stop.cancel()
            dog.cancel()
        dt = time.perf_counter() - t0
        if cut:
            _say(f"{' '.join(argv[:6])}: fewer than {count} packets in its ring; interrupted")
        return parse(p.stderr.read()), dt

    def tcpdump_argv(self, out: str, count: int, kib: int) -> list[str]:
        # -Z root: tcpdump keeps root, so it does not chown its output file (or /dev/null)
        return self.in_ns("tcpdump", "-Z", "root", "-i", "veth1", "-Q", "in", "-B", str(kib),
                          "-s", "262144", "-w", out, "-c", str(count))

    def netring_argv(self, out: str, fmt: str, count: int, kib: int) -> list[str]:
        # --retire-ms 1000 as libpcap's (tcpdump's) 1 s timeout: while the process is
        # stopped the kernel closes blocks when full, not half empty every 10 ms
        return [sys.executable, "-m", "netring", "capture", "-i", "veth1", "--netns", self.ns,
                "-w", out, "--format", fmt, "-c", str(count), "-B", str(kib),
                "--retire-ms", "1000"]

    def drain_peer(self, python: str, code: str, frames: int) -> tuple[int, float]:
        """A peer script that prints ``ready``, waits for a line, drains and prints
        ``count seconds``."""
        p = self.popen(self.in_ns(python, "-c", code), stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE)
        assert p.stdout is not None and p.stdin is not None
        dog = _watchdog(p, 300)
        try:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("the peer did not start")
            self.generate(frames)
            time.sleep(0.3)
            p.stdin.write("go\n")
            p.stdin.flush()
            line = p.stdout.readline().split()
            p.wait(60)
        finally:
            dog.cancel()
        if len(line) != 2:
            raise RuntimeError("the peer printed no result (killed after 300 s?)")
        return int(line[0]), float(line[1])

    # -- live ---------------------------------------------------------------------------
    def live_netring(self, how: str) -> tuple[int, int, float]:
        """A forked reader with the default ring reads while the generator floods."""
        from ...packet import CaptureRing
        from ...packet.capfile import write_batch
        from ...pcap.writer import PcapWriter

        n = self.frames
        ready_r, ready_w = os.pipe()
        res_r, res_w = os.pipe()
        path = self.path("live.pcap")
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(ready_r)
                os.close(res_r)
                got = 0
                with CaptureRing("veth1", netns=self.ns, ignore_outgoing=True) as ring, \
                        open(path, "wb") as f:
                    w = PcapWriter(f, 1)
                    os.write(ready_w, b"r")
                    deadline = time.monotonic() + 60
                    idle = None
                    while got < n and time.monotonic() < deadline:
                        if how == "count":
                            k = ring.count(timeout=0.1)
                        elif how == "callback":
                            k = ring.drain(_noop, timeout=0.1)
                        else:
                            blk = ring.next_block(timeout=0.1)
                            k = 0
                            if blk is not None:
                                with blk:
                                    k = write_batch(w, blk)
                        if k:
                            got += k
                            idle = None
                        elif got:
                            idle = idle or time.monotonic()
                            if time.monotonic() - idle > 1.0:
                                break
                    w.close()
                    st = ring.stats_total
                os.write(res_w, f"{got} {st.drops}".encode())
                code = 0
            finally:
                os._exit(code)
        os.close(ready_w)
        os.close(res_w)
        try:
            os.read(ready_r, 1)
            sent, dt = self.generate(n)
            raw = os.read(res_r, 100).split()
        finally:
            os.waitpid(pid, 0)
            os.close(ready_r)
            os.close(res_r)
            self.clean(path)
        if len(raw) != 2:
            raise RuntimeError(f"the netring {how} reader failed")
        return int(raw[0]), int(raw[1]), sent / dt

    def live_process(self, argv: list[str], parse: Callable[[str, str], tuple[int, int]],
                     python_ready: bool = False) -> tuple[int, int, float]:
        """A capture process started first; the generator floods; the process ends at
        its count or is interrupted three seconds after the traffic stops."""
        p = self.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.stderr is not None and p.stdout is not None
        dog = _watchdog(p, 120)
        try:
            (p.stdout if python_ready else p.stderr).readline()
            time.sleep(0.3)
            sent, dt = self.generate(self.frames)
            try:
                out, err = p.communicate(timeout=3)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGINT)
                out, err = p.communicate(timeout=30)
        finally:
            dog.cancel()
        got, drops = parse(out, err)
        return got, drops, sent / dt

    # -- transmit -----------------------------------------------------------------------
    def transmit(self, method: str, bypass: bool, frames: int) -> float:
        """Frames per second handed to the kernel, the sender pinned to the last CPU: veth
        receives on the sending CPU (its softirq, or ksoftirqd), so every variant pays
        the same receive work in the same place."""
        cpus = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {max(cpus)})
        try:
            return self._transmit(method, bypass, frames)
        finally:
            os.sched_setaffinity(0, cpus)

    def _transmit(self, method: str, bypass: bool, frames: int) -> float:
        from ...packet import MmsgSender, TxRing

        frame = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x88\xb5" + bytes(FRAME_SIZE - 14)
        batch = [frame] * 1024
        rounds = max(1, frames // 1024)
        sender: Any = (TxRing("veth0", netns=self.ns, frame_nr=2048, qdisc_bypass=bypass)
                       if method == "ring" else
                       MmsgSender("veth0", netns=self.ns, qdisc_bypass=bypass))
        with sender:
            t0 = time.perf_counter()
            for _ in range(rounds):
                sender.send(batch)
            sender.flush(10)
            dt = time.perf_counter() - t0
        return rounds * 1024 / dt

    def qdisc(self, commands: tuple[tuple[str, ...], ...] | None) -> None:
        """Run the ``tc`` ``commands`` that put a qdisc on veth0 (``None``: back to none)."""
        if commands is not None:
            for cmd in commands:
                _sh("tc", "-n", self.ns, *cmd)
        else:
            _sh("tc", "-n", self.ns, "qdisc", "del", "dev", "veth0", "root", check=False)

    def qdisc_drops(self) -> int:
        """Packets veth0's root qdisc dropped (``tc -s qdisc``)."""
        words = _sh("tc", "-n", self.ns, "-s", "qdisc", "show", "dev", "veth0").stdout.split()
        return int(words[words.index("dropped") + 1].rstrip(",")) if "dropped" in words else 0

    # -- fanout ---------------------------------------------------------------------------
    def fanout_drain(self, members: int, group: int) -> tuple[int, float, float]:
        """``members`` processes, each its own paused ring in one lb group, drain at once;
        returns (packets, seconds from the first start to the last end, CPU seconds of
        all members while draining)."""
        kids = []
        for _ in range(members):
            ready_r, ready_w = os.pipe()
            go_r, go_w = os.pipe()
            res_r, res_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    with self.paused_ring(self.frames, fanout=(group, "lb")) as ring:
                        os.write(ready_w, b"r")
                        os.read(go_r, 1)
                        c0 = time.process_time()
                        t0 = time.perf_counter()
                        got = ring.drain(_read_data)
                        t1 = time.perf_counter()
                        cpu = time.process_time() - c0
                    os.write(res_w, f"{got} {t0!r} {t1!r} {cpu!r}".encode())
                    code = 0
                finally:
                    os._exit(code)
            for fd in (ready_w, go_r, res_w):
                os.close(fd)
            kids.append((pid, ready_r, go_w, res_r))
        try:
            for _pid, ready_r, _go, _res in kids:
                os.read(ready_r, 1)
            self.generate(self.frames)
            time.sleep(0.1)
            for _pid, _ready, go_w, _res in kids:
                os.write(go_w, b"g")
            results = [os.read(res_r, 200).split() for _pid, _r, _g, res_r in kids]
            if any(len(r) != 4 for r in results):
                raise RuntimeError("a fanout member failed")
        finally:
            for pid, *fds in kids:
                os.waitpid(pid, 0)
                for fd in fds:
                    os.close(fd)
        got = sum(int(r[0]) for r in results)
        span = max(float(r[2]) for r in results) - min(float(r[1]) for r in results)
        return got, span, sum(float(r[3]) for r in results)


def _tcpdump_count(text: str) -> int:
    for line in text.splitlines():
        if line.endswith("packets captured"):
            return int(line.split()[0])
    raise RuntimeError(f"no 'packets captured' line in {text[-200:]!r}")


def _tcpdump_live(out: str, err: str) -> tuple[int, int]:
    got = _tcpdump_count(err)
    drops = 0
    for line in err.splitlines():
        if line.endswith("packets dropped by kernel"):
            drops = int(line.split()[0])
    return got, drops


def _pcapy_live(out: str, err: str) -> tuple[int, int]:
    words = out.split()
    if len(words) < 2:
        raise RuntimeError(f"pcapy-ng printed no counts: {err.strip()[-200:]}")
    return int(words[-2]), int(words[-1])


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def _fmt_ratio(r: float | None) -> str:
    return "" if r is None else f"{r:.2f}x"


def _measure(frames: int, scapy_frames: int, say: Callable[[str], None]) -> dict[str, Any]:
    python, missing = prepare_peers()
    for peer, why in missing.items():
        print(f"{peer}: not measured ({why})", file=sys.stderr)
    have_tcpdump = shutil.which("tcpdump") is not None
    have_tc = shutil.which("tc") is not None
    import netring

    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(netring.__file__)))
    rig = Rig(frames)
    res: dict[str, Any] = {"frames": frames, "frame_size": FRAME_SIZE, "missing": missing,
                           "drain": {}, "live": {}, "tx": {}, "fanout": {}}
    if "pcapy-ng" not in missing:
        res["pcapy_version"] = _version(python, "pcapy-ng")
    if "scapy" not in missing:
        res["scapy_version"] = _version(python, "scapy")
    if have_tcpdump:
        res["tcpdump_version"] = _sh("tcpdump", "--version").stdout.splitlines()[0]
    kib = max(65536, frames * 200 // 1024)
    count = frames - 16384  # what the timer-less last blocks may keep back
    try:
        drain = res["drain"]
        measures: list[tuple[str, str, Callable[[], tuple[int, float]]]] = []
        for how in ("count", "callback", "data", "datas", "pcap", "pcapng"):
            measures.append((f"netring_{how}", f"netring {how}",
                             lambda how=how: rig.drain_netring(how)))  # type: ignore[misc]
        for fmt in ("pcap", "pcapng"):
            measures.append((f"cli_{fmt}", f"netring capture -w FILE --format {fmt}",
                             lambda fmt=fmt: rig.drain_stopped(  # type: ignore[misc]
                                 rig.netring_argv(rig.path(f"cli.{fmt}"), fmt, count, kib),
                                 count, _tcpdump_count, env=env)))
        if have_tcpdump:
            for key, target in (("tcpdump_null", "/dev/null"),
                                ("tcpdump_file", rig.path("td.pcap"))):
                measures.append((key, f"tcpdump -w {target}",
                                 lambda t=target: rig.drain_stopped(  # type: ignore[misc]
                                     rig.tcpdump_argv(t, count, kib), count, _tcpdump_count)))
        if "pcapy-ng" not in missing:
            code = PCAPY_DRAIN.format(bufsize=kib << 10, count=count)
            measures.append(("pcapy", "pcapy-ng loop(n, cb)",
                             lambda: rig.drain_peer(python, code, frames)))
        for rnd in range(DRAIN_ROUNDS):  # interleaved rounds, the best kept
            for key, what, fn in measures:
                say(f"drain, round {rnd + 1}: {what}")
                n, dt = fn()
                rig.clean_all()
                if key not in drain or n / dt > drain[key]["pps"]:
                    drain[key] = {"packets": n, "seconds": dt, "pps": n / dt}
        if "scapy" not in missing:
            say(f"drain: scapy sniff(count={scapy_frames})")
            code = SCAPY_DRAIN.format(rcvbuf=scapy_frames * 4096, count=scapy_frames)
            n, dt = rig.drain_peer(python, code, scapy_frames)
            drain["scapy"] = {"packets": n, "seconds": dt, "pps": n / dt}

        live = res["live"]
        for how in ("count", "callback", "pcap"):
            say(f"live: netring {how}")
            got, drops, gen = rig.live_netring(how)
            live[f"netring_{how}"] = {"captured": got, "drops": drops, "generator_pps": gen}
        if have_tcpdump:
            say("live: tcpdump -w FILE")
            got, drops, gen = rig.live_process(
                rig.tcpdump_argv(rig.path("live-td.pcap"), frames, LIVE_RING_KIB), _tcpdump_live)
            rig.clean_all()
            live["tcpdump_file"] = {"captured": got, "drops": drops, "generator_pps": gen}
        if "pcapy-ng" not in missing:
            say("live: pcapy-ng dispatch")
            code = PCAPY_LIVE.format(bufsize=LIVE_RING_KIB << 10, count=frames)
            got, drops, gen = rig.live_process(rig.in_ns(python, "-c", code), _pcapy_live,
                                               python_ready=True)
            live["pcapy"] = {"captured": got, "drops": drops, "generator_pps": gen}

        tx = res["tx"]
        tx_frames = max(1024, frames // 5)
        variants: list[tuple[str, str, bool]] = [("ring_noqueue", "ring", False),
                                                 ("sendmmsg_noqueue", "sendmmsg", False)]
        for rnd in range(TX_ROUNDS):
            for key, method, bypass in variants:
                say(f"transmit, round {rnd + 1}: {method}")
                tx[key] = max(tx.get(key, 0.0), rig.transmit(method, bypass, tx_frames))
        if have_tc:
            for name, commands in QDISCS:
                rig.qdisc(commands)
                try:
                    for rnd in range(TX_ROUNDS):
                        for bypass in (False, True):
                            key = f"ring_{name}{'_bypass' if bypass else ''}"
                            say(f"transmit, round {rnd + 1}: ring on {name}, bypass={bypass}")
                            tx[key] = max(tx.get(key, 0.0),
                                          rig.transmit("ring", bypass, tx_frames))
                    tx[f"{name}_drops"] = rig.qdisc_drops()
                finally:
                    rig.qdisc(None)

        fan = res["fanout"]
        for rnd in range(FANOUT_ROUNDS):
            for members in (1, 2):
                say(f"fanout, round {rnd + 1}: {members} member(s) draining")
                got, span, cpu = rig.fanout_drain(members, (os.getpid() + members) & 0xFFFF)
                key = str(members)
                if key not in fan or got / span > fan[key]["pps"]:
                    fan[key] = {"packets": got, "seconds": span, "pps": got / span,
                                "cpu_seconds": cpu, "per_cpu_s": got / cpu if cpu else 0.0}
    finally:
        rig.close()
    return res


def _ratios(res: dict[str, Any]) -> dict[str, float | None]:
    d = {k: v["pps"] for k, v in res["drain"].items()}
    tx = res["tx"]
    fan = res["fanout"]
    return {
        "per_packet_vs_pcapy": _ratio(d.get("netring_callback"), d.get("pcapy")),
        "per_packet_data_vs_pcapy": _ratio(d.get("netring_data"), d.get("pcapy")),
        "datas_vs_pcapy": _ratio(d.get("netring_datas"), d.get("pcapy")),
        "datas_vs_tcpdump_null": _ratio(d.get("netring_datas"), d.get("tcpdump_null")),
        "per_packet_vs_tcpdump_null": _ratio(d.get("netring_callback"), d.get("tcpdump_null")),
        "pcap_write_vs_tcpdump_file": _ratio(d.get("netring_pcap"), d.get("tcpdump_file")),
        "cli_pcap_vs_tcpdump_file": _ratio(d.get("cli_pcap"), d.get("tcpdump_file")),
        "cli_pcapng_vs_tcpdump_file": _ratio(d.get("cli_pcapng"), d.get("tcpdump_file")),
        "per_packet_vs_scapy": _ratio(d.get("netring_callback"), d.get("scapy")),
        "tx_ring_vs_sendmmsg": _ratio(tx.get("ring_noqueue"), tx.get("sendmmsg_noqueue")),
        "bypass_vs_pfifo": _ratio(tx.get("ring_pfifo_bypass"), tx.get("ring_pfifo")),
        "bypass_vs_htb": _ratio(tx.get("ring_htb_bypass"), tx.get("ring_htb")),
        "two_members_vs_one": _ratio(fan.get("2", {}).get("pps"), fan.get("1", {}).get("pps")),
    }


def _report(res: dict[str, Any], out: TextIO | None) -> None:
    frames = res["frames"]
    d = res["drain"]
    base = {k: d.get(k, {}).get("pps") for k in ("pcapy", "tcpdump_null", "tcpdump_file")}
    labels = [
        ("netring_count", "netring V3 ring.count() (block headers only)"),
        ("netring_callback", "netring V3 ring.drain(callback), per packet"),
        ("netring_data", "netring V3 for pkt in blk: pkt.data"),
        ("netring_datas", "netring V3 for data in blk.datas()"),
        ("netring_pcap", "netring V3 write_batch -> pcap file"),
        ("netring_pcapng", "netring V3 write_batch -> pcapng file (direction)"),
        ("cli_pcap", "netring capture -w FILE (pcap), whole process"),
        ("cli_pcapng", "netring capture -w FILE --format pcapng, whole process"),
        ("tcpdump_null", "tcpdump -w /dev/null, whole process"),
        ("tcpdump_file", "tcpdump -w FILE, whole process"),
        ("pcapy", f"pcapy-ng {res.get('pcapy_version', '')} loop(n, cb)"),
        ("scapy", f"scapy {res.get('scapy_version', '')} sniff(count, store=False)"),
    ]
    rows: list[tuple[str, ...]] = []
    for key, label in labels:
        if key not in d:
            continue
        r = d[key]
        rows.append((label, f"{r['packets']:,}", f"{r['pps'] / 1e6:.3f}",
                     _fmt_ratio(_ratio(r["pps"], base["pcapy"])),
                     _fmt_ratio(_ratio(r["pps"], base["tcpdump_null"])),
                     _fmt_ratio(_ratio(r["pps"], base["tcpdump_file"]))))
    print_table(out, f"drain ceiling: {frames:,} frames of {res['frame_size']} bytes in a paused "
                f"ring (socket for scapy), then read; best of {DRAIN_ROUNDS} interleaved rounds",
                rows, ("reader", "packets", "M pkt/s", "/ pcapy-ng", "/ tcpdump null",
                       "/ tcpdump file"), first=True)
    live_labels = [("netring_count", "netring V3 ring.count()"),
                   ("netring_callback", "netring V3 ring.drain(callback)"),
                   ("netring_pcap", "netring V3 write_batch -> pcap file"),
                   ("tcpdump_file", "tcpdump -B 32768 -w FILE"),
                   ("pcapy", "pcapy-ng dispatch(cb), 32 MiB buffer")]
    rows.clear()
    for key, label in live_labels:
        r = res["live"].get(key)
        if r is None:
            continue
        rows.append((label, f"{r['captured']:,}", f"{r['drops']:,}",
                     "yes" if r["captured"] >= frames and not r["drops"] else "no",
                     f"{r['generator_pps'] / 1e6:.2f}"))
    print_table(out, f"live: the generator floods {frames:,} frames at its full rate, 32 MiB rings",
                rows, ("reader", "captured", "dropped", "loss-free", "generator M pkt/s"))
    tx = res["tx"]
    rows.clear()
    labels = [("ring_noqueue", "TX ring (V2), veth noqueue"),
              ("sendmmsg_noqueue", "sendmmsg (MmsgSender), veth noqueue")]
    for name, _commands in QDISCS:
        how = QDISC_TEXT[name]
        labels.append((f"ring_{name}", f"TX ring through {how} on veth0 "
                       f"({tx.get(name + '_drops', 0)} dropped)"))
        labels.append((f"ring_{name}_bypass", f"TX ring, PACKET_QDISC_BYPASS ({name} skipped)"))
    for key, label in labels:
        if key in tx:
            rows.append((label, f"{tx[key] / 1e6:.3f}"))
    print_table(out, f"transmit: {res['frame_size']}-byte frames from veth0, best of "
                f"{TX_ROUNDS} interleaved rounds", rows,
                ("sender", "M pkt/s"))
    fan = res["fanout"]
    rows = [(f"{m} member{'s' if m != '1' else ''} (lb), each its own paused ring",
             f"{r['packets']:,}", f"{r['pps'] / 1e6:.3f}", f"{r['per_cpu_s'] / 1e6:.3f}")
            for m, r in fan.items()]
    print_table(out, "fanout: ring.drain(callback reading pkt.data) of paused rings, processes "
                f"at once; best of {FANOUT_ROUNDS} interleaved rounds", rows,
                ("members", "packets", "M pkt/s", "M pkt per member CPU-s"))
    names = {
        "per_packet_vs_pcapy": "per-packet drain(callback) / pcapy-ng loop(cb)",
        "per_packet_data_vs_pcapy": "per-packet pkt.data loop / pcapy-ng loop(cb)",
        "datas_vs_pcapy": "for data in blk.datas() / pcapy-ng loop(cb)",
        "datas_vs_tcpdump_null": "for data in blk.datas() / tcpdump -w /dev/null",
        "per_packet_vs_tcpdump_null": "per-packet drain(callback) / tcpdump -w /dev/null",
        "pcap_write_vs_tcpdump_file": "write_batch -> pcap / tcpdump -w FILE",
        "cli_pcap_vs_tcpdump_file": "netring capture -w FILE / tcpdump -w FILE",
        "cli_pcapng_vs_tcpdump_file": "netring capture -w FILE --format pcapng / tcpdump -w FILE",
        "per_packet_vs_scapy": "per-packet drain(callback) / scapy sniff",
        "tx_ring_vs_sendmmsg": "TX ring / sendmmsg",
        "bypass_vs_pfifo": "QDISC_BYPASS / through pfifo",
        "bypass_vs_htb": "QDISC_BYPASS / through htb",
        "two_members_vs_one": "two fanout members / one",
    }
    rows = [(names[k], _fmt_ratio(v)) for k, v in res["ratios"].items() if v is not None]
    print_table(out, "ratios (this run)", rows, ("", "ratio"))


def run(quick: bool = False, out: TextIO | None = sys.stdout) -> dict[str, Any]:
    """Every measure in one run; prints the tables and returns the figures."""
    if os.geteuid() != 0:
        return {"error": "needs root (namespaces, packet sockets)"}
    for tool in ("ip", "gcc"):
        if shutil.which(tool) is None:
            return {"error": f"needs {tool}"}
    frames = 200_000 if quick else 1_000_000
    scapy_frames = 5_000 if quick else 20_000
    load = os.getloadavg()[0]
    res = _measure(frames, scapy_frames, _say)
    res["ratios"] = _ratios(res)
    res["load_average"] = load
    res["machine"] = machine()
    res["command"] = command_line()
    _report(res, out)
    if out is not None:
        print(f"\nload average at the start: {load:.2f}", file=out)
    print_footer(out, res)
    return res
