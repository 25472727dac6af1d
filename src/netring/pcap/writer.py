"""pcap and pcapng writers over any binary file object.

Both writers build records in place in one preallocated buffer (``pack_into``
for the headers, slice assignment for the packet bytes) and hand the buffer to
the file in chunks of ``bufsize`` bytes, so a drain loop pays a few small
operations per packet and one ``file.write`` per megabyte::

    caller                    writer buffer (bufsize, reused)                file
    write(data, ts_ns) --->  | rec | rec | rec | ... | rec |   free   | --->  .write(view)
                              ^ pack_into header, copy data        when the next record
                                                                   does not fit, on flush()
                                                                   and on close()

pcap (``PcapWriter``): the 24-byte file header, then per packet the 16-byte
record header and the captured bytes::

    | magic | 2 | 4 | 0 | 0 | snaplen | linktype |  | sec | frac | caplen | wirelen | data |

pcapng (``PcapngWriter``): a section header block, one interface description
block per :meth:`PcapngWriter.add_interface`, then enhanced packet blocks and
interface statistics blocks in the order written::

    | SHB (opt_comment, shb_userappl) | IDB 0 | IDB 1 | EPB | EPB | ... | ISB |

    EPB: | 6 | len | if | ts hi | ts lo | caplen | wirelen | data pad | options | len |
         options (only those given): epb_flags, epb_hash, epb_dropcount, epb_packetid,
         epb_queue, epb_verdict (repeated), opt_comment, opt_endofopt

``write_many`` instead packs each header into a small bytes object and joins
headers and data once per quarter buffer (fewer operations per packet than a
copy into the buffer); it holds the callers' data objects until then.

``write_from`` takes packets where they already lie in one buffer: at each
offset in ``heads`` a pcap nanosecond record header (four host-order u32:
seconds, nanoseconds, captured length, wire length), at the matching offset in
``datas`` the captured bytes.  When both are ranges of one step and every
packet has the same captured length (a flood of equal frames in a capture
ring's block), the records are assembled in the writer's buffer by strided
memoryview copies, a few per field for a whole batch, so no Python code runs
per packet (pcapng's 64-bit stamps are computed for the batch at once, with
big-integer arithmetic on the columns)::

    source  | h | . . | data |  | h | . . | data |  ...    h, data every S bytes
              |        |             |        |
    buffer  | h | data | h | data | ...                    records of R = 16 + len

Files are written in host byte order.  The file object must consume the
memoryview it is given before ``write`` returns (every ordinary file object
does: ``FileIO``, ``BufferedWriter``, ``BytesIO``, gzip and the like); the
writer reuses the buffer afterwards.  Neither writer opens or closes files.
"""

from __future__ import annotations

import struct
import sys
from array import array

from ..codec.structs import s64, u32, u64
from ..errors import EncodeError
from ..strided import copy_strided, fill_repeated, set_strided, uniform_fields
from .format import (
    PCAP_MAGIC_NS,
    PCAP_MAGIC_US,
    PCAP_VERSION,
    PCAPNG_BLOCK,
    PCAPNG_BYTE_ORDER_MAGIC,
    PCAPNG_EPB_DIRECTION,
    PCAPNG_EPB_DIRECTION_MASK,
    PCAPNG_EPB_FCSLEN_MASK,
    PCAPNG_EPB_FCSLEN_SHIFT,
    PCAPNG_EPB_OPT,
    PCAPNG_EPB_RECEPTION,
    PCAPNG_EPB_RECEPTION_MASK,
    PCAPNG_EPB_RECEPTION_SHIFT,
    PCAPNG_IDB_OPT,
    PCAPNG_ISB_OPT,
    PCAPNG_OPT,
    PCAPNG_SECTION_LENGTH_UNKNOWN,
    PCAPNG_SHB_OPT,
    PCAPNG_TSRESOL_BASE2,
    PCAPNG_TSRESOL_DEFAULT,
    PCAPNG_TSRESOL_NS,
    PCAPNG_VERDICT_LEN,
    PCAPNG_VERDICT_TYPE,
    PCAPNG_VERSION,
    pcap_file_header,
    pcap_record_header,
    pcapng_block_trailer,
    pcapng_epb,
    pcapng_idb,
    pcapng_isb,
    pcapng_option_header,
    pcapng_shb,
    pcapng_timestamp,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any, Protocol, Self

    from ..codec.types import ReadableBuffer

    class SupportsWrite(Protocol):
        """A binary file object: ``write`` takes bytes-like data (and may return a count)."""

        def write(self, data: memoryview, /) -> object: ...

    #: one packet for ``write_many``: (data, ts_ns, wirelen or None)
    PacketTuple = tuple[ReadableBuffer, int, int | None]
else:
    SupportsWrite = PacketTuple = object  # never evaluated in an annotation

__all__ = [
    "SupportsWrite",
    "PcapWriter",
    "PcapngWriter",
    "open_writer",
    "epb_flags",
    "make_verdict",
    "DEFAULT_SNAPLEN",
    "DEFAULT_BUFSIZE",
    "STRIDED_MAX",
]

DEFAULT_SNAPLEN = 262144  # tcpdump's and dumpcap's default (MAXIMUM_SNAPLEN)
DEFAULT_BUFSIZE = 1 << 20
MIN_BUFSIZE = 4096
_NS_PER_S = 1_000_000_000
_NS_PER_US = 1_000
_U32_MAX = 0xFFFFFFFF
_OPT_MAX = 0xFFFF  # an option value's length is a u16
_NO_STAMP = 1 << 80  # later than any stamp either format holds

_EPB_BLOCK = int(PCAPNG_BLOCK.ENHANCED_PACKET)
_REC = pcap_record_header.size  # 16
_EPB_HEAD = pcapng_epb.size  # 28: block header and the EPB's fixed fields
_EPB_FIXED = pcapng_epb.size + pcapng_block_trailer.size  # 32: a block with no data/options
_ENDOFOPT = pcapng_option_header.pack(PCAPNG_OPT.ENDOFOPT, 0)
_ZEROS = (b"", b"\0", b"\0\0", b"\0\0\0")
# the trailing block length preceded by 0-3 zero bytes of data padding, one pack_into
_PAD_TRAILERS = tuple(
    struct.Struct("=" + "x" * pad + pcapng_block_trailer.format[1:]).pack_into
    for pad in range(4)
)
# the same with an epb_flags option and opt_endofopt between padding and trailer
_PAD_FLAGS_TRAILERS = tuple(
    struct.Struct("=" + "x" * pad + pcapng_option_header.format[1:] + u32.format[1:]
                  + pcapng_option_header.format[1:] + pcapng_block_trailer.format[1:]).pack_into
    for pad in range(4)
)
_DIRECTIONS = frozenset(PCAPNG_EPB_DIRECTION)
_EPB_FLAGS_FIXED = _EPB_FIXED + 2 * pcapng_option_header.size + u32.size  # 44


def _check_u32(what: str, value: int) -> int:
    if not 0 <= value <= _U32_MAX:
        raise EncodeError(f"{what} {value} does not fit 32 bits unsigned")
    return value


class _BufferedWriter:
    """What both writers share: the reused buffer, draining it into the file,
    counters, ``flush``/``close`` and the context manager.

    A failed ``file.write`` poisons the writer (the file's content is unknown
    from then on): every later call raises :class:`EncodeError` naming the first
    failure.
    """

    __slots__ = ("packets", "_write", "_file_flush", "_buf", "_view", "_off", "_limit",
                 "_flushed", "_closed", "_error")

    packets: int
    _PIECES = 1  # pieces per packet on a subclass's bulk path

    def __init__(self, file: SupportsWrite, bufsize: int) -> None:
        write = getattr(file, "write", None)
        if not callable(write):
            raise EncodeError(f"a capture writer needs a binary file object with .write(), "
                              f"not {type(file).__name__}")
        if bufsize < MIN_BUFSIZE:
            raise EncodeError(f"bufsize {bufsize} is below the minimum {MIN_BUFSIZE}")
        flush = getattr(file, "flush", None)
        self._write: Callable[[memoryview], object] = write
        self._file_flush: Callable[[], object] | None = flush if callable(flush) else None
        self._buf = bytearray(bufsize)
        # the export also pins the bytearray's size: a slice assignment of the
        # wrong length raises BufferError instead of resizing the buffer
        self._view = memoryview(self._buf)
        self._off = 0
        self._limit = bufsize  # -1 once closed or poisoned: every write takes the slow path
        self._flushed = 0
        self._closed = False
        self._error: BaseException | None = None
        self.packets = 0

    @property
    def bytes(self) -> int:
        """Bytes of capture file produced so far (written out plus still buffered)."""
        return self._flushed + self._off

    def _emit(self, data: memoryview) -> None:
        """Hand ``data`` to the file whole, following short writes."""
        total = len(data)
        try:
            done = self._write(data)
            left = total
            while isinstance(done, int) and done < left:
                if done <= 0:
                    raise BlockingIOError(f"the file accepted no bytes ({left} left): "
                                          "a non-blocking raw file needs a buffered wrapper")
                data = data[done:]
                left -= done
                done = self._write(data)
        except BaseException as e:
            self._error = e
            self._limit = -1
            raise
        self._flushed += total

    def _usable(self) -> None:
        if self._error is not None:
            raise EncodeError(f"capture writer unusable after a failed write: {self._error!r}")
        if self._closed:
            raise EncodeError("capture writer is closed")

    def _drain(self) -> None:
        if self._off:
            off, self._off = self._off, 0
            try:
                self._emit(self._view[:off])
            except BaseException:
                self._off = off
                raise

    def _room(self, need: int) -> bool:
        """Slow path of every write: make ``need`` bytes of room at ``_off``.

        Returns False when the record is larger than the whole buffer (the
        caller then writes it to the file directly, after what is buffered).
        """
        self._usable()
        self._drain()
        return need <= self._limit

    def _put(self, head: ReadableBuffer, data: ReadableBuffer, tail: ReadableBuffer) -> None:
        """Append one record given as pieces (the slow path's way of writing)."""
        n = len(data)
        need = len(head) + n + len(tail)
        off = self._off
        if off + need > self._limit:
            if not self._room(need):  # larger than the buffer: straight to the file
                for piece in (head, data, tail):
                    if len(piece):
                        self._emit(memoryview(piece))
                return
            off = 0
        view = self._view
        mid = off + len(head)
        try:
            view[off:mid] = head
            view[mid:mid + n] = data
            view[mid + n:off + need] = tail
        except ValueError:
            raise _not_bytes(data) from None
        self._off = off + need

    def _put_joined(self, parts: list[ReadableBuffer], expect: int) -> int:
        """Join a bulk path's pieces (``_PIECES`` per packet: header, data and, for
        pcapng, the tail), check the length, append; returns the packets."""
        blob = b"".join(parts)
        k = self._PIECES
        if len(blob) != expect:
            # some data's len() counted items larger than bytes: put the packets one
            # by one, so those before it are written and it raises (as write() would)
            for i in range(0, len(parts), k):
                self._put(parts[i], parts[i + 1], parts[i + 2] if k == 3 else b"")
                self.packets += 1
        else:
            self._put(b"", blob, b"")
            self.packets += len(parts) // k
        return len(parts) // k

    def flush(self) -> None:
        """Write out what is buffered and flush the file (when it has ``flush``)."""
        self._usable()
        self._drain()
        if self._file_flush is not None:
            self._file_flush()

    def close(self) -> None:
        """Flush and stop accepting records.  The file itself stays open: the
        caller opened it and closes it.  Closing twice is harmless."""
        if self._closed:
            return
        if self._error is None:
            self.flush()
        self._closed = True
        self._limit = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PcapWriter(_BufferedWriter):
    """Writes a classic pcap file: one link type, nanosecond or microsecond stamps.

    Args:
        file: any binary file object (``.write``); not closed by :meth:`close`.
        linktype: the file's ``LINKTYPE_*`` (the whole 32-bit field: FCS bits may
            be included).
        snaplen: longest packet prefix kept; longer packets are cut to it (their
            wire length is kept).
        nanoseconds: nanosecond magic (the default) or microsecond stamps.
        bufsize: bytes buffered before the file sees them.

    The file header is written to the file at once.  ``packets`` counts records,
    ``bytes`` the file's length so far.
    """

    __slots__ = ("linktype", "snaplen", "nanoseconds", "_sec", "_sec_ns")

    _PIECES = 2  # bulk-path pieces per packet: header, data

    def __init__(self, file: SupportsWrite, linktype: int, snaplen: int = DEFAULT_SNAPLEN, *,
                 nanoseconds: bool = True, bufsize: int = DEFAULT_BUFSIZE) -> None:
        super().__init__(file, bufsize)
        _check_u32("linktype", linktype)
        if not 0 < snaplen <= _U32_MAX:
            raise EncodeError(f"snaplen {snaplen} must be between 1 and {_U32_MAX}")
        self.linktype = linktype
        self.snaplen = snaplen
        self.nanoseconds = nanoseconds
        # the second of the last stamp, and where it starts in ns: a stamp within it
        # needs a subtraction, not a division (no second yet: a start beyond every
        # stamp, so the first one goes the careful way)
        self._sec = 0
        self._sec_ns = _NO_STAMP
        magic = PCAP_MAGIC_NS if nanoseconds else PCAP_MAGIC_US
        header = pcap_file_header.pack(magic, *PCAP_VERSION, 0, 0, snaplen, linktype)
        self._emit(memoryview(header))

    def write(self, data: ReadableBuffer, ts_ns: int, wirelen: int | None = None) -> None:
        """Append one packet.

        Args:
            data: the packet bytes (any bytes-like object of single bytes); the
                first ``snaplen`` of them are kept.
            ts_ns: capture time in nanoseconds since the epoch.
            wirelen: the packet's length on the wire; defaults to ``len(data)``.
        """
        n = len(data)
        off = self._off
        end = off + _REC + n
        frac = ts_ns - self._sec_ns
        # anything unusual (buffer full, snaplen cut, a new second, microseconds,
        # bad values) goes the careful way
        if end > self._limit or n > self.snaplen or frac >= _NS_PER_S or not self.nanoseconds:
            self._write_slow(data, ts_ns, wirelen)
            return
        try:
            _pack_record(self._buf, off, self._sec, frac, n, n if wirelen is None else wirelen)
        except struct.error:  # an earlier second (frac < 0) or a bad wirelen
            self._write_slow(data, ts_ns, wirelen)
            return
        try:
            self._view[off + _REC:end] = data
        except ValueError:
            raise _not_bytes(data) from None
        self._off = end
        self.packets += 1

    def _stamp(self, ts_ns: int) -> tuple[int, int]:
        """(seconds, fraction in the file's unit) of a stamp; remembers its second."""
        if not isinstance(ts_ns, int) or not 0 <= ts_ns < (_U32_MAX + 1) * _NS_PER_S:
            raise EncodeError(f"ts_ns {ts_ns!r} is not a time a pcap record can hold "
                              "(0 to 2106, integer nanoseconds)")
        sec, frac = divmod(ts_ns, _NS_PER_S)
        self._sec = sec
        self._sec_ns = ts_ns - frac
        return sec, frac if self.nanoseconds else frac // _NS_PER_US

    def _write_slow(self, data: ReadableBuffer, ts_ns: int, wirelen: int | None) -> None:
        n = len(data)
        if wirelen is None:
            wirelen = n
        _check_u32("wirelen", wirelen)
        if n > self.snaplen:
            n = self.snaplen
            data = memoryview(data)[:n]
        sec, frac = self._stamp(ts_ns)
        self._put(_pack_record_bytes(sec, frac, n, wirelen), data, b"")
        self.packets += 1

    def write_many(self, packets: Iterable[PacketTuple]) -> int:
        """Append many packets given as ``(data, ts_ns, wirelen or None)``; returns
        how many.  The file gets the same bytes as from :meth:`write` for each.

        The bulk path packs each record header into a small bytes object and
        joins headers and data once per ~``bufsize / 4`` bytes of packets, which
        costs less per packet than copying each into the buffer.  So the data
        objects of up to that many bytes are held before they are copied: every
        ``data`` must stay unchanged until ``write_many`` returns (a list of
        views into a ring block qualifies, as long as the block is released
        after the call).
        """
        if not self.nanoseconds:
            count = 0
            for data, ts_ns, wirelen in packets:
                self._write_slow(data, ts_ns, wirelen)
                count += 1
            return count
        pack = _pack_record_bytes
        snaplen = self.snaplen
        chunk = len(self._buf) >> 2
        it = iter(packets)
        count = 0
        while True:
            parts: list[ReadableBuffer] = []
            ap = parts.append
            size = 0
            sec, sec_ns = self._sec, self._sec_ns
            odd: PacketTuple | None = None  # a packet for the careful way
            more = False
            try:
                for data, ts_ns, wirelen in it:
                    n = len(data)
                    frac = ts_ns - sec_ns
                    if n > snaplen or frac >= _NS_PER_S:
                        odd, more = (data, ts_ns, wirelen), True
                        break
                    ap(pack(sec, frac, n, n if wirelen is None else wirelen))
                    ap(data)
                    size += n
                    if size > chunk:
                        more = True
                        break
            except struct.error:  # an earlier second, or a bad wirelen
                odd, more = (data, ts_ns, wirelen), True
            if parts:
                count += self._put_joined(parts, _REC * (len(parts) >> 1) + size)
            if odd is not None:
                self._write_slow(*odd)
                count += 1
            if not more:
                return count


    def write_from(self, buf: ReadableBuffer, heads: Sequence[int], datas: Sequence[int]) -> int:
        """Append packets that lie in ``buf``; returns how many.

        At each offset in ``heads`` are 16 bytes of a nanosecond pcap record
        header: seconds, nanoseconds, captured length and wire length, host-order
        u32 (the fields ``tp_sec`` .. ``tp_len`` of a ``tpacket3_hdr`` are laid out
        so); the captured bytes start at the matching offset in ``datas``.  The
        file gets what :meth:`write` would make of each ``(data, sec * 10**9 +
        nsec, wirelen)``.

        When ``heads`` and ``datas`` are ranges of one step and every captured
        length is the same (at most :data:`STRIDED_MAX`, within the snaplen, every
        nanosecond field below 10**9), the records are assembled by strided copies
        straight from ``buf``: the fast path for a block of equal frames.  Anything
        else goes through :meth:`write_many`.  ``buf`` is read before this returns.

        Raises:
            EncodeError: lengths of ``heads`` and ``datas`` differ, or an offset or a
                captured length reaches outside ``buf``.
        """
        mv = _byte_view(buf)
        n = _check_lengths(heads, datas)
        if not n:
            return 0
        layout = _strided_layout(mv, heads, datas, n) if self.nanoseconds else None
        if layout is not None:
            h0, d0, step, length = layout
            if length <= self.snaplen and _u32_max(mv, h0 + 4, step, n, _NS_PER_S - 1):
                return self._write_strided(mv, h0, step, mv, d0, step, length, n)
        return self.write_many(_tuples_from(mv, heads, datas))

    def write_columns(self, sec: Sequence[int], nsec: Sequence[int], wirelen: Sequence[int],
                      buf: ReadableBuffer, first: int, step: int, length: int) -> int:
        """Append ``len(sec)`` packets of ``length`` captured bytes each, packet ``i``
        at ``first + i * step`` in ``buf``, stamped ``sec[i]`` s + ``nsec[i]`` ns, of
        ``wirelen[i]`` bytes on the wire; returns how many.  The file gets what
        :meth:`write` would make of each ``(data, sec * 10**9 + nsec, wirelen)``.

        The columns are ``array('I')`` (or any sequences of ints, converted); with
        nanosecond stamps, every ``nsec`` below 10**9 and ``length`` within the
        snaplen, the records are assembled by strided copies (a few per field, none
        per packet): the bulk path for a run of equal log messages.  Anything else
        goes through :meth:`write_many`.  ``buf`` is read before this returns.

        Raises:
            EncodeError: the columns' lengths differ, or a packet reaches outside ``buf``.
        """
        n, mv, cols = _columns(sec, nsec, wirelen, buf, first, step, length)
        if not n:
            return 0
        if not self.nanoseconds or length > self.snaplen or max(cols[1]) >= _NS_PER_S:
            return self.write_many((mv[first + i * step:first + i * step + length],
                                    s * _NS_PER_S + ns, w)
                                   for i, (s, ns, w) in enumerate(zip(*cols)))  # noqa: B905
        return self._write_strided(_heads(cols, length), 0, _REC, mv, first, step, length, n)

    def _write_strided(self, hmv: memoryview, h0: int, hstep: int, mv: memoryview, d0: int,
                       step: int, length: int, n: int) -> int:
        """``n`` records: the 16-byte record headers at ``h0 + i * hstep`` in ``hmv``,
        ``length`` bytes of data at ``d0 + i * step`` in ``mv``."""
        self._usable()
        rec = _REC + length
        per = len(self._buf) // rec
        done = 0
        while done < n:
            m = min(per, n - done)
            if self._off + m * rec > self._limit:
                self._drain()
            off = self._off
            region = self._view[off:off + m * rec]
            copy_strided(region, 0, rec, hmv, h0 + done * hstep, hstep, _REC, m)
            copy_strided(region, _REC, rec, mv, d0 + done * step, step, length, m)
            self._off = off + m * rec
            self.packets += m
            done += m
        return n

def _columns(sec: Sequence[int], nsec: Sequence[int], wirelen: Sequence[int],
             buf: ReadableBuffer, first: int, step: int, length: int
             ) -> tuple[int, memoryview, list[array[int]]]:
    """``write_columns``' arguments checked: the packet count, ``buf`` as bytes, the
    columns as ``array('I')`` (converted where they are not)."""
    n = len(sec)
    if len(nsec) != n or len(wirelen) != n:
        raise EncodeError(f"columns of {n}, {len(nsec)} and {len(wirelen)} packets")
    mv = _byte_view(buf)
    if n and (first < 0 or step < length or first + (n - 1) * step + length > len(mv)):
        raise EncodeError(f"{n} packets of {length} bytes from offset {first}, {step} "
                          f"apart, reach outside a buffer of {len(mv)} bytes")
    cols = [c if isinstance(c, array) and c.typecode == "I" else array("I", c)
            for c in (sec, nsec, wirelen)]
    return n, mv, cols


def _heads(cols: list[array[int]], length: int) -> memoryview:
    """16-byte record heads (seconds, nanoseconds, captured and wire length, host-order
    u32: a nanosecond pcap record header, the layout ``write_from`` reads) from the
    columns of seconds, nanoseconds and wire lengths, every packet ``length`` bytes."""
    n = len(cols[0])
    heads = memoryview(bytearray(_REC * n))
    for at, col in ((0, cols[0]), (4, cols[1]), (12, cols[2])):
        copy_strided(heads, at, _REC, memoryview(col).cast("B"), 0, 4, 4, n)
    set_strided(heads, 8, _REC, u32.pack(length), n)
    return heads


def _not_bytes(data: object) -> EncodeError:
    return EncodeError(f"packet data must be flat buffers of bytes, not {data!r:.60}")


_TOP = 3 if sys.byteorder == "little" else 0  # the most significant byte of a host u32


def _u32_max(mv: memoryview, start: int, step: int, n: int, bound: int) -> bool:
    """True when every u32 at ``start + i * step`` (``i < n``) is at most ``bound``.

    The most significant bytes are looked at first (one strided copy, small ints):
    when even the largest of them keeps every value within ``bound`` nothing else is
    read; otherwise the words themselves are compared.
    """
    top = max(mv[start + _TOP:start + _TOP + (n - 1) * step + 1:step].tobytes())
    if (top + 1 << 24) - 1 <= bound:
        return True
    return max(_u32_column(mv, start, step, n)) <= bound


_REPUNITS: dict[int, int] = {}  # n -> sum of 2**(64 i) for i < n (a 1 in every u64 lane)
#: where a host-order u64 keeps its lower and its upper u32
_LO, _HI = (0, 4) if sys.byteorder == "little" else (4, 0)


def _low_words(mv: memoryview, h0: int, step: int, n: int) -> tuple[int, bytes] | None:
    """The upper 32 bits shared by every stamp ``sec * 10**9 + nsec`` (ns) of the record
    headers at ``h0 + i * step``, and the lower words as host-order u32 bytes; ``None``
    when the stamps do not share them (a 2**32 ns boundary, about every 4.3 s, lies
    between them).

    The arithmetic runs on the columns spread into u64 lanes and read as one big
    integer each (``int.from_bytes``: lane ``i`` is bits ``64 i`` ..): adding a
    constant to every lane, or scaling every lane, is one big-integer operation in C,
    exact because no lane can leave 0 .. 2**64 - 1 (each holds the stamp less the
    first second's 2**32-aligned base: below 2**33 plus the seconds' spread).  The
    lanes' upper halves then say whether the stamps share their upper word.
    """
    secs = _u32_column(mv, h0, step, n)
    if uniform_fields(mv, step, n, ((h0, 4),)):
        smin = smax = secs[0]
    else:
        smin, smax = min(secs), max(secs)
    base = smin * _NS_PER_S
    hi_ns = base >> 32 << 32
    offset = base - hi_ns  # added to every lane
    ones = _REPUNITS.get(n)
    if ones is None:
        ones = int.from_bytes(b"\1\0\0\0\0\0\0\0" * n, "little")
        if len(_REPUNITS) < 64:
            _REPUNITS[n] = ones
    order = sys.byteorder
    wide = memoryview(bytearray(8 * n))
    copy_strided(wide, _LO, 8, mv, h0 + 4, step, 4, n)  # each nsec into a lane's lower half
    lanes = int.from_bytes(wide, order) + offset * ones
    if smax != smin:  # the upper halves are still zero: only the lower ones are rewritten
        copy_strided(wide, _LO, 8, mv, h0, step, 4, n)
        lanes += (int.from_bytes(wide, order) - smin * ones) * _NS_PER_S
    out = memoryview(lanes.to_bytes(8 * n, order))
    if not uniform_fields(out, 8, n, ((_HI, 4),)):
        return None  # the stamps straddle a 2**32 ns boundary
    carry = int.from_bytes(out[_HI:_HI + 4], order)  # windows past the base's (0 or 1)
    lows = memoryview(bytearray(4 * n))
    copy_strided(lows, 0, 4, out, _LO, 8, 4, n)
    return (hi_ns >> 32) + carry, bytes(lows)


def _check_lengths(heads: Sequence[int], datas: Sequence[int]) -> int:
    n = len(heads)
    if len(datas) != n:
        raise EncodeError(f"{n} header offsets but {len(datas)} data offsets")
    return n


def _tuples_from(mv: memoryview, heads: Sequence[int], datas: Sequence[int]
                 ) -> list[PacketTuple]:
    """``write_from``'s packets as ``(data, ts_ns, wirelen)``, every offset checked."""
    size = len(mv)
    unpack = pcap_record_header.unpack_from
    out: list[PacketTuple] = []
    ap = out.append
    for h, d in zip(heads, datas, strict=True):
        if not 0 <= h <= size - _REC:
            raise EncodeError(f"a record header at offset {h} is outside the buffer of "
                              f"{size} bytes")
        sec, frac, cap, wirelen = unpack(mv, h)
        if not 0 <= d <= size - cap:
            raise EncodeError(f"{cap} captured bytes at offset {d} reach outside the buffer "
                              f"of {size} bytes")
        ap((mv[d:d + cap], sec * _NS_PER_S + frac, wirelen))
    return out

_pack_record = pcap_record_header.pack_into
_pack_record_bytes = pcap_record_header.pack
_pack_epb = pcapng_epb.pack_into
_pack_epb_bytes = pcapng_epb.pack
_TAILS_CACHED = 4096  # distinct packet lengths whose EPB tail is kept
_LITTLE = sys.byteorder == "little"
#: longest captured length the strided path assembles (each byte costs a share of
#: a strided copy per packet; above this a slice per packet is cheaper)
STRIDED_MAX = 256
_DIRECTION_VALUES = bytes(sorted(int(d) for d in PCAPNG_EPB_DIRECTION))


def _byte_view(buf: ReadableBuffer) -> memoryview:
    mv = memoryview(buf)
    if mv.ndim != 1 or mv.itemsize != 1 or not mv.c_contiguous:
        try:
            mv = mv.cast("B")
        except TypeError:
            raise _not_bytes(buf) from None
    return mv


def _u32_column(mv: memoryview, start: int, step: int, n: int) -> memoryview:
    """The u32 at ``start + i * step`` for ``i < n`` as a strided memoryview (``step % 4 == 0``)."""
    return mv[start:start + (n - 1) * step + 4].cast("I")[::step >> 2]


def _strided_layout(mv: memoryview, heads: object, datas: object, n: int
                    ) -> tuple[int, int, int, int] | None:
    """``(first head, first data, step, captured length)`` when ``heads`` and ``datas``
    are ranges of one positive step (a multiple of 4) and every packet has the same
    captured length, all inside ``mv``; else ``None`` (the per-packet path)."""
    if not (isinstance(heads, range) and isinstance(datas, range)):
        return None
    step = heads.step
    if datas.step != step or step <= 0 or step & 3:
        return None
    h0, d0 = heads.start, datas.start
    size = len(mv)
    if h0 < 0 or d0 < 0 or heads[-1] + _REC > size:
        return None
    caps = _u32_column(mv, h0 + 8, step, n)
    length: int = caps[0]
    if length > STRIDED_MAX or datas[-1] + length > size:
        return None
    if caps.tobytes() != u32.pack(length) * n:
        return None
    return h0, d0, step, length


class _Interface:
    """What the writer keeps per interface: its snaplen and timestamp scale."""

    __slots__ = ("snaplen", "tsresol", "mul", "div")

    def __init__(self, snaplen: int, tsresol: int) -> None:
        self.snaplen = snaplen or _U32_MAX  # 0 in the IDB: no limit
        self.tsresol = tsresol
        if tsresol & PCAPNG_TSRESOL_BASE2:  # units of 2**-n s: ts_ns * 2**n / 10**9
            self.mul, self.div = 1 << (tsresol & ~PCAPNG_TSRESOL_BASE2), _NS_PER_S
        elif tsresol <= PCAPNG_TSRESOL_NS:  # units of 10**-n s
            self.mul, self.div = 1, 10 ** (PCAPNG_TSRESOL_NS - tsresol)
        else:
            self.mul, self.div = 10 ** (tsresol - PCAPNG_TSRESOL_NS), 1

    def units(self, ts_ns: int) -> int:
        return ts_ns * self.mul // self.div


def epb_flags(direction: int = PCAPNG_EPB_DIRECTION.UNKNOWN,
              reception: int = PCAPNG_EPB_RECEPTION.NOT_SPECIFIED, fcslen: int = 0,
              flags: int = 0) -> int:
    """Compose an epb_flags word from its fields.

    Args:
        direction: a :class:`PCAPNG_EPB_DIRECTION` (bits 0-1).
        reception: a :class:`PCAPNG_EPB_RECEPTION` (bits 2-4).
        fcslen: the FCS length in octets, 0-15 (bits 5-8).
        flags: :class:`PCAPNG_EPB_FLAG` bits (checksum and link-layer error bits).
    """
    if direction not in PCAPNG_EPB_DIRECTION._value2member_map_:
        raise EncodeError(f"epb_flags direction {direction} is not 0, 1 or 2")
    if reception not in PCAPNG_EPB_RECEPTION._value2member_map_:
        raise EncodeError(f"epb_flags reception type {reception} is not 0-4")
    if not 0 <= fcslen <= PCAPNG_EPB_FCSLEN_MASK >> PCAPNG_EPB_FCSLEN_SHIFT:
        raise EncodeError(f"epb_flags FCS length {fcslen} is not 0-15")
    low = PCAPNG_EPB_DIRECTION_MASK | PCAPNG_EPB_RECEPTION_MASK | PCAPNG_EPB_FCSLEN_MASK
    if flags & low or not 0 <= flags <= _U32_MAX:
        raise EncodeError(f"epb_flags flags {flags:#x} overlap the direction, reception or "
                          "FCS fields, or exceed 32 bits")
    return (direction | reception << PCAPNG_EPB_RECEPTION_SHIFT
            | fcslen << PCAPNG_EPB_FCSLEN_SHIFT | flags)


def make_verdict(kind: int, value: int | bytes) -> bytes:
    """One epb_verdict option value: the type octet, then the verdict.

    Args:
        kind: a :class:`PCAPNG_VERDICT_TYPE` (or another type octet, 0-255).
        value: for ``LINUX_EBPF_TC`` and ``LINUX_EBPF_XDP`` the action as an
            integer (``TC_ACT_UNSPEC`` may be given as -1), written as a 64-bit
            integer in the file's (host) byte order; for other types the bytes.
    """
    if not 0 <= kind <= 0xFF:
        raise EncodeError(f"verdict type {kind} is not an octet")
    if kind in (PCAPNG_VERDICT_TYPE.LINUX_EBPF_TC, PCAPNG_VERDICT_TYPE.LINUX_EBPF_XDP):
        if not isinstance(value, int):
            raise EncodeError(f"a {PCAPNG_VERDICT_TYPE(kind).name} verdict is an integer")
        if not -(1 << 63) <= value < 1 << 64:
            raise EncodeError(f"verdict {value} does not fit 64 bits")
        return bytes((kind,)) + (s64.pack(value) if value < 0 else u64.pack(value))
    if isinstance(value, int):
        raise EncodeError(f"a verdict of type {kind} is given as bytes")
    return bytes((kind,)) + bytes(value)


def _option(out: bytearray, code: int, value: bytes) -> None:
    n = len(value)
    if n > _OPT_MAX:
        raise EncodeError(f"option {code}: {n} bytes exceed the 65535 an option holds")
    out += pcapng_option_header.pack(code, n)
    out += value
    out += _ZEROS[-n & 3]


def _text(what: str, text: str) -> bytes:
    if "\0" in text:
        raise EncodeError(f"{what} contains a NUL character (readers stop there)")
    return text.encode()


def _u64_value(what: str, value: int) -> bytes:
    if not 0 <= value < 1 << 64:
        raise EncodeError(f"{what} {value} does not fit 64 bits unsigned")
    return u64.pack(value)


class PcapngWriter(_BufferedWriter):
    """Writes a pcapng file: one section, any number of interfaces, enhanced
    packet blocks with options, and interface statistics blocks.

    Args:
        file: any binary file object (``.write``); not closed by :meth:`close`.
        shb_comment: an opt_comment for the section header.
        application: the shb_userappl string (None: left out).
        hardware: the shb_hardware string.
        os_name: the shb_os string.
        bufsize: bytes buffered before the file sees them.

    The section header block is written to the file at once; add at least one
    interface (:meth:`add_interface`) before the first packet.
    """

    __slots__ = ("_ifaces", "_snaps", "_hi", "_hi_ns", "_tails")

    _PIECES = 3  # bulk-path pieces per packet: header, data, padding and trailer

    def __init__(self, file: SupportsWrite, *, shb_comment: str | None = None,
                 application: str | None = "netring", hardware: str | None = None,
                 os_name: str | None = None, bufsize: int = DEFAULT_BUFSIZE) -> None:
        super().__init__(file, bufsize)
        self._ifaces: list[_Interface] = []
        # per interface: its snaplen, or -1 when its stamps need scaling (tsresol
        # other than 9), which sends every packet of it the careful way
        self._snaps: list[int] = []
        # the upper 32 bits of the last nanosecond stamp, and the stamp they start at:
        # a stamp in the same 4.3 s window needs a subtraction, not a shift and a mask
        self._hi = 0
        self._hi_ns = _NO_STAMP
        self._tails: dict[int, bytes] = {}  # data length -> padding and trailer
        opts = bytearray()
        if shb_comment is not None:
            _option(opts, PCAPNG_OPT.COMMENT, _text("shb_comment", shb_comment))
        if hardware is not None:
            _option(opts, PCAPNG_SHB_OPT.HARDWARE, _text("hardware", hardware))
        if os_name is not None:
            _option(opts, PCAPNG_SHB_OPT.OS, _text("os_name", os_name))
        if application is not None:
            _option(opts, PCAPNG_SHB_OPT.USERAPPL, _text("application", application))
        if opts:
            opts += _ENDOFOPT
        total = pcapng_shb.size + len(opts) + pcapng_block_trailer.size
        self._emit(memoryview(
            pcapng_shb.pack(PCAPNG_BLOCK.SECTION_HEADER, total, PCAPNG_BYTE_ORDER_MAGIC,
                            *PCAPNG_VERSION, PCAPNG_SECTION_LENGTH_UNKNOWN)
            + opts + pcapng_block_trailer.pack(total)))

    @property
    def interfaces(self) -> int:
        """How many interfaces have been added (the next one gets this id)."""
        return len(self._ifaces)

    def add_interface(self, linktype: int, snaplen: int = DEFAULT_SNAPLEN, *,
                      name: str | None = None, description: str | None = None,
                      tsresol: int = PCAPNG_TSRESOL_NS, fcslen: int | None = None,
                      comment: str | None = None) -> int:
        """Write an interface description block; returns the interface's id.

        Args:
            linktype: the ``LINKTYPE_*`` of its packets (16 bits).
            snaplen: longest packet prefix kept (0: no limit).
            name: if_name (``"eth0"``).
            description: if_description.
            tsresol: if_tsresol: n for units of 10**-n s (9: nanoseconds, the
                default; 6 is what readers assume without the option), or
                ``PCAPNG_TSRESOL_BASE2 | n`` for units of 2**-n s.
            fcslen: if_fcslen, the frame check sequence length in bits.
            comment: an opt_comment.
        """
        if not 0 <= linktype <= 0xFFFF:
            raise EncodeError(f"pcapng linktype {linktype} does not fit 16 bits")
        _check_u32("snaplen", snaplen)
        exp = tsresol & ~PCAPNG_TSRESOL_BASE2
        if not 0 <= tsresol <= 0xFF or exp > (63 if tsresol & PCAPNG_TSRESOL_BASE2 else 19):
            raise EncodeError(f"if_tsresol {tsresol:#x} is not a resolution a 64-bit "
                              "timestamp can use")
        opts = bytearray()
        if comment is not None:
            _option(opts, PCAPNG_OPT.COMMENT, _text("comment", comment))
        if name is not None:
            _option(opts, PCAPNG_IDB_OPT.NAME, _text("name", name))
        if description is not None:
            _option(opts, PCAPNG_IDB_OPT.DESCRIPTION, _text("description", description))
        if tsresol != PCAPNG_TSRESOL_DEFAULT:
            _option(opts, PCAPNG_IDB_OPT.TSRESOL, bytes((tsresol,)))
        if fcslen is not None:
            if not 0 <= fcslen <= 0xFF:
                raise EncodeError(f"if_fcslen {fcslen} is not an octet")
            _option(opts, PCAPNG_IDB_OPT.FCSLEN, bytes((fcslen,)))
        if opts:
            opts += _ENDOFOPT
        total = pcapng_idb.size + len(opts) + pcapng_block_trailer.size
        self._put(pcapng_idb.pack(PCAPNG_BLOCK.INTERFACE_DESCRIPTION, total, linktype, 0,
                                  snaplen), b"", bytes(opts) + pcapng_block_trailer.pack(total))
        iface = _Interface(snaplen, tsresol)
        self._ifaces.append(iface)
        self._snaps.append(iface.snaplen if tsresol == PCAPNG_TSRESOL_NS else -1)
        return len(self._ifaces) - 1

    def _iface(self, interface: int) -> _Interface:
        if not isinstance(interface, int) or not 0 <= interface < len(self._ifaces):
            raise EncodeError(f"interface {interface} was not added "
                              f"({len(self._ifaces)} interfaces so far)")
        return self._ifaces[interface]

    def write(self, data: ReadableBuffer, ts_ns: int, wirelen: int | None = None,
              interface: int = 0, *, direction: int | None = None, flags: int | None = None,
              hash: bytes | None = None, dropcount: int | None = None,
              packetid: int | None = None, queue: int | None = None,
              verdict: Sequence[bytes] | None = None, comment: str | None = None) -> None:
        """Append one enhanced packet block.

        Args:
            data: the packet bytes; the interface's snaplen cuts them.
            ts_ns: capture time in nanoseconds since the epoch (stored in the
                interface's resolution).
            wirelen: length on the wire; defaults to ``len(data)``.
            interface: the id :meth:`add_interface` returned.
            direction: a :class:`PCAPNG_EPB_DIRECTION`, put in epb_flags bits 0-1.
            flags: the rest of the epb_flags word (see :func:`epb_flags`); its bits
                0-1 must be clear when ``direction`` is given.
            hash: epb_hash: the algorithm octet (:class:`PCAPNG_HASH`) and the hash.
            dropcount: epb_dropcount: packets lost since the previous one.
            packetid: epb_packetid.
            queue: epb_queue: the receive queue.
            verdict: epb_verdict values, one option each (see :func:`make_verdict`).
            comment: an opt_comment.

        With no option given this is the fast path: one ``pack_into``, one copy.
        """
        if (hash is None and dropcount is None and packetid is None and queue is None
                and verdict is None and comment is None):
            # no option, or only epb_flags (a capture's direction): the fast path
            # word -1: no epb_flags; -2: a mistake, which the careful way names
            if direction is not None and direction not in _DIRECTIONS:
                word = -2
            elif flags is None:
                word = -1 if direction is None else direction
            elif direction is None:
                word = flags
            else:
                word = -2 if flags & PCAPNG_EPB_DIRECTION_MASK else flags | direction
            n = len(data)
            pad = -n & 3
            total = (_EPB_FIXED if word == -1 else _EPB_FLAGS_FIXED) + n + pad
            off = self._off
            lo = ts_ns - self._hi_ns
            try:
                snap = self._snaps[interface]
            except (IndexError, TypeError):
                snap = -1
            # anything unusual (buffer full, snaplen cut, a scaled or unknown
            # interface, a new 2**32 ns window, bad values) goes the careful way
            if off + total <= self._limit and n <= snap and lo <= _U32_MAX and word >= -1:
                buf = self._buf
                start = off + _EPB_HEAD
                try:
                    _pack_epb(buf, off, _EPB_BLOCK, total, interface, self._hi, lo, n,
                              n if wirelen is None else wirelen)
                    if word == -1:
                        _PAD_TRAILERS[pad](buf, start + n, total)
                    else:
                        _PAD_FLAGS_TRAILERS[pad](buf, start + n, PCAPNG_EPB_OPT.FLAGS, 4, word,
                                                 PCAPNG_OPT.ENDOFOPT, 0, total)
                except struct.error:
                    pass  # below
                else:
                    try:
                        self._view[start:start + n] = data
                    except ValueError:
                        raise _not_bytes(data) from None
                    self._off = off + total
                    self.packets += 1
                    return
            if word == -1:
                self._write_slow(data, ts_ns, wirelen, interface, b"")
                return
        opts = self._epb_options(direction, flags, hash, dropcount, packetid, queue, verdict,
                                 comment)
        self._write_slow(data, ts_ns, wirelen, interface, opts)

    @staticmethod
    def _epb_options(direction: int | None, flags: int | None, hash: bytes | None,
                     dropcount: int | None, packetid: int | None, queue: int | None,
                     verdict: Sequence[bytes] | None, comment: str | None) -> bytes:
        opts = bytearray()
        if comment is not None:
            _option(opts, PCAPNG_OPT.COMMENT, _text("comment", comment))
        if direction is not None or flags is not None:
            word = 0 if flags is None else flags
            if not 0 <= word <= _U32_MAX:
                raise EncodeError(f"epb_flags {word:#x} does not fit 32 bits")
            if direction is not None:
                if direction not in PCAPNG_EPB_DIRECTION._value2member_map_:
                    raise EncodeError(f"direction {direction} is not 0, 1 or 2")
                if word & PCAPNG_EPB_DIRECTION_MASK:
                    raise EncodeError(f"flags {word:#x} already hold a direction; give one")
                word |= direction
            _option(opts, PCAPNG_EPB_OPT.FLAGS, u32.pack(word))
        if hash is not None:
            if len(hash) < 1:
                raise EncodeError("epb_hash needs at least its algorithm octet")
            _option(opts, PCAPNG_EPB_OPT.HASH, bytes(hash))
        if dropcount is not None:
            _option(opts, PCAPNG_EPB_OPT.DROPCOUNT, _u64_value("dropcount", dropcount))
        if packetid is not None:
            _option(opts, PCAPNG_EPB_OPT.PACKETID, _u64_value("packetid", packetid))
        if queue is not None:
            _option(opts, PCAPNG_EPB_OPT.QUEUE, u32.pack(_check_u32("queue", queue)))
        if verdict is not None:
            if isinstance(verdict, (bytes, bytearray, memoryview)):
                raise EncodeError("verdict is a sequence of option values, not one bytes")
            for v in verdict:
                if len(v) < 1:
                    raise EncodeError("an epb_verdict needs at least its type octet")
                want = PCAPNG_VERDICT_LEN.get(v[0], len(v))
                if len(v) != want:
                    raise EncodeError(f"a verdict of type {v[0]} is {want} bytes, not {len(v)}")
                _option(opts, PCAPNG_EPB_OPT.VERDICT, bytes(v))
        opts += _ENDOFOPT
        return bytes(opts)

    def _units(self, iface: _Interface, what: str, ts_ns: int) -> int:
        """A stamp in the interface's units, checked to fit 64 bits."""
        if not isinstance(ts_ns, int):
            raise EncodeError(f"{what} {ts_ns!r} is not an integer of nanoseconds")
        units = iface.units(ts_ns)
        if not 0 <= units < 1 << 64:
            raise EncodeError(f"{what} {ts_ns} does not fit a 64-bit pcapng timestamp")
        return units

    def _write_slow(self, data: ReadableBuffer, ts_ns: int, wirelen: int | None,
                    interface: int, opts: bytes) -> None:
        iface = self._iface(interface)
        n = len(data)
        if wirelen is None:
            wirelen = n
        _check_u32("wirelen", wirelen)
        if n > iface.snaplen:
            n = iface.snaplen
            data = memoryview(data)[:n]
        pad = -n & 3
        total = _EPB_FIXED + n + pad + len(opts)
        _check_u32("block length", total)
        ts = self._units(iface, "ts_ns", ts_ns)
        if iface.tsresol == PCAPNG_TSRESOL_NS:
            self._hi = ts >> 32
            self._hi_ns = self._hi << 32
        head = pcapng_epb.pack(_EPB_BLOCK, total, interface, ts >> 32, ts & _U32_MAX, n,
                               wirelen)
        self._put(head, data, _ZEROS[pad] + opts + pcapng_block_trailer.pack(total))
        self.packets += 1

    def write_many(self, packets: Iterable[PacketTuple], interface: int = 0) -> int:
        """Append many option-less packets ``(data, ts_ns, wirelen or None)`` of one
        interface; returns how many.  The file gets the same bytes as from
        :meth:`write` for each; as with :meth:`PcapWriter.write_many`, every
        ``data`` must stay unchanged until the call returns."""
        self._iface(interface)
        snap = self._snaps[interface]
        pack = _pack_epb_bytes
        tails = self._tails
        chunk = len(self._buf) >> 2
        it = iter(packets)
        count = 0
        while True:
            parts: list[ReadableBuffer] = []
            ap = parts.append
            size = 0
            hi, hi_ns = self._hi, self._hi_ns
            odd: PacketTuple | None = None  # a packet for the careful way
            more = False
            try:
                for data, ts_ns, wirelen in it:
                    n = len(data)
                    lo = ts_ns - hi_ns
                    if n > snap or lo > _U32_MAX:
                        odd, more = (data, ts_ns, wirelen), True
                        break
                    total = _EPB_FIXED + n + (-n & 3)
                    ap(pack(_EPB_BLOCK, total, interface, hi, lo, n,
                            n if wirelen is None else wirelen))
                    ap(data)
                    try:
                        ap(tails[n])
                    except KeyError:
                        ap(self._tail(n))
                    size += total
                    if size > chunk:
                        more = True
                        break
            except struct.error:  # an earlier window, or a bad wirelen
                odd, more = (data, ts_ns, wirelen), True
            if parts:
                count += self._put_joined(parts, size)
            if odd is not None:
                self._write_slow(odd[0], odd[1], odd[2], interface, b"")
                count += 1
            if not more:
                return count


    def write_from(self, buf: ReadableBuffer, heads: Sequence[int], datas: Sequence[int],
                   interface: int = 0, *, direction: ReadableBuffer | None = None) -> int:
        """Append packets that lie in ``buf`` as enhanced packet blocks; returns how many.

        ``heads`` and ``datas`` as for :meth:`PcapWriter.write_from` (16 bytes of
        seconds, nanoseconds, captured and wire length at each head).
        ``direction``: one :class:`PCAPNG_EPB_DIRECTION` value per packet, each
        written as its block's epb_flags (as ``write(..., direction=d)``); ``None``:
        no options.  The file gets what :meth:`write` would make of each packet.

        When the layout is strided with one captured length (see
        :meth:`PcapWriter.write_from`), the interface is in nanoseconds and the
        stamps share their upper 32 bits, the blocks are assembled by strided
        copies, and the lower stamp words of the whole batch are computed at once
        (the columns read as big integers, see ``_low_words``).
        """
        mv = _byte_view(buf)
        n = _check_lengths(heads, datas)
        self._iface(interface)
        dirs: memoryview | None = None
        if direction is not None:
            dirs = _byte_view(direction)
            if len(dirs) != n:
                raise EncodeError(f"{n} packets but {len(dirs)} directions")
            bad = dirs.tobytes().translate(None, _DIRECTION_VALUES)
            if bad:
                raise EncodeError(f"direction {bad[0]} is not 0, 1 or 2")
        if not n:
            return 0
        layout = _strided_layout(mv, heads, datas, n)
        if layout is not None and layout[3] <= self._snaps[interface]:
            h0, d0, step, length = layout
            stamps = _low_words(mv, h0, step, n)
            if stamps is not None:
                hi, lows = stamps
                return self._write_strided(mv, h0, step, mv, d0, step, length, n, interface,
                                           hi, lows, dirs)
        if dirs is None:
            return self.write_many(_tuples_from(mv, heads, datas), interface)
        write = self.write
        for (data, ts_ns, wirelen), d in zip(_tuples_from(mv, heads, datas), dirs, strict=True):
            write(data, ts_ns, wirelen, interface, direction=d)
        return n

    def _write_strided(self, hmv: memoryview, h0: int, hstep: int, mv: memoryview, d0: int,
                       step: int, length: int, n: int, interface: int, hi: int, lows: bytes,
                       dirs: memoryview | None, opts: bytes = b"") -> int:
        """``n`` blocks of ``length`` bytes at ``d0 + i * step`` in ``mv``, their captured
        and wire lengths at ``h0 + 8 + i * hstep`` in ``hmv`` (a 16-byte head each), the
        stamps' upper word ``hi`` and lower words ``lows``; each with the epb_flags of
        ``dirs`` or the same options ``opts`` (ending in opt_endofopt), or none."""
        self._usable()
        pad = -length & 3
        rec = (_EPB_FIXED + len(opts) if dirs is None else _EPB_FLAGS_FIXED) + length + pad
        head = pcapng_epb.pack(_EPB_BLOCK, rec, interface, hi, 0, length, 0)
        if dirs is None:
            tail = _ZEROS[pad] + opts + pcapng_block_trailer.pack(rec)
        else:
            tail = (_ZEROS[pad] + pcapng_option_header.pack(PCAPNG_EPB_OPT.FLAGS, u32.size)
                    + u32.pack(0) + _ENDOFOPT + pcapng_block_trailer.pack(rec))
        template = head + bytes(length) + tail
        flag_at = _EPB_HEAD + length + pad + pcapng_option_header.size + (0 if _LITTLE else 3)
        low_bytes = memoryview(lows)
        per = len(self._buf) // rec
        done = 0
        while done < n:
            m = min(per, n - done)
            if self._off + m * rec > self._limit:
                self._drain()
            off = self._off
            region = self._view[off:off + m * rec]
            fill_repeated(region, template, m)
            # ts low word, then captured and wire length (the head's last 8 bytes), the data
            copy_strided(region, 16, rec, low_bytes, done * 4, 4, 4, m)
            copy_strided(region, 20, rec, hmv, h0 + 8 + done * hstep, hstep, 8, m)
            copy_strided(region, _EPB_HEAD, rec, mv, d0 + done * step, step, length, m)
            if dirs is not None:
                copy_strided(region, flag_at, rec, dirs, done, 1, 1, m)
            self._off = off + m * rec
            self.packets += m
            done += m
        return n

    def write_columns(self, sec: Sequence[int], nsec: Sequence[int], wirelen: Sequence[int],
                      buf: ReadableBuffer, first: int, step: int, length: int,
                      interface: int = 0, *, comment: str | None = None) -> int:
        """Append ``len(sec)`` enhanced packet blocks from columns, as
        :meth:`PcapWriter.write_columns` (``comment``: the opt_comment of every block);
        returns how many.  The file gets what :meth:`write` would make of each.

        With the interface in nanoseconds, every ``nsec`` below 10**9, ``length``
        within its snaplen and the stamps sharing their upper 32 bits, the blocks are
        assembled by strided copies; anything else goes packet by packet.
        """
        self._iface(interface)
        n, mv, cols = _columns(sec, nsec, wirelen, buf, first, step, length)
        if not n:
            return 0
        if length <= self._snaps[interface] and max(cols[1]) < _NS_PER_S:
            heads = _heads(cols, length)
            stamps = _low_words(heads, 0, _REC, n)
            if stamps is not None:
                opts = b"" if comment is None else self._epb_options(
                    None, None, None, None, None, None, None, comment)
                return self._write_strided(heads, 0, _REC, mv, first, step, length, n,
                                           interface, stamps[0], stamps[1], None, opts)
        write = self.write
        for i, (s, ns, w) in enumerate(zip(*cols)):  # noqa: B905 (lengths checked)
            at = first + i * step
            write(mv[at:at + length], s * _NS_PER_S + ns, w, interface, comment=comment)
        return n

    def _tail(self, n: int) -> bytes:
        """The padding and trailing length of an option-less EPB of ``n`` data bytes."""
        pad = -n & 3
        tail = _ZEROS[pad] + pcapng_block_trailer.pack(_EPB_FIXED + n + pad)
        if len(self._tails) < _TAILS_CACHED:
            self._tails[n] = tail
        return tail

    def write_stats(self, interface: int, ts_ns: int, *, received: int | None = None,
                    dropped: int | None = None, starttime_ns: int | None = None,
                    endtime_ns: int | None = None, filter_accepted: int | None = None,
                    os_dropped: int | None = None, delivered: int | None = None,
                    comment: str | None = None) -> None:
        """Append an interface statistics block.

        Args:
            interface: the interface the counters belong to.
            ts_ns: when the counters were read.
            received: isb_ifrecv, packets the interface received.
            dropped: isb_ifdrop, packets the interface dropped.
            starttime_ns: isb_starttime, when capture started.
            endtime_ns: isb_endtime, when capture ended.
            filter_accepted: isb_filteraccept, packets the filter accepted.
            os_dropped: isb_osdrop, packets the operating system dropped.
            delivered: isb_usrdeliv, packets delivered to the application.
            comment: an opt_comment.
        """
        iface = self._iface(interface)
        opts = bytearray()
        if comment is not None:
            _option(opts, PCAPNG_OPT.COMMENT, _text("comment", comment))
        for code, when in ((PCAPNG_ISB_OPT.STARTTIME, starttime_ns),
                           (PCAPNG_ISB_OPT.ENDTIME, endtime_ns)):
            if when is not None:
                units = self._units(iface, f"isb_{code.name.lower()}", when)
                _option(opts, code, pcapng_timestamp.pack(units >> 32, units & _U32_MAX))
        for code, count in ((PCAPNG_ISB_OPT.IFRECV, received),
                            (PCAPNG_ISB_OPT.IFDROP, dropped),
                            (PCAPNG_ISB_OPT.FILTERACCEPT, filter_accepted),
                            (PCAPNG_ISB_OPT.OSDROP, os_dropped),
                            (PCAPNG_ISB_OPT.USRDELIV, delivered)):
            if count is not None:
                _option(opts, code, _u64_value(f"isb_{code.name.lower()}", count))
        if opts:
            opts += _ENDOFOPT
        total = pcapng_isb.size + len(opts) + pcapng_block_trailer.size
        ts = self._units(iface, "ts_ns", ts_ns)
        head = pcapng_isb.pack(PCAPNG_BLOCK.INTERFACE_STATISTICS, total, interface, ts >> 32,
                               ts & _U32_MAX)
        self._put(head, b"", bytes(opts) + pcapng_block_trailer.pack(total))


_PCAP_KW = frozenset({"nanoseconds", "bufsize"})
_PCAPNG_KW = frozenset({"shb_comment", "application", "hardware", "os_name", "bufsize"})
_IDB_KW = frozenset({"name", "description", "tsresol", "fcslen", "comment"})


def open_writer(file: SupportsWrite, format: str, linktype: int,
                snaplen: int = DEFAULT_SNAPLEN, **kw: Any) -> PcapWriter | PcapngWriter:
    """A writer for ``format`` ``"pcap"`` or ``"pcapng"`` with one link type.

    For pcapng the keywords go to :class:`PcapngWriter` (``shb_comment``,
    ``application``, ``hardware``, ``os_name``, ``bufsize``) and to its one
    interface, id 0 (``name``, ``description``, ``tsresol``, ``fcslen``,
    ``comment``); for pcap to :class:`PcapWriter` (``nanoseconds``, ``bufsize``).
    A keyword the format has no use for is an :class:`EncodeError`.
    """
    if format == "pcap":
        wrong = set(kw) - _PCAP_KW
        if wrong:
            raise EncodeError(f"pcap files have no {', '.join(sorted(wrong))}")
        return PcapWriter(file, linktype, snaplen, **kw)
    if format == "pcapng":
        wrong = set(kw) - _PCAPNG_KW - _IDB_KW
        if wrong:
            raise EncodeError(f"pcapng writers take no {', '.join(sorted(wrong))}")
        writer = PcapngWriter(file, **{k: v for k, v in kw.items() if k in _PCAPNG_KW})
        writer.add_interface(linktype, snaplen, **{k: v for k, v in kw.items() if k in _IDB_KW})
        return writer
    raise EncodeError(f"unknown capture file format {format!r}: use 'pcap' or 'pcapng'")
