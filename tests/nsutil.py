"""Helpers for integration tests: private network namespaces made and removed here.

Every namespace gets a unique ``nrt-<pid>-<n>`` name so parallel or aborted runs
never collide, and is deleted (with whatever links it holds) on teardown.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from typing import Any

_counter = itertools.count()


def have_root() -> bool:
    return os.geteuid() == 0


def have_ip() -> bool:
    return shutil.which("ip") is not None


def new_name(prefix: str = "nrt") -> str:
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


def sh(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output, raise with its stderr on failure."""
    proc = subprocess.run(list(args), capture_output=True, text=True, input=input, timeout=120)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def ip(ns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``ip -n NS ARGS...``."""
    return sh("ip", "-n", ns, *args, check=check)


def ip_json(ns: str, *args: str) -> Any:
    """``ip -n NS -j ARGS...`` parsed as JSON."""
    out = ip(ns, "-j", *args).stdout
    return json.loads(out) if out.strip() else []


def ip_batch(ns: str, lines: list[str]) -> None:
    """Feed ``lines`` to ``ip -n NS -batch -``."""
    sh("ip", "-n", ns, "-batch", "-", input="\n".join(lines) + "\n")


class Netns:
    """A private network namespace (``/run/netns/NAME``) removed on close."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or new_name()
        sh("ip", "netns", "add", self.name)
        self.path = f"/run/netns/{self.name}"
        ip(self.name, "link", "set", "lo", "up")

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return ip(self.name, *args, check=check)

    def ip_json(self, *args: str) -> Any:
        return ip_json(self.name, *args)

    def batch(self, lines: list[str]) -> None:
        ip_batch(self.name, lines)

    def add_veth(self, a: str = "veth0", b: str = "veth1", up: bool = True) -> None:
        self.ip("link", "add", a, "type", "veth", "peer", "name", b)
        if up:
            self.ip("link", "set", a, "up")
            self.ip("link", "set", b, "up")

    def close(self) -> None:
        sh("ip", "netns", "del", self.name, check=False)

    def __enter__(self) -> Netns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
