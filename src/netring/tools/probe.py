"""Capability probe: what this kernel offers, each answer found by trying it.

Nothing here reads a version table: every entry opens a socket, sets an option or
makes a call and reports what the kernel said.  Probes create no lasting state
(sockets are closed, the namespace test runs in a child process).

``probe()`` returns a JSON-able dict; ``netring probe`` prints it.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import socket
import struct
import threading
from collections.abc import Callable

from .._sys import libc
from ..codec.constants import (
    NETLINK,
    NETLINK_CAP_ACK,
    NETLINK_EXT_ACK,
    NETLINK_GET_STRICT_CHK,
    NLM_F,
    NLMSG,
    SOL_NETLINK,
)
from ..codec.structs import nlmsgerr_error, nlmsghdr
from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__all__ = ["probe", "FANOUT_MODES"]

SOL_PACKET = 263
PACKET_VERSION = 10
PACKET_FANOUT = 18
ETH_P_ALL = 0x0003
NFNL_SUBSYS_QUEUE = 3
NFNL_SUBSYS_ULOG = 4
NFQNL_MSG_CONFIG = 2
NFULNL_MSG_CONFIG = 1

#: PACKET_FANOUT_* modes (uapi/linux/if_packet.h)
FANOUT_MODES = {
    "hash": 0, "lb": 1, "cpu": 2, "rollover": 3, "rnd": 4, "qm": 5, "cbpf": 6, "ebpf": 7,
}


def _errname(exc: OSError) -> str:
    code = exc.errno or 0
    return f"{errno.errorcode.get(code, str(code))} ({os.strerror(code)})"


def _try(fn: Callable[[], Any]) -> tuple[bool, str | None]:
    try:
        fn()
        return True, None
    except OSError as exc:
        return False, _errname(exc)


def _netlink_options() -> dict[str, Any]:
    out: dict[str, Any] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.ROUTE) as s:
        for name, opt in (("ext_ack", NETLINK_EXT_ACK), ("cap_ack", NETLINK_CAP_ACK),
                          ("get_strict_chk", NETLINK_GET_STRICT_CHK)):
            ok, err = _try(functools.partial(s.setsockopt, SOL_NETLINK, opt, 1))
            out[name] = ok
            if err:
                out[f"{name}_error"] = err
    return out


def _usersock() -> dict[str, Any]:
    def go() -> None:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK) as a, \
                socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK) as b:
            a.bind((0, 0))
            b.bind((0, 0))
            b.settimeout(1.0)
            msg = nlmsghdr.pack(nlmsghdr.size + 4, NLMSG.MIN_TYPE, 0, 1, a.getsockname()[0]) + b"ping"
            a.sendto(msg, (b.getsockname()[0], 0))
            if b.recv(64) != msg:
                raise OSError(errno.EIO, "USERSOCK message came back different")

    ok, err = _try(go)
    return {"ok": ok, "error": err}


def _recvmmsg() -> dict[str, Any]:
    if libc.recvmmsg_raw is None:
        return {"ok": False, "error": "libc has no recvmmsg"}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.USERSOCK) as s:
        s.bind((0, 0))
        # vlen 0 with MSG_DONTWAIT: the kernel validates and returns 0 or EAGAIN;
        # ENOSYS means the syscall is missing.
        rc = libc.recvmmsg_raw(s.fileno(), None, 0, libc.MSG_DONTWAIT, None)
        if rc < 0:
            code = ctypes.get_errno()
            if code in (errno.ENOSYS, errno.EOPNOTSUPP):
                return {"ok": False, "error": _errname(OSError(code, os.strerror(code)))}
    return {"ok": True, "error": None}


def _af_packet() -> tuple[dict[str, Any], socket.socket | None]:
    """TPACKET versions and fanout modes, all asked of one AF_PACKET socket.

    The socket is made with protocol 0 (not yet receiving) and bound to ``lo`` for
    ``ETH_P_ALL``, so it is running (fanout needs that) without ever having seen
    another interface's traffic.  It joins a fanout group in ``hash`` mode; every
    other mode is then asked on the same socket: ``fanout_add()`` checks the mode
    before it checks membership, so a mode the kernel knows answers ``EALREADY``
    and an unknown one ``EINVAL``.

    Returns the answer and the socket, still open: its close waits for an RCU
    grace period (``packet_release`` -> ``synchronize_net``), which the caller
    lets pass while the other probes run.
    """
    out: dict[str, Any] = {"tpacket_versions": [], "fanout_modes": []}
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
    except OSError as exc:
        out["error"] = _errname(exc)
        return out, None
    for v in (0, 1, 2):
        ok, _ = _try(functools.partial(s.setsockopt, SOL_PACKET, PACKET_VERSION, v))
        if ok:
            out["tpacket_versions"].append(f"TPACKET_V{v + 1}")
    group = (os.getpid() & 0xFFFF) or 1
    try:
        s.bind(("lo", ETH_P_ALL))
        s.setsockopt(SOL_PACKET, PACKET_FANOUT, group | (FANOUT_MODES["hash"] << 16))
    except OSError as exc:
        out["fanout_error"] = _errname(exc)
        return out, s
    out["fanout_modes"].append("hash")
    for name, mode in FANOUT_MODES.items():
        if name == "hash":
            continue
        try:
            s.setsockopt(SOL_PACKET, PACKET_FANOUT, group | (mode << 16))
            known = True  # not expected (already a member), but the mode was taken
        except OSError as exc:
            known = exc.errno == errno.EALREADY
        if known:
            out["fanout_modes"].append(name)
    return out, s


def _nfnetlink(subsys: int, msg_type: int) -> dict[str, Any]:
    """Send an empty config request for queue/group 65535.

    A present subsystem answers ENODEV (nothing bound there); a missing one EINVAL.
    """
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK.NETFILTER)
    except OSError as exc:
        return {"ok": False, "error": _errname(exc)}
    with s:
        s.bind((0, 0))
        s.settimeout(2.0)
        body = struct.pack("=BBH", 0, 0, socket.htons(65535))
        s.send(nlmsghdr.pack(nlmsghdr.size + len(body), (subsys << 8) | msg_type,
                             NLM_F.REQUEST | NLM_F.ACK, 1, 0) + body)
        try:
            reply = s.recv(4096)
        except OSError as exc:
            return {"ok": False, "error": _errname(exc)}
    if len(reply) < nlmsghdr.size + nlmsgerr_error.size or nlmsghdr.unpack_from(reply)[1] != NLMSG.ERROR:
        return {"ok": False, "error": "unexpected reply"}
    err = -nlmsgerr_error.unpack_from(reply, nlmsghdr.size)[0]
    if err in (errno.EINVAL, errno.EOPNOTSUPP, errno.EPROTONOSUPPORT):
        return {"ok": False, "error": _errname(OSError(err, os.strerror(err)))}
    if err == errno.EPERM:
        return {"ok": False, "error": "EPERM (needs CAP_NET_ADMIN)"}
    return {"ok": True, "error": None}


def _netns() -> dict[str, Any]:
    """Fork a child that unshares a new network namespace; report whether it could."""
    if not os.path.exists("/proc/self/ns/net"):
        return {"ok": False, "error": "no /proc/self/ns/net"}
    pid = os.fork()
    if pid == 0:  # child: never returns into the caller's code
        rc = 1
        try:
            libc.unshare(libc.CLONE_NEWNET)
            rc = 0
        except OSError as exc:
            rc = 10 + (exc.errno or 0)
        finally:
            os._exit(rc)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return {"ok": True, "error": None}
    err = code - 10
    return {"ok": False, "error": errno.errorcode.get(err, f"exit {code}")}


def _netlink_mmap() -> dict[str, Any]:
    from ..nlmmap import probe as ring_probe

    return dict(ring_probe())


def _io_uring_ring() -> dict[str, Any]:
    from ..nlmmap.edge.uring import probe as uring_probe  # the io_uring ring backend

    return uring_probe()


def _closing(s: socket.socket) -> threading.Thread:
    """Close ``s`` in a helper thread (its close may wait for an RCU grace period)."""
    t = threading.Thread(target=s.close, name="netring-probe-close", daemon=True)
    t.start()
    return t


def probe() -> dict[str, Any]:
    """Probe every capability netring uses; returns a JSON-able dict.

    Keys: ``kernel``, ``netlink_mmap`` (``{"rx", "tx", "error"}``), ``io_uring_ring``
    (``{"available", "reason", "features", "io_uring_disabled"}``), ``recvmmsg``,
    ``usersock``, ``netlink_options`` (ext_ack, cap_ack, get_strict_chk),
    ``af_packet`` (tpacket_versions, fanout_modes), ``nfnetlink_queue``,
    ``nfnetlink_log``, ``netns``.

    Every probe is a few system calls, none sleeps and every socket is closed
    before this returns.  AF_PACKET goes first because closing its socket waits
    for an RCU grace period (tens of milliseconds): that close runs in a helper
    thread while the other probes run, and is joined at the end.
    """
    result: dict[str, Any] = {"kernel": os.uname().release}
    closer: threading.Thread | None = None
    try:
        packet, psock = _af_packet()
    except Exception as exc:  # a probe must report, never crash the whole probe
        packet, psock = {"ok": False, "error": f"probe failed: {type(exc).__name__}: {exc}"}, None
    if psock is not None:
        closer = _closing(psock)
    sections: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("netlink_mmap", _netlink_mmap),
        ("io_uring_ring", _io_uring_ring),
        ("recvmmsg", _recvmmsg),
        ("usersock", _usersock),
        ("netlink_options", _netlink_options),
        ("af_packet", lambda: packet),
        ("nfnetlink_queue", lambda: _nfnetlink(NFNL_SUBSYS_QUEUE, NFQNL_MSG_CONFIG)),
        ("nfnetlink_log", lambda: _nfnetlink(NFNL_SUBSYS_ULOG, NFULNL_MSG_CONFIG)),
        ("netns", _netns),
    ]
    try:
        for key, fn in sections:
            try:
                result[key] = fn()
            except Exception as exc:  # a probe must report, never crash the whole probe
                result[key] = {"ok": False, "error": f"probe failed: {type(exc).__name__}: {exc}"}
    finally:
        if closer is not None:
            closer.join()
    return result
