"""Rings in shared memory: one memfd, laid out as the 4.5 kernel mapped its rings.

OS edge module (``os``, ``mmap``, ``socket``).  The memfd holds the RX ring at
offset 0 and the TX ring right after it, byte for byte what ``netlink_mmap``
mapped, so a program written against the 4.5 documentation maps a netring ring
unchanged (``mmap(NULL, rx.size + tx.size, ..., fd, 0)``).  netring's own control
page comes after the TX ring, where a 4.5 program never looks::

    memfd (size = rx.size + tx.size + page; F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL)
    offset 0            rx.size             rx.size + tx.size
    +-------------------+-------------------+------------------------------------+
    | RX ring           | TX ring           | control page                       |
    | block 0 | ...     | block 0 | ...     | magic "NETRING\\x02" version page   |
    |                   |                   | rx nl_mmap_req tx nl_mmap_req pad   |
    |                   |                   | u64 words (HeaderWord): positions,  |
    |                   |                   | counters, producer identity         |
    +-------------------+-------------------+------------------------------------+
                                              ^ one byte here: the producer lock

Attaching reads the control page at ``file size - page``, re-validates every
geometry (and bounds it, :class:`~netring.nlmmap.geometry.RingLimits`), and
checks the file size against it, so a process cannot attach with a different
idea of the layout.

Descriptors that travel with the memfd (all in :meth:`SharedRing.fds`, in this
order): the memfd, an eventfd the producer writes after publishing frames (data
ready), an eventfd the consumer writes when the producer waits for room, and the
consumer end of a unix stream socket carrying the bytes of COPY frames (the
"socket queue" a COPY frame points at; ``nm_len`` says how many bytes to take).

What is checked when descriptors arrive (:meth:`SharedRing.receive`):

    sender              SO_PEERCRED (and SCM_CREDENTIALS when sent) against ``allow``
                        (default: our own uid, or root)
    memfd               sealed F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL (nobody can
                        truncate it under our mapping: no SIGBUS), size == header's
    geometry            kernel rules, then RingLimits (frames, bytes) before any
                        allocation
    eventfds            really eventfds; made non-blocking
    COPY stream         really an AF_UNIX stream socket; made non-blocking
"""

from __future__ import annotations

import os
import socket
import struct
import weakref
from collections.abc import Callable, Collection

from ..._sys import eventfd
from ..._sys.libc import set_dumpable
from ..._sys.locks import held_by_other, private_description, try_lock, unlock
from ..._sys.mapping import PAGE_SIZE, REQUIRED_SEALS, map_shared, sealed_memfd, seals
from ...codec.constants import SO
from ...codec.structs import ucred
from ...codec.types import TYPE_CHECKING
from ...errors import RingError
from ..abi import nl_mmap_req
from ..geometry import MappingLayout, RingGeometry, RingLimits

if TYPE_CHECKING:
    from typing import Any

__all__ = ["SharedRing", "HEADER", "PAGE_SIZE", "COPY_TIMEOUT", "HeaderWord", "PRODUCER_KINDS",
           "Allow", "peer_credentials"]

COPY_TIMEOUT = 30.0  # seconds the producer's end of the COPY stream waits for the consumer
MAGIC = b"NETRING\x02"
VERSION = 2
RING_MESSAGE = b"netring-ring"  # the datagram SCM_RIGHTS rides on

# magic[8] version u32, page_size u32, rx nl_mmap_req, tx nl_mmap_req, pad to 64
HEADER = struct.Struct(f"=8sII{nl_mmap_req.size}s{nl_mmap_req.size}s16x")
assert HEADER.size == 64


class HeaderWord:
    """Indices of the u64 words of the control page (``q[HeaderWord.RX_PROD]``):
    the positions and counters that follow the 64-byte :data:`HEADER`."""

    BASE = 8  # first counter word (64 bytes / 8)
    RX_PROD = 8  # producer's published position (RxProducer.position)
    RX_CONS = 9  # consumer's committed position
    MESSAGES = 10  # messages published (VALID + COPY)
    COPIES = 11  # COPY frames published
    RING_FULL = 12  # times the producer found no free frame and paused
    ENOBUFS = 13  # ENOBUFS (kernel overrun) seen on the socket
    TRUNCATED = 14  # messages larger than frame + spill (delivered as empty frames)
    PAUSED = 15  # 1 while the producer waits for room (consumer then writes space_efd)
    BYTES = 16  # message bytes published
    FILLS = 17  # recvmmsg calls that returned messages
    ATTACHES = 18  # consumers that attached
    PRODUCER = 19  # pid of the process holding the producer role (0: none); information only
    PRODUCER_KIND = 20  # what holds it: PRODUCER_KINDS
    WAITING = 21  # 1 while a consumer sleeps for data (a RingWriter then wakes it)
    WAKEUPS = 22  # data eventfd writes a RingWriter made because WAITING was set
    PRODUCER_DEATHS = 23  # producers found dead holding a RESERVED frame (dropped by a consumer)
    CLAIMS = 24  # producer claims so far (0: no netring producer ever ran this ring)
    NAMES = {
        "messages": MESSAGES, "copies": COPIES, "ring_full": RING_FULL, "enobufs": ENOBUFS,
        "truncated": TRUNCATED, "bytes": BYTES, "fills": FILLS, "attaches": ATTACHES,
        "wakeups": WAKEUPS, "producer_deaths": PRODUCER_DEATHS, "claims": CLAIMS,
    }


#: ``q[HeaderWord.PRODUCER_KIND]`` values: who fills the ring.
PRODUCER_KINDS = {1: "socket filler (RingFiller)", 2: "direct writer (RingWriter)"}

_NOREQ = bytes(nl_mmap_req.size)  # an all-zero nl_mmap_req: "no ring"

#: who may hand us a ring: uids, or a function of the sender's ``(pid, uid, gid)``
Allow = Callable[[int, int, int], bool] | Collection[int]

# rings holding a producer lock in this process: a forked child drops its copies
# (the lock must go with the producer, not live on in a child that never writes)
_LOCK_HOLDERS: weakref.WeakSet[SharedRing] = weakref.WeakSet()


def _drop_locks_in_child() -> None:
    for ring in list(_LOCK_HOLDERS):
        ring._forget_lock()


os.register_at_fork(after_in_child=_drop_locks_in_child)


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """``(pid, uid, gid)`` of the process at the other end of a unix socket
    (``SO_PEERCRED``: the credentials it had when it connected, or when the
    socket pair was made), as the kernel recorded them."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, ucred.size)
    pid, uid, gid = ucred.unpack(raw)
    return int(pid), int(uid), int(gid)


def _allowed(allow: Allow | None, pid: int, uid: int, gid: int) -> bool:
    if allow is None:
        return uid in (os.geteuid(), 0)
    if callable(allow):
        return bool(allow(pid, uid, gid))
    return uid in allow


def _fd_kind(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError as exc:
        raise RingError(f"descriptor {fd} cannot be inspected: {exc.strerror}") from None


def _check_eventfd(fd: int, what: str) -> None:
    kind = _fd_kind(fd)
    if kind != "anon_inode:[eventfd]":
        raise RingError(f"the {what} descriptor is {kind}, not an eventfd")
    os.set_blocking(fd, False)  # a blocking one would hang a drain (and the caller's timeout)


def _check_stream(fd: int) -> None:
    s = socket.socket(fileno=os.dup(fd))
    try:
        if s.family != socket.AF_UNIX or s.type != socket.SOCK_STREAM:
            raise RingError(f"the COPY stream descriptor is {s.family!r}/{s.type!r}, "
                            f"not an AF_UNIX stream socket")
        s.setblocking(False)  # shared with fd: the consumer reads it without blocking
    finally:
        s.close()


class SharedRing:
    """A memfd holding an RX and/or TX ring plus the descriptors that go with it.

    Create with :meth:`create`; share with :meth:`fds` + :meth:`from_fds`, or
    :meth:`send` / :meth:`receive` over a unix socket.

    Attributes:
        layout: the rings' :class:`MappingLayout`.
        mm: the shared mapping (rings + control page).
        rx_base, tx_base: offsets of the RX and TX rings in ``mm`` (0 and
            ``rx.size``, as 4.5 mapped them).
        ctrl_base: offset of the control page (after the TX ring).
        q: the control page as a memoryview of u64 (:class:`HeaderWord` indices).
    """

    def __init__(self, fds: list[int], layout: MappingLayout, mm: Any) -> None:
        self._fds = fds
        self.layout = layout
        self.mm = mm
        self.rx_base = layout.rx_offset
        self.tx_base = layout.tx_offset
        self.ctrl_base = layout.size
        self.q = memoryview(mm)[self.ctrl_base : self.ctrl_base + PAGE_SIZE].cast("Q")
        self._copy_sock: socket.socket | None = None
        self._closed = False
        self._lock_fd: int | None = None

    # -- creation / sharing ---------------------------------------------------------
    @classmethod
    def create(cls, rx: RingGeometry | None, tx: RingGeometry | None = None,
               name: str = "netring", copy_buffer: int = 4 << 20, *,
               nondumpable: bool = False) -> SharedRing:
        """A new ring file: control page written, every frame UNUSED.

        Args:
            rx, tx: the ring geometries (page size must be this machine's).
            name: memfd name (shows in ``/proc/PID/fd``).
            copy_buffer: send buffer of the COPY byte stream.
            nondumpable: make this process non-dumpable first
                (``prctl(PR_SET_DUMPABLE, 0)``, process-wide), so that other
                processes of the same uid cannot open the memfd through
                ``/proc/PID/fd`` (docs/rings.md, threat model).
        """
        layout = MappingLayout(rx, tx)
        for g in (rx, tx):
            if g is not None and g.page_size != PAGE_SIZE:
                raise RingError(f"geometry page size {g.page_size} != this machine's {PAGE_SIZE}")
        if nondumpable:
            set_dumpable(False)
        size = layout.size + PAGE_SIZE
        fd = sealed_memfd(name, size)
        fds = [fd]
        try:
            mm = map_shared(fd, size)
            HEADER.pack_into(mm, layout.size, MAGIC, VERSION, PAGE_SIZE,
                             rx.pack() if rx else _NOREQ, tx.pack() if tx else _NOREQ)
            fds.append(eventfd.create())  # data ready
            fds.append(eventfd.create())  # room again
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            for s in (a, b):
                try:
                    s.setsockopt(socket.SOL_SOCKET, SO.SNDBUFFORCE, copy_buffer)
                    s.setsockopt(socket.SOL_SOCKET, SO.RCVBUFFORCE, copy_buffer)
                except OSError:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, copy_buffer)
            b.setblocking(False)  # the consumer end: read without blocking (timeouts hold)
            fds.append(b.detach())  # consumer end: travels with the ring
            a.settimeout(COPY_TIMEOUT)  # a dead consumer must not block the producer forever
            ring = cls(fds, layout, mm)
            ring._copy_sock = a  # producer end: stays with the creator
            return ring
        except BaseException:
            for f in fds:
                os.close(f)
            raise

    @classmethod
    def from_fds(cls, fds: list[int], expect: MappingLayout | None = None, *,
                 limits: RingLimits | None = None, nondumpable: bool = False) -> SharedRing:
        """Attach to a ring file from its descriptors (ownership of ``fds`` moves
        here once this returns; on an error the caller still owns them).

        Args:
            fds: the four descriptors of :meth:`fds`.
            expect: the layout the caller expects (else any valid one).
            limits: bounds on the geometry (default :class:`RingLimits`).
            nondumpable: make this process non-dumpable (see :meth:`create`).

        Raises:
            RingError: a memfd without the seals, bad magic/version/page size, an
                invalid or too large geometry, a file size that does not match, not
                the ``expect``-ed layout, or descriptors of the wrong kind.
        """
        if len(fds) != 4:
            raise RingError(f"a shared ring travels as 4 descriptors, got {len(fds)}")
        lim = limits or RingLimits()
        fd = fds[0]
        have = seals(fd)
        if have is None:
            raise RingError("the ring file is not a memfd (it cannot carry seals)")
        if have & REQUIRED_SEALS != REQUIRED_SEALS:
            raise RingError(f"the ring memfd is not sealed against resizing (seals {have:#x}, "
                            f"need {REQUIRED_SEALS:#x}: F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL)")
        st = os.fstat(fd)
        if st.st_size < PAGE_SIZE or st.st_size % PAGE_SIZE:
            raise RingError(f"ring file of {st.st_size} bytes has no control page")
        ctrl = st.st_size - PAGE_SIZE
        magic, version, page, rxr, txr = HEADER.unpack(os.pread(fd, HEADER.size, ctrl))
        if magic != MAGIC or version != VERSION:
            raise RingError(f"not a netring ring file (magic {magic!r}, version {version})")
        if page != PAGE_SIZE:
            raise RingError(f"ring made for page size {page}, this machine has {PAGE_SIZE}")
        for which, raw in (("RX", rxr), ("TX", txr)):
            if raw != _NOREQ:
                lim.check(which, *nl_mmap_req.unpack(raw))
        rx = RingGeometry.unpack(rxr, page) if rxr != _NOREQ else None
        tx = RingGeometry.unpack(txr, page) if txr != _NOREQ else None
        layout = MappingLayout(rx, tx)
        if expect is not None and expect != layout:
            raise RingError(f"ring layout {layout} is not the expected {expect}")
        if st.st_size != layout.size + PAGE_SIZE:
            raise RingError(f"ring file is {st.st_size} bytes, control page says "
                            f"{layout.size + PAGE_SIZE}")
        _check_eventfd(fds[1], "data")
        _check_eventfd(fds[2], "room")
        _check_stream(fds[3])
        if nondumpable:
            set_dumpable(False)
        mm = map_shared(fd, st.st_size)
        ring = cls(list(fds), layout, mm)
        ring.q[HeaderWord.ATTACHES] += 1
        return ring

    def fds(self) -> list[int]:
        """The descriptors to hand to another process (it must call :meth:`from_fds`)."""
        return list(self._fds)

    def send(self, sock: socket.socket) -> None:
        """Pass this ring to the process at the other end of a unix socket.

        ``SO_PASSCRED`` is set on ``sock`` so the kernel attaches this process's
        credentials to the message (the receiver checks them)."""
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        socket.send_fds(sock, [RING_MESSAGE], self._fds)

    @classmethod
    def receive(cls, sock: socket.socket, expect: MappingLayout | None = None, *,
                allow: Allow | None = None, limits: RingLimits | None = None,
                nondumpable: bool = False) -> SharedRing:
        """Receive a ring sent with :meth:`send` and attach to it.

        Args:
            sock: a connected unix socket.
            expect: the layout expected (see :meth:`from_fds`).
            allow: who may send a ring: a collection of uids, or a function of
                the sender's ``(pid, uid, gid)``.  Default: this process's
                effective uid, or root.  Checked against ``SO_PEERCRED`` (the
                sender's credentials when it connected, or when the socket pair
                was made) and, when the message carries them, ``SCM_CREDENTIALS``
                (when it sent: the kernel attaches them when either end had
                ``SO_PASSCRED`` set at that moment, as :meth:`send` does).
            limits, nondumpable: see :meth:`from_fds`.

        ``SO_PASSCRED`` is set on ``sock`` (so later messages carry the sender's
        credentials).

        Raises:
            RingError: a sender not allowed, an unexpected message, or any check
                of :meth:`from_fds`; every descriptor received is closed then.
        """
        pid, uid, gid = peer_credentials(sock)
        if not _allowed(allow, pid, uid, gid):
            raise RingError(f"ring offered by pid {pid} uid {uid} gid {gid}: sender not allowed")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        cmsg_space = socket.CMSG_SPACE(4 * 8) + socket.CMSG_SPACE(ucred.size)
        msg, anc, _flags, _addr = sock.recvmsg(64, cmsg_space)
        fds: list[int] = []
        creds: tuple[int, int, int] | None = None
        for level, ctype, data in anc:
            if level == socket.SOL_SOCKET and ctype == socket.SCM_RIGHTS:
                usable = len(data) - len(data) % 4
                fds.extend(struct.unpack(f"={usable // 4}i", data[:usable]))
            elif level == socket.SOL_SOCKET and ctype == socket.SCM_CREDENTIALS:
                c = ucred.unpack_from(data)
                if c[0]:  # pid 0: none were attached when it was sent (overflow ids)
                    creds = (int(c[0]), int(c[1]), int(c[2]))
        try:
            if msg != RING_MESSAGE:
                raise RingError(f"unexpected message {msg!r} instead of a ring")
            if creds is not None and not _allowed(allow, *creds):
                raise RingError(f"ring sent by pid {creds[0]} uid {creds[1]} gid {creds[2]}: "
                                f"sender not allowed")
            return cls.from_fds(fds, expect, limits=limits, nondumpable=nondumpable)
        except BaseException:
            for f in fds:
                os.close(f)
            raise

    # -- descriptors ------------------------------------------------------------------
    @property
    def memfd(self) -> int:
        """The ring file (map ``layout.size`` bytes at offset 0: the 4.5 layout)."""
        return self._fds[0]

    @property
    def data_efd(self) -> int:
        """eventfd the producer writes after publishing frames."""
        return self._fds[1]

    @property
    def space_efd(self) -> int:
        """eventfd the consumer writes when the producer waits for room."""
        return self._fds[2]

    @property
    def copy_fd(self) -> int:
        """Consumer end of the COPY byte stream."""
        return self._fds[3]

    @property
    def copy_sock(self) -> socket.socket | None:
        """Producer end of the COPY byte stream (only in the creating process)."""
        return self._copy_sock

    # -- the one producer -------------------------------------------------------------
    def claim_producer(self, kind: int) -> None:
        """Register this process as the ring's one producer (``kind``: a
        :data:`PRODUCER_KINDS` key), or refuse.

        A ring has exactly one producer: two would race for the same frames.  The
        claim is an open file description lock (:mod:`netring._sys.locks`) on the
        control page's first byte, taken through a description of the memfd only
        this claim holds: atomic between processes and within one, and dropped by
        the kernel when the producer dies.  No pid is trusted: the pid and kind in
        the control page only name the holder in errors and statistics.

        Raises:
            RingError: another live producer holds the ring.
        """
        if self._lock_fd is not None:
            raise RingError(f"ring already has a producer: {self._holder()}")
        lfd = self._try_lock()
        if lfd is None:
            raise RingError(f"ring already has a producer: {self._holder()}")
        q = self.q
        q[HeaderWord.PRODUCER_KIND] = kind
        q[HeaderWord.PRODUCER] = os.getpid()
        q[HeaderWord.CLAIMS] += 1
        self._lock_fd = lfd
        _LOCK_HOLDERS.add(self)

    def _try_lock(self) -> int | None:
        lfd = private_description(self._fds[0])
        if try_lock(lfd, self.ctrl_base):
            return lfd
        os.close(lfd)
        return None

    def release_producer(self) -> None:
        """Give up the producer role taken with :meth:`claim_producer` (no-op otherwise)."""
        lfd = self._lock_fd
        if lfd is None or self._closed:
            return
        self._lock_fd = None
        _LOCK_HOLDERS.discard(self)
        if int(self.q[HeaderWord.PRODUCER]) == os.getpid():
            self.q[HeaderWord.PRODUCER] = 0
            self.q[HeaderWord.PRODUCER_KIND] = 0
        unlock(lfd, self.ctrl_base)
        os.close(lfd)

    def _forget_lock(self) -> None:
        """In a forked child: drop the inherited lock description (the parent keeps the role)."""
        lfd, self._lock_fd = self._lock_fd, None
        if lfd is not None:
            os.close(lfd)

    @property
    def is_producer(self) -> bool:
        """True while this object holds the producer role."""
        return self._lock_fd is not None

    def producer_alive(self) -> bool:
        """True while some producer holds the role (a lock query: one syscall)."""
        return held_by_other(self._fds[0], self.ctrl_base)

    def take_over(self, fn: Callable[[], Any]) -> bool:
        """Run ``fn`` holding the producer role if no producer holds it (a consumer
        cleaning up after a dead producer); False, without calling ``fn``, when one does."""
        lfd = self._try_lock()
        if lfd is None:
            return False
        try:
            fn()
        finally:
            unlock(lfd, self.ctrl_base)
            os.close(lfd)
        return True

    def _holder(self) -> str:
        pid, kind = int(self.q[HeaderWord.PRODUCER]), int(self.q[HeaderWord.PRODUCER_KIND])
        return f"{PRODUCER_KINDS.get(kind, 'unknown producer')} in pid {pid}"

    def stats(self) -> dict[str, Any]:
        """The shared counters (see :class:`HeaderWord`) and the producer's identity:
        ``producer_pid``/``producer_kind`` as the producer wrote them,
        ``producer_alive`` from the lock (``None`` when no netring producer ever
        claimed the ring, e.g. a 4.5 peer fills it)."""
        q = self.q
        out: dict[str, Any] = {k: int(q[i]) for k, i in HeaderWord.NAMES.items()}
        out["producer_position"] = int(q[HeaderWord.RX_PROD])
        out["consumer_position"] = int(q[HeaderWord.RX_CONS])
        kind = int(q[HeaderWord.PRODUCER_KIND])
        out["producer_pid"] = int(q[HeaderWord.PRODUCER])
        out["producer_kind"] = PRODUCER_KINDS.get(kind, "none" if kind == 0 else f"kind {kind}")
        out["producer_alive"] = self.producer_alive() if q[HeaderWord.CLAIMS] else None
        return out

    # -- lifetime ----------------------------------------------------------------------
    def close(self, *views: Any) -> None:
        """Unmap and close every descriptor; ``views`` are released first."""
        if self._closed:
            return
        self.release_producer()
        self._closed = True
        for v in views:
            if isinstance(v, memoryview):
                v.release()
        self.q.release()
        try:
            self.mm.close()
        except BufferError:
            pass  # a view is still exported somewhere; the mapping goes with the process
        for f in self._fds:
            try:
                os.close(f)
            except OSError:
                pass  # closed by its owner already
        if self._copy_sock is not None:
            self._copy_sock.close()

    def __enter__(self) -> SharedRing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SharedRing memfd={self._fds[0]} {self.layout}>"
