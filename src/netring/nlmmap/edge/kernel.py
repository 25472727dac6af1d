"""The kernel's own netlink rings (``CONFIG_NETLINK_MMAP``, Linux 3.10 - 4.5).

OS edge module.  Set up exactly as ``Documentation/networking/netlink_mmap.txt``
says, and run the documented consumer protocol through the pure cursors::

    setsockopt(fd, SOL_NETLINK, NETLINK_RX_RING, nl_mmap_req)    # then TX_RING
    mm = mmap(NULL, rx.size + tx.size, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)
    RX:  VALID -> process nm_len bytes, UNUSED   (nm_len 0: release at once)
         COPY  -> recv(fd, buf >= nm_len, MSG_DONTWAIT) exactly once, UNUSED
         RESERVED / UNUSED -> poll(fd)                    (never skip RESERVED)
         SKIP  -> kept by us; stepped over once the kernel has passed it
    TX:  build in frame, nm_len, VALID;  sendto(fd, NULL, 0, 0, &addr)  (one call)

Kernels since 4.6 answer ``setsockopt(NETLINK_RX_RING)`` with ENOPROTOOPT: then
:func:`probe` says so and :func:`netring.nlmmap.open_ring` uses the user-space
engine.  On this project's test machines only the probe can run; the set-up and
consumer code below follow the 4.5 sources (see docs/rings.md) and are untested
against a live kernel ring.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import mmap
import os
import socket

from ..._sys.libc import sendto_raw
from ..._sys.mapping import PAGE_SIZE
from ..._sys.nladdr import sockaddr_nl_bytes
from ..._sys.poll import POLLERR, POLLIN, Readable
from ...codec.constants import NETLINK, NETLINK_RX_RING, NETLINK_TX_RING, NLMSG, SOL_NETLINK
from ...codec.structs import nlmsghdr
from ...codec.types import TYPE_CHECKING
from ...errors import NotSupportedError, RingError
from ..abi import nl_mmap_req
from ..base import FlushResult, RingBase
from ..cursor import Frame, RxConsumer, TxProducer, TxSender
from ..geometry import MappingLayout, RingGeometry

if TYPE_CHECKING:
    from typing import Any

__all__ = ["probe", "KernelRing"]

# an all-zero nl_mmap_req: the kernel's "destroy the ring" request
_ZERO_REQ = nl_mmap_req.pack(0, 0, 0, 0)
# nlmsghdr{len 16, NLMSG_NOOP, flags 0, seq 0, pid 0}: skipped by every kernel receiver
_NOOP = nlmsghdr.pack(nlmsghdr.size, NLMSG.NOOP, 0, 0, 0)


def _setring(s: socket.socket, opt: int, req: bytes) -> None:
    s.setsockopt(SOL_NETLINK, opt, req)


def probe(protocol: int = NETLINK.USERSOCK) -> dict[str, Any]:
    """Ask the running kernel whether it still has netlink rings.

    Opens a fresh netlink socket, tries a one-page ``NETLINK_RX_RING`` and
    ``NETLINK_TX_RING`` request and, where accepted, tears them down again.

    Returns:
        ``{"rx": bool, "tx": bool, "error": "ENOPROTOOPT (...)" | None}``
    """
    g = RingGeometry(PAGE_SIZE, 1, PAGE_SIZE, 1, PAGE_SIZE).pack()
    out: dict[str, Any] = {"rx": False, "tx": False, "error": None}
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, protocol)
    except OSError as exc:
        out["error"] = f"{_errno.errorcode.get(exc.errno or 0, exc.errno)} (netlink socket: {exc.strerror})"
        return out
    with s:
        for key, opt in (("rx", NETLINK_RX_RING), ("tx", NETLINK_TX_RING)):
            try:
                _setring(s, opt, g)
            except OSError as exc:
                name = _errno.errorcode.get(exc.errno or 0, str(exc.errno))
                if out["error"] is None:
                    out["error"] = f"{name} ({os.strerror(exc.errno or 0)})"
                continue
            out[key] = True
            try:
                _setring(s, opt, _ZERO_REQ)
            except OSError:
                pass
    return out


class KernelRing(RingBase):
    """The kernel's RX/TX rings on a netlink socket, read through the common API.

    Raises:
        NotSupportedError: the kernel refused ``NETLINK_RX_RING`` (e.g. ENOPROTOOPT
            on Linux >= 4.6, EPERM without CAP_NET_ADMIN).
    """

    backend = "kernel"

    def __init__(self, sock: Any, rx: RingGeometry | None, tx: RingGeometry | None) -> None:
        self.sock = sock if isinstance(sock, socket.socket) else socket.socket(
            fileno=os.dup(int(sock.fileno())))
        self._own = self.sock is not sock
        layout = MappingLayout(rx, tx)
        s = self.sock
        for opt, g in ((NETLINK_RX_RING, rx), (NETLINK_TX_RING, tx)):
            if g is None:
                continue
            try:
                _setring(s, opt, g.pack())
            except OSError as exc:
                name = _errno.errorcode.get(exc.errno or 0, str(exc.errno))
                which = "NETLINK_RX_RING" if opt == NETLINK_RX_RING else "NETLINK_TX_RING"
                if opt == NETLINK_TX_RING and rx is not None:
                    _setring(s, NETLINK_RX_RING, _ZERO_REQ)
                raise NotSupportedError(f"kernel refused {which}: {name}") from None
        self.layout = layout
        self.mm = mmap.mmap(s.fileno(), layout.size, mmap.MAP_SHARED,
                            mmap.PROT_READ | mmap.PROT_WRITE)
        self.reason = "kernel accepted NETLINK_RX_RING (CONFIG_NETLINK_MMAP)"
        if rx is not None:
            # producer_position=None: the kernel publishes no position, so SKIP
            # frames are stepped over only once a later frame shows it has passed
            self.rx = RxConsumer(self.mm, rx, 0, fetch=self._fetch)
        if tx is not None:
            self.tx = TxProducer(self.mm, tx, layout.tx_offset)
            self._sender = TxSender(self.mm, tx, layout.tx_offset, check_messages=False)
        self._readable = Readable(s.fileno(), events=POLLIN | POLLERR)
        self._buf = bytearray(65536)
        self.overruns = 0

    def _fetch(self, frame: Frame) -> bytes | None:
        """COPY frame: exactly one recv of the queued message (buffer >= nm_len;
        ``nm_len`` was checked against ``max_message`` first).  ``None`` when the
        queue is empty yet (the frame waits; poll() says when)."""
        if len(self._buf) < frame.len:
            self._buf = bytearray(frame.len)
        try:
            n = self.sock.recv_into(self._buf, len(self._buf), socket.MSG_DONTWAIT)
        except BlockingIOError:
            return None
        return bytes(self._buf[:n])

    def _overruns(self) -> int:
        return self.overruns

    def _wait(self, timeout: float | None) -> bool:
        ev = self._readable.events(timeout)  # poll() also continues a running dump (netlink_poll)
        for _fd, mask in ev:
            if mask & POLLERR:
                err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err == _errno.ENOBUFS:
                    self.overruns += 1
                elif err:
                    raise OSError(err, os.strerror(err))
        return bool(ev)

    def flush(self, portid: int = 0, groups: int = 0) -> FlushResult:
        """``sendto(fd, NULL, 0, 0, addr)``: the kernel walks the VALID TX frames itself.

        4.5 stops at a frame whose ``nm_len`` exceeds the data area (EINVAL, frame
        left VALID): such frames are checked here first, reported and released,
        so the kernel sees only good ones.
        """
        if self.tx is None:
            raise RingError("no TX ring")
        good, bad, walked = self._sender.pending()
        ring = self._sender.ring
        for b in bad:  # neutralise bad frames: the kernel's walk must not stop on them
            d = ring.data[b.index]
            ring.buf[d : d + 16] = _NOOP
            ring.words[ring.hdr[b.index] + 1] = 16
        name = sockaddr_nl_bytes(portid, groups)
        addr = ctypes.create_string_buffer(name, len(name))
        n = int(sendto_raw(self.sock.fileno(), None, 0, 0, ctypes.addressof(addr), len(name)))
        e = ctypes.get_errno() if n < 0 else 0
        # follow the kernel's TX head: it set every frame it consumed UNUSED, in order
        # (after an error the count of consumed frames is not reported; the statuses say it)
        done = 0
        while done < walked and ring.words[ring.hdr[(self._sender.position + done) % ring.n]] == 0:
            done += 1
        self._sender.position += done
        if n < 0:
            raise OSError(e, f"sendto(NULL) on TX ring after {done} frames: {os.strerror(e)}")
        return FlushResult(done - len(bad), n, 1, list(bad))

    def close(self) -> None:
        """Unmap the rings (the socket stays open unless it was dup'ed here)."""
        for cur in (self.rx, self.tx):
            if cur is not None:
                cur.ring.words.release()
                cur.ring.buf.release()
        self.mm.close()
        if self._own:
            self.sock.close()

    def __repr__(self) -> str:
        return f"<KernelRing backend=kernel {self.layout} reason={self.reason!r}>"
