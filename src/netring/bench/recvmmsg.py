"""64-byte USERSOCK stream between two processes: ``recv`` one at a time vs
``recvmmsg`` batches of 64 (netring's :class:`netring._sys.MMsgBatch`).

Runs inside a private network namespace (forked child, root needed).  The sender
pushes with ``sendmmsg`` batches so that the receiver is the bottleneck; USERSOCK
unicast blocks the sender when the receiver's buffer is full, so nothing is lost
and every variant receives exactly N messages.

Run: ``netring bench recvmmsg`` or ``python benchmarks/bench_recvmmsg.py``.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import time
from typing import Any, TextIO

from .._sys import MMsgBatch, sendmmsg
from ..sandbox import run_in_new_netns
from ._common import command_line, machine, print_table

__all__ = ["run"]

NETLINK_USERSOCK = 2
MSG_SIZE = 64
BATCH = 64


def _sender(dest: int, count: int) -> None:
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_USERSOCK) as s:
        s.bind((0, 0))
        me = s.getsockname()[0]
        bufs = [
            struct.pack("=IHHII", MSG_SIZE, 0x10, 0, i + 1, me) + bytes(MSG_SIZE - 16)
            for i in range(BATCH)
        ]
        sent = 0
        while sent < count:
            n = min(BATCH, count - sent)
            sent += sendmmsg(s.fileno(), bufs[:n], dest_portid=dest)


def _receive(variant: str, count: int) -> float:
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_USERSOCK) as r:
        r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        r.bind((0, 0))
        r.settimeout(10.0)
        dest = r.getsockname()[0]
        pid = os.fork()
        if pid == 0:
            try:
                _sender(dest, count)
            finally:
                os._exit(0)
        got = 0
        t0 = 0.0
        if variant == "recv":
            buf = bytearray(4096)
            recv_into = r.recv_into
            recv_into(buf)
            t0 = time.perf_counter()
            got = 1
            while got < count:
                recv_into(buf)
                got += 1
        else:
            regions = [bytearray(256) for _ in range(BATCH)]
            batch = MMsgBatch(regions, name=False, control=0)
            fd = r.fileno()
            got = batch.recv(fd)
            t0 = time.perf_counter()
            while got < count:
                got += batch.recv(fd)
            batch.close()
        dt = time.perf_counter() - t0
        os.waitpid(pid, 0)
        return (count - 1) / dt if variant == "recv" else count / dt


def _measure(count: int) -> dict[str, float]:
    rates: dict[str, float] = {}
    for variant in ("recv", "recvmmsg", "recv", "recvmmsg"):  # interleaved, best of two
        rates[variant] = max(rates.get(variant, 0.0), _receive(variant, count))
    return rates


def run(quick: bool = False, out: TextIO | None = sys.stdout) -> dict[str, Any]:
    """Measure both receive styles in one run; print msgs/s and the ratio."""
    count = 100_000 if quick else 500_000
    rates = run_in_new_netns(_measure, count)
    ratio = rates["recvmmsg"] / rates["recv"]
    result: dict[str, Any] = {
        "messages": count,
        "message_size": MSG_SIZE,
        "batch": BATCH,
        "rates": rates,
        "ratio_recvmmsg_vs_recv": ratio,
        "machine": machine(),
        "command": command_line(),
    }
    rows = [
        ("recv_into, one per syscall", f"{rates['recv'] / 1e6:.2f} M msg/s", "1.00x"),
        (f"recvmmsg, batches of {BATCH}", f"{rates['recvmmsg'] / 1e6:.2f} M msg/s", f"{ratio:.2f}x"),
    ]
    print_table(out, f"{count} x {MSG_SIZE}-byte USERSOCK messages, two processes",
                rows, ("receiver", "rate", "vs recv"))
    if out is not None:
        print(f"\ncommand: {result['command']}\nmachine: {result['machine']}", file=out)
    return result
