"""``netring demo``: a self-contained tour of the main job, in a private namespace.

Everything runs in a forked child that unshares a brand-new network namespace
(see :mod:`netring.tools.sandbox`); when the child exits the namespace is gone, so the
demo leaves nothing behind.  Each stage reports what flowed and how fast; a
stage whose capability is missing prints one line saying so and the demo goes on.

Stages::

    1  rings     which ring backend this kernel gets (kernel rings or user-space engine)
    2  usersock  a 64-byte NETLINK_USERSOCK stream between two processes, recvmmsg batches
    3  rtnl      a veth pair made with rtnetlink, then a link dump of the namespace
    4  ring      the same kind of stream through a memory-mapped ring
    5  writer    a peer process writing straight into a shared ring, no socket at all
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TextIO

from ..codec import NETLINK, NLMSG
from ..codec.structs import nlmsghdr, u32
from ..errors import NetringError
from .sandbox import run_in_new_netns

__all__ = ["run_demo", "STAGES"]



def stage_rings(count: int) -> dict[str, Any]:
    """Which ring backend ``open_ring`` picks on this kernel, and why."""
    from ..nlmmap import ring_support

    return dict(ring_support())


def stage_usersock(count: int) -> dict[str, Any]:
    """Stream ``count`` 64-byte USERSOCK messages from a child process; receive them
    with ``recvmmsg`` batches and check nothing was lost or reordered."""
    from .._sys.nladdr import sockaddr_nl_bytes
    from ..socket import NetlinkSocket

    with NetlinkSocket(NETLINK.USERSOCK, rcvbuf=4 << 20, passcred=True) as rx:
        dest = sockaddr_nl_bytes(rx.portid)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                from .._sys import MMsgBatch

                with NetlinkSocket(NETLINK.USERSOCK) as tx:
                    bufs = [bytearray(64) for _ in range(64)]
                    batch = MMsgBatch(bufs, name=False, control=0)  # headers built once
                    sent = 0
                    while sent < count:
                        n = min(64, count - sent)
                        for i in range(n):
                            nlmsghdr.pack_into(bufs[i], 0, 64, NLMSG.MIN_TYPE, 0, sent + i + 1, tx.portid)
                        done = 0
                        while done < n:  # sendmmsg may send fewer; the rest goes next call
                            if done:
                                for i in range(done, n):
                                    bufs[i - done][:] = bufs[i]
                            done += batch.send(tx.fileno(), n=n - done, name=dest)
                        sent += n
                    batch.close()
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        got = 0
        expect = 1
        in_order = True
        sender_pid = None
        deadline = time.monotonic() + 60
        t0 = time.perf_counter()
        while got < count and time.monotonic() < deadline:
            for m in rx.recvmmsg():
                if m.seq != expect:
                    in_order = False
                expect = m.seq + 1
                got += 1
                if m.creds is not None:
                    sender_pid = m.creds[0]
        secs = time.perf_counter() - t0
        os.waitpid(pid, 0)
    return {
        "messages": got,
        "expected": count,
        "seconds": secs,
        "msgs_per_s": got / secs if secs else 0.0,
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
        ring = UserRing.attach(shared)
        got = 0
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
        os.waitpid(pid, 0)
        stats = ring.stats()
        ring.close()
    return {"messages": got, "expected": count, "seconds": secs,
            "msgs_per_s": got / secs if secs else 0.0, "in_order": in_order,
            "writer_pid_matches": pids == {pid}, "ring_full": stats.get("ring_full", 0)}


STAGES: list[tuple[str, str, Callable[[int], dict[str, Any]]]] = [
    ("rings", "ring support on this kernel", stage_rings),
    ("usersock", "USERSOCK stream between two processes (recvmmsg)", stage_usersock),
    ("rtnl", "rtnetlink: make a veth pair, dump the links", stage_rtnl),
    ("ring", "the same stream through a memory-mapped ring", stage_ring),
    ("writer", "a peer process writing straight into a shared ring (no socket)", stage_writer),
]


def _all_stages(count: int) -> dict[str, Any]:
    results: dict[str, Any] = {"netns": os.readlink("/proc/self/ns/net")}
    for key, _title, fn in STAGES:
        try:
            results[key] = {"ok": True, **fn(count)}
        except (NetringError, OSError, ImportError) as exc:
            results[key] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return results


def _print(results: dict[str, Any], out: TextIO) -> None:
    def p(*a: object) -> None:
        print(*a, file=out)

    p(f"netring demo: working in a private network namespace ({results['netns']}),")
    p("removed when the demo ends.\n")
    for n, (key, title, _fn) in enumerate(STAGES, 1):
        r = results[key]
        p(f"[{n}] {title}")
        if not r["ok"]:
            p(f"    skipped: {r['error']}\n")
            continue
        if key == "rings":
            p(f"    backend: {r.get('backend')} ({r.get('reason')})")
        elif key == "usersock":
            ok = r["messages"] == r["expected"] and r["in_order"]
            p(f"    {r['messages']:,} of {r['expected']:,} messages, {r['msgs_per_s'] / 1e6:.2f} M msg/s, "
              f"{'in order, none lost' if ok else 'LOSS OR REORDERING'}")
            p(f"    sender credentials: pid {r['sender_pid']} "
              f"({'matches the sending process' if r['sender_pid_matches'] else 'unexpected'})")
        elif key == "rtnl":
            p(f"    {'ifindex':>7}  {'name':<8} {'mtu':>6}  {'state':<8} address")
            for ln in r["links"]:
                p(f"    {ln['ifindex']:>7}  {ln['ifname']:<8} {ln['mtu']:>6}  "
                  f"{str(ln['operstate']):<8} {ln['address']}")
            p(f"    {r['routes']} routes in the namespace after adding 192.0.2.1/24")
        elif key == "ring":
            p(f"    backend {r.get('backend')}: {r.get('messages', 0):,} messages, "
              f"{r.get('msgs_per_s', 0) / 1e6:.2f} M msg/s, in order: {r.get('in_order')}, "
              f"ring-full pauses: {r.get('ring_full', 0)}, COPY frames: {r.get('copies', 0)}")
        elif key == "writer":
            ok = r["messages"] == r["expected"] and r["in_order"]
            p(f"    {r['messages']:,} of {r['expected']:,} messages, {r['msgs_per_s'] / 1e6:.2f} M msg/s, "
              f"{'in order, none lost' if ok else 'LOSS OR REORDERING'}; "
              f"writer credentials in every frame: {r['writer_pid_matches']}")
        p("")
    p("Where next:")
    p("  netring probe              what this kernel offers, found by trying each thing")
    p("  netring dump links --json  rtnetlink dumps (also addrs, routes, neigh, rules)")
    p("  netring monitor routes     live rtnetlink changes, with overrun recovery")
    p("  netring bench ring         side-by-side figures (also: codec, recvmmsg, dump)")
    p("  docs/rings.md              how the rings work and when to choose one")


def run_demo(count: int = 100_000, out: TextIO | None = None) -> dict[str, Any]:
    """Run every stage in a fresh namespace; print a report to ``out`` if given."""
    results = run_in_new_netns(_all_stages, count)
    if out is not None:
        _print(results, out)
    return results
