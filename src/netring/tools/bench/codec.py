"""Message walk over a recorded route dump: netring iteration vs naive loops.

The buffer is a real kernel RTM_GETROUTE dump of N IPv4 routes, recorded in a
private network namespace made for the run (root needed); without root a
synthetic buffer of the same shape is used and the output says so.

Run: ``netring bench codec`` or ``python benchmarks/bench_codec.py``.
"""

from __future__ import annotations

import functools
import os
import struct
import subprocess
import sys
import tempfile

from ...codec import iter_messages
from ...codec.structs import nlmsghdr
from ...codec.types import TYPE_CHECKING
from ._common import command_line, machine, print_footer, print_table, timeit

if TYPE_CHECKING:
    from typing import Any, TextIO

__all__ = ["run", "record_route_dump"]

_RECORDER = r"""
import socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((0, 0))
req = struct.pack("=IHHII", 28, 26, 0x301, 1, 0) + struct.pack("=BBBBBBBBI", 2, 0, 0, 0, 0, 0, 0, 0, 0)
s.send(req)
out = open(sys.argv[1], "wb")
done = False
while not done:
    data = s.recv(1 << 16)
    off = 0
    while off < len(data):
        ln, t = struct.unpack_from("=IH", data, off)
        if t == 3:
            done = True
            break
        if t == 2:
            raise SystemExit("dump failed")
        out.write(data[off:off + ((ln + 3) & ~3)])
        off += (ln + 3) & ~3
out.close()
"""


def record_route_dump(n: int) -> bytes:
    """Install ``n`` /32 routes on a veth in a private namespace, dump them, return
    the raw message bytes (NLMSG_DONE excluded).  Needs root and iproute2."""
    ns = f"nrbench-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        def ip(*a: str, **kw: Any) -> None:
            subprocess.run(["ip", "-n", ns, *a], check=True, **kw)

        ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
        ip("link", "set", "veth0", "up")
        ip("link", "set", "veth1", "up")
        lines = "".join(
            f"route add 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}/32 dev veth0\n"
            for i in range(n)
        )
        ip("-batch", "-", input=lines.encode())
        with tempfile.NamedTemporaryFile() as tmp:
            subprocess.run(
                ["ip", "netns", "exec", ns, sys.executable, "-c", _RECORDER, tmp.name], check=True
            )
            return open(tmp.name, "rb").read()
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def _synthetic(n: int) -> bytes:
    one = nlmsghdr.pack(52, 24, 2, 1, 1) + bytes(36)
    return one * n


def _naive(buf: bytes) -> int:
    """Slice-and-unpack: what a first netlink parser in Python looks like."""
    n = 0
    off = 0
    end = len(buf)
    while off < end:
        hdr = buf[off : off + 16]
        length, type_, flags, seq, pid = struct.unpack("=IHHII", hdr)
        payload = buf[off + 16 : off + length]
        n += type_ > 0 and len(payload) >= 0
        off += (length + 3) & ~3
    return n


def _raw_walk(buf: bytes) -> int:
    """Hand-written ``unpack_from`` header walk: no objects at all (the floor)."""
    unpack = nlmsghdr.unpack_from
    n = 0
    off = 0
    end = len(buf)
    while off < end:
        length, type_, flags, seq, pid = unpack(buf, off)
        n += type_ > 0
        off += (length + 3) & ~3
    return n


def _netring(buf: bytes) -> int:
    n = 0
    for m in iter_messages(buf):
        n += m.type > 0
    return n


def run(quick: bool = False, out: TextIO | None = sys.stdout) -> dict[str, Any]:
    """Walk a recorded 100k-route dump (10k with ``quick``) three ways; print ratios."""
    count = 10_000 if quick else 100_000
    source = "kernel route dump"
    try:
        if os.geteuid() != 0:
            raise PermissionError("not root")
        buf = record_route_dump(count)
    except (OSError, subprocess.CalledProcessError) as exc:
        source = f"synthetic 52-byte messages (could not record a kernel dump: {exc})"
        buf = _synthetic(count)
    nmsgs = _raw_walk(buf)
    results: dict[str, Any] = {"messages": nmsgs, "bytes": len(buf), "source": source}
    rows = []
    rates = {}
    for name, fn in (("naive slice+unpack", _naive), ("raw unpack_from walk", _raw_walk),
                     ("netring iter_messages", _netring)):
        secs, got = timeit(functools.partial(fn, buf), repeat=5)
        assert got == nmsgs
        rates[name] = nmsgs / secs
    base = rates["naive slice+unpack"]
    for name, rate in rates.items():
        rows.append((name, f"{rate / 1e6:.2f} M msg/s", f"{rate * len(buf) / nmsgs / 1e6:.0f} MB/s",
                     f"{rate / base:.2f}x"))
    results["rates"] = rates
    results["ratio_netring_vs_naive"] = rates["netring iter_messages"] / base
    results["machine"] = machine()
    results["command"] = command_line()
    print_table(out, f"Message walk over {nmsgs} messages ({len(buf)} bytes, {source})",
                rows, ("variant", "rate", "bandwidth", "vs naive"), first=True)
    print_footer(out, results)
    return results
