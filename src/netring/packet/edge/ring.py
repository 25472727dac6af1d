"""The AF_PACKET RX ring: set up, mapped, polled and walked.

OS edge module.  Setup in the order the kernel wants it::

    PACKET_VERSION, PACKET_RESERVE, PACKET_TIMESTAMP       (EBUSY once a ring exists)
    setsockopt(PACKET_RX_RING, tpacket_req | tpacket_req3)  (geometry checked first, here)
    mmap(NULL, block_nr * block_size, RW, MAP_SHARED, fd, 0)
    PACKET_FANOUT                                           (after the ring: members stay hooked)

Then :mod:`netring.packet.walk` does the rest over the mapping; this module only
polls (``POLLIN``: the block/frame before the kernel's head is user's) with a
deadline.  Typical use::

    with CaptureRing("veth1", netns="blue") as ring:          # V3, 32 MiB, 10 ms retire
        for blk in ring.blocks(timeout=5):                     # released on the next step
            for pkt in blk:                                    # one reused view
                handle(pkt.ts_ns, pkt.data)                    # data valid until released
        ring.count(timeout=0)                                  # count-only: block headers
        print(ring.stats_total)                                # packets, drops, freezes
"""

from __future__ import annotations

import errno as _errno
import mmap
import os
import time
from collections.abc import Callable, Iterator

from ..._sys.cmsg import SOL_SOCKET
from ..._sys.poll import POLLERR, POLLIN, Readable, deadline_after, ms_left
from ...codec.constants import SO
from ...codec.types import TYPE_CHECKING
from ...errors import EncodeError, NetringError, NotSupportedError, RingError
from ..constants import ETH_P, PACKET, SOF_TIMESTAMPING, SOL_PACKET, TPACKET_VERSION
from ..geometry import (
    DEFAULT_BUFFER_SIZE,
    DEFAULT_RETIRE_MS,
    DEFAULT_SNAPLEN,
    DEFAULT_V3_BLOCK_SIZE,
    Geometry,
)
from ..stats import Stats
from ..walk import Block, FrameBatch, FrameWalker, Packet, V3Walker, make_walker
from . import hwtstamp
from .sock import PacketSocket

if TYPE_CHECKING:
    from typing import Any

__all__ = ["CaptureRing", "TIMESTAMPS"]

TIMESTAMPS = ("software", "hardware")
_SPIN_NAP = 0.0005  # s: poll said readable but the cursor's block is not ours yet


class CaptureRing:
    """A TPACKET_V1/V2/V3 RX ring on a packet socket.

    Args:
        source: an interface name, a :class:`PacketSocket`, or ``None`` (every
            interface).  A socket passed in is used as it is (and not closed here).
        version: 1, 2 or 3 (``TPACKET_V1``..``V3``; the kernel numbers are 0..2).
        geometry: the ring; default :meth:`Geometry.v3` (V3) or
            :meth:`Geometry.frames` sized from ``snaplen`` and the MTU (V1/V2).
        snaplen: most bytes reported per packet (V1/V2 frames are sized for it;
            V3 stores whole packets and the views cut them).
        timestamp: ``"software"`` or ``"hardware"`` (``SIOCSHWTSTAMP`` then
            ``PACKET_TIMESTAMP`` raw hardware; when the device cannot, the
            packets keep software stamps and :attr:`timestamp_note` says why).
        retire_ms: V3 block retire timeout: the longest a packet waits in a
            partly filled block at low rates.
        buffer_size, block_size: sizes for the default geometry.
        protocol, kind, netns, promisc, ignore_outgoing: for the socket opened
            when ``source`` is not a socket (see :class:`PacketSocket`).
        fanout: ``(group, mode)`` or ``(group, mode, flags)`` to join after the ring.
        reserve: ``PACKET_RESERVE`` headroom per packet.

    Raises:
        GeometryError: the geometry breaks a ``packet_set_ring`` rule (named).
        RingError: the kernel refused the ring (ENOMEM: too large).
    """

    def __init__(self, source: str | PacketSocket | None = None, *, version: int = 3,
                 geometry: Geometry | None = None, snaplen: int = DEFAULT_SNAPLEN,
                 timestamp: str = "software", retire_ms: int = DEFAULT_RETIRE_MS,
                 buffer_size: int = DEFAULT_BUFFER_SIZE, block_size: int = DEFAULT_V3_BLOCK_SIZE,
                 protocol: int = ETH_P.ALL, kind: str = "raw", netns: str | None = None,
                 promisc: bool = False, ignore_outgoing: bool = False,
                 fanout: tuple[Any, ...] | None = None, reserve: int = 0) -> None:
        if version not in (1, 2, 3):
            raise EncodeError(f"TPACKET version {version}: choose 1, 2 or 3")
        if timestamp not in TIMESTAMPS:
            raise EncodeError(f"timestamp {timestamp!r}: choose 'software' or 'hardware'")
        if not 1 <= snaplen <= DEFAULT_SNAPLEN:
            raise EncodeError(f"snaplen {snaplen}: must be 1..{DEFAULT_SNAPLEN}")
        self.tpacket = version
        self.snaplen = snaplen
        kver = version - 1
        if isinstance(source, PacketSocket):
            self.sock, self._own = source, False
        else:
            self.sock = PacketSocket(source, protocol, kind=kind, netns=netns, promisc=promisc,
                                     ignore_outgoing=ignore_outgoing)
            self._own = True
        self.mm: mmap.mmap | None = None
        self.walker: V3Walker | FrameWalker | None = None
        try:
            s = self.sock
            s.set_version(kver)
            if reserve:
                s.set_int(PACKET.RESERVE, reserve)
            self.timestamp = timestamp
            self.hw_timestamps = False
            self.timestamp_note: str | None = None
            if timestamp == "hardware":
                self._hardware_timestamps()
            else:
                # SO_TIMESTAMPNS turns on skb stamping at reception (net_enable_timestamp):
                # packets then carry TP_STATUS_TS_SOFTWARE and the time they arrived,
                # not the time they were copied into the ring
                s.sock.setsockopt(SOL_SOCKET, SO.TIMESTAMPNS, 1)
            if geometry is None:
                if kver == TPACKET_VERSION.V3:
                    geometry = Geometry.v3(block_size, buffer_size=buffer_size,
                                           retire_ms=retire_ms, reserve=reserve,
                                           page_size=mmap.PAGESIZE)
                else:
                    geometry = Geometry.frames(kver, snaplen, mtu=s.mtu, buffer_size=buffer_size,
                                               raw=s.kind == "raw", reserve=reserve,
                                               page_size=mmap.PAGESIZE)
            if geometry.version != kver or geometry.tx:
                raise EncodeError(f"geometry is for {'TX' if geometry.tx else 'RX'} "
                                  f"TPACKET_V{geometry.version + 1}, not an RX TPACKET_V{version}")
            if geometry.reserve != reserve:
                raise EncodeError(f"geometry was checked with reserve {geometry.reserve}, "
                                  f"the socket has {reserve}")
            self.geometry = geometry
            self._set_ring(geometry)
            self.mm = mmap.mmap(s.fileno(), geometry.size, mmap.MAP_SHARED,
                                mmap.PROT_READ | mmap.PROT_WRITE)
            self.walker = make_walker(self.mm, geometry, snaplen=snaplen)
            if fanout is not None:
                s.join_fanout(*fanout)
            self._poll = Readable(s.fileno(), events=POLLIN | POLLERR)
        except BaseException:
            self.close()
            raise
        self._closed = False

    # -- setup ------------------------------------------------------------------------
    def _hardware_timestamps(self) -> None:
        s = self.sock
        if not s.ifname:
            self.timestamp_note = "hardware timestamps need an interface (none given)"
            return
        self.hw_timestamps, text = hwtstamp.enable(s.fileno(), s.ifname)
        self.timestamp_note = None if self.hw_timestamps else text
        s.set_int(PACKET.TIMESTAMP, SOF_TIMESTAMPING.RAW_HARDWARE)

    def _set_ring(self, g: Geometry) -> None:
        try:
            self.sock.sock.setsockopt(SOL_PACKET, PACKET.RX_RING, g.pack())
        except OSError as exc:
            code = exc.errno or 0
            name = _errno.errorcode.get(code, str(code))
            if code == _errno.ENOMEM:
                raise RingError(f"PACKET_RX_RING of {g.size} bytes ({g.block_nr} x "
                                f"{g.block_size}): ENOMEM: the kernel could not allocate it; "
                                "ask for a smaller ring") from None
            if code == _errno.EBUSY:
                raise RingError("PACKET_RX_RING: EBUSY: the socket already has a ring or "
                                "is mapped") from None
            if code == _errno.EINVAL and g.version == TPACKET_VERSION.V3 and g.retire_tov:
                raise NotSupportedError(f"PACKET_RX_RING TPACKET_V3: {name}") from None
            raise RingError(f"PACKET_RX_RING {g}: {name} ({os.strerror(code)})") from None

    # -- waiting ------------------------------------------------------------------------
    def fileno(self) -> int:
        """The socket descriptor (readable when a block/frame is ready)."""
        return self.sock.fileno()

    def _w(self) -> V3Walker | FrameWalker:
        w = self.walker
        if w is None or self._closed:
            raise RingError("the capture ring is closed")
        return w

    def wait(self, timeout: float | None) -> bool:
        """Block until the next block/frame is ours or ``timeout`` seconds pass."""
        w = self._w()
        deadline = deadline_after(timeout)
        while not w.ready():
            left = ms_left(deadline, 1000)
            if left == 0 and deadline is not None:
                return w.ready()
            for _fd, ev in self._poll.events(left / 1000 if left >= 0 else None):
                if ev & POLLERR:
                    err = self.sock.sock.getsockopt(1, 4)  # SOL_SOCKET, SO_ERROR
                    if err:
                        raise NetringError(f"packet socket error: {os.strerror(err)}")
                if not w.ready():
                    time.sleep(_SPIN_NAP)
        return True

    # -- reading ------------------------------------------------------------------------
    def next_block(self, timeout: float | None = 0) -> Block | FrameBatch | None:
        """The next block (V3) or run of frames (V1/V2), waiting up to ``timeout`` s.

        The caller releases it (``release()``, or ``with``) to give it back.
        """
        w = self._w()
        b = w.next_block()
        if b is None and timeout != 0 and self.wait(timeout):
            b = w.next_block()
        return b

    def blocks(self, timeout: float | None = None) -> Iterator[Block | FrameBatch]:
        """Every block (or frame batch) as it fills, until ``timeout`` seconds have passed
        (``None``: forever; 0: only what is ready now).

        Each batch is released when the loop asks for the next one (or ends):
        packet views and their ``data`` are valid until then.
        """
        w = self._w()
        deadline = deadline_after(timeout)
        while True:
            b = w.next_block()
            if b is None:
                if deadline is not None and time.monotonic() >= deadline:
                    return
                left = ms_left(deadline)
                if not self.wait(None if left < 0 else left / 1000):
                    return
                continue
            try:
                yield b
            finally:
                b.release()

    def packets(self, timeout: float | None = None, count: int | None = None
                ) -> Iterator[Packet]:
        """Every packet (the one reused view), until ``timeout`` or ``count`` packets."""
        n = 0
        for b in self.blocks(timeout):
            for p in b:
                yield p
                n += 1
                if count is not None and n >= count:
                    return

    def drain(self, callback: Callable[[Packet], object], timeout: float | None = 0
              ) -> int:
        """``callback(pkt)`` for every ready packet, releasing as it goes; returns packets.

        ``timeout``: 0 (default) takes what is ready now; otherwise wait that
        long for the first block, then take everything ready.
        """
        w = self._w()
        if not w.ready() and timeout != 0 and not self.wait(timeout):
            return 0
        return w.drain(callback)[0]

    def count(self, timeout: float | None = 0) -> int:
        """Count and release every ready packet without looking at any (block headers
        only on V3); waits like :meth:`drain`.  Returns packets."""
        w = self._w()
        if not w.ready() and timeout != 0 and not self.wait(timeout):
            return 0
        return w.count()[0]

    # -- statistics ---------------------------------------------------------------------
    def stats(self) -> Stats:
        """``PACKET_STATISTICS`` since the previous read (the kernel resets on read)."""
        return self.sock.statistics()

    @property
    def stats_total(self) -> Stats:
        """Counters since the socket was opened (reads the kernel's delta first)."""
        return self.sock.total_stats

    # -- lifetime -----------------------------------------------------------------------
    def close(self) -> None:
        """Unmap the ring and close the socket (if opened here); idempotent.

        Payload views the caller still holds keep the mapping alive until they
        are dropped (the mmap is then closed by the garbage collector).
        """
        if getattr(self, "_closed", False):
            return
        self._closed = True
        if self.walker is not None:
            self.walker.close()
        if self.mm is not None:
            try:
                self.mm.close()
            except BufferError:
                self.mm = None  # views still exported: the last one to go unmaps it
        if self._own:
            self.sock.close()

    def __enter__(self) -> CaptureRing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        g = self.geometry
        return (f"<CaptureRing {self.sock.ifname or 'any'} TPACKET_V{self.tpacket} "
                f"{g.block_nr}x{g.block_size} frame {g.frame_size}>")
