"""Sans-I/O reader for one rtnetlink dump: received chunks in, typed views out.

The socket edge sends the ``NLM_F_DUMP`` request and feeds every received
datagram ("chunk") to :meth:`DumpReader.feed`; the reader walks the messages and
turns each data message into a lazy view (:mod:`.objects`) over the chunk::

    chunk (bytes, one recv, ~32 KiB)
    +-----------+-----------+-----+-----------+------------+
    | RTM_NEW.. | RTM_NEW.. | ... | RTM_NEW.. | NLMSG_DONE |   (DONE only in the last chunk)
    +-----------+-----------+-----+-----------+------------+
      view(chunk, 0)  view(chunk, 52) ...

Hot path per message: one ``nlmsg_len`` read, one compare of the 32-bit word
holding ``nlmsg_type | nlmsg_flags << 16`` against the expected
``RTM_NEWxxx | NLM_F_MULTI`` (``| NLM_F_DUMP_FILTERED`` when the first message of
the chunk carries it, as strict-checked dumps do) and two slot stores for the view.  Anything else
(``NLMSG_DONE``, ``NLMSG_ERROR``, ``NLM_F_DUMP_INTR``, another sequence number,
an unexpected type, a bad length) takes the slow path, which validates fully.

Views keep a reference to their chunk, so chunks given to :meth:`feed` must not
be reused afterwards (pass fresh ``bytes``); with ``keep=False`` nothing is
kept and a reusable buffer is fine (count-only mode).
"""

from __future__ import annotations

import struct
from typing import Generic, TypeVar

from ...codec import NLM_F, NLMSG, iter_messages, parse_done, parse_error
from ...codec.types import ReadableBuffer
from ...errors import DecodeError, DumpInterrupted, NetlinkError
from .base import RtnlObject

__all__ = ["DumpReader"]

V = TypeVar("V", bound=RtnlObject)

_hh = struct.Struct("=HH")
_u32 = struct.Struct("=I")
_nlh = struct.Struct("=IHHII")


#: shared int objects for every 4-aligned offset in a 64 KiB datagram: a view's
#: offset then costs no int allocation (32 bytes per kept view saved)
_OFFSETS = tuple(range(0, 1 << 16, 4))


def _type_flags_word(type_: int, flags: int) -> int:
    """The host-order u32 at message offset 4 for this type and these flags."""
    return int(_u32.unpack(_hh.pack(type_, flags))[0])


def _overrunning_offset(m: memoryview, n4: int) -> int:
    """Byte offset of the message whose ``nlmsg_len`` runs past ``n4`` words (error path)."""
    i = 0
    while i < n4:
        step = (m[i] + 3) >> 2
        if i + step > n4:
            return i << 2
        i += step
    return i << 2


class DumpReader(Generic[V]):
    """Collects one dump's replies into views of class ``cls`` (sans I/O).

    Args:
        cls: view class (:class:`~.objects.Route`, :class:`~.objects.Link` ...).
        seq: the dump request's sequence number; other sequence numbers are ignored
            (counted in :attr:`foreign`).
        op: operation name used in errors.
        keep: build and keep views (``objects``); ``False`` only counts.

    Attributes:
        objects: the views, in dump order (when ``keep``).
        count: data messages seen.
        done: ``NLMSG_DONE`` (or an error) was seen.
        interrupted: some message carried ``NLM_F_DUMP_INTR``.
        foreign: messages with another sequence number (skipped).
    """

    __slots__ = ("cls", "seq", "op", "keep", "objects", "count", "done", "interrupted",
                 "foreign", "_expect", "_expect_filtered", "_min")

    def __init__(self, cls: type[V], seq: int, op: str = "dump", keep: bool = True) -> None:
        self.cls = cls
        self.seq = seq
        self.op = op
        self.keep = keep
        self.objects: list[V] = []
        self.count = 0
        self.done = False
        self.interrupted = False
        self.foreign = 0
        self._expect = _type_flags_word(cls.TYPES[0], NLM_F.MULTI)
        self._expect_filtered = _type_flags_word(cls.TYPES[0], NLM_F.MULTI | NLM_F.DUMP_FILTERED)
        self._min = 16 + cls.HDR.size

    def feed(self, chunk: ReadableBuffer, n: int | None = None) -> bool:
        """Process one received datagram (its first ``n`` bytes); returns :attr:`done`.

        Raises:
            NetlinkError: ``NLMSG_ERROR`` or a negative ``NLMSG_DONE`` status for our seq.
            DumpInterrupted: the dump completed but was flagged ``NLM_F_DUMP_INTR``.
            DecodeError: broken message framing.
            RuntimeError: fed after :attr:`done`.
        """
        if self.done:
            raise RuntimeError("dump already complete")
        if n is None:
            n = len(chunk)
        if n < 16:
            raise DecodeError(f"datagram of {n} bytes holds no message", 0)
        if n & 3:
            self._slow_all(chunk, n)
            return self.done
        mv = memoryview(chunk)
        m = (mv if n == len(mv) else mv[:n]).cast("I")
        try:
            if m[2] != self.seq:  # first message's seq: normally all share it
                self._slow_all(chunk, n)
                return self.done
            expect = self._expect
            if m[1] == self._expect_filtered:
                expect = self._expect_filtered  # strict checking: NLM_F_DUMP_FILTERED too
            minlen = self._min
            n4 = n >> 2
            i = 0  # word index of the current message (offset = i * 4)
            c = 0
            if self.keep:
                cls = self.cls
                new = cls.__new__
                ap = self.objects.append
                offs = _OFFSETS if n <= 1 << 16 else tuple(range(0, n, 4))
                while i < n4:
                    ln = m[i]
                    if m[i + 1] != expect or ln < minlen:
                        if self._slow_one(chunk, i << 2, n):
                            break
                        ln = m[i]
                    else:
                        v = new(cls)
                        v._buf = chunk
                        v._off = offs[i]
                        ap(v)
                        c += 1
                    i += (ln + 3) >> 2
            else:
                while i < n4:
                    ln = m[i]
                    if m[i + 1] != expect or ln < minlen:
                        if self._slow_one(chunk, i << 2, n):
                            break
                        ln = m[i]
                    else:
                        c += 1
                    i += (ln + 3) >> 2
            if i > n4:
                # the last message's nlmsg_len ran past the datagram (checked once here
                # instead of per message; ln >= minlen above guarantees progress)
                raise DecodeError("nlmsg_len runs past the end of the datagram",
                                  _overrunning_offset(m, n4))
            self.count += c
        finally:
            m.release()
            mv.release()
        if self.done:
            self._finish()
        return self.done

    # -- slow path -------------------------------------------------------------------
    def _slow_one(self, chunk: ReadableBuffer, o: int, n: int) -> bool:
        """Handle the message at ``o`` fully; True when the dump ended here."""
        if n - o < 16:
            raise DecodeError(f"truncated nlmsghdr: {n - o} bytes left", o)
        ln, t, fl, seq, _portid = _nlh.unpack_from(chunk, o)
        if ln < 16 or ln > n - o:
            raise DecodeError(f"nlmsg_len {ln} ({n - o} bytes left)", o)
        if seq != self.seq:
            self.foreign += 1
            return False
        if fl & NLM_F.DUMP_INTR:
            self.interrupted = True
        if t == NLMSG.DONE or t == NLMSG.ERROR:
            msg = next(iter_messages(chunk, o, o + ln))
            em = parse_done(msg) if t == NLMSG.DONE else parse_error(msg)
            self.done = True
            if em.error:
                raise NetlinkError(-em.error, op=self.op, seq=self.seq, ext_msg=em.msg,
                                   ext_offset=em.offs, miss_type=em.miss_type)
            return True
        if t < NLMSG.MIN_TYPE:
            return False
        if t != self.cls.TYPES[0]:
            return False  # some other object type in the reply: skip
        if ln < self._min:
            raise DecodeError(
                f"{self.cls.__name__}: message of {ln} bytes is shorter than its header", o)
        self.count += 1
        if self.keep:
            v = self.cls.__new__(self.cls)
            v._buf = chunk
            v._off = o
            self.objects.append(v)
        return False

    def _slow_all(self, chunk: ReadableBuffer, n: int) -> None:
        o = 0
        while o < n:
            if n - o < 16:
                raise DecodeError(f"truncated nlmsghdr: {n - o} bytes left", o)
            ln = int(_u32.unpack_from(chunk, o)[0])
            if self._slow_one(chunk, o, n):
                break
            o += (ln + 3) & ~3
        if self.done:
            self._finish()

    def _finish(self) -> None:
        if self.interrupted:
            raise DumpInterrupted(
                f"{self.op}: dump seq {self.seq} interrupted (NLM_F_DUMP_INTR): "
                "the data changed while dumping; restart it")
