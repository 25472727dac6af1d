"""Helpers for nfqueue integration tests: iptables rules and counters inside a test's
own namespace, UDP endpoints there, bounded drains."""

from __future__ import annotations

import re
import socket
import time

from nsutil import Netns, sh

from netring.codec.constants import SO
from netring.netns import socket_in


def ipt(ns: Netns, *args: str, v6: bool = False) -> None:
    """``iptables ARGS`` inside the namespace (nft backend)."""
    sh("ip", "netns", "exec", ns.name, "ip6tables" if v6 else "iptables", "-w", *args)


def counters(ns: Netns, chain: str, table: str = "filter", v6: bool = False) -> list[int]:
    """Packet counters of ``chain``'s rules, in rule order."""
    out = sh("ip", "netns", "exec", ns.name, "ip6tables" if v6 else "iptables", "-w", "-t",
             table, "-nvxL", chain).stdout
    vals = []
    for line in out.splitlines()[2:]:
        m = re.match(r"\s*(\d+)\s+\d+\s", line)
        if m:
            vals.append(int(m.group(1)))
    return vals


def queue_rule(ns: Netns, port: int, queue: int, *extra: str, proto: str = "udp",
               bypass: bool = False, v6: bool = False) -> None:
    """OUTPUT on lo, ``--dport port`` -> NFQUEUE ``queue``."""
    ipt(ns, "-A", "OUTPUT", "-o", "lo", "-p", proto, "--dport", str(port), *extra, "-j",
        "NFQUEUE", "--queue-num", str(queue), *(["--queue-bypass"] if bypass else []), v6=v6)


def udp_pair(ns: Netns, port: int, v6: bool = False) -> tuple[socket.socket, socket.socket]:
    """A receiver bound to ``port`` on loopback (large buffer) and a sender."""
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    rx = socket_in(ns.path, fam, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, SO.RCVBUFFORCE, 32 << 20)
    rx.bind(("::1" if v6 else "127.0.0.1", port))
    rx.setblocking(False)
    tx = socket_in(ns.path, fam, socket.SOCK_DGRAM)
    tx.setsockopt(socket.SOL_SOCKET, SO.SNDBUFFORCE, 8 << 20)
    return rx, tx


def drain(rx: socket.socket, settle: float = 0.05, limit: float = 5.0) -> list[bytes]:
    """Everything ``rx`` receives until it stays quiet for ``settle`` seconds (at most
    ``limit`` seconds in all)."""
    out: list[bytes] = []
    end = time.monotonic() + limit
    quiet = time.monotonic() + settle
    while time.monotonic() < end:
        try:
            out.append(rx.recv(70000))
            quiet = time.monotonic() + settle
        except BlockingIOError:
            if time.monotonic() >= quiet:
                break
            time.sleep(0.002)
    return out


def snmp(ns: Netns, proto: str, field: str) -> int:
    """A counter of ``/proc/net/snmp`` in the namespace (``Udp``, ``InCsumErrors``)."""
    text = sh("ip", "netns", "exec", ns.name, "cat", "/proc/net/snmp").stdout
    rows = [line.split() for line in text.splitlines() if line.startswith(proto + ":")]
    head, vals = rows[0], rows[1]
    return int(vals[head.index(field)])
