"""Sans-I/O reader for one rtnetlink dump: received datagrams in, typed views out.

:meth:`netring.conn.Connection.dump_with` sends the ``NLM_F_DUMP`` request and
hands every datagram ("chunk") of the reply to :meth:`DumpReader.feed`; the
reader walks the messages and turns each data message into a lazy view over the
chunk::

    chunk (bytes, one recv, ~32 KiB)
    +-----------+-----------+-----+-----------+------------+
    | RTM_NEW.. | RTM_NEW.. | ... | RTM_NEW.. | NLMSG_DONE |   (DONE only in the last chunk)
    +-----------+-----------+-----+-----------+------------+
      view(chunk, 0)  view(chunk, 52) ...

Hot path per message (an intentional specialisation of the reply rule of
:mod:`netring.codec.reply`, for unicast datagrams whose first message carries
our seq and port id: the kernel builds each dump datagram for one request):
one ``nlmsg_len`` read, one compare of the 32-bit word holding
``nlmsg_type | nlmsg_flags << 16`` against the expected ``RTM_NEWxxx |
NLM_F_MULTI`` (``| NLM_F_DUMP_FILTERED`` when the first message of the chunk
carries it, as strict-checked dumps do) and two slot stores for the view.
Anything else (``NLMSG_DONE``, ``NLMSG_ERROR``, ``NLM_F_DUMP_INTR``, another
sequence number, an unexpected type, a bad length) takes the slow path, which
feeds the message to the dump's :class:`~netring.codec.reply.ReplyCollector`
and routes what is not ours back to the connection (notifications kept, stale
replies counted).

Views keep a reference to their chunk, so chunks given to :meth:`feed` must not
be reused afterwards (fresh ``bytes``); with ``keep=False`` nothing is kept and
the transport's buffer is fine (count-only mode).

Streaming (``sink``): instead of keeping views, the reader hands each datagram
and the byte offsets of its data messages to ``sink(data, offsets)`` as soon as
the datagram is walked, and keeps nothing (memory stays that of one datagram
however long the dump).  A sink that returns ``True`` has seen enough: the rest
of the dump is only counted, so the reply still ends by the reply rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...codec import NLM_F, NLMSG, Builder, Message, iter_messages
from ...codec.reply import OURS, ReplyCollector
from ...codec.structs import nlmsghdr, u16, u32
from ...codec.types import TYPE_CHECKING, Generic, ReadableBuffer, TypeVar
from ...errors import DecodeError
from .base import RtnlObject
from .constants import AF_UNSPEC
from .structs import rtgenmsg

if TYPE_CHECKING:
    from ...conn import Chunk

__all__ = ["DumpReader", "dump_request"]

V = TypeVar("V", bound=RtnlObject)


def dump_request(type_: int, header: bytes = b"", attrs: Sequence[tuple[int, bytes]] = ()
                 ) -> bytearray:
    """A ``NLM_F_DUMP`` request: ``type_``, a prebuilt family header, filter attributes."""
    b = Builder(1024)
    b.begin(type_, NLM_F.REQUEST | NLM_F.DUMP)
    b.put(header if header else rtgenmsg.pack(AF_UNSPEC))
    for t, v in attrs:
        b.attr(t, v)
    b.end()
    return bytearray(b.view())

#: shared int objects for every 4-aligned offset in a 64 KiB datagram: a view's
#: offset then costs no int allocation (32 bytes per kept view saved)
_OFFSETS = tuple(range(0, 1 << 16, 4))


def _type_flags_word(type_: int, flags: int) -> int:
    """The host-order u32 at message offset 4 for this type and these flags."""
    return int(u32.unpack(u16.pack(type_) + u16.pack(flags))[0])


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

    Made by :meth:`netring.conn.Connection.dump_with` through :meth:`factory`
    (then ``seq`` is the dump's :class:`~netring.codec.reply.ReplyCollector` and
    ``route`` the connection's handler for messages that are not ours), or on
    its own over recorded bytes (``seq`` a number: a collector is made for it).

    Args:
        cls: view class (:class:`~.objects.Route`, :class:`~.objects.Link` ...).
        seq: the dump request's sequence number, or its collector.
        op: operation name used in errors (when ``seq`` is a number).
        keep: build and keep views (``objects``); ``False`` only counts.
        sink: stream instead of keeping: called with each datagram (``bytes``) and
            the offsets of its messages of type ``cls`` (see the module notes);
            returns ``True`` to stop rendering (the rest is drained).
        route: called with each message that is not ours and its verdict
            (default: dropped; counted in :attr:`foreign` either way).

    Attributes:
        objects: the views, in dump order (when ``keep``).
        count: data messages of type ``cls`` seen.
        foreign: messages that were not ours (another seq, a notification).
        stopped: the sink asked to stop.
    """

    __slots__ = ("cls", "col", "route", "keep", "objects", "count", "foreign", "_expect",
                 "_expect_filtered", "_min", "sink", "stopped", "_offsets")

    def __init__(self, cls: type[V], seq: int | ReplyCollector, op: str = "dump",
                 keep: bool = True, route: Callable[[Message, int], None] | None = None,
                 sink: Callable[[bytes, list[int]], bool | None] | None = None) -> None:
        self.cls = cls
        self.sink = sink
        self.stopped = False
        self._offsets: list[int] | None = None
        self.col = seq if isinstance(seq, ReplyCollector) else ReplyCollector(
            seq, 0, op=op, dump=True, ack=False)
        self.route = route
        self.keep = keep
        self.objects: list[V] = []
        self.count = 0
        self.foreign = 0
        self._expect = _type_flags_word(cls.TYPES[0], NLM_F.MULTI)
        self._expect_filtered = _type_flags_word(cls.TYPES[0], NLM_F.MULTI | NLM_F.DUMP_FILTERED)
        self._min = 16 + cls.HDR.size

    @classmethod
    def factory(cls, view: type[V], keep: bool = True,
                sink: Callable[[bytes, list[int]], bool | None] | None = None,
                ) -> Callable[[ReplyCollector, Callable[[Message, int], None]], DumpReader[V]]:
        """A ``make_reader`` for :meth:`~netring.conn.Connection.dump_with`."""
        def make(col: ReplyCollector, route: Callable[[Message, int], None]) -> DumpReader[V]:
            return cls(view, col, keep=keep, route=route, sink=sink)
        return make

    @property
    def interrupted(self) -> bool:
        """Some message of the dump carried ``NLM_F_DUMP_INTR``."""
        return self.col.interrupted

    @property
    def done(self) -> bool:
        """The dump ended."""
        return self.col.done

    def feed(self, data: ReadableBuffer, n: int | None = None,
             chunk: Chunk | None = None) -> bool:
        """Process one received datagram of the dump (its first ``n`` bytes); returns :attr:`done`.

        ``chunk`` says where it came from (sender, group; ``None``: the kernel, unicast).
        A streaming reader (``sink``) then hands the datagram's messages to the sink.

        Raises:
            NetlinkError: ``NLMSG_ERROR`` or a negative ``NLMSG_DONE`` status for our seq.
            DumpInterrupted: the dump completed but was flagged ``NLM_F_DUMP_INTR``.
            DecodeError: broken message framing.
            RuntimeError: fed after :attr:`done`.
            TypeError: a streaming reader fed something other than ``bytes``.
        """
        sink = self.sink
        if sink is None or self.stopped:
            return self._feed(data, n, chunk)
        if not isinstance(data, bytes):
            raise TypeError("a streaming DumpReader needs each datagram as bytes")
        pending: list[int] = []
        self._offsets = pending
        try:
            return self._feed(data, n, chunk)
        finally:
            # delivered even when the dump ends in DumpInterrupted: these messages were read
            self._offsets = None
            if pending:
                self.count += len(pending)
                if sink(data, pending):
                    self.stopped = True

    def _feed(self, data: ReadableBuffer, n: int | None = None,
              chunk: Chunk | None = None) -> bool:
        """Walk one datagram (see :meth:`feed`).

        ``chunk`` says where it came from (sender, group; ``None``: the kernel, unicast).

        Raises:
            NetlinkError: ``NLMSG_ERROR`` or a negative ``NLMSG_DONE`` status for our seq.
            DumpInterrupted: the dump completed but was flagged ``NLM_F_DUMP_INTR``.
            DecodeError: broken message framing.
            RuntimeError: fed after :attr:`done`.
        """
        col = self.col
        if col.done:
            raise RuntimeError("dump already complete")
        if n is None:
            n = len(data)
        sender, group = (0, 0) if chunk is None else (chunk.sender, chunk.group)
        if n < 16:
            raise DecodeError(f"datagram of {n} bytes holds no message", 0)
        if n & 3:
            self._slow_all(data, n, sender, group)
            return col.done
        mv = memoryview(data)
        m = (mv if n == len(mv) else mv[:n]).cast("I")
        try:
            mport = m[3]
            if (m[2] != col.seq or (mport and col.portid and mport != col.portid)
                    or sender != col.peer or group):
                # first message's seq / port id: normally all of a datagram share them
                self._slow_all(data, n, sender, group)
                return col.done
            expect = self._expect
            if m[1] == self._expect_filtered:
                expect = self._expect_filtered  # strict checking: NLM_F_DUMP_FILTERED too
            minlen = self._min
            n4 = n >> 2
            i = 0  # word index of the current message (offset = i * 4)
            c = 0
            # three copies of the walk, on purpose (an intentional hot-loop
            # specialisation): streamed offsets, kept views and count-only differ only
            # in what they store per message, and choosing inside one loop would cost a
            # branch per message on the hottest path
            pending = self._offsets
            if pending is not None:
                # streaming: offsets instead of views (counted by feed)
                put = pending.append
                offs = _OFFSETS if n <= 1 << 16 else tuple(range(0, n, 4))
                while i < n4:
                    ln = m[i]
                    if m[i + 1] != expect or ln < minlen:
                        if self._slow_one(data, i << 2, n, sender, group):
                            break
                        ln = m[i]
                    else:
                        put(offs[i])
                    i += (ln + 3) >> 2
            elif self.keep and self.sink is None:
                cls = self.cls
                new = cls.__new__
                ap = self.objects.append
                offs = _OFFSETS if n <= 1 << 16 else tuple(range(0, n, 4))
                while i < n4:
                    ln = m[i]
                    if m[i + 1] != expect or ln < minlen:
                        if self._slow_one(data, i << 2, n, sender, group):
                            break
                        ln = m[i]
                    else:
                        v = new(cls)
                        v._buf = data
                        v._off = offs[i]
                        ap(v)
                        c += 1
                    i += (ln + 3) >> 2
            else:
                while i < n4:
                    ln = m[i]
                    if m[i + 1] != expect or ln < minlen:
                        if self._slow_one(data, i << 2, n, sender, group):
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
        return col.done

    # -- slow path: the shared reply rule ------------------------------------------------
    def _slow_one(self, data: ReadableBuffer, o: int, n: int, sender: int, group: int) -> bool:
        """Handle the message at ``o`` through the collector; True when the dump ended."""
        if n - o < 16:
            raise DecodeError(f"truncated nlmsghdr: {n - o} bytes left", o)
        ln, t = nlmsghdr.unpack_from(data, o)[:2]
        if ln < 16 or ln > n - o:
            raise DecodeError(f"nlmsg_len {ln} ({n - o} bytes left)", o)
        msg = next(iter_messages(data, o, o + ln))
        col = self.col
        verdict = col.feed(msg, sender, group)
        if verdict != OURS:
            self.foreign += 1
            if self.route is not None:
                self.route(msg, verdict)
            return False
        if col.done:
            return True
        if t < NLMSG.MIN_TYPE or t != self.cls.TYPES[0]:
            return False  # NOOP, or some other object type in the reply: skip
        if ln < self._min:
            raise DecodeError(
                f"{self.cls.__name__}: message of {ln} bytes is shorter than its header", o)
        if self._offsets is not None:
            self._offsets.append(o)
            return False
        self.count += 1
        if self.keep:
            v = self.cls.__new__(self.cls)
            v._buf = data
            v._off = o
            self.objects.append(v)
        return False

    def _slow_all(self, data: ReadableBuffer, n: int, sender: int, group: int) -> None:
        o = 0
        while o < n:
            if n - o < 16:
                raise DecodeError(f"truncated nlmsghdr: {n - o} bytes left", o)
            ln = int(u32.unpack_from(data, o)[0])
            if self._slow_one(data, o, n, sender, group):
                break
            o += (ln + 3) & ~3
