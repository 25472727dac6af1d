"""What the ring benchmarks share: a USERSOCK socket in the namespace, forked
workers and their reaping, CPU time, the IPv4 route-dump request."""

from __future__ import annotations

import os
import resource
import socket
import time

from ...codec import NETLINK, NLM_F, Builder
from ...codec.constants import SO
from ...codec.types import TYPE_CHECKING
from ...netns import socket_in
from ...subsystems.rtnetlink.constants import RTM

if TYPE_CHECKING:
    from typing import Any

__all__ = ["usersock", "fork", "reap", "cpu", "dump_request"]


def usersock(ns: str, rcvbuf: int = 8 << 20) -> socket.socket:
    s = socket_in(ns, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK)
    s.bind((0, 0))
    try:
        s.setsockopt(socket.SOL_SOCKET, SO.RCVBUFFORCE, rcvbuf)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    return s  # blocking, no timeout (a timeout adds a poll per recv); run() has an alarm


def fork(fn: Any, *args: Any) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn(*args)
            code = 0
        finally:
            os._exit(code)
    return pid


def reap(pid: int, timeout: float = 60.0) -> tuple[int, Any]:
    deadline = time.monotonic() + timeout
    while True:
        done, status, ru = os.wait4(pid, os.WNOHANG)
        if done:
            return status, ru
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            _, status, ru = os.wait4(pid, 0)
            return status, ru
        time.sleep(0.002)


def cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def dump_request() -> bytes:
    b = Builder(64)
    b.begin(RTM.GETROUTE, NLM_F.REQUEST | NLM_F.DUMP, seq=1)
    b.put(bytes([socket.AF_INET]) + bytes(11))
    b.end()
    return b.tobytes()
