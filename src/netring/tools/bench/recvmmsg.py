"""64-byte USERSOCK stream between two processes: ``recv`` one at a time vs
``recvmmsg`` batches of 64 (netring's :class:`netring._sys.MMsgBatch`).

Runs inside a private network namespace (forked child, root needed).  Both
variants get the same sender: a prebuilt :class:`~netring._sys.MMsgBatch` of 64
messages pushed with ``sendmmsg`` (headers built once, no per-call ctypes work),
so that the receiver is the bottleneck; USERSOCK unicast blocks the sender when
the receiver's buffer is full, so nothing is lost and every variant receives
exactly N messages.

Two modes, each variant measured twice interleaved (best kept):

* streaming: the sender runs while the receiver receives.  On a small machine
  the sender's kernel cost (skb allocation and queueing, ~0.85 us per message
  here) can cap the faster receiver; the average batch ``recvmmsg`` gets then
  stays well under 64.
* prefilled: the sender queues a round of :data:`PREFILL_ROUND` messages and
  waits; only the receiver's drain of each round is timed, so the figure is the
  receiver alone (rounds keep the queue small enough to stay cache-warm).

Run: ``netring bench recvmmsg`` or ``python benchmarks/bench_recvmmsg.py``.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import time

from ..._sys import MMsgBatch, sockaddr_nl_bytes
from ...codec.constants import NETLINK, SO
from ...codec.types import TYPE_CHECKING
from ..sandbox import run_in_new_netns
from ._common import command_line, machine, print_footer, print_table

if TYPE_CHECKING:
    from typing import Any, TextIO

__all__ = ["run"]

MSG_SIZE = 64
BATCH = 64
PREFILL_ROUND = 16384  # messages queued per round in the prefilled mode


def _sender(dest: int, count: int, rounds: tuple[int, int, int] | None = None) -> None:
    """Push ``count`` messages to ``dest`` in ``sendmmsg`` batches of :data:`BATCH`.

    The batch and its headers are built once (:meth:`MMsgBatch.send` reuses them),
    so each syscall costs O(1) Python work.  The same sender serves both variants.
    With ``rounds=(size, ready_fd, go_fd)`` it queues ``size`` messages, writes a
    byte to ``ready_fd`` and waits for one on ``go_fd`` before the next round.
    """
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK) as s:
        s.bind((0, 0))
        me = s.getsockname()[0]
        regions = [
            bytearray(struct.pack("=IHHII", MSG_SIZE, 0x10, 0, i + 1, me) + bytes(MSG_SIZE - 16))
            for i in range(BATCH)
        ]
        fd = s.fileno()
        with MMsgBatch(regions, name=False, control=0) as batch:
            send = batch.send
            name = sockaddr_nl_bytes(dest)
            sent = 0
            while sent < count:
                stop = count if rounds is None else min(count, sent + rounds[0])
                while sent < stop - BATCH:
                    sent += send(fd, name=name)
                while sent < stop:
                    sent += send(fd, n=min(BATCH, stop - sent), name=name)
                if rounds is not None:
                    os.write(rounds[1], b"r")
                    os.read(rounds[2], 1)


def _receive(variant: str, count: int, prefill: bool = False) -> float:
    """Receive ``count`` messages with ``variant``; returns messages/s.

    Streaming (default): the sender runs concurrently; the clock starts after the
    first receive (the sender is running by then) and that call's messages are
    not counted.  ``prefill``: in rounds of :data:`PREFILL_ROUND` messages the
    sender queues a round and waits; only the receiver's drains are timed.
    """
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK) as r:
        if prefill:
            r.setsockopt(socket.SOL_SOCKET, SO.RCVBUFFORCE, 256 << 20)
        else:
            r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        r.bind((0, 0))
        # a kernel-side receive timeout (SO_RCVTIMEO) keeps the socket blocking:
        # settimeout() would make CPython poll() before every recv_into (two
        # syscalls per message) and turn the recvmmsg loop into a busy spin
        r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("@ll", 10, 0))
        dest = r.getsockname()[0]
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _sender(dest, count, (PREFILL_ROUND, ready_w, go_r) if prefill else None)
                code = 0
            finally:
                os._exit(code)
        try:
            if prefill:
                return count / _drain_rounds(r, variant, count, ready_r, go_w)
            first, dt = _stream(r, variant, count)
            return (count - first) / dt
        finally:
            os.waitpid(pid, 0)
            for f in (ready_r, ready_w, go_r, go_w):
                os.close(f)


def _stream(r: socket.socket, variant: str, count: int) -> tuple[int, float]:
    """Receive while the sender runs: (messages before the clock started, seconds)."""
    if variant == "recv":
        buf = bytearray(4096)
        recv_into = r.recv_into
        recv_into(buf)
        first = got = 1
        t0 = time.perf_counter()
        while got < count:
            recv_into(buf)  # BlockingIOError after 10 s of silence
            got += 1
        return first, time.perf_counter() - t0
    with MMsgBatch([bytearray(256) for _ in range(BATCH)], name=False, control=0) as batch:
        recv = batch.recv
        fd = r.fileno()
        first = got = recv(fd)
        t0 = time.perf_counter()
        while got < count:
            n = recv(fd)
            if n == 0:  # EAGAIN: SO_RCVTIMEO expired
                raise TimeoutError("recvmmsg: sender stalled")
            got += n
        return first, time.perf_counter() - t0


def _drain_rounds(r: socket.socket, variant: str, count: int, ready: int, go: int) -> float:
    """Drain the sender's rounds; returns the seconds spent receiving."""
    total = 0.0
    got = 0
    buf = bytearray(4096)
    recv_into = r.recv_into
    with MMsgBatch([bytearray(256) for _ in range(BATCH)], name=False, control=0) as batch:
        recv = batch.recv
        fd = r.fileno()
        while got < count:
            if not os.read(ready, 1):
                raise RuntimeError("sender exited early")
            stop = min(count, got + PREFILL_ROUND)
            t0 = time.perf_counter()
            if variant == "recv":
                while got < stop:
                    recv_into(buf)
                    got += 1
            else:
                while got < stop:
                    n = recv(fd)
                    if n == 0:
                        raise TimeoutError("recvmmsg: queue empty before the round ended")
                    got += n
            total += time.perf_counter() - t0
            os.write(go, b"g")
    return total


def _measure(count: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for mode, prefill in (("stream", False), ("prefilled", True)):
        rates: dict[str, float] = {}
        for variant in ("recv", "recvmmsg", "recv", "recvmmsg"):  # interleaved, best of two
            rates[variant] = max(rates.get(variant, 0.0), _receive(variant, count, prefill))
        out[mode] = rates
    return out


def run(quick: bool = False, out: TextIO | None = sys.stdout) -> dict[str, Any]:
    """Measure both receive styles in one run; print msgs/s and the ratio."""
    count = 100_000 if quick else 500_000
    modes = run_in_new_netns(_measure, count)
    rates = modes["stream"]
    ratio = rates["recvmmsg"] / rates["recv"]
    pre = modes["prefilled"]
    result: dict[str, Any] = {
        "messages": count,
        "message_size": MSG_SIZE,
        "batch": BATCH,
        "rates": rates,
        "ratio_recvmmsg_vs_recv": ratio,
        "rates_prefilled": pre,
        "ratio_prefilled": pre["recvmmsg"] / pre["recv"],
        "machine": machine(),
        "command": command_line(),
    }
    rows: list[tuple[str, ...]] = []
    for label, r in (("streaming, sender running", rates), ("prefilled queue, receiver alone", pre)):
        rows.append((f"recv_into, one per syscall ({label})", f"{r['recv'] / 1e6:.2f} M msg/s",
                     "1.00x"))
        rows.append((f"recvmmsg, batches of {BATCH} ({label})",
                     f"{r['recvmmsg'] / 1e6:.2f} M msg/s", f"{r['recvmmsg'] / r['recv']:.2f}x"))
    print_table(out, f"{count} x {MSG_SIZE}-byte USERSOCK messages, two processes",
                rows, ("receiver", "rate", "vs recv"), first=True)
    print_footer(out, result)
    return result
