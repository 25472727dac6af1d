"""Rings in shared memory: one memfd, the kernel's layout after a one-page header.

OS edge module (``os``, ``mmap``, ``fcntl``, ``socket``).  The memfd is created
mode 0600, sealed against resizing, and can be shared with other processes by
``fork`` or by passing its descriptors over a unix socket (``SCM_RIGHTS``)::

    memfd (size = page + rx.size + tx.size, F_SEAL_SHRINK|F_SEAL_GROW)
    +-------------------- page 0: header ----------------------+--------+--------+
    | magic "NETRING\\x01" | version | page_size | rx nl_mmap_req |  RX    |  TX    |
    | tx nl_mmap_req | pad | u64 counters (positions, stats)     |  ring  |  ring  |
    +----------------------------------------------------------+--------+--------+
    offset 0                                                    page     page+rx.size

The rings after the header are byte for byte what the kernel mapped (RX, then
TX; block-aware frames; ``nl_mmap_hdr`` per frame).  On attach the header is
read back, every geometry re-validated, and the file size checked against it,
so a process cannot attach with a different idea of the layout.

Descriptors that travel with the memfd (all in :meth:`SharedRing.fds`, in this
order): the memfd, an eventfd the producer writes after publishing frames (data
ready), an eventfd the consumer writes when the producer waits for room, and the
consumer end of a unix stream socket carrying the bytes of COPY frames (the
"socket queue" a COPY frame points at; ``nm_len`` says how many bytes to take).
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import socket
import struct
from typing import Any

from ..._sys import eventfd
from ..._sys.mapping import PAGE_SIZE, map_shared, sealed_memfd
from ...codec.constants import SO
from ...errors import RingError
from ..abi import nl_mmap_req
from ..geometry import MappingLayout, RingGeometry

__all__ = ["SharedRing", "HEADER", "PAGE_SIZE", "COPY_TIMEOUT", "HeaderWord", "PRODUCER_KINDS"]

COPY_TIMEOUT = 30.0  # seconds either end of the COPY stream waits for the other
MAGIC = b"NETRING\x01"
VERSION = 1

# magic[8] version u32, page_size u32, rx nl_mmap_req, tx nl_mmap_req, pad to 64
HEADER = struct.Struct(f"=8sII{nl_mmap_req.size}s{nl_mmap_req.size}s16x")
assert HEADER.size == 64


class HeaderWord:
    """Indices of the u64 words of the shared header page (``q[HeaderWord.RX_PROD]``):
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
    PRODUCER = 19  # pid of the process holding the producer role (0: none), see claim_producer
    PRODUCER_KIND = 20  # what holds it: PRODUCER_KINDS
    WAITING = 21  # 1 while a consumer sleeps in poll() for data (a RingWriter then wakes it)
    WAKEUPS = 22  # data eventfd writes a RingWriter made because WAITING was set
    NAMES = {
        "messages": MESSAGES, "copies": COPIES, "ring_full": RING_FULL, "enobufs": ENOBUFS,
        "truncated": TRUNCATED, "bytes": BYTES, "fills": FILLS, "attaches": ATTACHES,
        "wakeups": WAKEUPS,
    }


#: ``q[HeaderWord.PRODUCER_KIND]`` values: who fills the ring.
PRODUCER_KINDS = {1: "socket filler (RingFiller)", 2: "direct writer (RingWriter)"}


_NOREQ = bytes(nl_mmap_req.size)  # an all-zero nl_mmap_req: "no ring"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SharedRing:
    """A memfd holding an RX and/or TX ring plus the descriptors that go with it.

    Create with :meth:`create`; share with :meth:`fds` + :meth:`from_fds`, or
    :meth:`send` / :meth:`receive` over a unix socket.

    Attributes:
        layout: the rings' :class:`MappingLayout`.
        mm: the shared mapping (header + rings).
        rx_base, tx_base: offsets of the RX and TX rings in ``mm``.
        q: the header as a memoryview of u64 (counters at :class:`HeaderWord` indices).
    """

    def __init__(self, fds: list[int], layout: MappingLayout, mm: mmap.mmap) -> None:
        self._fds = fds
        self.layout = layout
        self.mm = mm
        self.rx_base = PAGE_SIZE
        self.tx_base = PAGE_SIZE + layout.tx_offset
        self.q = memoryview(mm)[:PAGE_SIZE].cast("Q")
        self._copy_sock: socket.socket | None = None
        self._closed = False
        self._claimed = False

    # -- creation / sharing ---------------------------------------------------------
    @classmethod
    def create(cls, rx: RingGeometry | None, tx: RingGeometry | None = None,
               name: str = "netring", copy_buffer: int = 4 << 20) -> SharedRing:
        """A new ring file: header written, every frame UNUSED.

        Args:
            rx, tx: the ring geometries (page size must be this machine's).
            name: memfd name (shows in ``/proc/PID/fd``).
            copy_buffer: send buffer of the COPY byte stream.
        """
        layout = MappingLayout(rx, tx)
        for g in (rx, tx):
            if g is not None and g.page_size != PAGE_SIZE:
                raise RingError(f"geometry page size {g.page_size} != this machine's {PAGE_SIZE}")
        size = PAGE_SIZE + layout.size
        fd = sealed_memfd(name, size)
        fds = [fd]
        try:
            mm = map_shared(fd, size)
            HEADER.pack_into(mm, 0, MAGIC, VERSION, PAGE_SIZE,
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
    def from_fds(cls, fds: list[int], expect: MappingLayout | None = None) -> SharedRing:
        """Attach to a ring file from its descriptors (ownership of ``fds`` moves here).

        Raises:
            RingError: bad magic/version/page size, an invalid geometry in the
                header, a file size that does not match, or not the ``expect``-ed layout.
        """
        if len(fds) != 4:
            raise RingError(f"a shared ring travels as 4 descriptors, got {len(fds)}")
        fd = fds[0]
        st = os.fstat(fd)
        if st.st_size < PAGE_SIZE:
            raise RingError(f"ring file of {st.st_size} bytes has no header page")
        hdr = os.pread(fd, HEADER.size, 0)
        magic, version, page, rxr, txr = HEADER.unpack(hdr)
        if magic != MAGIC or version != VERSION:
            raise RingError(f"not a netring ring file (magic {magic!r}, version {version})")
        if page != PAGE_SIZE:
            raise RingError(f"ring made for page size {page}, this machine has {PAGE_SIZE}")
        rx = RingGeometry.unpack(rxr, page) if rxr != _NOREQ else None
        tx = RingGeometry.unpack(txr, page) if txr != _NOREQ else None
        layout = MappingLayout(rx, tx)
        if expect is not None and expect != layout:
            raise RingError(f"ring layout {layout} is not the expected {expect}")
        if st.st_size != PAGE_SIZE + layout.size:
            raise RingError(f"ring file is {st.st_size} bytes, header says "
                            f"{PAGE_SIZE + layout.size}")
        mm = map_shared(fd, st.st_size)
        ring = cls(list(fds), layout, mm)
        ring.q[HeaderWord.ATTACHES] += 1
        return ring

    def fds(self) -> list[int]:
        """The descriptors to hand to another process (it must call :meth:`from_fds`)."""
        return list(self._fds)

    def send(self, sock: socket.socket) -> None:
        """Pass this ring to the process at the other end of a unix socket."""
        socket.send_fds(sock, [b"netring-ring"], self._fds)

    @classmethod
    def receive(cls, sock: socket.socket, expect: MappingLayout | None = None) -> SharedRing:
        """Receive a ring sent with :meth:`send` and attach to it."""
        msg, fds, _flags, _addr = socket.recv_fds(sock, 64, 4)
        if msg != b"netring-ring":
            for f in fds:
                os.close(f)
            raise RingError(f"unexpected message {msg!r} instead of a ring")
        return cls.from_fds(fds, expect)

    # -- descriptors ------------------------------------------------------------------
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
        claim is a POSIX record lock on the memfd (atomic between processes, gone
        when the process dies) plus the producer's pid and kind in the header
        (which also catches a second claim in the same process, where record locks
        do not conflict, and names the holder in the error).  A claim left by a
        dead process is taken over.

        Raises:
            RingError: another live producer holds the ring.
        """
        if self._claimed:
            raise RingError(f"ring already has a producer: {self._holder()}")
        fd = self._fds[0]
        q = self.q
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0, os.SEEK_SET)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise RingError(f"ring already has a producer: {self._holder()}") from None
        pid = int(q[HeaderWord.PRODUCER])
        me = os.getpid()
        if pid == me:  # our own lock: do not unlock, the other claim still needs it
            raise RingError(f"ring already has a producer: {self._holder()}")
        if pid and _alive(pid):
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, 0, os.SEEK_SET)
            raise RingError(f"ring already has a producer: {self._holder()}")
        q[HeaderWord.PRODUCER_KIND] = kind
        q[HeaderWord.PRODUCER] = me
        self._claimed = True

    def release_producer(self) -> None:
        """Give up the producer role taken with :meth:`claim_producer` (no-op otherwise)."""
        if not self._claimed or self._closed:
            return
        self._claimed = False
        if int(self.q[HeaderWord.PRODUCER]) == os.getpid():
            self.q[HeaderWord.PRODUCER] = 0
            self.q[HeaderWord.PRODUCER_KIND] = 0
        try:
            fcntl.lockf(self._fds[0], fcntl.LOCK_UN, 1, 0, os.SEEK_SET)
        except OSError:
            pass

    def _holder(self) -> str:
        pid, kind = int(self.q[HeaderWord.PRODUCER]), int(self.q[HeaderWord.PRODUCER_KIND])
        return f"{PRODUCER_KINDS.get(kind, 'unknown producer')} in pid {pid}"

    def stats(self) -> dict[str, int]:
        """The shared counters (see :class:`HeaderWord`)."""
        q = self.q
        out = {k: int(q[i]) for k, i in HeaderWord.NAMES.items()}
        out["producer_position"] = int(q[HeaderWord.RX_PROD])
        out["consumer_position"] = int(q[HeaderWord.RX_CONS])
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
                pass
        if self._copy_sock is not None:
            self._copy_sock.close()

    def __enter__(self) -> SharedRing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SharedRing memfd={self._fds[0]} {self.layout}>"
