"""A worker pool behind one queue socket: what travels in its rings, pure.

The owner process holds the ``NETLINK_NETFILTER`` socket; each worker process has
two shared rings (:mod:`netring.nlmmap`), one per direction, and every frame holds
netlink messages::

    owner --(packet ring: the owner writes, the worker reads)--> worker
        frame = NFQNL_MSG_PACKET messages, byte for byte as the kernel sent them, back
                to back, each at a 4-byte aligned offset (NLMSG_ALIGN: the kernel does
                not pad the payload, so nlmsg_len need not be a multiple of 4), as
                many as fit the frame; nm_len ends with the last one
                (nlmsghdr | nfgenmsg res_id=queue | NFQA_PACKET_HDR id ... | NFQA_PAYLOAD)
        frame = NLMSG_DONE (nlmsghdr | error 0): no more packets; finish and exit

    worker --(verdict ring: the worker writes, the owner reads)--> owner
        frame = NFQNL_MSG_VERDICT messages back to back, one per packet, in the order
                the worker decided them (VerdictWriter's layout):
                nlmsghdr | nfgenmsg res_id=queue | NFQA_VERDICT_HDR {verdict, id}
                [| NFQA_MARK] [| NFQA_CT {CTA_MARK, CTA_LABELS}] [| NFQA_PAYLOAD]

The owner trusts nothing it reads from a worker: :func:`decode_verdicts` checks
every length, type and attribute (and the verdict word, :func:`check_verdict`,
which the kernel would refuse with EINVAL and leave the packet queued) and raises
:class:`~netring.errors.DecodeError`; the owner then checks that each id is one it
gave that worker.

The control block is a small shared mapping of u64 words (:class:`CtlWord`) the
workers count in and the owner reads for statistics, plus one line of text per
worker (its last callback error).  Counters are information only: no decision of
the owner rests on them.
"""

from __future__ import annotations

import struct
import sys
from array import array

from ....codec.constants import NLMSG
from ....codec.structs import nlmsghdr
from ....codec.types import ReadableBuffer
from ....errors import DecodeError, EncodeError
from ....strided import uniform_fields
from ..constants import NF, NF_VERDICT_MASK
from .constants import NFQA
from .packet import NFQNL_PACKET_TYPE
from .requests import NFQNL_VERDICT_TYPE, PLAIN_VERDICT_SIZE, VerdictWriter
from .stats import QueueStats
from .structs import nfqnl_msg_verdict_hdr

__all__ = [
    "END_MESSAGE", "PACKET_HEADER", "PACKET_TYPE_BE", "is_end", "check_verdict", "VerdictRecords",
    "VerdictExtra", "VerdictRecord", "decode_verdicts", "plain_verdicts", "CtlWord", "ctl_size", "error_offset",
    "error_text", "ERROR_BYTES", "HEADROOM", "frame_bytes",
    "WorkerStats", "PoolStats", "FANOUTS", "pool_line",
]

#: fanout modes by name: ``flow`` (symmetric 5-tuple hash) and ``rr`` (round-robin,
#: skipping a worker whose ring is full)
FANOUTS = ("flow", "rr")

#: the end-of-stream frame: NLMSG_DONE with error 0 (no more packets: finish and exit)
END_MESSAGE = nlmsghdr.pack(nlmsghdr.size + 4, NLMSG.DONE, 0, 0, 0) + bytes(4)

#: one big-endian unpack of a packet frame: nlmsg_type (host order, read as be16),
#: nfgenmsg.res_id (the queue) and nfqnl_msg_packet_hdr.packet_id
PACKET_HEADER = struct.Struct("!4xH12xH4xI")
#: a packet's nlmsg_type as PACKET_HEADER reads it on this host
PACKET_TYPE_BE = int.from_bytes(int(NFQNL_PACKET_TYPE).to_bytes(2, sys.byteorder), "big")

#: frame bytes beyond the copy range, for the metadata attributes before the payload
#: (the queue's own receive slots leave the same room, so what it delivers whole fits)
HEADROOM = 1024


def frame_bytes(copy_mode_packet: bool, copy_range: int) -> int:
    """Data bytes a packet frame needs to hold any message the queue can deliver whole
    (the queue's receive slot: payload up to ``copy_range`` plus metadata)."""
    full = copy_range if copy_mode_packet else 0
    return (full + HEADROOM + 63) & ~63


def check_verdict(verdict: int) -> int:
    """The verdict word as an int, or :class:`~netring.errors.EncodeError` for one the
    kernel refuses (``nfqnl_recv_verdict``: EINVAL for a low byte above NF_STOP or
    equal to NF_STOLEN; the packet would stay queued)."""
    v = int(verdict)
    if not 0 <= v <= 0xFFFFFFFF:
        raise EncodeError(f"verdict {verdict!r} outside 0..2**32-1")
    low = v & NF_VERDICT_MASK
    if low > NF.STOP or low == NF.STOLEN:
        raise EncodeError(f"verdict {v:#x}: the kernel accepts NF_DROP, NF_ACCEPT, NF_QUEUE, "
                          "NF_REPEAT and NF_STOP (low byte), not STOLEN or above STOP")
    return v


class VerdictExtra:
    """What a verdict record carries beyond verdict and mark (its own message).

    Attributes:
        connmark, labels: conntrack changes (``NFQA_CT``: ``CTA_MARK``, ``CTA_LABELS``).
        payload: the replacement packet (a view of the verdict frame: valid until the
            frame is released).
    """

    __slots__ = ("connmark", "labels", "payload")

    def __init__(self, connmark: int | None = None, labels: int | None = None,
                 payload: memoryview | None = None) -> None:
        self.connmark = connmark
        self.labels = labels
        self.payload = payload

    def __repr__(self) -> str:
        n = None if self.payload is None else len(self.payload)
        return f"<VerdictExtra connmark={self.connmark} labels={self.labels} payload={n}>"


#: (queue, packet id, verdict word, mark or None, extra or None)
VerdictRecord = tuple[int, int, int, "int | None", "VerdictExtra | None"]


class VerdictRecords:
    """A worker's verdicts for one frame: ``NFQNL_MSG_VERDICT`` messages written with
    :class:`~.requests.VerdictWriter` into a buffer the size of a frame's data area.

    Raises (from :meth:`add`):
        EncodeError: no room (:attr:`room` says how much is left; send and
            :meth:`reset` first) or a value out of range.
    """

    __slots__ = ("writer",)

    def __init__(self, size: int) -> None:
        self.writer = VerdictWriter(size)

    @property
    def count(self) -> int:
        """Records written."""
        return self.writer.count

    @property
    def room(self) -> int:
        """Bytes still free."""
        return self.writer.room

    def view(self) -> memoryview:
        """The records (valid until the next add or reset)."""
        return self.writer.view()

    def reset(self) -> None:
        """Forget the records (after they were sent)."""
        self.writer.reset()

    @staticmethod
    def size_of(mark: int | None = None, connmark: int | None = None,
                labels: int | None = None, payload: ReadableBuffer | None = None) -> int:
        """Bytes one record takes (an upper bound for records with a conntrack nest)."""
        n = PLAIN_VERDICT_SIZE + (8 if mark is not None else 0)
        if connmark is not None or labels is not None:
            n += 4 + 8 + 8 + 4 + 16 + 8
        if payload is not None:
            n += 4 + ((len(memoryview(payload)) + 3) & ~3)
        return n

    def add(self, queue: int, packet_id: int, verdict: int, *, mark: int | None = None,
            connmark: int | None = None, labels: int | None = None,
            payload: ReadableBuffer | None = None) -> None:
        """Append the verdict for one packet (sequence number 0: the owner sends)."""
        if payload is None and connmark is None and labels is None:
            self.writer.plain(NFQNL_VERDICT_TYPE, queue, packet_id, verdict, 0, mark)
        else:
            self.writer.full(queue, packet_id, verdict, 0, mark=mark, connmark=connmark,
                             labels=labels, payload=payload)


def _swapped16(v: int) -> int:
    return int.from_bytes(v.to_bytes(2, sys.byteorder), "big")


def _swapped32(v: int) -> int:
    return int.from_bytes(v.to_bytes(4, sys.byteorder), "big")


# a plain 32-byte verdict read big-endian in one call: nlmsghdr's nlmsg_len and
# nlmsg_type (host order, compared pre-swapped), nfgenmsg's res_id, the NFQA_VERDICT_HDR
# nlattr word (pre-swapped too), then nfqnl_msg_verdict_hdr's verdict and id
_PLAIN = struct.Struct("!IH12xHIII")
assert _PLAIN.size == PLAIN_VERDICT_SIZE
_PLAIN_LEN_BE = _swapped32(PLAIN_VERDICT_SIZE)
_TYPE_BE = _swapped16(NFQNL_VERDICT_TYPE)
_VHDR_NLA_BE = _swapped32(12 | int(NFQA.VERDICT_HDR) << 16)
_MARK_NLA_BE = _swapped32(8 | int(NFQA.MARK) << 16)
_head = struct.Struct("=IH")  # nlmsg_len, nlmsg_type
_be_word = struct.Struct("!I")  # the NFQA_VERDICT_HDR nlattr word, read big-endian
_nla = struct.Struct("=HH")
_be32 = struct.Struct("!I")
_NLA_TYPE_MASK = 0x3FFF
_NESTED = 0x8000


def decode_verdicts(buf: ReadableBuffer) -> list[VerdictRecord]:
    """The verdict records of one verdict frame, checked (see the module docstring).

    Returns:
        ``(queue, packet_id, verdict, mark, extra)`` per record, in frame order; ``mark``
        is ``None`` when the record sets none, ``extra`` is ``None`` for plain records.

    Raises:
        DecodeError: anything that is not a well-formed verdict message for the
            kernel: bad lengths, another message type, a missing or misplaced
            ``NFQA_VERDICT_HDR``, an unknown attribute, a verdict the kernel refuses.
    """
    mv = buf if isinstance(buf, memoryview) else memoryview(buf)
    n = len(mv)
    if n == 0:
        raise DecodeError("an empty verdict frame", 0)
    if n % PLAIN_VERDICT_SIZE == 0:
        # the common frame: plain verdicts only, one unpack each
        out: list[VerdictRecord] = []
        for ln, ty, queue, nla, verdict, pid in _PLAIN.iter_unpack(mv):
            if ln != _PLAIN_LEN_BE or ty != _TYPE_BE or nla != _VHDR_NLA_BE:
                break
            low = verdict & 0xFF
            if low > 5 or low == 2:
                break
            out.append((queue, pid, verdict, None, None))
        else:
            return out
    return _decode_slow(mv, n)


#: what every record of a plain run holds alike: nlmsg_len, nlmsg_type, res_id (the
#: queue), the NFQA_VERDICT_HDR nlattr word and the verdict word
_RUN_FIELDS = ((0, 4), (4, 2), (18, 2), (20, 4), (24, 4))
_ID_WORD = 28 // 4  # nfqnl_msg_verdict_hdr.id, in 32-bit words from a record's start
_RECORD_WORDS = PLAIN_VERDICT_SIZE // 4


def plain_verdicts(buf: ReadableBuffer) -> tuple[int, int, list[int]] | None:
    """``(queue, verdict, ids)`` when a verdict frame is a run of plain records (no
    mark, no other attribute) all for one queue with one verdict -- what a worker
    writes for packets it accepts -- checked as :func:`decode_verdicts` checks each
    record, in a few C-level steps for the whole frame; else ``None`` (decode it
    with :func:`decode_verdicts`).  The ids are in frame order."""
    mv = buf if isinstance(buf, memoryview) else memoryview(buf)
    mv = mv.cast("B") if mv.format != "B" else mv
    n = len(mv)
    if n == 0 or n % PLAIN_VERDICT_SIZE:
        return None
    count = n // PLAIN_VERDICT_SIZE
    if not uniform_fields(mv, PLAIN_VERDICT_SIZE, count, _RUN_FIELDS):
        return None
    ln, ty, queue, nla, verdict, _pid = _PLAIN.unpack_from(mv, 0)
    low = verdict & 0xFF
    if ln != _PLAIN_LEN_BE or ty != _TYPE_BE or nla != _VHDR_NLA_BE or low > 5 or low == 2:
        return None  # the record-by-record decode names what is wrong
    ids = array("I", mv.cast("I")[_ID_WORD::_RECORD_WORDS])
    if sys.byteorder == "little":
        ids.byteswap()  # network order in the record
    return queue, verdict, ids.tolist()


def _decode_slow(mv: memoryview, n: int) -> list[VerdictRecord]:
    out: list[VerdictRecord] = []
    pos = 0
    while pos < n:
        if n - pos < PLAIN_VERDICT_SIZE:
            raise DecodeError(f"{n - pos} bytes left: too short for a verdict message", pos)
        ln, ty = _head.unpack_from(mv, pos)
        if ln < PLAIN_VERDICT_SIZE or pos + ln > n:
            raise DecodeError(f"verdict message length {ln} (frame of {n} bytes)", pos)
        if ty != NFQNL_VERDICT_TYPE:
            raise DecodeError(f"message type {ty:#06x} in a verdict frame (not "
                              f"NFQNL_MSG_VERDICT)", pos)
        queue = int.from_bytes(mv[pos + 18:pos + 20], "big")
        (nla,) = _be_word.unpack_from(mv, pos + 20)
        verdict, pid = nfqnl_msg_verdict_hdr.unpack_from(mv, pos + 24)
        if nla != _VHDR_NLA_BE:
            raise DecodeError("a verdict message must start with NFQA_VERDICT_HDR", pos + 20)
        try:
            check_verdict(verdict)
        except EncodeError as exc:
            raise DecodeError(str(exc), pos + 24) from None
        mark: int | None = None
        extra: VerdictExtra | None = None
        a = pos + PLAIN_VERDICT_SIZE
        end = pos + ln
        while a < end:
            if end - a < 4:
                raise DecodeError("a truncated attribute header", a)
            alen, atype = _nla.unpack_from(mv, a)
            if alen < 4 or a + alen > end:
                raise DecodeError(f"attribute length {alen}", a)
            t = atype & _NLA_TYPE_MASK
            if t == NFQA.MARK and alen == 8:
                mark = int(_be32.unpack_from(mv, a + 4)[0])
            elif t == NFQA.CT and atype & _NESTED:
                from ..conntrack import decode_conntrack

                ct = decode_conntrack(mv, a + 4, a + alen)
                extra = extra or VerdictExtra()
                extra.connmark, extra.labels = ct.mark, ct.labels
            elif t == NFQA.PAYLOAD:
                extra = extra or VerdictExtra()
                extra.payload = mv[a + 4:a + alen]
            else:
                raise DecodeError(f"attribute type {t} in a verdict record", a)
            a += (alen + 3) & ~3
        out.append((queue, pid, verdict, mark, extra))
        pos += (ln + 3) & ~3
    return out


def is_end(msg: ReadableBuffer) -> bool:
    """True for the end-of-stream frame (:data:`END_MESSAGE`)."""
    return bytes(memoryview(msg)[:len(END_MESSAGE) + 1]) == END_MESSAGE


class CtlWord:
    """u64 word indices of the control block: the owner's words first, then per
    worker slot ``s`` the word ``SLOT_BASE + s * SLOT_WORDS + field``, each written
    by the worker in the slot only."""

    SLEEPING = 0  # 1 while the owner sleeps: a worker that sends verdicts clears it and
    #              writes the wake eventfd (one syscall per owner sleep, none per frame)
    SLOT_BASE = 8
    SLOT_WORDS = 16
    PID = 0  # the worker's pid (written when it starts)
    PACKETS = 1  # packets handed to the callback
    VERDICTS = 2  # verdict records written
    POLICY = 3  # packets the worker gave the policy verdict (none from the callback, an
    #            error, or a verdict the kernel would refuse)
    ERRORS = 4  # callback calls that raised (the packet got the policy verdict)
    DEFERRED = 5  # packets copied to get their verdict later (pkt.copy())
    FRAMES = 6  # verdict frames sent
    STATE = 7  # 1 running, 2 finished (after the end frame)
    WAKEUPS = 8  # times it found the owner asleep and woke it
    NAMES = {"packets": PACKETS, "verdicts": VERDICTS, "policy": POLICY,
             "callback_errors": ERRORS, "deferred": DEFERRED, "frames": FRAMES,
             "wakeups": WAKEUPS}


#: bytes of error text per worker slot, after the words
ERROR_BYTES = 256


def ctl_size(workers: int) -> int:
    """Bytes of a control block for ``workers`` slots (words, then error lines)."""
    return (CtlWord.SLOT_BASE + workers * CtlWord.SLOT_WORDS) * 8 + workers * ERROR_BYTES


def error_offset(workers: int, slot: int) -> int:
    """Byte offset of ``slot``'s error line in a control block for ``workers`` slots."""
    return (CtlWord.SLOT_BASE + workers * CtlWord.SLOT_WORDS) * 8 + slot * ERROR_BYTES


def error_text(exc: BaseException) -> bytes:
    """One line naming an exception, cut to fit an error slot (NUL-padded)."""
    line = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    raw = line.encode("utf-8", "replace")[:ERROR_BYTES - 1]
    return raw + bytes(ERROR_BYTES - len(raw))


class WorkerStats:
    """One worker slot's counts.

    Attributes:
        slot: the slot number (0 .. workers-1); a restarted worker keeps its slot.
        pid: the current (or last) worker process.
        alive: a worker runs in the slot.
        packets: packets the owner put into the slot's ring.
        verdicts: verdicts the owner took from it.
        in_flight: packets given to it still without a verdict.
        restarts: times a new worker was started in the slot after one exited.
        deaths: workers of the slot that exited before they were asked to.
        handled, policy, callback_errors, deferred: the workers' own counts:
            packets handed to the callback, packets it left without a verdict,
            callback calls that raised (both got the policy verdict), packets
            copied to get their verdict later.
        last_error: the last callback error (``"Type: message"``) or ``""``.
        exitcode: how the last worker ended (``-9``: SIGKILL), or ``None``.
    """

    __slots__ = ("slot", "pid", "alive", "packets", "verdicts", "in_flight", "restarts",
                 "deaths", "handled", "policy", "callback_errors", "deferred", "last_error",
                 "exitcode")

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.pid = 0
        self.alive = False
        self.packets = 0
        self.verdicts = 0
        self.in_flight = 0
        self.restarts = 0
        self.deaths = 0
        self.handled = 0
        self.policy = 0
        self.callback_errors = 0
        self.deferred = 0
        self.last_error = ""
        self.exitcode: int | None = None

    def to_dict(self) -> dict[str, object]:
        """Everything as a JSON-ready dict."""
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self) -> str:
        return f"<WorkerStats {self.to_dict()}>"


class PoolStats:
    """A snapshot of a pool's counts.

    Attributes:
        workers: :class:`WorkerStats` per slot.
        fanout: ``"flow"``, ``"rr"`` or ``"custom"``.
        packets: packets received from the queue.
        dispatched: packets put into workers' rings.
        batch_messages: ``NFQNL_MSG_VERDICT_BATCH`` messages sent (each covers the
            contiguous completed prefix).
        single_messages: ``NFQNL_MSG_VERDICT`` messages sent: the verdicts that
            could not be batched (another verdict or mark than the batch's, a
            payload, or a packet that waited too long for an earlier one), sent
            on their own and first.
        dead_worker_verdicts: packets a worker left without a verdict when it
            exited (killed, crashed, or finished holding them): the policy verdict.
        worker_deaths: workers that exited without being asked to.
        restarts: workers started again after an exit.
        bad_verdicts: verdict records refused: malformed, or for a packet the
            worker was not given (the worker is then stopped and its packets get the
            policy verdict), or for a packet the queue no longer waits for.
        oversize: packets larger than a ring frame (the policy verdict, from the owner).
        no_worker: packets no worker could take (every slot retired): the policy.
        ring_full: times a worker's ring had no room for what the owner had for it.
        policy: the verdict of every policy count above.
        queue: the queue's own :class:`~.stats.QueueStats`.
    """

    __slots__ = ("workers", "fanout", "packets", "dispatched", "batch_messages",
                 "single_messages", "dead_worker_verdicts", "worker_deaths", "restarts",
                 "bad_verdicts", "oversize", "no_worker", "ring_full", "policy", "queue")

    def __init__(self) -> None:
        self.workers: list[WorkerStats] = []
        self.fanout = ""
        self.packets = 0
        self.dispatched = 0
        self.batch_messages = 0
        self.single_messages = 0
        self.dead_worker_verdicts = 0
        self.worker_deaths = 0
        self.restarts = 0
        self.bad_verdicts = 0
        self.oversize = 0
        self.no_worker = 0
        self.ring_full = 0
        self.policy = int(NF.ACCEPT)
        self.queue: QueueStats | None = None

    @property
    def in_flight(self) -> int:
        """Packets at workers without a verdict."""
        return sum(w.in_flight for w in self.workers)

    @property
    def verdicts(self) -> int:
        """Verdicts taken from workers."""
        return sum(w.verdicts for w in self.workers)

    def to_dict(self) -> dict[str, object]:
        """Everything as a JSON-ready dict."""
        out: dict[str, object] = {k: getattr(self, k) for k in self.__slots__
                                  if k not in ("workers", "queue")}
        out["workers"] = [w.to_dict() for w in self.workers]
        out["in_flight"] = self.in_flight
        out["verdicts"] = self.verdicts
        out["queue"] = None if self.queue is None else self.queue.to_dict()
        return out

    def __repr__(self) -> str:
        return f"<PoolStats {self.to_dict()}>"


def pool_line(s: PoolStats) -> str:
    """One line of the pool's counts (after the queue's own line on the command line)."""
    per = " ".join(f"w{w.slot} {w.verdicts}" + ("" if w.alive else " (down)")
                   for w in s.workers)
    parts = [f"workers {len(s.workers)} ({s.fanout}): {per}",
             f"batch verdicts {s.batch_messages}", f"single verdicts {s.single_messages}"]
    for name, v in (("dead-worker verdicts", s.dead_worker_verdicts),
                    ("worker deaths", s.worker_deaths), ("restarts", s.restarts),
                    ("bad verdicts", s.bad_verdicts), ("oversize", s.oversize),
                    ("no worker", s.no_worker)):
        if v:
            parts.append(f"{name} {v}")
    return ", ".join(parts)
