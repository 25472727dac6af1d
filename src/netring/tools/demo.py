"""``netring demo``: a self-contained tour of the main job, in a private namespace.

Everything runs in a forked child that unshares a brand-new network namespace
(no ``/run/netns`` entry); when the child exits the namespace is gone, so the
demo leaves nothing behind.  Each stage reports what flowed and how fast, printed
as soon as it finishes; a stage whose capability is missing prints one line
saying so and the demo goes on::

    parent                                 child (own process group, new netns)
    ------                                 ------------------------------------
    fork ───────────────────────────────>  unshare(CLONE_NEWNET), lo up
    prints each record as it arrives  <──  ("netns", id) ("start", k) ("done", k, r) ... ("end",)
    SIGINT: forwards it, waits (10 s)  ──> stage cleanup: its own children killed, reaped
            kills the group, reaps     <──  ("interrupted", k); exits
            raises DemoInterrupted(k)

Stages::

    1  rings     which ring backend this kernel gets (kernel rings or user-space engine)
    2  usersock  a 64-byte NETLINK_USERSOCK stream between two processes, recvmmsg batches
    3  rtnl      a veth pair made with rtnetlink, then a link dump of the namespace
    4  ring      the same kind of stream through a memory-mapped ring
    5  writer    a peer process writing straight into a shared ring, no socket at all
    6  nflog     datagrams logged by a firewall rule (nfnetlink_log)
    7  nfqueue   datagrams queued by a rule and accepted in batch verdicts (nfnetlink_queue)
    8  capture   a TX ring sends 64-byte frames on a veth, a V3 ring captures them, compared
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import threading
import time
from collections.abc import Callable, Iterator

from ..codec import NETLINK, NLMSG
from ..codec.structs import nlmsghdr, u32
from ..codec.types import TYPE_CHECKING
from ..errors import NetringError, NotSupportedError

__all__ = ["run_demo", "STAGES", "DemoInterrupted", "format_stage"]

# the USERSOCK stage's sizes are those of ``netring bench recvmmsg``
from .bench.recvmmsg import BATCH, MSG_SIZE  # noqa: E402

if TYPE_CHECKING:
    from typing import Any, TextIO


def stage_rings(count: int) -> dict[str, Any]:
    """Which ring backend ``open_ring`` picks on this kernel, and why."""
    from ..nlmmap import ring_support

    return dict(ring_support())


def _reap(pid: int, finished: bool) -> None:
    """Wait for the stage's child; kill it first unless it ``finished`` its work."""
    if not finished:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def stage_usersock(count: int) -> dict[str, Any]:
    """Stream ``count`` 64-byte USERSOCK messages from a child process; receive them
    with ``recvmmsg`` batches of 64 and check nothing was lost or reordered.

    Sizes and clock are those of ``netring bench recvmmsg`` (64-byte messages,
    ``sendmmsg``/``recvmmsg`` batches of 64, the clock started after the first
    batch), so the rates agree.  Two differences, both cheap: the sender writes
    a running sequence number into every message (one slice assignment per
    batch) and the receiver checks it (one ``unpack_from`` per message); the
    sender's credentials are read from the first datagram's ``SCM_CREDENTIALS``.
    """
    from array import array

    from .._sys import MMsgBatch, decode_netlink_cmsgs
    from .._sys.nladdr import sockaddr_nl_bytes
    from ..socket import NetlinkSocket

    with NetlinkSocket(NETLINK.USERSOCK, rcvbuf=4 << 20, passcred=True) as rx:
        dest = sockaddr_nl_bytes(rx.portid)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                with NetlinkSocket(NETLINK.USERSOCK) as tx:
                    out = bytearray(MSG_SIZE * BATCH)
                    for i in range(BATCH):
                        nlmsghdr.pack_into(out, i * MSG_SIZE, MSG_SIZE, NLMSG.MIN_TYPE, 0, 0,
                                           tx.portid)
                    slots = [memoryview(out)[i * MSG_SIZE:(i + 1) * MSG_SIZE] for i in range(BATCH)]
                    words = memoryview(out).cast("I")
                    stride = MSG_SIZE // 4  # nlmsg_seq is word 2 of every message
                    with MMsgBatch(slots, name=False, control=0) as batch:  # headers built once
                        fd = tx.fileno()
                        sent = 0
                        while sent < count:
                            k = min(BATCH, count - sent)
                            words[2:k * stride:stride] = array("I", range(sent + 1, sent + k + 1))
                            sent += batch.send(fd, n=k, name=dest)
                    del slots, words
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        got = first = 0
        in_order = True
        sender_pid = None
        seq_at = u32.unpack_from
        regions = [bytearray(256) for _ in range(BATCH)]
        deadline = time.monotonic() + 60
        t0 = time.perf_counter()
        try:
            with MMsgBatch(regions, name=False, control=64) as batch:
                recv = batch.recv
                fd = rx.fileno()
                while got < count and time.monotonic() < deadline:
                    n = recv(fd)
                    for i in range(n):
                        got += 1
                        if seq_at(regions[i], 8)[0] != got:
                            in_order = False
                    if not first and n:  # the sender is running: start the clock now
                        first = got
                        creds = decode_netlink_cmsgs(batch.cmsgs(0))[1]
                        sender_pid = creds[0] if creds is not None else None
                        t0 = time.perf_counter()
                secs = time.perf_counter() - t0
        finally:
            _reap(pid, got >= count)
    timed = got - first
    return {
        "messages": got,
        "expected": count,
        "message_size": MSG_SIZE,
        "batch": BATCH,
        "seconds": secs,
        "msgs_per_s": timed / secs if secs and timed > 0 else 0.0,
        "in_order": in_order,
        "sender_pid": sender_pid,
        "sender_pid_matches": sender_pid == pid,
    }


def stage_rtnl(count: int) -> dict[str, Any]:
    """Create a veth pair with rtnetlink, give it an address, dump the links."""
    from .. import Rtnl

    with Rtnl() as rt:
        rt.link_add("demo0", "veth", peer="demo1")
        rt.link_set("demo0", up=True)
        rt.link_set("demo1", up=True)
        rt.addr_add("demo0", "192.0.2.1/24")
        links = [
            {"ifindex": ln.index, "ifname": ln.name, "mtu": ln.mtu, "address": ln.address,
             "operstate": ln.to_dict().get("operstate")}
            for ln in rt.links()
        ]
        routes = len(rt.routes())
    return {"links": links, "routes": routes}


def stage_ring(count: int) -> dict[str, Any]:
    """Stream USERSOCK messages through a ring (kernel or user-space engine)."""
    from .ringtraffic import demo_stream

    return dict(demo_stream(None, count))


def stage_writer(count: int) -> dict[str, Any]:
    """A peer process writes messages straight into a shared ring (no socket)."""
    from ..nlmmap import RingGeometry, RingWriter
    from ..nlmmap.edge.shm import PAGE_SIZE, SharedRing
    from ..nlmmap.edge.user import UserRing

    g = RingGeometry.for_frames(128, 1024, page_size=PAGE_SIZE)
    with SharedRing.create(g) as shared:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                with RingWriter(shared) as w:
                    batch = [bytearray(64) for _ in range(256)]
                    sent = 0
                    while sent < count:
                        n = min(256, count - sent)
                        for i in range(n):
                            nlmsghdr.pack_into(batch[i], 0, 64, NLMSG.MIN_TYPE, 0, sent + i + 1, 0)
                        w.send_many(batch[:n])
                        sent += n
                code = 0
            finally:
                os._exit(code)
        got = 0
        try:
            ring = UserRing.attach(shared)
            in_order = True
            pids = set()
            deadline = time.monotonic() + 60
            t0 = time.perf_counter()
            first = ring.recv(timeout=10)  # one frame the slow way, to read its credentials
            if first is not None:
                pids.add(first.pid)
                in_order = u32.unpack_from(first.data, 8)[0] == 1
                got = 1
                ring.release(first)
            seq_at = u32.unpack_from
            while got < count and time.monotonic() < deadline:
                before = got
                for v in ring.data(timeout=10, count=count - got):  # zero copy, no syscall
                    got += 1
                    if seq_at(v, 8)[0] != got:
                        in_order = False
                if got == before:
                    break
            secs = time.perf_counter() - t0
        finally:
            _reap(pid, got >= count)
        stats = ring.stats()
        ring.close()
    return {"messages": got, "expected": count, "seconds": secs,
            "msgs_per_s": got / secs if secs else 0.0, "in_order": in_order,
            "writer_pid_matches": pids == {pid}, "ring_full": stats.get("ring_full", 0)}


#: the log group and UDP port of the nflog stage (in the demo's own namespace)
_NFLOG_GROUP = 7
_NFLOG_PORT = 9
_NFLOG_PREFIX = "netring-demo "


def _add_log_rule() -> str:
    """A rule logging the stage's datagrams to the group: nft, else iptables (the
    demo's namespace is private, so the rule goes when it does); the tool used."""
    import shutil
    import subprocess

    if shutil.which("nft"):
        cmds = [["nft", "add", "table", "inet", "netring_demo"],
                ["nft", "add", "chain", "inet", "netring_demo", "out",
                 "{ type filter hook output priority 0; }"],
                ["nft", "add", "rule", "inet", "netring_demo", "out", "udp", "dport",
                 str(_NFLOG_PORT), "log", "group", str(_NFLOG_GROUP), "prefix",
                 f'"{_NFLOG_PREFIX}"']]
        tool = "nft"
    elif shutil.which("iptables"):
        cmds = [["iptables", "-A", "OUTPUT", "-p", "udp", "--dport", str(_NFLOG_PORT),
                 "-j", "NFLOG", "--nflog-group", str(_NFLOG_GROUP),
                 "--nflog-prefix", _NFLOG_PREFIX]]
        tool = "iptables"
    else:
        raise NotSupportedError("adding a log rule needs nft or iptables (neither is installed)")
    for cmd in cmds:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        if done.returncode:
            raise NotSupportedError(f"{' '.join(cmd[:2])}: {done.stderr.strip() or 'failed'}")
    return tool


def stage_nflog(count: int) -> dict[str, Any]:
    """Datagrams logged by a firewall rule, read back through nfnetlink_log."""
    import socket

    from ..subsystems.nfnetlink.edge.log import Log

    n = max(1, min(count, 5000))
    tool = _add_log_rule()
    payloads = [b"netring %8d" % i for i in range(n)]
    with Log(_NFLOG_GROUP, timeout=0.05) as log:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t0 = time.perf_counter()
        try:
            for p in payloads:
                s.sendto(p, ("127.0.0.1", _NFLOG_PORT))
        finally:
            s.close()
        got = matched = 0
        prefixes = set()
        for msg in log.messages(count=n, timeout=10, idle=2):
            got += 1
            prefixes.add(msg.prefix)
            data = msg.payload
            if data is not None and bytes(data[28:]) == payloads[got - 1]:  # IPv4 + UDP headers
                matched += 1
        secs = time.perf_counter() - t0
        st = log.stats
    return {"messages": got, "expected": n, "payloads_match": matched, "seconds": secs,
            "msgs_per_s": got / secs if secs else 0.0, "prefixes": sorted(p or "" for p in prefixes),
            "seq_gaps": st.seq_gaps, "rule": tool, "group": _NFLOG_GROUP}


#: the queue and UDP port of the nfqueue stage
_NFQ_QUEUE = 7
_NFQ_PORT = 10


def _add_queue_rule() -> str:
    """A rule queueing the stage's datagrams (with --queue-bypass: nobody bound
    means they pass): iptables' NFQUEUE target, else nft's queue statement."""
    import shutil
    import subprocess

    tried = []
    candidates = []
    if shutil.which("iptables"):
        candidates.append(("iptables", [["iptables", "-A", "OUTPUT", "-p", "udp", "--dport",
                                         str(_NFQ_PORT), "-j", "NFQUEUE", "--queue-num",
                                         str(_NFQ_QUEUE), "--queue-bypass"]]))
    if shutil.which("nft"):
        candidates.append(("nft", [
            ["nft", "add", "table", "inet", "netring_demo_q"],
            ["nft", "add", "chain", "inet", "netring_demo_q", "out",
             "{ type filter hook output priority 0; }"],
            ["nft", "add", "rule", "inet", "netring_demo_q", "out", "udp", "dport",
             str(_NFQ_PORT), "queue", "num", str(_NFQ_QUEUE), "bypass"]]))
    for tool, cmds in candidates:
        for cmd in cmds:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            if done.returncode:
                tried.append(f"{tool}: {done.stderr.strip() or 'failed'}")
                break
        else:
            return tool
    if not candidates:
        raise NotSupportedError("queueing packets needs nft or iptables (neither is installed)")
    raise NotSupportedError("; ".join(tried))


def stage_nfqueue(count: int) -> dict[str, Any]:
    """Datagrams queued by a firewall rule, accepted in batches through
    nfnetlink_queue, counted where they arrive."""
    import socket

    from ..subsystems.nfnetlink.edge.queue import Queue

    n = max(1, min(count, 20_000))
    # queued packets stay charged to the sender's socket, accepted ones to the
    # receiver's: send a chunk, give its verdicts, read what arrived, go on
    chunk = 128
    tool = _add_queue_rule()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    src = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    verdicts = arrived = batches = 0

    def read_sink(want: int, wait: float) -> int:
        got = 0
        end = time.monotonic() + wait
        while got < want:
            try:
                sink.recv(64)
                got += 1
            except BlockingIOError:
                if time.monotonic() >= end:
                    break
                time.sleep(0.0005)
        return got

    try:
        sink.bind(("127.0.0.1", _NFQ_PORT))
        sink.setblocking(False)
        with Queue(_NFQ_QUEUE) as q:
            t0 = time.perf_counter()
            deadline = time.monotonic() + 30
            while verdicts < n and time.monotonic() < deadline:
                k = min(chunk, n - verdicts)
                for i in range(k):
                    src.sendto(b"netring %8d" % (verdicts + i), ("127.0.0.1", _NFQ_PORT))
                got = 0
                while got < k and time.monotonic() < deadline:
                    batch = q.recv_batch(timeout=2)
                    if not len(batch.ids):
                        break
                    batch.accept()
                    got += len(batch.ids)
                    batches += 1
                q.flush()
                verdicts += got
                arrived += read_sink(got, 2.0)
                if got == 0:
                    break
            secs = time.perf_counter() - t0
            stats = q.stats(kernel=True)
    finally:
        sink.close()
        src.close()
    return {"verdicts": verdicts, "expected": n, "arrived": arrived, "batches": batches,
            "seconds": secs, "per_s": verdicts / secs if secs else 0.0, "rule": tool,
            "queue": _NFQ_QUEUE, "dropped": stats.kernel_dropped}


#: the capture stage's frames: 64 bytes, an IEEE local experimental ethertype
CAPTURE_FRAME = 64
CAPTURE_ETHERTYPE = 0x88B5
CAPTURE_MAX = 200_000
CAPTURE_CHUNK = 8192


def stage_capture(count: int) -> dict[str, Any]:
    """A veth pair of its own: frames sent through a TX ring on ``cap0``, captured by a
    TPACKET_V3 RX ring on ``cap1``, compared byte for byte.

    The RX ring is opened first (for the experimental ethertype only, so the
    links' own chatter stays out); the frames go in chunks of
    :data:`CAPTURE_CHUNK`, and after each chunk the blocks that arrived are read,
    so the TX rate is the time in ``send`` and the capture rate the time reading
    blocks.  At most :data:`CAPTURE_MAX` frames.
    """
    import hashlib

    from .. import Rtnl
    from ..packet import CaptureRing, TxRing

    n = min(count, CAPTURE_MAX)
    with Rtnl() as rt:
        rt.link_add("cap0", "veth", peer="cap1")
        rt.link_set("cap0", up=True)
        rt.link_set("cap1", up=True)
    head = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01" + CAPTURE_ETHERTYPE.to_bytes(2, "big")
    pad = bytes(range(CAPTURE_FRAME - len(head) - 4))
    frames = [head + i.to_bytes(4, "big") + pad for i in range(n)]
    sent_digest = hashlib.sha256(b"".join(frames)).hexdigest()
    got = 0
    h = hashlib.sha256()
    tx_secs = rx_secs = 0.0

    def take(ring: Any, timeout: float) -> None:
        nonlocal got, rx_secs
        t = time.perf_counter()
        blk = ring.next_block(timeout=timeout)
        while blk is not None:
            with blk:
                for pkt in blk:
                    h.update(pkt.data)
                got += len(blk)
            blk = ring.next_block(timeout=0)
        rx_secs += time.perf_counter() - t

    with CaptureRing("cap1", protocol=CAPTURE_ETHERTYPE, retire_ms=4) as rx, \
            TxRing("cap0", frame_nr=1024) as tx:
        sent = 0
        for start in range(0, n, CAPTURE_CHUNK):  # send a chunk, then read what arrived
            t = time.perf_counter()
            sent += tx.send(frames[start:start + CAPTURE_CHUNK], timeout=30)
            tx_secs += time.perf_counter() - t
            take(rx, 0)
        t = time.perf_counter()
        tx.flush(10)
        tx_secs += time.perf_counter() - t
        deadline = time.monotonic() + 10
        while got < sent and time.monotonic() < deadline:
            take(rx, 0.5)
        stats = rx.stats_total
    return {"frames": n, "frame_size": CAPTURE_FRAME, "sent": sent, "captured": got,
            "byte_exact": got == n and h.hexdigest() == sent_digest, "drops": stats.drops,
            "tx_per_s": sent / tx_secs if tx_secs else 0.0,
            "rx_per_s": got / rx_secs if rx_secs else 0.0}


STAGES: list[tuple[str, str, Callable[[int], dict[str, Any]]]] = [
    ("rings", "ring support on this kernel", stage_rings),
    ("usersock", "USERSOCK stream between two processes (recvmmsg)", stage_usersock),
    ("rtnl", "rtnetlink: make a veth pair, dump the links", stage_rtnl),
    ("ring", "the same stream through a memory-mapped ring", stage_ring),
    ("writer", "a peer process writing straight into a shared ring (no socket)", stage_writer),
    ("nflog", "nfnetlink_log: datagrams logged by a firewall rule", stage_nflog),
    ("nfqueue", "nfnetlink_queue: datagrams queued by a rule, accepted in batches", stage_nfqueue),
    ("capture", "AF_PACKET: a TX ring on one end of a veth pair, a V3 capture ring on the other",
     stage_capture),
]


class DemoInterrupted(KeyboardInterrupt):
    """The demo was interrupted (SIGINT); its namespace and processes are gone.

    Attributes:
        stage: the key of the stage that was running (``"usersock"``) or, when
            ``running`` is false, the last one that had finished; ``None`` when
            the namespace was still being set up.
        running: whether ``stage`` was still running.
        number: that stage's number (1-based), or ``None``.
        title: its title, or ``None``.
    """

    def __init__(self, stage: str | None, running: bool = True) -> None:
        self.stage = stage
        self.running = running
        self.number: int | None = None
        self.title: str | None = None
        for n, (key, title, _fn) in enumerate(STAGES, 1):
            if key == stage:
                self.number, self.title = n, title
        super().__init__(self.where())

    def where(self) -> str:
        """``in stage 2 of 8 (usersock: ...)``, ``between stages, after stage 1 of 8
        (...)`` or ``while setting up the namespace``."""
        if self.number is None:
            return "while setting up the namespace"
        where = f"stage {self.number} of {len(STAGES)} ({self.stage}: {self.title})"
        return f"in {where}" if self.running else f"between stages, after {where}"


# child -> parent records, each a 4-byte length and a pickle:
#   ("netns", "net:[...]")  ("start", key)  ("done", key, result)
#   ("interrupted", key | None, running)  ("error", exception)  ("end",)
_LEN = struct.Struct("=I")


def _send(fd: int, record: tuple[Any, ...]) -> None:
    data = pickle.dumps(record)
    data = _LEN.pack(len(data)) + data
    while data:
        data = data[os.write(fd, data):]


def _child(wfd: int, count: int) -> None:
    """The demo's namespace: unshare, then run every stage, reporting each."""
    from .sandbox import set_lo_up, unshare_netns

    stage: str | None = None
    running = False

    def on_sigint(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # one interrupt; cleanup runs in peace
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    os.setpgid(0, 0)  # its own process group: the parent can end every stage process at once
    try:
        unshare_netns()
        set_lo_up()
        _send(wfd, ("netns", os.readlink("/proc/self/ns/net")))
        for key, _title, fn in STAGES:
            stage, running = key, True
            _send(wfd, ("start", key))
            try:
                result: dict[str, Any] = {"ok": True, **fn(count)}
            except NotSupportedError as exc:  # this machine lacks what the stage needs
                result = {"ok": False, "skipped": True, "error": str(exc)}
            except (NetringError, OSError, ImportError) as exc:
                result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            running = False
            _send(wfd, ("done", key, result))
        _send(wfd, ("end",))
    except KeyboardInterrupt:
        _send(wfd, ("interrupted", stage, running))
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        try:
            _send(wfd, ("error", exc))
        except Exception:
            _send(wfd, ("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


class _Records:
    """The child's records, read from the pipe; the buffer survives an interrupt."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""

    def take(self) -> Iterator[tuple[Any, ...]]:
        """The complete records already buffered."""
        while len(self.buf) >= _LEN.size:
            n = _LEN.unpack_from(self.buf)[0]
            if len(self.buf) < _LEN.size + n:
                return
            rec = pickle.loads(self.buf[_LEN.size:_LEN.size + n])
            self.buf = self.buf[_LEN.size + n:]
            yield rec

    def read(self) -> bool:
        """Read what the pipe has (blocking); ``False`` at end of file."""
        chunk = os.read(self.fd, 1 << 16)
        self.buf += chunk
        return bool(chunk)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while True:
            yield from self.take()
            if not self.read():
                return


def _stop(pid: int, records: _Records, stage: str | None, running: bool,
          timeout: float = 10.0) -> tuple[str | None, bool]:
    """Interrupt the child, let it clean up (bounded), reap it and whatever it left.

    Returns where the child says it was (``(stage, running)``; else what the
    caller knew).  When this returns, every process of the demo is gone, so its
    namespace is too.
    """
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    eof = False
    while not eof and (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([records.fd], [], [], left)
        eof = not ready or not records.read()
    for rec in records.take():  # the child's last words: what it was doing
        if rec[0] == "start":
            stage, running = rec[1], True
        elif rec[0] == "done":
            stage, running = rec[1], False
        elif rec[0] == "interrupted":
            stage, running = rec[1], rec[2]
    _kill_group(pid)  # a child that did not clean up in time, and any stage process left
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    return stage, running


def _kill_group(pgid: int, timeout: float = 5.0) -> None:
    """SIGKILL the demo's process group and wait (bounded) until it is empty."""
    deadline = time.monotonic() + timeout
    try:
        os.killpg(pgid, signal.SIGKILL)
        while time.monotonic() < deadline:
            try:
                os.waitpid(pgid, os.WNOHANG)  # the child itself is ours to reap
            except ChildProcessError:
                pass
            os.killpg(pgid, 0)
            time.sleep(0.005)
    except ProcessLookupError:
        pass


def format_stage(key: str, r: dict[str, Any]) -> str:
    """The report of one finished stage, printed under its ``[n] title`` line
    (indented lines, no trailing newline)."""
    lines: list[str] = []

    def p(text: str) -> None:
        lines.append(f"    {text}")

    if not r["ok"]:
        p(f"skipped: {r['error']}")
    elif key == "rings":
        p(f"backend: {r.get('backend')} ({r.get('reason')})")
    elif key == "usersock":
        ok = r["messages"] == r["expected"] and r["in_order"]
        p(f"{r['messages']:,} of {r['expected']:,} messages, {r['msgs_per_s'] / 1e6:.2f} M msg/s, "
          f"{'in order, none lost' if ok else 'LOSS OR REORDERING'}")
        p(f"{r['message_size']}-byte messages, sendmmsg/recvmmsg batches of {r['batch']}, "
          "as netring bench recvmmsg (which keeps the best of two runs)")
        p(f"sender credentials: pid {r['sender_pid']} "
          f"({'matches the sending process' if r['sender_pid_matches'] else 'unexpected'})")
    elif key == "rtnl":
        p(f"{'ifindex':>7}  {'name':<8} {'mtu':>6}  {'state':<8} address")
        for ln in r["links"]:
            p(f"{ln['ifindex']:>7}  {ln['ifname']:<8} {ln['mtu']:>6}  "
              f"{str(ln['operstate']):<8} {ln['address']}")
        p(f"{r['routes']} routes in the namespace after adding 192.0.2.1/24")
    elif key == "ring":
        p(f"backend {r.get('backend')}: {r.get('messages', 0):,} messages, "
          f"{r.get('msgs_per_s', 0) / 1e6:.2f} M msg/s, in order: {r.get('in_order')}, "
          f"ring-full pauses: {r.get('ring_full', 0)}, COPY frames: {r.get('copies', 0)}")
    elif key == "writer":
        ok = r["messages"] == r["expected"] and r["in_order"]
        p(f"{r['messages']:,} of {r['expected']:,} messages, {r['msgs_per_s'] / 1e6:.2f} M msg/s, "
          f"{'in order, none lost' if ok else 'LOSS OR REORDERING'}; "
          f"writer credentials in every frame: {r['writer_pid_matches']}")
    elif key == "nflog":
        ok = r["messages"] == r["expected"] == r["payloads_match"]
        p(f"{r['messages']:,} of {r['expected']:,} datagrams logged to group {r['group']} "
          f"({r['rule']} rule), {r['msgs_per_s'] / 1e3:.0f} k msg/s, "
          f"{'payloads identical' if ok else 'LOSS OR MISMATCH'}, sequence gaps: {r['seq_gaps']}")
        p(f"prefix: {', '.join(repr(x) for x in r['prefixes'])}")
    elif key == "nfqueue":
        ok = r["verdicts"] == r["expected"] == r["arrived"]
        p(f"{r['verdicts']:,} of {r['expected']:,} datagrams queued to queue {r['queue']} "
          f"({r['rule']} rule) and accepted in {r['batches']:,} batch verdicts, "
          f"{r['per_s'] / 1e3:.0f} k verdicts/s")
        p(f"{r['arrived']:,} arrived at the receiving socket: "
          f"{'none lost' if ok else 'LOSS'}; kernel drops: {r['dropped']}")
    elif key == "capture":
        ok = r["byte_exact"] and r["captured"] == r["sent"] == r["frames"]
        p(f"{r['captured']:,} of {r['frames']:,} frames captured, "
          f"{'byte for byte as sent' if ok else 'LOSS OR CHANGED BYTES'}, "
          f"{r['drops']:,} dropped by the kernel")
        p(f"{r['frame_size']}-byte frames: TX ring {r['tx_per_s'] / 1e6:.2f} M frames/s, "
          f"V3 ring read (each frame hashed) at {r['rx_per_s'] / 1e6:.2f} M pkt/s")
    return "\n".join(lines)


_WHERE_NEXT = """\
Where next:
  netring probe              what this kernel offers, found by trying each thing
  netring dump links --json  rtnetlink dumps (also addrs, routes, neigh, rules)
  netring monitor routes     live rtnetlink changes, with overrun recovery
  netring log --group N      packets a firewall rule logs (nfnetlink_log), -w FILE for pcapng
  netring queue --queue N    verdicts on queued packets (nfnetlink_queue), batched when safe
  netring capture -i IFACE   AF_PACKET capture through TPACKET rings, tcpdump's manners
  netring bench recvmmsg     side-by-side figures (also: capture, ring, codec, dump, queue)
  docs/rings.md              how the rings work and when to choose one"""


def run_demo(count: int = 100_000, out: TextIO | None = None) -> dict[str, Any]:
    """Run every stage in a fresh namespace; print each stage to ``out`` as it finishes.

    The stages run in a forked child that unshares a new network namespace (no
    ``/run/netns`` entry); its results come back stage by stage over a pipe.

    Raises:
        ValueError: ``count`` is below 1.
        NotSupportedError: no network namespace can be created here.
        DemoInterrupted: SIGINT arrived; the child was interrupted, cleaned up
            (its stage processes killed and reaped) and reaped, so its namespace
            is gone.  ``.stage`` says where it stopped.
    """
    if count < 1:
        raise ValueError(f"--count must be at least 1, not {count}")

    def p(text: str) -> None:
        if out is not None:
            print(text, file=out, flush=True)

    rfd, wfd = os.pipe()
    records = _Records(rfd)
    results: dict[str, Any] = {}
    numbers = {key: (n, title) for n, (key, title, _fn) in enumerate(STAGES, 1)}
    stage: str | None = None  # the stage running, or the last one finished
    running = False
    reaped = False
    pid = os.fork()
    if pid == 0:  # child: never returns into the caller's code
        code = 0
        try:
            os.close(rfd)
            _child(wfd, count)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    try:
        os.close(wfd)
        try:
            os.setpgid(pid, pid)  # as the child does: no window where it is still in ours
        except OSError:
            pass
        for rec in records:
            kind = rec[0]
            if kind == "netns":
                results["netns"] = rec[1]
                p(f"netring demo: working in a private network namespace ({rec[1]}),")
                p("removed when the demo ends.\n")
            elif kind == "start":
                stage, running = rec[1], True
                n, title = numbers[stage]
                p(f"[{n}] {title}")
            elif kind == "done":
                key, r = rec[1], rec[2]
                results[key] = r
                p(format_stage(key, r) + "\n")
                stage, running = key, False
            elif kind == "interrupted":  # SIGINT reached the child first
                stage, running = rec[1], rec[2]
                raise KeyboardInterrupt
            elif kind == "error":
                raise rec[1]
            elif kind == "end":
                p(_WHERE_NEXT)
        os.waitpid(pid, 0)
        reaped = True
    except KeyboardInterrupt:
        restore = None
        if threading.current_thread() is threading.main_thread():
            restore = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits too
        try:
            stage, running = _stop(pid, records, stage, running)
            reaped = True
        finally:
            if restore is not None:
                signal.signal(signal.SIGINT, restore)
        raise DemoInterrupted(stage, running) from None
    finally:
        if not reaped:
            _kill_group(pid)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        os.close(rfd)
    if "netns" not in results:
        raise RuntimeError("the demo's namespace child exited without a result")
    return results
