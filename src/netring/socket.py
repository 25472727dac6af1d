"""The netlink socket edge: a real ``AF_NETLINK`` socket under the one conversation.

The protocol logic (reply validation, request/ack, dumps, notifications kept
aside, overrun accounting) is :class:`netring.conn.Connection`, which imports
no OS module.  This module is the thin OS edge beneath it: a
:class:`SocketTransport` (the five transport members) and
:class:`NetlinkSocket`, a connection over it that also owns the socket's
options, groups and batch calls::

    netring.conn.Connection (pure)          netring.socket (this edge)
    ------------------------------          --------------------------------------------
    transport.send()                 -----> sendmsg(iov, sockaddr_nl)
    transport.recv()                 <----- recvmsg_into(one buffer) + cmsg -> Chunk
    transport.drops()                <----- SO_MEMINFO sk_drops
    debug_log                        <----- stderr writer when NETRING_DEBUG is set
                                            socket(), setsockopt, bind, netns, groups,
                                            poll() for timeouts, recvmmsg/sendmmsg

Zero copy and lifetimes: every receive goes into one buffer allocated when the
socket is made (``bufsize``, 64 KiB by default; the kernel sizes dump skbs to at
most 32 KiB).  Messages yielded by ``dump``, ``recv`` and ``messages`` are
:class:`~netring.codec.Message` views into that buffer: **valid until the next
receive on the socket**.  Call ``msg.tobytes()`` to keep one.  Messages returned
by ``request`` and kept notifications are copies.  A datagram larger than the
buffer raises :class:`~netring.errors.TruncatedError` (its real size named) and
the buffer grows to fit the next one.

Overruns: ENOBUFS on receive raises :class:`~netring.errors.Overrun` carrying the
running count (``.overruns``) and the kernel drop counter (``SO_MEMINFO``).  The
socket keeps working: call recv/messages again (and re-synchronise state).

Debugging: with ``NETRING_DEBUG=1`` in the environment every buffer sent and
received is written to stderr with :func:`netring.codec.dump_messages`.

API: :class:`~netring.conn.Connection`'s, and ``NetlinkSocket`` adds:
``fileno() setblocking() getblocking() close() closed``, ``add_membership(g)
drop_membership(g) memberships()``, ``features feature_errors require(*names)``,
``rcvbuf sndbuf rcvbuf_forced drops()``, ``setsockopt getsockopt socket``,
``recvmmsg(*, block=True, n=None) sendmmsg(buffers, portid=0, groups=0)``.
"""

from __future__ import annotations

import _socket  # socket.socket's C base: the socket module's enum set-up costs start-up time
import errno as _errno
import os
import sys
from collections.abc import Sequence

from . import _sys
from . import netns as _netns
from ._sys.cmsg import decode_netlink_cmsgs
from ._sys.poll import wait_readable
from .codec import Message
from .codec.constants import (
    NETLINK_ADD_MEMBERSHIP,
    NETLINK_CAP_ACK,
    NETLINK_DROP_MEMBERSHIP,
    NETLINK_EXT_ACK,
    NETLINK_GET_STRICT_CHK,
    NETLINK_LIST_MEMBERSHIPS,
    NETLINK_NO_ENOBUFS,
    NETLINK_PKTINFO,
    SK_MEMINFO_DROPS,
    SK_MEMINFO_VARS,
    SO,
    SOL_NETLINK,
)
from .codec.structs import u32
from .codec.types import ReadableBuffer
from .conn import Chunk, Connection, DebugLog, debug_text
from .errors import EncodeError, NotSupportedError, TruncatedError

__all__ = [
    "NetlinkSocket",
    "SocketTransport",
    "net_core_rmem_max",
    "debug_log_from_env",
    "DEFAULT_BUFSIZE",
]

DEFAULT_BUFSIZE = 65536


def net_core_rmem_max() -> int | None:
    """``net.core.rmem_max``: the cap ``SO_RCVBUF`` (without FORCE) is clamped to."""
    try:
        with open("/proc/sys/net/core/rmem_max") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _debug_log(what: str, data: ReadableBuffer) -> None:
    sys.stderr.write(debug_text(what, data))
    sys.stderr.flush()


def debug_log_from_env() -> DebugLog | None:
    """The stderr debug hook when ``NETRING_DEBUG`` is set (and not ``0``), else ``None``.

    Read once per connection, when it is made (as :class:`NetlinkSocket` and
    :class:`netring.testing.FakeSocket` do).
    """
    if os.environ.get("NETRING_DEBUG", "") not in ("", "0"):
        return _debug_log
    return None


def _list_memberships_raw(sock: _socket.socket) -> bytes:
    size = 128
    while True:
        raw = sock.getsockopt(SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, size)
        if len(raw) < size:
            return raw
        size *= 4
        if size > 1 << 16:
            return raw


def socket_drops(sock: _socket.socket) -> int | None:
    """The kernel's drop counter of ``sock`` (``SO_MEMINFO`` ``sk_drops``), or ``None``."""
    try:
        raw = sock.getsockopt(_socket.SOL_SOCKET, SO.MEMINFO, 4 * SK_MEMINFO_VARS)
    except OSError:
        return None
    if len(raw) < 4 * (SK_MEMINFO_DROPS + 1):
        return None
    return int(u32.unpack_from(raw, 4 * SK_MEMINFO_DROPS)[0])


class SocketTransport:
    """The transport of an ``AF_NETLINK`` socket: one receive buffer, ``recvmsg_into``.

    Implements :class:`netring.conn.Transport` over a bound socket.

    Args:
        sock: the bound netlink socket.
        bufsize: size of the one receive buffer.
        pktinfo: ``NETLINK_PKTINFO`` is on (a group cmsg per multicast datagram).
        passcred: ``SO_PASSCRED`` is on (credentials cmsg per datagram).
    """

    __slots__ = ("sock", "portid", "_rbuf", "_rview", "_ancsize")

    def __init__(self, sock: _socket.socket, bufsize: int, *, pktinfo: bool = False,
                 passcred: bool = False) -> None:
        self.sock = sock
        self.portid = int(sock.getsockname()[0])
        self._rbuf = bytearray(bufsize)
        self._rview = memoryview(self._rbuf)
        self._ancsize = (
            (_socket.CMSG_SPACE(4) if pktinfo else 0) + (_socket.CMSG_SPACE(12) if passcred else 0)
        )

    @property
    def bufsize(self) -> int:
        """Bytes of the receive buffer."""
        return len(self._rbuf)

    def fileno(self) -> int:
        """The socket's descriptor."""
        return self.sock.fileno()

    def drops(self) -> int | None:
        """``SO_MEMINFO`` ``sk_drops`` of the socket."""
        return socket_drops(self.sock)

    def send(self, buffers: Sequence[ReadableBuffer], portid: int, groups: int) -> int:
        """One datagram, one iovec per buffer, to ``portid``/``groups``."""
        try:
            return self.sock.sendmsg(buffers, (), 0, (portid, groups))
        except ConnectionRefusedError:
            # netlink_sendmsg() broadcasts to the group first, then also unicasts to
            # port id 0; a protocol with no kernel socket (NETLINK_USERSOCK) refuses
            # that second part although the multicast was delivered.
            if groups and portid == 0:
                return sum(len(memoryview(b)) for b in buffers)
            raise

    def _wait(self, timeout: float | None) -> None:
        if not wait_readable(self.sock.fileno(), timeout):
            raise TimeoutError(f"netlink socket: nothing received within {timeout} s")

    def recv(self, block: bool, timeout: float | None) -> Chunk | None:
        """One datagram into the receive buffer (``MSG_TRUNC`` reports its real size)."""
        flags = _socket.MSG_TRUNC | (0 if (block and timeout is None) else _socket.MSG_DONTWAIT)
        while True:
            try:
                n, anc, mflags, addr = self.sock.recvmsg_into([self._rview], self._ancsize, flags)
            except BlockingIOError:
                if not block:
                    return None
                self._wait(timeout)
                continue
            break
        if mflags & _socket.MSG_TRUNC:
            size = len(self._rbuf)
            self._rbuf = bytearray(1 << (n - 1).bit_length())  # fits the next one
            self._rview = memoryview(self._rbuf)
            raise TruncatedError("netlink socket", n, size)
        sender, groups = (int(addr[0]), int(addr[1])) if addr else (0, 0)
        group, creds = decode_netlink_cmsgs(anc)
        if not group and groups:
            # without NETLINK_PKTINFO the group is only known for groups 1..32
            group = groups.bit_length()
        return Chunk(self._rview[:n], sender, group, creds)


class NetlinkSocket(Connection):
    """A netlink socket: bind, groups, options, request/ack, dumps, batches.

    A :class:`~netring.conn.Connection` over a :class:`SocketTransport`.

    Args:
        protocol: netlink protocol (``NETLINK.ROUTE``, ``NETLINK.USERSOCK``, ...).
        groups: legacy 32-bit multicast mask joined at bind (bit ``g-1`` = group ``g``).
        portid: explicit port id to bind (``None``/0: the kernel picks, "autobind").
        netns: namespace to open the socket in (name, ``/run/netns/NAME``,
            ``/proc/PID/ns/net`` or an open namespace fd); the calling thread never
            leaves its own namespace (see :mod:`netring.netns`).
        rcvbuf: receive buffer size requested with ``SO_RCVBUFFORCE`` (falls back to
            ``SO_RCVBUF``, capped by ``net.core.rmem_max``); the effective size the
            kernel applied (it doubles the request) is :attr:`rcvbuf`.
        sndbuf: send buffer size (``SO_SNDBUFFORCE``, falling back to ``SO_SNDBUF``).
        ext_ack: enable ``NETLINK_EXT_ACK`` (error text and offset in errors).
        cap_ack: enable ``NETLINK_CAP_ACK`` (errors echo only the request header).
        strict_check: enable ``NETLINK_GET_STRICT_CHK`` (strict dump request checks).
        pktinfo: enable ``NETLINK_PKTINFO``: ``Message.group`` on every message.
        passcred: enable ``SO_PASSCRED``: ``Message.creds`` = sender ``(pid, uid, gid)``.
        no_enobufs: set ``NETLINK_NO_ENOBUFS`` (drops are silent; no :class:`Overrun`).
        bufsize: size of the one receive buffer (>= 32 KiB recommended).
        batch: slots for :meth:`recvmmsg` (each ``batch_bufsize`` bytes), made on first use.
        batch_bufsize: bytes per :meth:`recvmmsg` slot.
        sock: an open ``AF_NETLINK`` socket of ``protocol`` to adopt instead of making
            one (for instance one made in another namespace and passed over a Unix
            socket); the options above are applied to it, it is bound unless it already
            is, and :meth:`close` closes it.  ``netns`` must then be ``None``.

    Attributes:
        protocol: the netlink protocol.
        portid: the port id the kernel assigned (or the one requested).
        features: which of ``ext_ack``, ``cap_ack``, ``strict_check`` (and the
            requested ``pktinfo``, ``passcred``, ``no_enobufs``) the kernel
            accepted: ``{"ext_ack": True, ...}``.  :meth:`require` turns a missing
            one into :class:`NotSupportedError`.
        feature_errors: for each refused option, the errno name (``"ENOPROTOOPT"``).
        rcvbuf_forced: ``SO_RCVBUFFORCE`` was accepted (else ``SO_RCVBUF`` was used).
        netns: the namespace given (resolved path or fd), ``None`` for the caller's.
        netns_id: ``(st_dev, st_ino)`` of the namespace the socket lives in.

    Not thread-safe: one socket per thread, or a lock around every call.
    """

    transport: SocketTransport

    def __init__(
        self,
        protocol: int,
        *,
        groups: int = 0,
        portid: int | None = None,
        netns: str | os.PathLike[str] | int | None = None,
        rcvbuf: int | None = None,
        sndbuf: int | None = None,
        ext_ack: bool = True,
        cap_ack: bool = True,
        strict_check: bool = False,
        pktinfo: bool = False,
        passcred: bool = False,
        no_enobufs: bool = False,
        bufsize: int = DEFAULT_BUFSIZE,
        batch: int = 64,
        batch_bufsize: int = 8192,
        sock: _socket.socket | None = None,
    ) -> None:
        self.protocol = int(protocol)
        self._closed = True
        self._batch: _sys.MMsgBatch | None = None
        if sock is None:
            args = (_socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, self.protocol)
            self._sock = (_socket.socket(*args) if netns is None
                          else _netns.run_in_netns(netns, _socket.socket, *args))
        else:
            if netns is not None:
                raise EncodeError("an adopted socket lives in its own namespace: netns must be None")
            self._sock = sock
        self._closed = False
        self.netns: str | int | None = (
            netns if netns is None or isinstance(netns, int) else _netns.netns_path(netns)
        )
        # the namespace's identity, from the socket itself where the kernel says
        self.netns_id = _netns.socket_netns(self._sock) or _netns.netns_id(self.netns)
        self.features: dict[str, bool] = {}
        self.feature_errors: dict[str, str] = {}
        self.rcvbuf_forced = False
        self._pktinfo = pktinfo
        self._passcred = passcred
        self._batch_n = batch
        self._batch_bufsize = batch_bufsize
        self._batch_bufs: list[bytearray] = []
        try:
            if rcvbuf is not None:
                self.rcvbuf_forced = self._set_size(SO.RCVBUFFORCE, _socket.SO_RCVBUF, rcvbuf)
            if sndbuf is not None:
                self._set_size(SO.SNDBUFFORCE, _socket.SO_SNDBUF, sndbuf)
            for name, want, opt in (
                ("ext_ack", ext_ack, NETLINK_EXT_ACK),
                ("cap_ack", cap_ack, NETLINK_CAP_ACK),
                ("strict_check", strict_check, NETLINK_GET_STRICT_CHK),
            ):
                if want:
                    self._try_opt(name, SOL_NETLINK, opt)
            for name, want, level, opt in (
                ("pktinfo", pktinfo, SOL_NETLINK, NETLINK_PKTINFO),
                ("passcred", passcred, _socket.SOL_SOCKET, SO.PASSCRED),
                ("no_enobufs", no_enobufs, SOL_NETLINK, NETLINK_NO_ENOBUFS),
            ):
                if want and not self._try_opt(name, level, opt):
                    raise NotSupportedError(
                        f"{name}: the kernel refused the socket option ({self.feature_errors[name]})"
                    )
            if sock is None or int(sock.getsockname()[0]) == 0:
                self._sock.bind((portid or 0, groups))  # an adopted socket may be bound
            transport = SocketTransport(self._sock, bufsize, pktinfo=pktinfo, passcred=passcred)
        except BaseException:
            self.close()
            raise
        super().__init__(transport, debug_log=debug_log_from_env())

    # -- options ----------------------------------------------------------------------------
    def _try_opt(self, name: str, level: int, opt: int, value: int = 1) -> bool:
        try:
            self._sock.setsockopt(level, opt, value)
        except OSError as exc:
            self.features[name] = False
            self.feature_errors[name] = _errno.errorcode.get(exc.errno or 0, str(exc.errno))
            return False
        self.features[name] = True
        return True

    def _set_size(self, force_opt: int, opt: int, size: int) -> bool:
        try:
            self._sock.setsockopt(_socket.SOL_SOCKET, force_opt, size)
            return True
        except PermissionError:
            self._sock.setsockopt(_socket.SOL_SOCKET, opt, size)
            return False

    def require(self, *names: str) -> None:
        """Raise :class:`NotSupportedError` unless every named feature was accepted."""
        for n in names:
            if not self.features.get(n):
                why = self.feature_errors.get(n, "not requested")
                raise NotSupportedError(f"netlink socket option {n} unavailable: {why}")

    @property
    def rcvbuf(self) -> int:
        """Effective receive buffer size (``getsockopt(SO_RCVBUF)``, kernel-doubled)."""
        return int(self._sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF))

    @rcvbuf.setter
    def rcvbuf(self, size: int) -> None:
        self.rcvbuf_forced = self._set_size(SO.RCVBUFFORCE, _socket.SO_RCVBUF, size)

    @property
    def sndbuf(self) -> int:
        """Effective send buffer size (``getsockopt(SO_SNDBUF)``)."""
        return int(self._sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_SNDBUF))

    @sndbuf.setter
    def sndbuf(self, size: int) -> None:
        self._set_size(SO.SNDBUFFORCE, _socket.SO_SNDBUF, size)

    def setsockopt(self, level: int, opt: int, value: int | bytes) -> None:
        """Raw ``setsockopt`` on the underlying socket."""
        self._sock.setsockopt(level, opt, value)

    def getsockopt(self, level: int, opt: int, buflen: int = 0) -> int | bytes:
        """Raw ``getsockopt`` on the underlying socket."""
        if buflen:
            return self._sock.getsockopt(level, opt, buflen)
        return self._sock.getsockopt(level, opt)

    # -- groups -----------------------------------------------------------------------------
    def add_membership(self, group: int) -> None:
        """Join multicast group ``group`` (any number, ``NETLINK_ADD_MEMBERSHIP``)."""
        self._sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)

    def drop_membership(self, group: int) -> None:
        """Leave multicast group ``group`` (``NETLINK_DROP_MEMBERSHIP``)."""
        self._sock.setsockopt(SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, group)

    def memberships(self) -> list[int]:
        """The groups this socket is in (``NETLINK_LIST_MEMBERSHIPS``), ascending."""
        raw = _list_memberships_raw(self._sock)
        out: list[int] = []
        for word_i in range(len(raw) // 4):
            word = int(u32.unpack_from(raw, word_i * 4)[0])
            bit = 0
            while word:
                if word & 1:
                    out.append(word_i * 32 + bit + 1)
                word >>= 1
                bit += 1
        return out

    # -- plumbing -----------------------------------------------------------------------------
    def setblocking(self, flag: bool) -> None:
        """Blocking (default) or non-blocking mode.

        In non-blocking mode :meth:`recv`/:meth:`messages` with ``block=False`` return
        what is queued; :meth:`request`/:meth:`dump` still wait (with ``poll``) up to
        their ``timeout``.
        """
        self._sock.setblocking(flag)

    def getblocking(self) -> bool:
        """True when the socket is in blocking mode."""
        return self._sock.getblocking()

    @property
    def socket(self) -> _socket.socket:
        """The underlying socket (advanced use).

        A ``_socket.socket``, the C type :class:`socket.socket` derives from (every
        method but ``makefile``, ``sendfile``, ``dup`` and ``with``), unless a
        :class:`socket.socket` was handed in as ``sock=``.
        """
        return self._sock

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self._batch is not None:
            self._batch.close()
            self._batch = None
        if not self._closed:
            self._closed = True
            self._sock.close()

    def __enter__(self) -> NetlinkSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def netns_deleted(self) -> bool:
        """True when the namespace path the socket was opened with no longer names
        the socket's namespace (``ip netns del``, or deleted and made again).  The
        socket itself keeps working in its namespace, which lives on while the
        socket holds it."""
        if not isinstance(self.netns, str) or self.netns_id is None:
            return False
        return _netns.netns_id(self.netns) != self.netns_id

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"portid={self.portid}"
        where = ""
        if self.netns is not None:
            where = f" netns={self.netns if isinstance(self.netns, str) else f'fd {self.netns}'}"
            if self.netns_deleted:
                where += " (deleted)"
        return f"<NetlinkSocket protocol={self.protocol} {state}{where}>"

    # -- batched I/O ---------------------------------------------------------------------------
    def recvmmsg(self, *, block: bool = True, n: int | None = None) -> list[Message]:
        """Receive up to ``n`` datagrams with one ``recvmmsg`` into preallocated slots.

        Returns the messages of every datagram received (views into the slots,
        valid until the next :meth:`recvmmsg`), with ``group``/``creds`` set when
        ``pktinfo``/``passcred`` are on.  ``[]`` when ``block`` is false and nothing
        is queued.

        Raises:
            Overrun: ENOBUFS (counted in :attr:`overruns`).
            TruncatedError: a datagram was larger than ``batch_bufsize``.
        """
        if self._batch is None:
            self._batch_bufs = [bytearray(self._batch_bufsize) for _ in range(self._batch_n)]
            self._batch = _sys.MMsgBatch(self._batch_bufs, name=True, control=64)
        b = self._batch
        flags = _sys.MSG_WAITFORONE | (0 if block else _sys.MSG_DONTWAIT)
        try:
            got = b.recv(self._sock.fileno(), flags, n)
        except OSError as exc:
            if exc.errno == _errno.ENOBUFS:
                raise self.overrun() from None
            raise
        from ._sys.nladdr import nl_address  # ctypes, loaded with the batch

        out: list[Message] = []
        for i in range(got):
            if b.truncated(i):
                raise TruncatedError(f"recvmmsg slot {i}", None, self._batch_bufsize)
            view = b.view(i)
            sender, groups = nl_address(b, i)
            if self.debug_log is not None:
                self.debug_log(f"recvmmsg[{i}] from portid {sender}", view)
            group, creds = decode_netlink_cmsgs(b.cmsgs(i))
            if not (self._pktinfo and group):
                group = groups.bit_length()
            if not self._passcred:
                creds = None
            out.extend(self.chunk_messages(Chunk(view, sender, group, creds)))
        return out

    def sendmmsg(
        self, buffers: Sequence[ReadableBuffer], portid: int = 0, groups: int = 0
    ) -> int:
        """Send each buffer as its own datagram with one ``sendmmsg``; returns datagrams sent."""
        log = self.debug_log
        if log is not None:
            for buf in buffers:
                log(f"sendmmsg to portid {portid}", buf)
        return _sys.sendmmsg(self._sock.fileno(), buffers, portid, groups)
