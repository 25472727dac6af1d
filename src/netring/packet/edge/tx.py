"""The AF_PACKET TX ring, and the ``sendmmsg`` sender with the same ``send`` call.

OS edge module.  A TX frame, and its life (``tpacket_snd``, ``tpacket_destruct_skb``)::

    frame | tpacket(2/3)_hdr: tp_status, tp_len [, tp_mac/tp_net] | ... | data ... |
          0                                                 hdrlen - 20 (32, 32, 48)
                                                            or tp_mac/tp_net (PACKET_TX_HAS_OFF)

    AVAILABLE --(we copy data, tp_len, then status)--> SEND_REQUEST
      --send(fd, MSG_DONTWAIT): kernel builds an skb--> SENDING
      --skb freed (or orphaned by the device)--> AVAILABLE [| TS_* bits]
    malformed: WRONG_FORMAT and the send fails (PACKET_LOSS: AVAILABLE, skipped)

:meth:`TxRing.send` copies many frames into consecutive AVAILABLE slots and
kicks the kernel with one ``send`` per batch.  When the slot at the cursor is
still owned by the kernel (ring full) it kicks, then waits for ``POLLOUT``
with a deadline, re-checking the status word, so no frame is overwritten or
dropped: back-pressure, never loss.

V3 TX rings exist on this kernel (``tpacket_req3`` with ``tp_retire_blk_tov``,
``tp_sizeof_priv`` and ``tp_feature_req_word`` at 0); their frames use
``tpacket3_hdr`` (``tp_next_offset`` must stay 0).
"""

from __future__ import annotations

import errno as _errno
import mmap
import os
import socket
import struct
import sys
import time
from collections.abc import Iterable, Sequence

from ..._sys.poll import deadline_after, ms_left
from ...codec.types import TYPE_CHECKING
from ...errors import EncodeError, NetringError, NotSupportedError, RingError
from ...strided import copy_strided, set_strided
from ..constants import ETH_P, PACKET, SOL_PACKET, TP_STATUS_TX, TPACKET_VERSION
from ..geometry import Geometry
from ..structs import LONG_SIZE
from .sock import PacketSocket

if TYPE_CHECKING:
    from typing import Any

__all__ = ["TxRing", "MmsgSender", "open_sender"]

_AVAILABLE = int(TP_STATUS_TX.AVAILABLE)
_SEND_REQUEST = int(TP_STATUS_TX.SEND_REQUEST)
_WRONG_FORMAT = int(TP_STATUS_TX.WRONG_FORMAT)
_OWNED = _SEND_REQUEST | int(TP_STATUS_TX.SENDING)
assert _OWNED | _WRONG_FORMAT < 0x100  # bits of the status word's lowest byte
#: the lowest status byte values of a free slot (translate deletes them; what is left is not)
_FREE_LOW = bytes(v for v in range(256) if not v & (_OWNED | _WRONG_FORMAT))
_u32 = struct.Struct("=I")
_u16 = struct.Struct("=H")
_SEND_REQUEST_WORD = _u32.pack(_SEND_REQUEST)
_LITTLE = sys.byteorder == "little"

# (status word, tp_len word, tp_mac half-word, tp_net half-word) per version, in units of
# the field size from the frame start: V1 (unsigned long status), V2, V3
_V1W = LONG_SIZE // 4
_FIELDS = {
    TPACKET_VERSION.V1: (0, _V1W, 2 * _V1W + 4, 2 * _V1W + 5),
    TPACKET_VERSION.V2: (0, 1, 6, 7),
    TPACKET_VERSION.V3: (5, 4, 12, 13),
}


class TxRing:
    """A ``PACKET_TX_RING`` on a packet socket bound to one interface.

    Args:
        source: interface name or a bound :class:`PacketSocket` (kept open here).
        version: 1, 2 or 3.
        geometry: a TX :class:`Geometry` (default :meth:`Geometry.tx_ring` of
            ``frame_nr`` frames of ``frame_size`` bytes).
        has_off: ``PACKET_TX_HAS_OFF``: frames say where their data starts
            (``offset`` below), e.g. to keep headroom.
        offset: data offset in each frame with ``has_off`` (default: the fixed one).
        qdisc_bypass: ``PACKET_QDISC_BYPASS``: hand frames straight to the driver.
        loss: ``PACKET_LOSS``: skip malformed frames instead of failing the send.
        netns, kind, protocol: for the socket opened when ``source`` is a name.

    Raises:
        NotSupportedError: the kernel refused the ring for this version.
    """

    def __init__(self, source: str | PacketSocket, *, version: int = 2,
                 geometry: Geometry | None = None, frame_size: int = 2048, frame_nr: int = 512,
                 has_off: bool = False, offset: int | None = None, qdisc_bypass: bool = False,
                 loss: bool = False, netns: str | None = None, kind: str = "raw",
                 protocol: int = ETH_P.ALL) -> None:
        if version not in (1, 2, 3):
            raise EncodeError(f"TPACKET version {version}: choose 1, 2 or 3")
        kver = version - 1
        if isinstance(source, PacketSocket):
            self.sock, self._own = source, False
        else:
            # protocol 0 would receive nothing but still send: ETH_P_ALL is for the
            # destination address only, the socket is not hooked for receive
            self.sock = PacketSocket(source, protocol, kind=kind, netns=netns)
            self._own = True
        self.mm: mmap.mmap | None = None
        self._closed = False
        try:
            if not self.sock.ifindex:
                raise EncodeError("a TX ring needs a socket bound to one interface")
            g = geometry or Geometry.tx_ring(kver, frame_size, frame_nr, mmap.PAGESIZE)
            if not g.tx or g.version != kver:
                raise EncodeError(f"geometry is not a TX TPACKET_V{version} ring")
            self.geometry = g
            self.version = kver
            s = self.sock
            s.set_version(kver)
            if has_off:
                s.set_int(PACKET.TX_HAS_OFF, 1)
            if loss:
                s.set_int(PACKET.LOSS, 1)
            if qdisc_bypass:
                s.set_int(PACKET.QDISC_BYPASS, 1)
            self.has_off = has_off
            self.qdisc_bypass = qdisc_bypass
            self.loss = loss
            base = g.tx_data_offset
            self.offset = base if offset is None else offset
            if not has_off and self.offset != base:
                raise EncodeError(f"a data offset other than {base} needs has_off=True")
            if self.offset < base:
                raise EncodeError(f"TX data offset {self.offset} below the header end {base}")
            self.max_len = g.frame_size - self.offset
            try:
                s.sock.setsockopt(SOL_PACKET, PACKET.TX_RING, g.pack())
            except OSError as exc:
                name = _errno.errorcode.get(exc.errno or 0, str(exc.errno))
                if exc.errno == _errno.EINVAL and kver == TPACKET_VERSION.V3:
                    raise NotSupportedError(f"PACKET_TX_RING with TPACKET_V3: {name}") from None
                raise RingError(f"PACKET_TX_RING {g}: {name} "
                                f"({os.strerror(exc.errno or 0)})") from None
            self.mm = mmap.mmap(s.fileno(), g.size, mmap.MAP_SHARED,
                                mmap.PROT_READ | mmap.PROT_WRITE)
            mv = memoryview(self.mm)
            self._b = mv
            self._w = mv.cast("I")
            self._h = mv.cast("H")
            self._offs = g.offsets()
            self._n = g.frame_nr
            # slots one frame_size apart through the whole ring: runs of equal frames
            # can be written with strided copies
            self._uniform = self._offs == [k * g.frame_size for k in range(g.frame_nr)]
            sw, lw, mh, nh = _FIELDS[TPACKET_VERSION(kver)]
            if kver == TPACKET_VERSION.V1 and not _LITTLE and LONG_SIZE == 8:
                sw = 1
            self._sw, self._lw = sw, lw
            self._offh = mh if s.kind == "raw" else nh
            self.cursor = 0
            self._sndtimeo = -1
            self.frames_sent = 0
            self.kicks = 0
            self.waits = 0
        except BaseException:
            self.close()
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def _status(self, i: int) -> int:
        s: int = self._w[(self._offs[i] >> 2) + self._sw]
        return s

    def _kick(self) -> int:
        """``send(fd, NULL, 0, MSG_DONTWAIT)``: the kernel sends every SEND_REQUEST frame."""
        self.kicks += 1
        while True:
            try:
                return self.sock.sock.send(b"", socket.MSG_DONTWAIT)
            except InterruptedError:
                continue
            except BlockingIOError:
                return 0
            except OSError as exc:
                if exc.errno == _errno.ENOBUFS:
                    return 0  # the queue is full: frames stay SEND_REQUEST, kicked again
                bad = self._wrong_format()
                raise NetringError(
                    f"TX ring send: {os.strerror(exc.errno or 0)}"
                    + (f" (frame {bad} marked TP_STATUS_WRONG_FORMAT; PACKET_LOSS skips such "
                       "frames)" if bad is not None else "")) from None

    def _wrong_format(self) -> int | None:
        for i in range(self._n):
            if self._status(i) & _WRONG_FORMAT:
                self._w[(self._offs[i] >> 2) + self._sw] = _AVAILABLE
                return i
        return None

    def _wait_done(self, deadline: float | None) -> None:
        """A blocking ``send``: the kernel returns once every frame it took has completed
        (``tpacket_snd`` waits on ``skb_completion``), or at ``SO_SNDTIMEO``.

        ``poll(POLLOUT)`` cannot wait for a slot: ``datagram_poll`` adds POLLOUT
        whenever the socket's write memory is below half its buffer.
        """
        left = ms_left(deadline, 200)
        if left == 0 and deadline is not None:
            return
        tmo = 200 if left < 0 else max(1, left)
        if tmo != self._sndtimeo:
            self.sock.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                                      struct.pack("@ll", tmo // 1000, (tmo % 1000) * 1000))
            self._sndtimeo = tmo
        self.waits += 1
        try:
            self.sock.sock.send(b"")
        except (TimeoutError, BlockingIOError):
            return  # SO_SNDTIMEO: look at the slot again, then at the deadline
        except OSError as exc:
            if exc.errno in (_errno.ETIMEDOUT, _errno.ENOBUFS):
                if exc.errno == _errno.ENOBUFS:
                    time.sleep(0.0005)
                return
            bad = self._wrong_format()
            raise NetringError(f"TX ring send: {os.strerror(exc.errno or 0)}"
                               + (f" (frame {bad} marked TP_STATUS_WRONG_FORMAT)"
                                  if bad is not None else "")) from None

    def _wait_slot(self, i: int, deadline: float | None) -> bool:
        """Wait until frame ``i`` is AVAILABLE again; False at the deadline."""
        w = self._w
        idx = (self._offs[i] >> 2) + self._sw
        self._kick()
        while True:
            st = w[idx]
            if not st & _OWNED:
                if st & _WRONG_FORMAT:
                    raise NetringError(f"TX frame {i} was refused (TP_STATUS_WRONG_FORMAT)")
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._wait_done(deadline)

    def send(self, frames: Iterable[Any], timeout: float | None = None, *,
             batch: int | None = None) -> int:
        """Send ``frames`` (any buffers) through the ring; returns the frames handed over.

        Each frame is copied into the next AVAILABLE slot and marked
        SEND_REQUEST; one ``send`` kicks the kernel per ``batch`` frames (default:
        a quarter of the ring) and at the end.  A full ring is waited out (poll
        ``POLLOUT`` with the deadline ``timeout``, ``None``: forever): frames are
        never dropped; at the deadline the count handed over so far is returned.

        A list or tuple of frames of one length goes in runs: each run's frames
        are joined once and copied into consecutive slots with strided copies
        (the data, ``tp_len``, then the status words), a few C loops per run
        instead of Python code per frame.

        Raises:
            EncodeError: a frame longer than a slot holds (``max_len``).
            NetringError: the kernel refused a frame (without ``loss=True``).
        """
        deadline = deadline_after(timeout)
        per_kick = batch or max(1, self._n // 4)
        if isinstance(frames, (list, tuple)) and self._uniform:
            done = self._send_runs(frames, deadline, per_kick)
        else:
            done = self._send_each(frames, deadline, per_kick)
        self.frames_sent += done
        return done

    def _send_runs(self, frames: Sequence[Any], deadline: float | None, per_kick: int) -> int:
        """Runs of equal-length frames into consecutive free slots (no wrap within a run)."""
        b = self._b
        n = self._n
        fs = self.geometry.frame_size
        sw, lw = self._sw, self._lw
        data_off = self.offset
        total = len(frames)
        done = since = 0
        while done < total:
            i = self.cursor
            m = min(total - done, n - i, per_kick - since)
            run = frames[done:done + m]
            length = len(run[0])
            if length > self.max_len or min(map(len, run)) != max(map(len, run)):
                k = self._send_each(run, deadline, per_kick)  # checks and names the frame
                done += k
                if k < m:
                    return done
                since = 0
                continue
            last = i + m - 1
            if self._status(last) & _OWNED and not self._wait_slot(last, deadline):
                return done
            lo = 4 * sw + (0 if _LITTLE else 3)  # the status word's lowest byte
            status = b[i * fs + lo:last * fs + lo + 1:fs].tobytes()
            if status.translate(None, _FREE_LOW):  # a slot still the kernel's, or refused
                k = self._send_each(run, deadline, per_kick)
                done += k
                if k < m:
                    return done
                since = 0
                continue
            base = i * fs
            copy_strided(b, base + data_off, fs, memoryview(b"".join(run)), 0, length, length, m)
            set_strided(b, base + 4 * lw, fs, _u32.pack(length), m)
            if self.has_off:
                set_strided(b, base + 2 * self._offh, fs, _u16.pack(data_off), m)
            # the status words last: each frame is the kernel's from here
            set_strided(b, base + 4 * sw, fs, _SEND_REQUEST_WORD, m)
            self.cursor = i + m if i + m < n else 0
            done += m
            since += m
            if since >= per_kick:
                self._kick()
                since = 0
        if since:
            self._kick()
        return done

    def _send_each(self, frames: Iterable[Any], deadline: float | None, per_kick: int) -> int:
        """Frame by frame: copy, ``tp_len``, status; waits for each slot the kernel holds."""
        b = self._b
        w = self._w
        h = self._h
        offs = self._offs
        n = self._n
        sw, lw, offh = self._sw, self._lw, self._offh
        data_off = self.offset
        has_off = self.has_off
        max_len = self.max_len
        i = self.cursor
        done = 0
        since = 0
        for f in frames:
            ln = len(f)
            if ln > max_len:
                raise EncodeError(f"frame {done} of {ln} bytes exceeds the TX slot's {max_len}")
            off = offs[i]
            widx = (off >> 2) + sw
            if w[widx] & _OWNED and not self._wait_slot(i, deadline):
                break
            start = off + data_off
            b[start:start + ln] = f
            w[(off >> 2) + lw] = ln
            if has_off:
                h[(off >> 1) + offh] = data_off
            w[widx] = _SEND_REQUEST  # status last: the frame is the kernel's from here
            done += 1
            since += 1
            i = i + 1 if i + 1 < n else 0
            self.cursor = i
            if since >= per_kick:
                self._kick()
                since = 0
        if since:
            self._kick()
        return done

    def pending(self) -> int:
        """Frames still owned by the kernel (SEND_REQUEST or SENDING)."""
        return sum(1 for i in range(self._n) if self._status(i) & _OWNED)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every frame has left the ring; False at the deadline."""
        deadline = deadline_after(timeout)
        self._kick()
        while self.pending():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            self._wait_done(deadline)
        return True

    def close(self) -> None:
        """Wait briefly for pending frames, unmap, close the socket if opened here."""
        if self._closed:
            return
        self._closed = True
        if self.mm is not None:
            try:
                self.flush(1.0)
            except NetringError as exc:  # a refused frame: kept for the caller to see
                self.close_error: NetringError | None = exc
            for v in ("_w", "_h", "_b"):
                mv = getattr(self, v, None)
                if mv is not None:
                    mv.release()
            try:
                self.mm.close()
            except BufferError:
                self.mm = None
        if self._own:
            self.sock.close()

    def __enter__(self) -> TxRing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MmsgSender:
    """Frames sent with ``sendmmsg`` (one datagram each), the TX ring's fallback.

    Frames of at most :attr:`SLOT` bytes are copied into one reused area of
    :attr:`SLOTS` slots (equal frames with strided copies, others one slice
    assignment each) and sent from its prebuilt headers
    (:class:`netring._sys.MMsgBatch`), so a call costs no per-frame ctypes work;
    longer frames go through :meth:`PacketSocket.send_many`.

    Args:
        source: interface name or bound :class:`PacketSocket`.
        qdisc_bypass: ``PACKET_QDISC_BYPASS`` on the socket.
    """

    SLOT = 2048
    SLOTS = 1024

    def __init__(self, source: str | PacketSocket, *, netns: str | None = None,
                 qdisc_bypass: bool = False, protocol: int = ETH_P.ALL) -> None:
        if isinstance(source, PacketSocket):
            self.sock, self._own = source, False
        else:
            self.sock, self._own = PacketSocket(source, protocol, netns=netns), True
        if qdisc_bypass:
            self.sock.set_int(PACKET.QDISC_BYPASS, 1)
        self.frames_sent = 0
        self._batch: Any = None
        self._area: memoryview | None = None

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, frames: Iterable[Any], timeout: float | None = None, *,
             batch: int | None = None) -> int:
        """Send ``frames``; returns how many went (``timeout`` is accepted for symmetry).

        ``ENOBUFS`` (the device queue is full) waits a millisecond and retries,
        up to a thousand times, as :meth:`PacketSocket.send_many` does.
        """
        seq: Sequence[Any] = frames if isinstance(frames, Sequence) else list(frames)
        if not seq:
            return 0
        if max(map(len, seq)) > self.SLOT:
            n = self.sock.send_many(seq)
        else:
            n = self._send_slots(seq)
        self.frames_sent += n
        return n

    def _send_slots(self, seq: Sequence[Any]) -> int:
        from ..._sys import MMsgBatch

        area = self._area
        if self._batch is None or area is None:
            area = self._area = memoryview(bytearray(self.SLOT * self.SLOTS))
            self._batch = MMsgBatch([area[i * self.SLOT:(i + 1) * self.SLOT]
                                     for i in range(self.SLOTS)], name=False, control=0)
        fd = self.sock.fileno()
        dest = self.sock._dest()
        slot = self.SLOT
        sent = 0
        while sent < len(seq):
            chunk = seq[sent:sent + self.SLOTS]
            k = len(chunk)
            lengths = list(map(len, chunk))
            length = lengths[0]
            if min(lengths) == max(lengths):
                copy_strided(area, 0, slot, memoryview(b"".join(chunk)), 0, length, length, k)
            else:
                for i, f in enumerate(chunk):
                    area[i * slot:i * slot + lengths[i]] = f
            done = 0
            tries = 0
            while done < k:
                try:
                    if done:  # a short send: the rest one by one, in order
                        r = self.sock.send_many(chunk[done:])
                    else:
                        r = self._batch.send(fd, lengths, k, name=dest)
                except OSError as exc:
                    if exc.errno == _errno.ENOBUFS and tries < 1000:
                        tries += 1
                        time.sleep(0.001)  # the device queue is full: let it drain
                        continue
                    raise
                done += r
            sent += k
        return sent

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        if self._batch is not None:
            self._batch.close()
            self._batch = None
        self._area = None
        if self._own:
            self.sock.close()

    def __enter__(self) -> MmsgSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_sender(ifname: str, *, method: str = "ring", netns: str | None = None,
                **kw: Any) -> TxRing | MmsgSender:
    """A :class:`TxRing` (``method="ring"``) or :class:`MmsgSender` (``"sendmmsg"``);
    ``"auto"``: the ring, or ``sendmmsg`` when the kernel refuses the ring."""
    if method == "sendmmsg":
        return MmsgSender(ifname, netns=netns, qdisc_bypass=kw.get("qdisc_bypass", False))
    if method not in ("ring", "auto"):
        raise EncodeError(f"send method {method!r}: choose ring, sendmmsg or auto")
    try:
        return TxRing(ifname, netns=netns, **kw)
    except (NotSupportedError, RingError):
        if method == "ring":
            raise
        return MmsgSender(ifname, netns=netns, qdisc_bypass=kw.get("qdisc_bypass", False))
