"""Pure frame cursors over any writable buffer laid out as a netlink ring.

Nothing here makes a system call: the cursors read and write status words in a
buffer (a ``bytearray`` in tests, a kernel mapping or a memfd mapping in the
edge modules) and ask callbacks for anything else.

Positions.  Each cursor counts the frames it has moved past since the ring was
created (its *position*, never wrapping); the ring index is ``position % frame_nr``::

    producer position P --------------------------->  (fills, steps over SKIP)
    consumer position C ----------------->              C <= P always
    ring:  [VALID][VALID][SKIP][VALID][UNUSED][UNUSED][SKIP][UNUSED] ...
                    ^ C                      ^ P

RX, consumer side (:class:`RxConsumer`), the documented kernel protocol:

* VALID: deliver ``nm_len`` bytes at ``frame + 24``; ``nm_len == 0`` is released at
  once (the kernel dropped a message it had reserved a frame for);
* COPY: the message waits in a socket queue: the ``fetch`` callback must take it
  with exactly one ``recv``; the frame is then released like a VALID one;
* RESERVED, UNUSED: nothing more yet -- wait.  A RESERVED frame is never skipped;
* SKIP: a frame this consumer kept earlier: step over it once the producer has
  passed it (below).

Stepping over SKIP frames, and handing kept frames back, is where a ring can
reorder messages.  Two cases:

*Positions* (``producer_position`` returns a position): a producer that
publishes its position after every move and never runs more than one lap ahead
of the consumer's committed position (netring's filler and writer).  The
consumer reads ``P`` before a status; at ``C < P`` the frame is final for this
lap, so SKIP and UNUSED frames are stepped over, and a kept frame can be handed
back (UNUSED) at once, in any order: the producer cannot refill it before the
consumer has passed it.

*Frames only* (``producer_position`` is ``None`` or returns -1): the 4.5 kernel,
a 4.5 peer, anything that publishes nothing else.  Such a producer steps over
SKIP frames lazily, when it next needs a frame, and may rest a lap past a kept
frame; the consumer cannot tell where it rests.  So:

1. a SKIP frame at the head is stepped over once the producer has passed it: the
   first frame after the SKIP run is one the producer stored after passing
   (VALID, COPY or RESERVED, not a frame in the consumer's hand);
2. a released kept frame stays SKIP (the producer keeps stepping over it) until
   handing it back is safe whatever the producer does meanwhile: a frame in the
   consumer's hand lies between the consumer's head and it (the producer cannot
   pass a frame in hand, and sees the stores to the two frames in order), or the
   consumer steps over it while it holds some other frame in hand, or every
   frame of the ring is SKIP (then one released frame goes back: the producer
   can fill only that one, and the consumer finds it next).  An UNUSED frame
   proves nothing that lasts: the producer may fill it and run past between the
   consumer's look and its store.  Handed back at the wrong moment, a frame the
   producer rests past would be filled a lap late: messages out of order;
3. an UNUSED frame at the head while the producer has filled frames after it
   (overwritten by someone) is stepped over and counted.

Neither case lets the other side make the consumer lose, repeat or reorder a
message it published correctly.  The price of rule 2: with a producer that
publishes nothing, released kept frames can stay out of use (the producer fills
fewer frames) until the ring is all SKIP; the ring never stalls on them.

Trust.  The other side of a shared ring can store anything anywhere.  Every
``nm_len`` is checked against the data area (COPY: against ``max_message``) and
every status word against the five states before use; a frame that breaks the
protocol is dropped or repaired and counted (``corrupt``, ``last_error``), and
the stream goes on.  Nothing the other side writes makes a consumer raise,
allocate more than ``max_message``, or step more than one lap.

Status stores.  Every status word a cursor changes while the other side may
be working on the ring is stored with one single-item store, ``words[w] = s``
(CPython packs it with one 4-byte move).  Never with a slice store
(``words[a:b:stride] = array(...)``): CPython copies each item with a
``memcpy`` of run-time size, and glibc's ``memcpy`` for 4 bytes stores the word
*twice* (two overlapping 4-byte moves).  If this process is preempted between
the two, the other side can see the first store and answer it (the producer
refills a just-released frame; the consumer releases a just-published one), and
the second store then silently undoes that answer: a published VALID frame
turns UNUSED (the consumer steps over it as overwritten: a lost message) or a
released frame turns VALID again (read a lap later with stale data).  Header
words only the producer writes (``nm_len``, ...) may still be stored by slices.

Lifetimes: a :class:`Frame`'s ``data`` (and every message view made from it) is
valid until the frame is released; call ``bytes(frame.data)`` to keep it.
"""

from __future__ import annotations

from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

from array import array
from collections.abc import Callable, Generator, Iterator

from ..codec.message import Message, iter_messages
from ..errors import DecodeError, RingError
from .abi import NL_MMAP_HDRLEN, NL_MMAP_STATUS, NM_GID, NM_GROUP, NM_LEN, NM_PID, NM_UID
from .geometry import RingGeometry
from .states import ALLOWED, check

__all__ = ["RingView", "Frame", "RxConsumer", "RxProducer", "TxProducer", "TxSender", "BadFrame",
           "CorruptFrame", "MAX_MESSAGE"]

UNUSED = int(NL_MMAP_STATUS.UNUSED)
RESERVED = int(NL_MMAP_STATUS.RESERVED)
VALID = int(NL_MMAP_STATUS.VALID)
COPY = int(NL_MMAP_STATUS.COPY)
SKIP = int(NL_MMAP_STATUS.SKIP)

# the hot paths below make these moves without calling check(); they are in the table
assert ("rx", "consumer", VALID, UNUSED) in ALLOWED
assert ("rx", "consumer", COPY, UNUSED) in ALLOWED
assert ("rx", "consumer", SKIP, UNUSED) in ALLOWED
assert ("rx", "consumer", VALID, SKIP) in ALLOWED
assert ("rx", "producer", UNUSED, VALID) in ALLOWED
assert ("rx", "producer", UNUSED, COPY) in ALLOWED
assert ("tx", "user", UNUSED, VALID) in ALLOWED
assert ("tx", "sender", VALID, UNUSED) in ALLOWED


def _words(buf: Any) -> tuple[memoryview, memoryview]:
    mv = buf if isinstance(buf, memoryview) else memoryview(buf)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    if mv.readonly:
        raise RingError("a ring needs a writable buffer")
    return mv, mv[: len(mv) & ~3].cast("I")


class RingView:
    """One ring inside a buffer: frame addresses and status words.

    Args:
        buf: a writable buffer (bytearray, mmap, memoryview) holding the ring.
        geometry: the ring's geometry.
        base: offset of the ring in ``buf`` (a multiple of 4).

    Attributes:
        buf: the whole buffer as a byte memoryview.
        words: the whole buffer as a memoryview of host-order ``u32``.
        hdr: word index of each frame's ``nm_status``, in ring order.
        data: byte offset of each frame's data area, in ring order.
    """

    __slots__ = ("buf", "words", "geometry", "base", "hdr", "data", "n", "data_size")

    def __init__(self, buf: Any, geometry: RingGeometry, base: int = 0) -> None:
        self.buf, self.words = _words(buf)
        if base % 4:
            raise RingError(f"ring base offset {base} is not 4-byte aligned")
        if base + geometry.size > len(self.buf):
            raise RingError(
                f"buffer of {len(self.buf)} bytes cannot hold a {geometry.size}-byte ring at {base}"
            )
        self.geometry = geometry
        self.base = base
        self.hdr = [(base + off) >> 2 for off in geometry.offsets]
        self.data = [base + off + NL_MMAP_HDRLEN for off in geometry.offsets]
        self.n = geometry.frame_nr
        self.data_size = geometry.data_size

    def status(self, i: int) -> int:
        """``nm_status`` of frame ``i``."""
        return int(self.words[self.hdr[i]])

    def header(self, i: int) -> tuple[int, int, int, int, int, int]:
        """The whole ``nl_mmap_hdr`` of frame ``i``."""
        w = self.hdr[i]
        t = self.words[w : w + 6].tolist()
        return t[0], t[1], t[2], t[3], t[4], t[5]

    def statuses(self) -> list[int]:
        """Every frame's status, in ring order (for tests, repr and diagnostics)."""
        words = self.words
        return [int(words[w]) for w in self.hdr]

    def segments(self, start: int, count: int) -> Iterator[tuple[int, int, int, int]]:
        """Split frames ``start .. start+count-1`` (no wrap) into evenly spaced runs.

        Yields ``(first_frame, n, first_status_word, stride_in_words)``; a run never
        crosses a block tail, so each can be read or written with one strided slice.
        """
        g = self.geometry
        stride = g.frame_size >> 2
        if g.uniform:
            yield start, count, self.hdr[start], stride
            return
        fpb = g.frames_per_block
        i, end = start, start + count
        while i < end:
            n = min(end, (i // fpb + 1) * fpb) - i
            yield i, n, self.hdr[i], stride
            i += n

    def clear(self) -> None:
        """Set every frame UNUSED with a zero header (a fresh ring)."""
        words = self.words
        for w in self.hdr:
            words[w : w + 6] = array("I", bytes(24))


class Frame:
    """A frame handed to the consumer (VALID or COPY).

    Attributes:
        index: ring index of the frame.
        position: consumer position the frame was delivered at.
        status: ``NL_MMAP_STATUS.VALID`` or ``NL_MMAP_STATUS.COPY`` when delivered;
            ``SKIP`` once kept with :meth:`RxConsumer.skip`.
        len: ``nm_len`` (the message length, also for COPY frames).
        group: ``nm_group`` (destination multicast group, 0 for unicast).
        pid, uid, gid: ``nm_pid``/``nm_uid``/``nm_gid`` (sender credentials).
        data: the message bytes: a view of the frame's data area, or for a COPY
            frame the buffer ``fetch`` returned.  Valid until the frame is released.
    """

    __slots__ = ("index", "position", "status", "len", "group", "pid", "uid", "gid", "data",
                 "released")

    def __init__(self, index: int, position: int, status: int, hdr: tuple[int, ...],
                 data: memoryview) -> None:
        self.index = index
        self.position = position
        self.status = status
        self.len = hdr[1]
        self.group = hdr[2]
        self.pid = hdr[3]
        self.uid = hdr[4]
        self.gid = hdr[5]
        self.data = data
        self.released = False

    @property
    def is_copy(self) -> bool:
        """True when the message came through the COPY path (one recv)."""
        return self.status == COPY

    def messages(self) -> Iterator[Message]:
        """The netlink messages in the frame (a frame may hold several)."""
        return iter_messages(self.data)

    def __repr__(self) -> str:
        return (f"<Frame #{self.index} pos={self.position} {NL_MMAP_STATUS(self.status).name} "
                f"len={self.len} group={self.group} pid={self.pid}>")


#: default bound on a COPY frame's ``nm_len``: the most a consumer allocates for one message
MAX_MESSAGE = 4 << 20


class CorruptFrame(RingError):
    """Raised by a ``fetch`` callback when a COPY frame cannot be completed (its bytes
    never came, or do not match it): the consumer drops the frame and counts it."""


FetchFn = Callable[[Frame], "bytes | bytearray | memoryview | None"]


class RxConsumer:
    """Reads an RX ring in order: the consumer half of the netlink_mmap protocol.

    The consumer decides from the frames alone, as a 4.5 program does against the
    kernel: nothing the other side publishes elsewhere (positions, counters) is
    needed to read, step over or release a frame, and everything read from a
    frame is checked against the geometry first (module docstring: trust).

    Args:
        buf, geometry, base: where the ring is (see :class:`RingView`).
        fetch: called for a COPY frame with the :class:`Frame` (``len`` = ``nm_len``);
            receives the queued message and returns it, or ``None`` while its bytes
            have not all arrived (the frame stays at the head: look again later),
            or raises :class:`CorruptFrame` (the frame is dropped and counted).
            Without it a COPY frame is dropped and counted (no queue to fetch from).
        producer_position: returns the producer's published position (the
            user-space engine's header word): a hint for attaching and statistics,
            checked against the geometry; never needed to read the ring.
        position: the position to start at (a consumer re-attaching to a ring
            continues where the previous one committed).
        commit: called with the committed position (every frame before it is
            released or kept) each time it moves, e.g. to store it in a shared header.
        commit_slot: ``(memoryview, index)`` to store the committed position into
            directly (faster than ``commit`` on the :meth:`iter_data` path; both
            may be given: ``commit`` is then used by the other paths).
        max_message: the largest COPY message accepted (``nm_len``); a larger one
            is dropped and counted, nothing is allocated for it.

    Attributes:
        delivered: frames handed out; ``empty_released``: zero-length VALID frames
            released on the way (not delivered); ``copies``: COPY frames fetched.
        corrupt: frames or words the other side left in a state the protocol does
            not allow (dropped, repaired or ignored; see :meth:`next`);
            ``last_error``: what the last one was.
    """

    def __init__(
        self,
        buf: Any,
        geometry: RingGeometry,
        base: int = 0,
        *,
        fetch: FetchFn | None = None,
        producer_position: Callable[[], int] | None = None,
        position: int = 0,
        commit: Callable[[int], None] | None = None,
        commit_slot: tuple[memoryview, int] | None = None,
        max_message: int = MAX_MESSAGE,
    ) -> None:
        self.ring = RingView(buf, geometry, base)
        self.commit_slot = commit_slot
        self.fetch = fetch
        self.producer_position = producer_position
        self.commit = commit
        self.position = position
        self.max_message = max_message
        self._in_hand: dict[int, int] = {}  # ring index -> position, delivered, not released
        self.held: dict[int, Frame] = {}  # ring index -> frame kept with skip()
        self._deferred: set[int] = set()  # kept frames released by the program, still SKIP
        self.delivered = 0
        self.empty_released = 0
        self.copies = 0
        self.corrupt = 0
        self.last_error: str | None = None
        self.copy_waiting = False  # the COPY frame at the head waits for its bytes
        self._forged = -1

    # -- helpers ------------------------------------------------------------------------
    @property
    def head(self) -> int:
        """Ring index the consumer looks at next."""
        return self.position % self.ring.n

    @property
    def deferred(self) -> int:
        """Kept frames the program has released that are not handed back yet (see :meth:`release`)."""
        return len(self._deferred)

    def _corrupt(self, what: str) -> None:
        self.corrupt += 1
        self.last_error = what

    def _store(self, pos: int) -> None:
        if self.commit_slot is not None:
            cq, ci = self.commit_slot
            cq[ci] = pos
        if self.commit is not None:
            self.commit(pos)

    def _advance(self) -> None:
        self.position += 1
        if not self._in_hand:
            self._store(self.position)

    def _commit_after_release(self) -> None:
        self._store(min(self._in_hand.values()) if self._in_hand else self.position)

    def _drop(self, i: int, w: int, what: str) -> None:
        """Drop the frame at the head (ours to release): counted, stored UNUSED, stepped over."""
        self._corrupt(what)
        self.ring.words[w] = UNUSED
        self._advance()

    def producer_hint(self) -> int:
        """The producer's published position if one is vouched for and plausible, else -1.

        ``producer_position`` returns -1 while no producer that publishes its
        position (and keeps to one lap ahead) runs the ring.  Such a producer never
        runs more than one lap ahead of the consumer's committed position, so a
        value beyond ``position + frame_nr`` is forged or corrupt: it is counted
        once (per value) and ignored.
        """
        oracle = self.producer_position
        if oracle is None:
            return -1
        p = int(oracle())
        limit = self.position + self.ring.n
        if p > limit:
            if p != self._forged:
                self._forged = p
                self._corrupt(f"producer position {p} is more than one lap ahead of the "
                              f"consumer ({self.position} + {self.ring.n} frames): ignored")
            return -1
        return p

    def _passed(self, i: int) -> bool:
        """Has the producer moved past frame ``i``?  True when the first frame after
        it that is not SKIP holds something the producer stored after passing it:
        VALID, COPY or RESERVED, and not a frame in this consumer's hand."""
        ring = self.ring
        words, hdrs, n = ring.words, ring.hdr, ring.n
        j = i
        for _ in range(n - 1):
            j = j + 1 if j + 1 < n else 0
            st = words[hdrs[j]]
            if st == SKIP:
                continue
            return (st == VALID or st == COPY or st == RESERVED) and j not in self._in_hand
        return False

    def _bounded(self, i: int) -> bool:
        """May frame ``i``, being stepped over now, go back to the producer?  Only
        while some frame is in this consumer's hand: the producer cannot pass a
        frame in hand, so it is less than a lap past ``i``, and it cannot pass it
        before this consumer's store to ``i`` is visible (stores are seen in
        order, and the frame in hand is released after).  An UNUSED frame proves
        nothing that lasts: the producer may fill it and run past ``i`` between
        the look and the store."""
        return bool(self._in_hand) and i not in self._in_hand

    def _settle(self) -> None:
        """Hand back the released kept frames that lie after a frame in this
        consumer's hand, in the coming lap (the producer cannot get past that
        frame, so it cannot reach them first; see :meth:`_bounded`)."""
        ring = self.ring
        words, hdrs, n, inh = ring.words, ring.hdr, ring.n, self._in_hand
        if not inh:
            return
        head = self.position % n
        blocked = False
        for d in range(n):
            j = head + d if head + d < n else head + d - n
            if blocked:
                if j in self._deferred:
                    self._deferred.discard(j)
                    if words[hdrs[j]] == SKIP:
                        words[hdrs[j]] = UNUSED
                    if not self._deferred:
                        return
            elif j in inh:
                blocked = True

    def _all_skip(self) -> bool:
        words = self.ring.words
        return all(words[w] == SKIP for w in self.ring.hdr)

    def _free_one_deferred(self) -> None:
        """Every frame is SKIP: nothing is unread and nothing is free, so the producer
        can only fill the one frame handed back now, and the consumer finds it
        next (at its head, or as the first non-SKIP frame after its head).  Only
        one: with two the producer and the consumer could meet them in different
        orders (the producer's head may rest anywhere in the ring)."""
        words, hdrs, n = self.ring.words, self.ring.hdr, self.ring.n
        head = self.position % n
        k = min(self._deferred, key=lambda j: (j - head) % n)
        self._deferred.discard(k)
        words[hdrs[k]] = UNUSED

    # -- the protocol -------------------------------------------------------------------
    def next(self) -> Frame | None:
        """The next frame to process, or ``None`` when nothing is ready (wait, then retry).

        The frame stays the consumer's until :meth:`release` or :meth:`skip`.

        What the other side left, frame by frame at the head:

        * VALID, ``nm_len`` 0: released at once, not delivered (a dropped message);
        * VALID, ``nm_len`` beyond the data area: dropped, counted (``corrupt``);
        * COPY: fetched (``fetch``); ``nm_len`` beyond ``max_message`` or a fetch
          that fails: dropped, counted; bytes not all there yet: wait;
        * RESERVED: wait (never stepped over);
        * SKIP: a kept frame (ours, or a previous consumer's), stepped over once
          the producer has passed it (at ``C < P``, or rule 1 of the module
          docstring); a released kept frame is handed back when rule 2 allows;
        * UNUSED: wait; stepped over at ``C < P`` (a kept frame released late), or
          counted and stepped over when the producer has filled frames after it
          (rule 3);
        * any other status word: reset to UNUSED, counted, stepped over if the
          producer has passed it.
        """
        ring = self.ring
        words, hdrs, n, ds = ring.words, ring.hdr, ring.n, ring.data_size
        hint = self.producer_position is not None
        for _ in range(2 * n + 2):
            i = self.position % n
            if i in self._in_hand:
                return None  # wrapped onto a frame still being processed
            p = self.producer_hint() if hint else -1  # read P before the status
            w = hdrs[i]
            st = words[w]
            if st == VALID:
                hdr = ring.header(i)  # one read: the nm_len checked is the nm_len used
                if hdr[0] != VALID:
                    continue  # changed under us: look again
                ln = hdr[1]
                if ln == 0:
                    words[w] = UNUSED  # kernel freed a reserved frame: release at once
                    self.empty_released += 1
                    self._advance()
                    continue
                if ln > ds:
                    self._drop(i, w, f"VALID frame {i} (position {self.position}) has nm_len "
                                     f"{ln} > data area {ds}: dropped")
                    continue
                d = ring.data[i]
                return self._hand(Frame(i, self.position, VALID, hdr, ring.buf[d : d + ln]))
            if st == COPY:
                hdr = ring.header(i)
                ln = hdr[1]
                if ln > self.max_message:
                    self.copy_waiting = False
                    self._drop(i, w, f"COPY frame {i} (position {self.position}) has nm_len "
                                     f"{ln} > max_message {self.max_message}: dropped")
                    continue
                if self.fetch is None:
                    self._drop(i, w, f"COPY frame {i} (position {self.position}) and no "
                                     f"socket queue to fetch it from: dropped")
                    continue
                f = Frame(i, self.position, COPY, hdr, memoryview(b""))
                try:
                    got = self.fetch(f)
                except CorruptFrame as exc:
                    self.copy_waiting = False
                    self._drop(i, w, f"COPY frame {i} (position {self.position}): {exc}: dropped")
                    continue
                if got is None:
                    self.copy_waiting = True
                    return None
                self.copy_waiting = False
                f.data = got if isinstance(got, memoryview) else memoryview(got)
                self.copies += 1
                return self._hand(f)
            if st == SKIP:
                if self.position < p or self._passed(i):
                    if i in self._deferred and (self.position < p or self._bounded(i)):
                        self._deferred.discard(i)
                        words[w] = UNUSED  # passed, and less than a lap ago: hand it back
                    self._advance()
                    continue
                if self._deferred and self._all_skip():
                    self._free_one_deferred()
                    continue
                self._waiting()
                return None
            if st == UNUSED:
                if self.position < p:
                    self._advance()  # final for this lap (a kept frame released late)
                    continue
                if self._passed(i) and words[w] == UNUSED:  # re-read after the later frame
                    self._corrupt(f"frame {i} (position {self.position}) is UNUSED but the "
                                  f"producer has filled frames after it: stepped over")
                    self._advance()
                    continue
                self._waiting()
                return None
            if st == RESERVED:
                self._waiting()
                return None
            self._corrupt(f"frame {i} (position {self.position}) has status {st}, none of "
                          f"the five: reset to UNUSED")
            self._deferred.discard(i)
            words[w] = UNUSED
            if self._passed(i):
                self._advance()
        return None

    def _waiting(self) -> None:
        """Nothing to read at the head: hand back what rule 2 allows meanwhile."""
        if self._deferred:
            self._settle()

    def _hand(self, f: Frame) -> Frame:
        self._in_hand[f.index] = self.position
        self.delivered += 1
        self.position += 1
        return f

    def release(self, frame: Frame) -> None:
        """Give a frame back to the producer.

        A frame in hand (VALID or COPY) is stored UNUSED at once.  A kept frame
        (SKIP) is stored UNUSED at once when a producer publishes its position;
        otherwise it is handed back as the module docstring's rule 2 says (it
        stays SKIP until that is safe).  The program's side is done at once:
        ``frame`` and its views are invalid after this call.

        Raises:
            RingError: the frame was released already, or is not this consumer's.
        """
        if frame.released:
            raise RingError(f"frame {frame.index} (position {frame.position}) released twice")
        i = frame.index
        w = self.ring.hdr[i]
        words = self.ring.words
        if frame.status == SKIP:
            if self.held.get(i) is not frame:
                raise RingError(f"frame {i} is not kept by this consumer")
            del self.held[i]
            frame.released = True
            if words[w] != SKIP:
                self._corrupt(f"kept frame {i} has status {words[w]}, not SKIP: left as it is")
            elif self.producer_hint() >= 0:
                words[w] = UNUSED  # a positions producer: final frames are stepped over (rule 3)
            else:
                self._deferred.add(i)
                self._settle()
            return
        if self._in_hand.get(i) != frame.position:
            raise RingError(f"frame {i} is not in this consumer's hand")
        del self._in_hand[i]
        frame.released = True
        st = words[w]
        if st == VALID or st == COPY:
            words[w] = UNUSED
        else:  # the other side changed a frame it had handed over: do not store over it
            self._corrupt(f"frame {i} in hand has status {st}, not VALID/COPY: left as it is")
        self._commit_after_release()

    def skip(self, frame: Frame) -> None:
        """Keep a frame (VALID -> SKIP) and read on; :meth:`release` it later, in any order.

        A COPY frame's message is already out of the socket; keeping it keeps the
        fetched buffer, and the ring slot is marked SKIP like a VALID one.
        """
        i = frame.index
        if frame.released or self._in_hand.get(i) != frame.position:
            raise RingError(f"frame {i} is not in this consumer's hand")
        w = self.ring.hdr[i]
        st = int(self.ring.words[w])
        del self._in_hand[i]
        if st == VALID or st == COPY:  # a fetched COPY slot is kept like a VALID one
            self.ring.words[w] = SKIP
        else:
            self._corrupt(f"frame {i} in hand has status {st}, not VALID/COPY: not marked SKIP")
        frame.status = SKIP
        self.held[i] = frame
        self._commit_after_release()

    def drop_orphans(self) -> int:
        """Release SKIP frames kept by a previous consumer of this ring (after a crash).

        Their messages were delivered to that consumer and are not delivered again.
        They are handed back as released kept frames are (see :meth:`release`).
        Returns how many frames were found.
        """
        words, count = self.ring.words, 0
        for i, w in enumerate(self.ring.hdr):
            if words[w] == SKIP and i not in self.held and i not in self._deferred:
                self._deferred.add(i)
                count += 1
        return count

    def iter_data(self, limit: int) -> Generator[memoryview, None, int]:
        """Yield up to ``limit`` ready messages as views, in ring order; stop when
        nothing is ready.  Returns (``StopIteration.value``) how many were yielded.

        The fast path: runs of VALID frames are read with strided slices, no
        :class:`Frame` object is made, and a run's frames are released together
        when the run is done or the iterator is closed.  A view is valid until the
        next iteration step.  With ``commit_slot`` set, the committed position is
        stored after every frame, so a consumer that dies mid-run leaves exactly
        the frame in hand undone (see :meth:`recover`).  Anything else (COPY,
        SKIP, empty or corrupt frames, waiting) goes through :meth:`next`.
        """
        ring = self.ring
        words, hdrs, datas, buf, n = ring.words, ring.hdr, ring.data, ring.buf, ring.n
        ds = ring.data_size
        stride = ring.geometry.frame_size >> 2
        fpb = ring.geometry.frames_per_block
        uniform = ring.geometry.uniform
        cq, ci = self.commit_slot if self.commit_slot is not None else (None, 0)
        yielded = 0
        while yielded < limit:
            i = self.position % n
            w0 = hdrs[i]
            if self._in_hand or words[w0] != VALID or not 0 < words[w0 + 1] <= ds:
                f = self.next()  # slow path: COPY, SKIP, empty or bad frames, waiting, in hand
                if f is None:
                    return yielded
                try:
                    yield f.data
                finally:
                    self.release(f)
                yielded += 1
                continue
            k = min(limit - yielded, n - i)
            if not uniform:
                k = min(k, fpb - i % fpb)
            sts = words[w0 : w0 + k * stride : stride].tolist()
            if sts.count(VALID) != k:
                k = sts.index(next(x for x in sts if x != VALID))
            lens = words[w0 + 1 : w0 + 1 + k * stride : stride].tolist()
            if k and (max(lens) > ds or min(lens) == 0):
                k = next(j for j, x in enumerate(lens) if x > ds or x == 0)
                del lens[k:]
            if k == 0:
                continue  # the head changed under us: look again (next() judges it)
            base = self.position
            j = 0
            try:
                for d, ln in zip(datas[i : i + k], lens, strict=True):
                    yield buf[d : d + ln]
                    j += 1
                    if cq is not None:
                        cq[ci] = base + j
            except GeneratorExit:
                j += 1  # closed while holding a view: that frame was taken
                raise
            finally:
                # one single-word store per status: never a slice store (module docstring: status stores)
                for w in range(w0, w0 + j * stride, stride):
                    words[w] = UNUSED
                self.position = base + j
                self.delivered += j
                if self.commit is not None:
                    self.commit(base + j)
                elif cq is not None:
                    cq[ci] = base + j
            yielded += k
        return yielded

    def recover(self, producer_position: int) -> int:
        """After attaching where a dead consumer stopped: release the frames it had
        finished (before the committed position) but not yet released.

        A frame at position ``p < position`` still VALID with ``p + frame_nr >=
        producer_position`` was never released (the producer cannot have refilled
        it).  Only a producer position the ring's own producers published can say
        that: outside ``position .. position + frame_nr`` (none published, as with
        a 4.5 peer, or forged) nothing is touched.  Returns how many frames were
        released.
        """
        ring = self.ring
        n, words = ring.n, ring.words
        if not self.position <= producer_position <= self.position + n:
            return 0
        count = 0
        for p in range(max(0, self.position - n), self.position):
            w = ring.hdr[p % n]
            if words[w] in (VALID, COPY) and p + n >= producer_position:
                words[w] = UNUSED
                count += 1
        return count

    def ready(self) -> bool:
        """True when :meth:`next` would deliver a frame or move on (no syscall):
        the readiness rule of the kernel's ``netlink_poll``, the frame at the head
        is VALID (or COPY), plus the cases where the consumer steps over or
        repairs frames.  A COPY frame whose bytes are not all there is not ready
        (wait for the queue to become readable)."""
        ring = self.ring
        i = self.position % ring.n
        if i in self._in_hand:
            return False
        p = self.producer_hint() if self.producer_position is not None else -1  # P first
        st = ring.words[ring.hdr[i]]
        if st == VALID:
            return True
        if st == COPY:
            return not self.copy_waiting
        if st == RESERVED:
            return False
        if st == SKIP:
            return self.position < p or self._passed(i) or (
                bool(self._deferred) and self._all_skip())
        if st == UNUSED:
            return self.position < p or self._passed(i)
        return True  # a status outside the five: next() repairs it


class RxProducer:
    """Fills an RX ring: the producer half (the kernel's part, done in user space).

    Usage: :meth:`reserve` finds a run of UNUSED frames at the head (stepping
    over SKIP frames); the caller writes messages into those frames' data areas
    (e.g. with one ``recvmmsg``); :meth:`publish` writes the headers and stores
    VALID (or COPY) last.

    Args:
        buf, geometry, base: where the ring is.
        position: where to start (continue a producer's published position).
        publish_position: called with the new position after every move
            (the consumer's ``producer_position`` reads it back).
        consumer_position: returns the consumer's committed position; the
            producer then never moves more than one lap ahead of it.  Without
            it, a frame released after the producer stepped over it (SKIP) could
            be refilled before the consumer got there, and read a lap early.
    """

    def __init__(self, buf: Any, geometry: RingGeometry, base: int = 0, *,
                 position: int = 0, publish_position: Callable[[int], None] | None = None,
                 consumer_position: Callable[[], int] | None = None) -> None:
        self.ring = RingView(buf, geometry, base)
        self.position = position
        self.publish_position = publish_position
        self.consumer_position = consumer_position
        self.published = 0
        self.copies = 0
        self.skipped = 0

    @property
    def head(self) -> int:
        """Ring index the producer fills next."""
        return self.position % self.ring.n

    def reserve(self, max_n: int) -> tuple[int, int]:
        """Step over SKIP frames, then return ``(first_index, count)`` of the run of
        UNUSED frames at the head (``count`` 0: the ring is full).  No wrap-around:
        a run ends at the ring's last frame.
        """
        ring = self.ring
        words, hdrs, n = ring.words, ring.hdr, ring.n
        moved = 0
        lap = n
        if self.consumer_position is not None:
            lap = self.consumer_position() + n - self.position
            if lap <= 0:
                return self.position % n, 0
        while moved < lap and words[hdrs[self.position % n]] == SKIP:
            self.position += 1
            moved += 1
        if moved:
            self.skipped += moved
            if self.publish_position is not None:
                self.publish_position(self.position)
        head = self.position % n
        limit = min(max_n, n - head, lap - moved)
        if not ring.geometry.uniform:
            fpb = ring.geometry.frames_per_block
            limit = min(limit, fpb - head % fpb) if words[hdrs[head]] == UNUSED else 0
        if limit <= 0:
            return head, 0
        stride = ring.geometry.frame_size >> 2
        w0 = hdrs[head]
        sts = words[w0 : w0 + limit * stride : stride].tolist()
        if max(sts) == UNUSED:
            return head, limit
        count = 0
        while sts[count] == UNUSED:
            count += 1
        return head, count

    def reserve_frame(self) -> int | None:
        """Reserve the frame at the head to build one message in place
        (UNUSED -> RESERVED, as the 3.10-4.5 kernel did for a ring skb), stepping over
        SKIP frames first.  Returns its ring index, or ``None`` when the ring is
        full.  Finish with :meth:`publish_one` (RESERVED -> VALID); a consumer
        waits at a RESERVED frame and never steps over it.
        """
        start, cnt = self.reserve(1)
        if cnt == 0:
            return None
        w = self.ring.hdr[start]
        check("rx", "producer", int(self.ring.words[w]), RESERVED, start)
        self.ring.words[w] = RESERVED
        return start

    def drop_reserved(self) -> bool:
        """If the head frame is RESERVED (a producer reserved it and died before
        publishing), publish it as VALID with ``nm_len`` 0 -- the kernel's own
        "message dropped" frame, which consumers release at once.  Call this only
        as the ring's one producer, when taking over.  True if a frame was dropped.
        """
        ring = self.ring
        i = self.position % ring.n
        if ring.words[ring.hdr[i]] != RESERVED:
            return False
        self.publish_one(0)
        return True

    def data_view(self, i: int) -> memoryview:
        """The writable data area of frame ``i`` (``frame_size - 24`` bytes)."""
        d = self.ring.data[i]
        return self.ring.buf[d : d + self.ring.data_size]

    def publish(
        self,
        start: int,
        lengths: Any,
        *,
        groups: Any = None,
        pids: Any = None,
        uids: Any = None,
        gids: Any = None,
    ) -> int:
        """Publish frames ``start .. start+len(lengths)-1`` (a run from :meth:`reserve`).

        ``lengths[k]`` is the message length for frame ``start+k``; a length larger
        than the data area makes a COPY frame (the message itself waits elsewhere,
        ``nm_len`` tells its size).  ``groups``/``pids``/``uids``/``gids`` are optional
        sequences (``array('I')`` or ``memoryview`` of format ``I`` for the fast path).
        VALID/COPY is stored after all other header words.  Returns the count.
        """
        ring = self.ring
        k = len(lengths)
        if k == 0:
            return 0
        if start != self.position % ring.n or start + k > ring.n:
            raise RingError(f"publish of frames {start}..{start + k - 1} is not the reserved run "
                            f"at head {self.position % ring.n}")
        words = ring.words
        ds = ring.data_size
        copies = 0
        if not isinstance(lengths, memoryview | array):
            lengths = array("I", lengths)
        try:
            if max(lengths) > ds:
                copies = sum(1 for x in lengths if x > ds)
        except TypeError:
            raise RingError("lengths must be integers") from None
        done = 0
        for first, cnt, w0, stride in ring.segments(start, k):
            off = first - start
            end = w0 + cnt * stride
            words[w0 + NM_LEN : end + NM_LEN : stride] = lengths[off : off + cnt]
            for field, vals in ((NM_GROUP, groups), (NM_PID, pids), (NM_UID, uids),
                                (NM_GID, gids)):
                if vals is not None:
                    v = vals if isinstance(vals, memoryview | array) else array("I", vals)
                    words[w0 + field : end + field : stride] = v[off : off + cnt]
            if copies:
                for j in range(cnt):
                    words[w0 + j * stride] = COPY if lengths[off + j] > ds else VALID
            else:
                for w in range(w0, end, stride):  # single-word stores (module docstring: status stores)
                    words[w] = VALID
            done += cnt
        self.position += done
        self.published += done
        self.copies += copies
        if self.publish_position is not None:
            self.publish_position(self.position)
        return done

    def publish_one(self, length: int, status: int = VALID, group: int = 0,
                    creds: tuple[int, int, int] | None = None) -> int:
        """Publish the frame at the head with one header (after :meth:`reserve`)."""
        ring = self.ring
        i = self.position % ring.n
        w = ring.hdr[i]
        st = int(ring.words[w])
        check("rx", "producer", st, status, i)
        if status == VALID and length > ring.data_size:
            raise RingError(f"message of {length} bytes does not fit frame data {ring.data_size}")
        pid, uid, gid = creds if creds is not None else (0, 0, 0)
        ring.words[w + 1 : w + 6] = array("I", (length, group, pid & 0xFFFFFFFF, uid, gid))
        ring.words[w] = status
        self.position += 1
        self.published += 1
        if status == COPY:
            self.copies += 1
        if self.publish_position is not None:
            self.publish_position(self.position)
        return i


class BadFrame(RingError):
    """A TX frame that cannot be sent as it is (``nm_len`` out of range, or its
    netlink messages do not add up to ``nm_len``).

    Attributes:
        index: ring index of the frame.
        nm_len: the frame's ``nm_len``.
        reason: what is wrong.
    """

    def __init__(self, index: int, nm_len: int, reason: str) -> None:
        super().__init__(f"TX frame {index}: nm_len {nm_len}: {reason}")
        self.index = index
        self.nm_len = nm_len
        self.reason = reason


class TxProducer:
    """The user half of a TX ring: build messages in place, mark them VALID.

    ``view = tx.frame()`` is the writable data area of the next UNUSED frame (or
    ``None`` when the ring is full); build one or more netlink messages into it
    (e.g. ``Builder(view)``), then :meth:`commit` the length.  Frames are filled
    strictly in ring order: the sender walks them in that order.
    """

    def __init__(self, buf: Any, geometry: RingGeometry, base: int = 0) -> None:
        self.ring = RingView(buf, geometry, base)
        self.position = 0
        self.committed = 0

    def frame(self) -> memoryview | None:
        """Writable data area of the next free frame; valid until :meth:`commit`."""
        ring = self.ring
        i = self.position % ring.n
        if ring.words[ring.hdr[i]] != UNUSED:
            return None
        d = ring.data[i]
        return ring.buf[d : d + ring.data_size]

    def commit(self, length: int) -> int:
        """Set ``nm_len`` of the frame from :meth:`frame`, then store VALID.

        Raises:
            RingError: ``length`` is not 1..data area, or the frame is not free.
        """
        ring = self.ring
        i = self.position % ring.n
        if not 0 < length <= ring.data_size:
            raise RingError(f"TX frame {i}: nm_len {length} outside 1..{ring.data_size}")
        w = ring.hdr[i]
        check("tx", "user", int(ring.words[w]), VALID, i)
        ring.words[w + 1] = length
        ring.words[w] = VALID
        self.position += 1
        self.committed += 1
        return i

    def ready(self) -> bool:
        """True when the head frame is free for building (UNUSED)."""
        ring = self.ring
        return bool(ring.words[ring.hdr[self.position % ring.n]] == UNUSED)

    def free(self) -> int:
        """Frames free for building, from the head on (stops at the first busy one)."""
        ring, n = self.ring, 0
        while n < ring.n and ring.words[ring.hdr[(self.position + n) % ring.n]] == UNUSED:
            n += 1
        return n


class TxSender:
    """The sending half of a TX ring: walk VALID frames in order, then release them.

    :meth:`pending` returns the VALID frames from the head, checking each one the
    way the kernel would before copying it (``nm_len`` within the data area) and
    walking its netlink messages so that one bad frame cannot make the kernel stop
    parsing the frames sent after it.  :meth:`complete` releases the sent frames.
    """

    def __init__(self, buf: Any, geometry: RingGeometry, base: int = 0,
                 check_messages: bool = True) -> None:
        self.ring = RingView(buf, geometry, base)
        self.position = 0
        self.check_messages = check_messages

    def pending(
        self, limit: int | None = None
    ) -> tuple[list[tuple[int, memoryview]], list[BadFrame], int]:
        """``(good, bad, walked)`` for the run of VALID frames at the head.

        ``good`` is ``[(index, view of the data padded to 4 bytes), ...]`` in ring
        order, ``bad`` the frames that must not be sent (:class:`BadFrame`), and
        ``walked`` how many frames the run spans.  Bad frames are released by
        :meth:`complete` like the others, so the ring never stalls on them.
        """
        ring = self.ring
        words, hdrs, datas, buf, n, ds = ring.words, ring.hdr, ring.data, ring.buf, ring.n, ring.data_size
        good: list[tuple[int, memoryview]] = []
        bad: list[BadFrame] = []
        lim = n if limit is None else min(limit, n)
        pos = self.position
        walked = 0
        for k in range(lim):
            i = (pos + k) % n
            w = hdrs[i]
            if words[w] != VALID:
                break
            walked += 1
            ln = int(words[w + 1])
            if not 16 <= ln <= ds:
                bad.append(BadFrame(i, ln, f"outside 16..{ds} (frame data area)"))
                continue
            d = datas[i]
            view = buf[d : d + ((ln + 3) & ~3)]
            if self.check_messages:
                try:
                    end = 0
                    for m in iter_messages(view, 0, ln):
                        end = m.end
                    if end != ln:
                        raise DecodeError("messages end before nm_len", end)
                except DecodeError as exc:
                    bad.append(BadFrame(i, ln, f"netlink messages do not add up: {exc}"))
                    continue
            good.append((i, view))
        return good, bad, walked

    def complete(self, count: int) -> None:
        """Release the first ``count`` frames at the head (VALID -> UNUSED)."""
        ring = self.ring
        words, hdrs, n = ring.words, ring.hdr, ring.n
        for k in range(count):
            w = hdrs[(self.position + k) % n]
            if words[w] != VALID:
                raise RingError(f"TX frame {(self.position + k) % n} is not VALID")
            words[w] = UNUSED
        self.position += count
