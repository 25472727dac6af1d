"""The AF_PACKET socket: bound to one interface or all, raw or cooked, in any namespace.

OS edge module.  Everything a capture or a sender sets on the socket itself;
the rings live in :mod:`.ring` and :mod:`.tx`::

    PacketSocket("veth1", netns="blue", promisc=True)
      socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC, 0)      created in the namespace, not hooked yet
      bind(sockaddr_ll{ifindex, htons(protocol)})      hooked: packets start to arrive
      setsockopt(PACKET_ADD_MEMBERSHIP, PROMISC)       dropped with the socket
      setsockopt(PACKET_IGNORE_OUTGOING / AUXDATA)

``ifname=None`` captures on every interface of the namespace (the socket is
created with the protocol, hooked at once).  Statistics are read with
``PACKET_STATISTICS`` (reset by the kernel on each read, accumulated here).
"""

from __future__ import annotations

import ctypes
import errno as _errno
import fcntl
import os
import socket
import struct
import time
from collections.abc import Sequence

from ..._sys.mmsg import sendmmsg_to
from ...codec.types import TYPE_CHECKING
from ...errors import EncodeError, InterfaceNotFound, NetringError, NotSupportedError
from ...netns import run_in_netns
from ..constants import ETH_P, PACKET, PACKET_FANOUT, PACKET_MR, SIOCGIFINDEX, SOL_PACKET
from ..fanout import FanoutSpec, parse_flags, parse_mode
from ..stats import RolloverStats, Stats, StatsCounter
from ..structs import packet_mreq, sockaddr_ll, tpacket_auxdata

if TYPE_CHECKING:
    from typing import Any

__all__ = ["PacketSocket", "KINDS", "htons"]

KINDS = {"raw": socket.SOCK_RAW, "dgram": socket.SOCK_DGRAM}
SIOCGIFMTU = 0x8921  # uapi/linux/sockios.h
SIOCGIFNAME = 0x8910
IFNAMSIZ = 16


def htons(x: int) -> int:
    """Host to network order, 16 bits."""
    return socket.htons(x & 0xFFFF)


def _ifreq(name: str) -> bytes:
    raw = name.encode()
    if not raw or len(raw) >= IFNAMSIZ or b"/" in raw or b"\0" in raw:
        raise InterfaceNotFound(name)
    return struct.pack(f"{IFNAMSIZ}s24x", raw)


class PacketSocket:
    """An ``AF_PACKET`` socket (``packet(7)``).

    Args:
        ifname: interface to bind to (``None``: every interface of the namespace).
        protocol: ``ETH_P_*`` to receive (default ``ETH_P_ALL``: everything).
        kind: ``"raw"`` (link-layer header kept; ``SOCK_RAW``) or ``"dgram"``
            (cooked: the kernel strips the link header; ``SOCK_DGRAM``).
        netns: network namespace name or path to open the socket in (``None``: ours).
        promisc: put the interface in promiscuous mode while the socket lives
            (``PACKET_MR_PROMISC`` membership).
        ignore_outgoing: do not deliver packets the host sends (``PACKET_IGNORE_OUTGOING``).
        auxdata: deliver ``tpacket_auxdata`` with :meth:`recv` (VLAN tags, lengths).
        fd: adopt an existing packet socket descriptor (e.g. received over a unix
            socket) instead of opening one; the other arguments except ``kind``
            are then ignored.

    Raises:
        InterfaceNotFound: no interface ``ifname`` in the namespace.
        PermissionError: without CAP_NET_RAW.
    """

    def __init__(self, ifname: str | None = None, protocol: int = ETH_P.ALL, *,
                 kind: str = "raw", netns: str | None = None, promisc: bool = False,
                 ignore_outgoing: bool = False, auxdata: bool = False,
                 fd: int | None = None) -> None:
        if kind not in KINDS:
            raise EncodeError(f"packet socket kind {kind!r}: choose 'raw' or 'dgram'")
        if not 0 <= protocol <= 0xFFFF:
            raise EncodeError(f"protocol {protocol:#x} outside 0..0xffff")
        self.kind = kind
        self.protocol = protocol
        self.netns = netns
        self.stats_counter = StatsCounter()
        self._closed = False
        if fd is not None:
            self.sock = socket.socket(fileno=fd)
            self.ifindex = self._bound_ifindex()
            self.ifname = self._name_of(self.ifindex) if self.ifindex else None
            return
        self.ifname = ifname
        stype = KINDS[kind] | socket.SOCK_CLOEXEC
        proto = 0 if ifname is not None else htons(protocol)

        def make() -> socket.socket:
            return socket.socket(socket.AF_PACKET, stype, proto)

        self.sock = make() if netns is None else run_in_netns(netns, make)
        try:
            self.ifindex = 0
            if ifname is not None:
                self.ifindex = self._index_of(ifname)
                self.sock.bind((ifname, protocol))  # CPython applies htons itself
            if promisc:
                if not self.ifindex:
                    raise EncodeError("promisc needs an interface (ifname)")
                self.add_membership(PACKET_MR.PROMISC)
            if ignore_outgoing:
                self.set_int(PACKET.IGNORE_OUTGOING, 1)
            if auxdata:
                self.set_int(PACKET.AUXDATA, 1)
        except BaseException:
            self.sock.close()
            raise

    # -- interface lookups through the socket (its own namespace) ----------------------
    def _where(self) -> str:
        return f"network namespace {self.netns!r}" if self.netns else "this network namespace"

    def _index_of(self, name: str) -> int:
        try:
            out = fcntl.ioctl(self.sock.fileno(), SIOCGIFINDEX, _ifreq(name))
        except OSError as exc:
            if exc.errno == _errno.ENODEV:
                raise InterfaceNotFound(name, self._where()) from None
            raise
        idx: int = struct.unpack_from("=i", out, IFNAMSIZ)[0]
        return idx

    def _name_of(self, index: int) -> str:
        req = struct.pack(f"{IFNAMSIZ}si20x", b"", index)
        try:
            out = fcntl.ioctl(self.sock.fileno(), SIOCGIFNAME, req)
        except OSError:
            raise InterfaceNotFound(str(index), self._where()) from None
        return out[:IFNAMSIZ].split(b"\0", 1)[0].decode()

    def _bound_ifindex(self) -> int:
        name = self.sock.getsockname()
        if isinstance(name, tuple) and name and name[0]:
            return self._index_of(str(name[0]))
        return 0

    @property
    def mtu(self) -> int:
        """The bound interface's MTU (1500 when bound to all interfaces)."""
        if not self.ifname:
            return 1500
        out = fcntl.ioctl(self.sock.fileno(), SIOCGIFMTU, _ifreq(self.ifname))
        m: int = struct.unpack_from("=i", out, IFNAMSIZ)[0]
        return m

    # -- options ------------------------------------------------------------------------
    def fileno(self) -> int:
        """The socket descriptor."""
        return self.sock.fileno()

    def set_int(self, opt: int, value: int) -> None:
        """``setsockopt(SOL_PACKET, opt, int)`` (values above 2**31 as unsigned)."""
        self.sock.setsockopt(SOL_PACKET, opt, struct.pack("=I", value & 0xFFFFFFFF))

    def get_int(self, opt: int) -> int:
        """``getsockopt(SOL_PACKET, opt)`` as an int."""
        v: int = self.sock.getsockopt(SOL_PACKET, opt)
        return v

    def add_membership(self, mr_type: int, address: bytes = b"") -> None:
        """``PACKET_ADD_MEMBERSHIP`` on the bound interface (promisc, allmulti, multicast)."""
        if len(address) > 8:
            raise EncodeError(f"membership address of {len(address)} bytes (at most 8)")
        self.sock.setsockopt(SOL_PACKET, PACKET.ADD_MEMBERSHIP,
                             packet_mreq.pack(self.ifindex, mr_type, len(address), address))

    def drop_membership(self, mr_type: int, address: bytes = b"") -> None:
        """``PACKET_DROP_MEMBERSHIP``."""
        self.sock.setsockopt(SOL_PACKET, PACKET.DROP_MEMBERSHIP,
                             packet_mreq.pack(self.ifindex, mr_type, len(address), address))

    def set_rcvbuf(self, size: int) -> int:
        """``SO_RCVBUFFORCE`` (root) or ``SO_RCVBUF``; returns the effective size."""
        from ...codec.constants import SO

        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO.RCVBUFFORCE, size)
        except PermissionError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
        v: int = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        return v

    # -- statistics ---------------------------------------------------------------------
    def statistics(self) -> Stats:
        """Read (and reset) ``PACKET_STATISTICS``; returns the delta since the last read.

        ``stats_counter.total`` keeps the sum since the socket was opened.
        """
        return self.stats_counter.feed(self.sock.getsockopt(SOL_PACKET, PACKET.STATISTICS, 12))

    @property
    def total_stats(self) -> Stats:
        """Counters since the socket was opened (reads the kernel's delta first)."""
        self.statistics()
        return self.stats_counter.total

    def rollover_stats(self) -> RolloverStats | None:
        """``PACKET_ROLLOVER_STATS`` (kernel cumulative), or ``None`` without rollover."""
        try:
            raw = self.sock.getsockopt(SOL_PACKET, PACKET.ROLLOVER_STATS, 24)
        except OSError as exc:
            if exc.errno == _errno.EINVAL:
                return None
            raise
        return RolloverStats.unpack(raw)

    # -- fanout -------------------------------------------------------------------------
    def join_fanout(self, group: int, mode: str | int = "hash",
                    flags: str | int | Sequence[str] | None = None, *,
                    max_members: int | None = None) -> int:
        """Join fanout group ``group`` (``PACKET_FANOUT``); returns the group id.

        With the ``uniqueid`` flag pass ``group=0``: the kernel picks an unused id,
        returned here (others join it by that id, without the flag).

        Raises:
            NetringError: the kernel refused (a member with another mode, flags,
                protocol or device; a full group; already in a group), with errno.
        """
        fl: str | int | list[str] | None = (
            list(flags) if flags is not None and not isinstance(flags, str | int) else flags)
        spec = FanoutSpec(group, parse_mode(mode), parse_flags(fl), max_members)
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET.FANOUT, spec.pack())
        except OSError as exc:
            name = _errno.errorcode.get(exc.errno or 0, str(exc.errno))
            why = {
                _errno.EINVAL: "the group exists with another mode, flags, protocol or "
                               "device, or the mode/flags are refused",
                _errno.EALREADY: "this socket is already in a fanout group",
                _errno.ENOSPC: "the group is full",
                _errno.ENOMEM: "no free group id (uniqueid)",
            }.get(exc.errno or 0, os.strerror(exc.errno or 0))
            raise NetringError(f"PACKET_FANOUT group {group} mode {spec.mode.name.lower()}"
                               f"{' flags ' + str(spec.flags) if spec.flags else ''}: "
                               f"{name}: {why}") from None
        return self.fanout()[0]

    def fanout(self) -> tuple[int, int, int]:
        """``(group, mode, flags)`` of this socket's group (all 0 when in none)."""
        return FanoutSpec.decode(self.get_int(PACKET.FANOUT))

    def set_fanout_program(self, program: Any) -> None:
        """``PACKET_FANOUT_DATA``: the steering program of a cbpf/ebpf group.

        ``program``: classic BPF as a sequence of ``(code, jt, jf, k)`` (or an object
        with ``.instructions``), whose return value modulo the member count picks
        the member; or an ``int``: the descriptor of a loaded eBPF socket-filter
        program (mode ``ebpf``).
        """
        group, mode, _flags = self.fanout()
        if isinstance(program, int):
            if mode != PACKET_FANOUT.EBPF:
                raise EncodeError(f"an eBPF program fd needs an ebpf group (this one is mode {mode})")
            self.sock.setsockopt(SOL_PACKET, PACKET.FANOUT_DATA, struct.pack("=I", program))
            return
        from ..bpf import Program, validate
        from .filter import pack_fprog

        prog = program if isinstance(program, Program) else Program(
            tuple(getattr(program, "instructions", program)))
        validate(prog)  # the kernel's rules, named, before the kernel's bare EINVAL
        fprog, buf = pack_fprog(prog)
        try:
            self.sock.setsockopt(SOL_PACKET, PACKET.FANOUT_DATA, fprog)
        except OSError as exc:
            raise NetringError(f"PACKET_FANOUT_DATA on group {group}: "
                               f"{os.strerror(exc.errno or 0)}") from None
        finally:
            del buf  # the kernel copied the program during setsockopt

    # -- plain (ring-less) receive and send ----------------------------------------------
    def recv(self, bufsize: int = 65536) -> tuple[bytes, dict[str, int]]:
        """One packet with ``recvmsg`` (no ring): ``(data, meta)``.

        ``meta``: ``ifindex``, ``pkttype``, ``protocol``, ``wirelen`` and, with
        ``auxdata=True``, ``status``, ``vlan_tci``, ``vlan_tpid`` from ``tpacket_auxdata``.
        """
        data, anc, flags, addr = self.sock.recvmsg(bufsize, 64, socket.MSG_TRUNC)
        meta = {"ifindex": 0, "pkttype": addr[2] if len(addr) > 2 else 0,
                "protocol": addr[1] if len(addr) > 1 else 0, "wirelen": len(data)}
        for level, ctype, cdata in anc:
            if level == SOL_PACKET and ctype == PACKET.AUXDATA and \
                    len(cdata) >= tpacket_auxdata.size:
                st, ln, snap, _mac, _net, tci, tpid = tpacket_auxdata.unpack_from(cdata)
                meta.update(status=st, wirelen=ln, vlan_tci=tci, vlan_tpid=tpid)
        return data, meta

    def _dest(self, ifindex: int | None = None) -> bytes:
        idx = self.ifindex if ifindex is None else ifindex
        if not idx:
            raise EncodeError("sending needs an interface: bind the socket (ifname) or pass one")
        return sockaddr_ll.pack(socket.AF_PACKET, htons(self.protocol or ETH_P.ALL), idx, 0, 0,
                                0, b"\0" * 8)

    def send(self, frame: bytes | bytearray | memoryview) -> int:
        """Send one frame on the bound interface (``sendto``)."""
        return self.sock.send(frame)

    def send_many(self, frames: Sequence[Any]) -> int:
        """Send each frame as its own packet with one ``sendmmsg`` per call; returns frames sent.

        Frames the kernel did not take (``sendmmsg`` returned fewer) are sent again
        until all went or an error is raised (``ENOBUFS`` waits briefly and retries).
        """
        name = self._dest()
        sent = 0
        view = list(frames)
        tries = 0
        while sent < len(view):
            try:
                n = sendmmsg_to(self.sock.fileno(), view[sent:sent + 1024], name=name)
            except OSError as exc:
                if exc.errno == _errno.ENOBUFS and tries < 1000:
                    tries += 1
                    time.sleep(0.001)  # the device queue is full: let it drain
                    continue
                raise
            sent += n
        return sent

    def set_version(self, version: int) -> None:
        """``PACKET_VERSION`` (EBUSY once a ring exists)."""
        self.set_int(PACKET.VERSION, version)

    def hdrlen(self, version: int) -> int:
        """``getsockopt(PACKET_HDRLEN)`` for ``version``: ``sizeof(tpacketN_hdr)``."""
        from ..._sys import libc as _libc  # the one binding of getsockopt with an input

        val = ctypes.c_int(version)
        ln = ctypes.c_uint(4)
        if int(_libc.getsockopt_raw(self.sock.fileno(), SOL_PACKET, PACKET.HDRLEN,
                                    ctypes.byref(val), ctypes.byref(ln))) != 0:
            raise NotSupportedError(f"PACKET_HDRLEN for version {version}: "
                                    f"{os.strerror(ctypes.get_errno())}")
        return val.value

    # -- lifetime -----------------------------------------------------------------------
    def close(self) -> None:
        """Close the socket (idempotent)."""
        if not self._closed:
            self._closed = True
            self.sock.close()

    def detach(self) -> int:
        """Give up the descriptor (e.g. after handing it to another process)."""
        self._closed = True
        return self.sock.detach()

    def __enter__(self) -> PacketSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.ifname or "any"
        return (f"<PacketSocket {where} protocol={self.protocol:#06x} kind={self.kind}"
                f"{' netns=' + self.netns if self.netns else ''}>")

