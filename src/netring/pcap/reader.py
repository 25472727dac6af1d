"""Reading pcap and pcapng files from a buffer, records as views into it.

:func:`read_capture` detects the format from the first four bytes::

    d4 c3 b2 a1 | a1 b2 c3 d4     pcap, microseconds, little | big endian
    4d 3c b2 a1 | a1 b2 3c 4d     pcap, nanoseconds, little | big endian
    0a 0d 0d 0a                   pcapng section header (its byte-order magic,
                                  8 bytes on, gives the section's byte order)

and yields one :class:`Record` per packet::

    pcap:    | file header | hdr | data | hdr | data | ...
    pcapng:  | SHB | IDB | IDB | EPB | EPB | ISB | SHB | IDB | EPB | ...
              \\__________ section 0 __________/ \\__ section 1 ___/
              interface ids count the IDBs of their own section from 0

A pcapng file may hold several sections of either byte order; each keeps its
own interfaces.  Enhanced, simple and (obsolete) packet blocks give records;
interface statistics blocks are collected in :attr:`CaptureReader.stats`;
other blocks (name resolution, decryption secrets, custom) are skipped, as are
options the reader does not know.  Timestamps become nanoseconds since the
epoch from each interface's ``if_tsresol`` (powers of 10 and of 2) and
``if_tsoffset``.

Every length is checked against the block and the buffer before use; bytes
that do not form a valid file raise :class:`DecodeError` with the offset of the
block, record or option at fault (records before it have been yielded).
"""

from __future__ import annotations

from ..errors import DecodeError
from .format import (
    PCAP_FCS_LEN_SHIFT,
    PCAP_FCS_PRESENT,
    PCAP_LINKTYPE_MASK,
    PCAP_MAGIC_NS,
    PCAP_MAGIC_US,
    PCAPNG_BLOCK,
    PCAPNG_BYTE_ORDER_MAGIC,
    PCAPNG_EPB_DIRECTION,
    PCAPNG_EPB_DIRECTION_MASK,
    PCAPNG_EPB_OPT,
    PCAPNG_EPB_OPT_LEN,
    PCAPNG_EPB_RECEPTION,
    PCAPNG_EPB_RECEPTION_MASK,
    PCAPNG_EPB_RECEPTION_SHIFT,
    PCAPNG_IDB_OPT,
    PCAPNG_IDB_OPT_LEN,
    PCAPNG_ISB_OPT,
    PCAPNG_ISB_OPT_LEN,
    PCAPNG_OPT,
    PCAPNG_SHB_OPT,
    PCAPNG_TSRESOL_BASE2,
    PCAPNG_TSRESOL_DEFAULT,
    PCAPNG_TSRESOL_NS,
    PCAPNG_VERDICT_LEN,
    PCAPNG_VERDICT_TYPE,
    byte_order_variants,
    pcap_file_header,
    pcap_record_header,
    pcapng_block_header,
    pcapng_block_trailer,
    pcapng_epb,
    pcapng_idb,
    pcapng_isb,
    pcapng_option_header,
    pcapng_pb,
    pcapng_shb,
    pcapng_spb,
    pcapng_timestamp,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Literal

    from ..codec.types import ReadableBuffer

__all__ = [
    "Record",
    "PcapHeader",
    "Section",
    "Interface",
    "InterfaceStats",
    "CaptureReader",
    "read_capture",
    "read_file_header",
    "parse_verdict",
]

_NS_PER_S = 1_000_000_000
_NS_PER_US = 1_000

# (little-endian, big-endian) variants of every fixed layout the reader meets
_PCAP_FILE = byte_order_variants(pcap_file_header)
_PCAP_REC = byte_order_variants(pcap_record_header)
_BLOCK = byte_order_variants(pcapng_block_header)
_TRAILER = byte_order_variants(pcapng_block_trailer)
_OPTION = byte_order_variants(pcapng_option_header)
_SHB = byte_order_variants(pcapng_shb)
_IDB = byte_order_variants(pcapng_idb)
_EPB = byte_order_variants(pcapng_epb)
_SPB = byte_order_variants(pcapng_spb)
_ISB = byte_order_variants(pcapng_isb)
_PB = byte_order_variants(pcapng_pb)
_TIMESTAMP = byte_order_variants(pcapng_timestamp)
_ORDER: tuple[Literal["little", "big"], Literal["little", "big"]] = ("little", "big")

# magic, as the first four bytes read little-endian -> (big endian, nanoseconds)
_PCAP_MAGICS = {
    PCAP_MAGIC_US: (False, False),
    PCAP_MAGIC_NS: (False, True),
    int.from_bytes(PCAP_MAGIC_US.to_bytes(4, "big"), "little"): (True, False),
    int.from_bytes(PCAP_MAGIC_NS.to_bytes(4, "big"), "little"): (True, True),
}
_SHB_TYPE = int(PCAPNG_BLOCK.SECTION_HEADER)  # a palindrome: the same in both orders
_EPB_TYPE = int(PCAPNG_BLOCK.ENHANCED_PACKET)
_IDB_TYPE = int(PCAPNG_BLOCK.INTERFACE_DESCRIPTION)
_SPB_TYPE = int(PCAPNG_BLOCK.SIMPLE_PACKET)
_ISB_TYPE = int(PCAPNG_BLOCK.INTERFACE_STATISTICS)
_PB_TYPE = int(PCAPNG_BLOCK.PACKET)
_TAIL = pcapng_block_trailer.size  # the trailing block total length
_OPT_HDR = pcapng_option_header.size
_MIN_BLOCK = pcapng_block_header.size + _TAIL
_REC = pcap_record_header.size

# offsets of fields within a block (after the block header: interface id, ...)
_IF_FIELD = pcapng_block_header.size  # EPB, ISB, PB: the interface id
_CAPLEN_FIELD = _IF_FIELD + 4 + pcapng_timestamp.size  # EPB: after interface id, timestamp
_MAGIC_FIELD = pcapng_block_header.size  # SHB: the byte-order magic
_VERSION_FIELD = _MAGIC_FIELD + 4


class Record:
    """One captured packet.

    Attributes:
        ts_ns: capture time, nanoseconds since the epoch (0 for a simple packet
            block, which has no timestamp).
        caplen: bytes captured (``len(data)``).
        wirelen: the packet's length on the wire.
        interface: interface id within its pcapng section (0 for pcap).
        linktype: the interface's ``LINKTYPE_*``.
        data: the captured bytes, a memoryview into the buffer read: valid while
            that buffer lives (``bytes(record.data)`` keeps a copy).
        flags: epb_flags word, or None.
        hash: the first epb_hash value (algorithm octet and hash), or None.
        dropcount: epb_dropcount (the obsolete packet block's drops count), or None.
        packetid: epb_packetid, or None.
        queue: epb_queue, or None.
        verdict: the epb_verdict values as stored (type octet and data), or None.
        comments: the opt_comment strings, possibly empty.
    """

    __slots__ = ("ts_ns", "caplen", "wirelen", "interface", "linktype", "data", "flags",
                 "hash", "dropcount", "packetid", "queue", "verdict", "comments", "_big")

    def __init__(self, ts_ns: int, caplen: int, wirelen: int, interface: int, linktype: int,
                 data: memoryview, flags: int | None = None, hash: bytes | None = None,
                 dropcount: int | None = None, packetid: int | None = None,
                 queue: int | None = None, verdict: tuple[bytes, ...] | None = None,
                 comments: tuple[str, ...] = (), big_endian: bool = False) -> None:
        self.ts_ns = ts_ns
        self.caplen = caplen
        self.wirelen = wirelen
        self.interface = interface
        self.linktype = linktype
        self.data = data
        self.flags = flags
        self.hash = hash
        self.dropcount = dropcount
        self.packetid = packetid
        self.queue = queue
        self.verdict = verdict
        self.comments = comments
        self._big = big_endian

    @property
    def direction(self) -> PCAPNG_EPB_DIRECTION | None:
        """epb_flags bits 0-1, or None without epb_flags (3, undefined, reads as None)."""
        if self.flags is None:
            return None
        bits = self.flags & PCAPNG_EPB_DIRECTION_MASK
        return PCAPNG_EPB_DIRECTION(bits) if bits != 3 else None

    @property
    def reception(self) -> PCAPNG_EPB_RECEPTION | int | None:
        """epb_flags bits 2-4 (an int when not a defined reception type), or None."""
        if self.flags is None:
            return None
        bits = (self.flags & PCAPNG_EPB_RECEPTION_MASK) >> PCAPNG_EPB_RECEPTION_SHIFT
        return PCAPNG_EPB_RECEPTION(bits) if bits in PCAPNG_EPB_RECEPTION._value2member_map_ \
            else bits

    @property
    def verdicts(self) -> list[tuple[int, int | bytes]]:
        """The verdicts decoded with their section's byte order (see :func:`parse_verdict`)."""
        return [parse_verdict(v, self._big) for v in self.verdict or ()]

    def __repr__(self) -> str:
        extra = "".join(f", {name}={getattr(self, name)!r}" for name in
                        ("flags", "hash", "dropcount", "packetid", "queue", "verdict")
                        if getattr(self, name) is not None)
        if self.comments:
            extra += f", comments={self.comments!r}"
        return (f"Record(ts_ns={self.ts_ns}, caplen={self.caplen}, wirelen={self.wirelen}, "
                f"interface={self.interface}, linktype={self.linktype}{extra})")


def parse_verdict(raw: bytes, big_endian: bool = False) -> tuple[int, int | bytes]:
    """Split an epb_verdict value into (type, verdict).

    ``LINUX_EBPF_TC`` and ``LINUX_EBPF_XDP`` verdicts are 64-bit integers in the
    section's byte order (returned signed: ``TC_ACT_UNSPEC`` is -1); other types
    keep their bytes.
    """
    if len(raw) < 1:
        raise DecodeError("empty epb_verdict", 0)
    kind = raw[0]
    if kind in (PCAPNG_VERDICT_TYPE.LINUX_EBPF_TC, PCAPNG_VERDICT_TYPE.LINUX_EBPF_XDP):
        if len(raw) != PCAPNG_VERDICT_LEN[kind]:
            raise DecodeError(f"verdict of type {kind} is {len(raw)} bytes, not "
                              f"{PCAPNG_VERDICT_LEN[kind]}", 0)
        return PCAPNG_VERDICT_TYPE(kind), int.from_bytes(raw[1:], _ORDER[big_endian],
                                                          signed=True)
    return (PCAPNG_VERDICT_TYPE(kind) if kind == PCAPNG_VERDICT_TYPE.HARDWARE else kind,
            bytes(raw[1:]))


class PcapHeader:
    """The pcap file header.

    Attributes:
        big_endian: the file's byte order.
        nanoseconds: nanosecond stamps (else microseconds).
        version: (major, minor).
        snaplen: the file's snapshot length.
        linktype: the ``LINKTYPE_*`` (bits 0-15 of the linktype word).
        fcslen: FCS length in bytes when the header gives one (the P bit), else None.
    """

    __slots__ = ("big_endian", "nanoseconds", "version", "snaplen", "linktype", "fcslen")

    def __init__(self, big_endian: bool, nanoseconds: bool, version: tuple[int, int],
                 snaplen: int, linktype: int, fcslen: int | None) -> None:
        self.big_endian = big_endian
        self.nanoseconds = nanoseconds
        self.version = version
        self.snaplen = snaplen
        self.linktype = linktype
        self.fcslen = fcslen

    def __repr__(self) -> str:
        return (f"PcapHeader(big_endian={self.big_endian}, nanoseconds={self.nanoseconds}, "
                f"version={self.version}, snaplen={self.snaplen}, linktype={self.linktype})")


class Section:
    """One pcapng section (what its section header block says).

    Attributes:
        index: the section's position in the file, from 0.
        offset: where its SHB starts.
        big_endian: the section's byte order.
        version: (major, minor).
        section_length: the declared length of the section, or -1.
        hardware, os, application: shb_hardware, shb_os, shb_userappl, or None.
        comments: opt_comment strings.
        interfaces: its interfaces, in id order.
    """

    __slots__ = ("index", "offset", "big_endian", "version", "section_length", "hardware",
                 "os", "application", "comments", "interfaces")

    def __init__(self, index: int, offset: int, big_endian: bool, version: tuple[int, int],
                 section_length: int) -> None:
        self.index = index
        self.offset = offset
        self.big_endian = big_endian
        self.version = version
        self.section_length = section_length
        self.hardware: str | None = None
        self.os: str | None = None
        self.application: str | None = None
        self.comments: tuple[str, ...] = ()
        self.interfaces: list[Interface] = []

    def __repr__(self) -> str:
        return (f"Section(index={self.index}, big_endian={self.big_endian}, "
                f"application={self.application!r}, interfaces={len(self.interfaces)})")


class Interface:
    """An interface description block (for pcap: the file header's one interface).

    Attributes:
        section: the index of its section.
        id: its id within the section.
        linktype: ``LINKTYPE_*``.
        snaplen: snapshot length (0: none).
        tsresol: the if_tsresol octet (``PCAPNG_TSRESOL_BASE2`` set: powers of 2).
        tsoffset: if_tsoffset seconds.
        name, description, os, hardware: the if_* strings, or None.
        fcslen: if_fcslen (bits), or None.
        speed: if_speed (bits/s), or None.
        comments: opt_comment strings.
    """

    __slots__ = ("section", "id", "linktype", "snaplen", "tsresol", "tsoffset", "name",
                 "description", "os", "hardware", "fcslen", "speed", "comments", "_mul",
                 "_div", "_add")

    def __init__(self, section: int, id: int, linktype: int, snaplen: int,
                 tsresol: int = PCAPNG_TSRESOL_DEFAULT, tsoffset: int = 0) -> None:
        self.section = section
        self.id = id
        self.linktype = linktype
        self.snaplen = snaplen
        self.name: str | None = None
        self.description: str | None = None
        self.os: str | None = None
        self.hardware: str | None = None
        self.fcslen: int | None = None
        self.speed: int | None = None
        self.comments: tuple[str, ...] = ()
        self._set_time(tsresol, tsoffset)

    def _set_time(self, tsresol: int, tsoffset: int) -> None:
        self.tsresol = tsresol
        self.tsoffset = tsoffset
        exp = tsresol & ~PCAPNG_TSRESOL_BASE2
        if tsresol & PCAPNG_TSRESOL_BASE2:  # units of 2**-exp s, rounded to the nearest ns
            self._mul, self._div = _NS_PER_S, 1 << exp
            self._add = tsoffset * _NS_PER_S * self._div + (self._div >> 1)
        elif exp <= PCAPNG_TSRESOL_NS:
            self._mul, self._div = 10 ** (PCAPNG_TSRESOL_NS - exp), 1
            self._add = tsoffset * _NS_PER_S
        else:
            self._mul, self._div = 1, 10 ** (exp - PCAPNG_TSRESOL_NS)
            self._add = tsoffset * _NS_PER_S * self._div

    def ts_ns(self, units: int) -> int:
        """A timestamp of this interface (units of its resolution) in nanoseconds."""
        return (units * self._mul + self._add) // self._div

    def __repr__(self) -> str:
        return (f"Interface(section={self.section}, id={self.id}, linktype={self.linktype}, "
                f"snaplen={self.snaplen}, tsresol={self.tsresol}, name={self.name!r})")


class InterfaceStats:
    """An interface statistics block; counters the block lacks are None.

    Attributes:
        section, interface: which interface.
        ts_ns: when the counters were taken.
        starttime_ns, endtime_ns: isb_starttime, isb_endtime.
        received: isb_ifrecv.   dropped: isb_ifdrop.   filter_accepted: isb_filteraccept.
        os_dropped: isb_osdrop.   delivered: isb_usrdeliv.
        comments: opt_comment strings.
    """

    __slots__ = ("section", "interface", "ts_ns", "starttime_ns", "endtime_ns", "received",
                 "dropped", "filter_accepted", "os_dropped", "delivered", "comments")

    def __init__(self, section: int, interface: int, ts_ns: int) -> None:
        self.section = section
        self.interface = interface
        self.ts_ns = ts_ns
        self.starttime_ns: int | None = None
        self.endtime_ns: int | None = None
        self.received: int | None = None
        self.dropped: int | None = None
        self.filter_accepted: int | None = None
        self.os_dropped: int | None = None
        self.delivered: int | None = None
        self.comments: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__[3:-1]
                           if getattr(self, k) is not None)
        return f"InterfaceStats(section={self.section}, interface={self.interface}, {fields})"


def _as_view(data: object) -> memoryview:
    """A flat byte view of a buffer, or of what a file object's ``read()`` returns."""
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        read = getattr(data, "read", None)
        if not callable(read):
            raise TypeError(f"a capture reader takes a bytes-like buffer or a binary file "
                            f"object, not {type(data).__name__}") from None
        view = memoryview(read())
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    return view


def _text(view: memoryview, start: int, end: int) -> str:
    """An option's UTF-8 string (a NUL octet ends it; bad UTF-8 is replaced, not fatal)."""
    raw = bytes(view[start:end])
    nul = raw.find(0)
    if nul >= 0:
        raw = raw[:nul]
    return raw.decode("utf-8", "replace")


def _options(view: memoryview, start: int, end: int,
             big: bool) -> Iterator[tuple[int, int, int]]:
    """Walk an option list: yields (code, value offset, value length).

    Stops at opt_endofopt or at ``end``; an option running past ``end`` is a
    :class:`DecodeError` at its offset.
    """
    unpack = _OPTION[big].unpack_from
    off = start
    while end - off >= _OPT_HDR:
        code, length = unpack(view, off)
        if code == PCAPNG_OPT.ENDOFOPT:
            return
        value = off + _OPT_HDR
        if value + length > end:
            raise DecodeError(f"option {code} of {length} bytes runs past its block", off)
        yield code, value, length
        off = value + ((length + 3) & ~3)
    if off < end:
        raise DecodeError(f"{end - off} stray bytes after the options", off)


def _fixed(code: int, length: int, want: int, off: int) -> None:
    if length != want:
        raise DecodeError(f"option {code} is {length} bytes, not {want}", off)


class CaptureReader:
    """A pcap or pcapng file over a buffer; iterating yields its :class:`Record` s.

    Args:
        data: the file's bytes (bytes, bytearray, memoryview, mmap), or a binary
            file object, which is read whole (pass an ``mmap`` for large files).

    Attributes:
        format: ``"pcap"`` or ``"pcapng"``.
        header: the :class:`PcapHeader` (pcap), else None.
        sections: pcapng sections met so far.
        interfaces: every interface met so far, all sections in file order (pcap:
            the one the header describes).
        stats: interface statistics blocks met so far.

    The pcapng lists fill as iteration passes the blocks; after a complete
    iteration they describe the whole file.  Each iteration starts afresh.
    """

    def __init__(self, data: ReadableBuffer | object) -> None:
        self._view = _as_view(data)
        view = self._view
        if len(view) < 4:
            raise DecodeError(f"{len(view)} bytes are too short for a capture file", 0)
        magic = int.from_bytes(view[:4], "little")
        self.header: PcapHeader | None = None
        self.sections: list[Section] = []
        self.interfaces: list[Interface] = []
        self.stats: list[InterfaceStats] = []
        self.format: Literal["pcap", "pcapng"]
        if magic in _PCAP_MAGICS:
            self.format = "pcap"
            self.header = self._pcap_header(magic)
            self.interfaces = [self._pcap_interface()]
        elif magic == _SHB_TYPE:
            self.format = "pcapng"
        else:
            raise DecodeError(f"not a pcap or pcapng file (first bytes "
                              f"{bytes(view[:4]).hex()})", 0)

    # -- pcap -----------------------------------------------------------------

    def _pcap_header(self, magic: int) -> PcapHeader:
        big, ns = _PCAP_MAGICS[magic]
        s = _PCAP_FILE[big]
        if len(self._view) < s.size:
            raise DecodeError(f"pcap file header truncated: {len(self._view)} of {s.size} "
                              "bytes", 0)
        _, major, minor, _zone, _sig, snaplen, ltword = s.unpack_from(self._view, 0)
        if major != 2:
            raise DecodeError(f"pcap version {major}.{minor} is not 2.x", 4)
        fcslen = (ltword >> PCAP_FCS_LEN_SHIFT) * 2 if ltword & PCAP_FCS_PRESENT else None
        return PcapHeader(big, ns, (major, minor), snaplen, ltword & PCAP_LINKTYPE_MASK,
                          fcslen)

    def _pcap_interface(self) -> Interface:
        h = self.header
        assert h is not None
        return Interface(0, 0, h.linktype, h.snaplen,
                         PCAPNG_TSRESOL_NS if h.nanoseconds else PCAPNG_TSRESOL_DEFAULT)

    def _pcap_records(self) -> Iterator[Record]:
        h = self.header
        assert h is not None
        view = self._view
        end = len(view)
        unpack = _PCAP_REC[h.big_endian].unpack_from
        frac_ns = 1 if h.nanoseconds else _NS_PER_US
        linktype = h.linktype
        off = _PCAP_FILE[h.big_endian].size
        while off < end:
            if end - off < _REC:
                raise DecodeError(f"pcap record header truncated ({end - off} of {_REC} "
                                  "bytes)", off)
            sec, frac, caplen, wirelen = unpack(view, off)
            start = off + _REC
            stop = start + caplen
            if stop > end:
                raise DecodeError(f"pcap record of {caplen} bytes truncated to "
                                  f"{end - start}", off)
            yield Record(sec * _NS_PER_S + frac * frac_ns, caplen, wirelen, 0, linktype,
                         view[start:stop])
            off = stop

    # -- pcapng ---------------------------------------------------------------

    def __iter__(self) -> Iterator[Record]:
        if self.format == "pcap":
            return self._pcap_records()
        return self._pcapng_records()

    def _blocks(self) -> Iterator[tuple[int, Section, int, int]]:
        """Walk the pcapng blocks: yields (type, section, offset, trailer offset)
        for each block whose lengths check out; section headers are decoded
        (their options too) before they are yielded."""
        self.sections = []
        self.interfaces = []
        self.stats = []
        view = self._view
        end = len(view)
        off = 0
        section: Section | None = None
        big = False
        while off < end:
            if end - off < _MIN_BLOCK:
                raise DecodeError(f"block header truncated ({end - off} bytes left)", off)
            btype, blen = _BLOCK[big].unpack_from(view, off)
            if btype == _SHB_TYPE:  # a palindrome: found whatever the order so far
                section = self._section(off)
                if section.big_endian != big:
                    big = section.big_endian
                    blen = _BLOCK[big].unpack_from(view, off)[1]
            elif section is None:
                raise DecodeError(f"block type {btype:#x} before any section header", off)
            assert section is not None
            if blen < _MIN_BLOCK or blen & 3:
                raise DecodeError(f"block length {blen} is not a multiple of 4 of at least "
                                  f"{_MIN_BLOCK}", off + 4)
            if blen > end - off:
                raise DecodeError(f"block of {blen} bytes truncated to {end - off}", off)
            bend = off + blen - _TAIL
            if _TRAILER[big].unpack_from(view, bend)[0] != blen:
                raise DecodeError(f"block trailer length differs from its header ({blen})",
                                  bend)
            if btype == _SHB_TYPE:
                if blen < pcapng_shb.size + _TAIL:
                    raise DecodeError(f"section header block of {blen} bytes is too short",
                                      off + 4)
                self._shb_options(section, off, bend)
            yield btype, section, off, bend
            off += blen

    def _pcapng_records(self) -> Iterator[Record]:
        for btype, section, off, bend in self._blocks():
            if btype == _EPB_TYPE:
                yield self._epb(section, off, bend)
            elif btype == _IDB_TYPE:
                self._idb(section, off, bend)
            elif btype == _SPB_TYPE:
                yield self._spb(section, off, bend)
            elif btype == _ISB_TYPE:
                self._isb(section, off, bend)
            elif btype == _PB_TYPE:
                yield self._pb(section, off, bend)

    def _section(self, off: int) -> Section:
        view = self._view
        if len(view) - off < pcapng_shb.size + _TAIL:
            raise DecodeError("section header block truncated", off)
        magic = int.from_bytes(view[off + _MAGIC_FIELD:off + _VERSION_FIELD], "little")
        if magic == PCAPNG_BYTE_ORDER_MAGIC:
            big = False
        elif magic == int.from_bytes(PCAPNG_BYTE_ORDER_MAGIC.to_bytes(4, "big"), "little"):
            big = True
        else:
            raise DecodeError(f"bad byte-order magic {magic:#010x}", off + _MAGIC_FIELD)
        _, _, _, major, minor, section_length = _SHB[big].unpack_from(view, off)
        if major != 1:
            raise DecodeError(f"pcapng version {major}.{minor} is not 1.x", off + _VERSION_FIELD)
        section = Section(len(self.sections), off, big, (major, minor), section_length)
        self.sections.append(section)
        return section

    def _shb_options(self, section: Section, off: int, bend: int) -> None:
        view = self._view
        comments = []
        for code, v, n in _options(view, off + pcapng_shb.size, bend, section.big_endian):
            if code == PCAPNG_OPT.COMMENT:
                comments.append(_text(view, v, v + n))
            elif code == PCAPNG_SHB_OPT.HARDWARE:
                section.hardware = _text(view, v, v + n)
            elif code == PCAPNG_SHB_OPT.OS:
                section.os = _text(view, v, v + n)
            elif code == PCAPNG_SHB_OPT.USERAPPL:
                section.application = _text(view, v, v + n)
        section.comments = tuple(comments)

    def _idb(self, section: Section, off: int, bend: int) -> None:
        view = self._view
        big = section.big_endian
        body = off + pcapng_idb.size
        if body > bend:
            raise DecodeError("interface description block too short", off)
        _, _, linktype, _, snaplen = _IDB[big].unpack_from(view, off)
        iface = Interface(section.index, len(section.interfaces), linktype, snaplen)
        order = _ORDER[big]
        tsresol, tsoffset = PCAPNG_TSRESOL_DEFAULT, 0
        comments = []
        for code, v, n in _options(view, body, bend, big):
            if code in PCAPNG_IDB_OPT_LEN:
                _fixed(code, n, PCAPNG_IDB_OPT_LEN[code], v - _OPT_HDR)
            if code == PCAPNG_OPT.COMMENT:
                comments.append(_text(view, v, v + n))
            elif code == PCAPNG_IDB_OPT.NAME:
                iface.name = _text(view, v, v + n)
            elif code == PCAPNG_IDB_OPT.DESCRIPTION:
                iface.description = _text(view, v, v + n)
            elif code == PCAPNG_IDB_OPT.OS:
                iface.os = _text(view, v, v + n)
            elif code == PCAPNG_IDB_OPT.HARDWARE:
                iface.hardware = _text(view, v, v + n)
            elif code == PCAPNG_IDB_OPT.TSRESOL:
                tsresol = view[v]
            elif code == PCAPNG_IDB_OPT.TSOFFSET:
                tsoffset = int.from_bytes(view[v:v + n], order, signed=True)
            elif code == PCAPNG_IDB_OPT.FCSLEN:
                iface.fcslen = view[v]
            elif code == PCAPNG_IDB_OPT.SPEED:
                iface.speed = int.from_bytes(view[v:v + n], order)
        iface.comments = tuple(comments)
        iface._set_time(tsresol, tsoffset)
        section.interfaces.append(iface)
        self.interfaces.append(iface)

    def _iface(self, section: Section, interface: int, off: int) -> Interface:
        if interface >= len(section.interfaces):
            raise DecodeError(f"block for interface {interface}: its section has "
                              f"{len(section.interfaces)}", off)
        return section.interfaces[interface]

    def _epb(self, section: Section, off: int, bend: int) -> Record:
        view = self._view
        big = section.big_endian
        if off + pcapng_epb.size > bend:
            raise DecodeError("enhanced packet block too short", off)
        _, _, interface, hi, lo, caplen, wirelen = _EPB[big].unpack_from(view, off)
        start = off + pcapng_epb.size
        opts = start + ((caplen + 3) & ~3)
        if opts > bend:
            raise DecodeError(f"enhanced packet block data of {caplen} bytes runs past "
                              "the block", off + _CAPLEN_FIELD)
        ifaces = section.interfaces
        if interface >= len(ifaces):
            self._iface(section, interface, off + _IF_FIELD)  # raises
        iface = ifaces[interface]
        rec = Record((((hi << 32 | lo) * iface._mul + iface._add) // iface._div), caplen,
                     wirelen, interface, iface.linktype, view[start:start + caplen], None, None,
                     None, None, None, None, (), big)
        if opts < bend:
            self._packet_options(rec, opts, bend, big)
        return rec

    def _packet_options(self, rec: Record, start: int, bend: int, big: bool) -> None:
        view = self._view
        order = _ORDER[big]
        comments = []
        verdicts = []
        for code, v, n in _options(view, start, bend, big):
            if code in PCAPNG_EPB_OPT_LEN:
                _fixed(code, n, PCAPNG_EPB_OPT_LEN[code], v - _OPT_HDR)
            if code == PCAPNG_OPT.COMMENT:
                comments.append(_text(view, v, v + n))
            elif code == PCAPNG_EPB_OPT.FLAGS:
                rec.flags = int.from_bytes(view[v:v + n], order)
            elif code == PCAPNG_EPB_OPT.HASH:
                if n < 1:
                    raise DecodeError("empty epb_hash", v - _OPT_HDR)
                if rec.hash is None:
                    rec.hash = bytes(view[v:v + n])
            elif code == PCAPNG_EPB_OPT.DROPCOUNT:
                rec.dropcount = int.from_bytes(view[v:v + n], order)
            elif code == PCAPNG_EPB_OPT.PACKETID:
                rec.packetid = int.from_bytes(view[v:v + n], order)
            elif code == PCAPNG_EPB_OPT.QUEUE:
                rec.queue = int.from_bytes(view[v:v + n], order)
            elif code == PCAPNG_EPB_OPT.VERDICT:
                if n < 1:
                    raise DecodeError("empty epb_verdict", v - _OPT_HDR)
                want = PCAPNG_VERDICT_LEN.get(view[v], n)
                if n != want:
                    raise DecodeError(f"epb_verdict of type {view[v]} is {n} bytes, not "
                                      f"{want}", v - _OPT_HDR)
                verdicts.append(bytes(view[v:v + n]))
        if comments:
            rec.comments = tuple(comments)
        if verdicts:
            rec.verdict = tuple(verdicts)

    def _spb(self, section: Section, off: int, bend: int) -> Record:
        view = self._view
        big = section.big_endian
        start = off + pcapng_spb.size
        if start > bend:
            raise DecodeError("simple packet block too short", off)
        iface = self._iface(section, 0, off)
        wirelen = _SPB[big].unpack_from(view, off)[2]
        caplen = wirelen if not iface.snaplen else min(wirelen, iface.snaplen)
        if start + caplen > bend:
            raise DecodeError(f"simple packet block holds {bend - start} bytes, not "
                              f"{caplen}", off)
        return Record(0, caplen, wirelen, 0, iface.linktype, view[start:start + caplen],
                      big_endian=big)

    def _pb(self, section: Section, off: int, bend: int) -> Record:
        view = self._view
        big = section.big_endian
        if off + pcapng_pb.size > bend:
            raise DecodeError("packet block too short", off)
        _, _, interface, drops, hi, lo, caplen, wirelen = _PB[big].unpack_from(view, off)
        start = off + pcapng_pb.size
        opts = start + ((caplen + 3) & ~3)
        if opts > bend:
            raise DecodeError(f"packet block data of {caplen} bytes runs past the block",
                              off + _CAPLEN_FIELD)
        iface = self._iface(section, interface, off + _IF_FIELD)
        rec = Record(iface.ts_ns(hi << 32 | lo), caplen, wirelen, interface, iface.linktype,
                     view[start:start + caplen], big_endian=big,
                     dropcount=None if drops == 0xFFFF else drops)
        if opts < bend:
            self._packet_options(rec, opts, bend, big)
        return rec

    def _isb(self, section: Section, off: int, bend: int) -> None:
        view = self._view
        big = section.big_endian
        body = off + pcapng_isb.size
        if body > bend:
            raise DecodeError("interface statistics block too short", off)
        _, _, interface, hi, lo = _ISB[big].unpack_from(view, off)
        iface = self._iface(section, interface, off + _IF_FIELD)
        st = InterfaceStats(section.index, interface, iface.ts_ns(hi << 32 | lo))
        order = _ORDER[big]
        comments = []
        for code, v, n in _options(view, body, bend, big):
            if code == PCAPNG_OPT.COMMENT:
                comments.append(_text(view, v, v + n))
                continue
            if code not in PCAPNG_ISB_OPT_LEN:
                continue
            _fixed(code, n, PCAPNG_ISB_OPT_LEN[code], v - _OPT_HDR)
            if code in (PCAPNG_ISB_OPT.STARTTIME, PCAPNG_ISB_OPT.ENDTIME):
                hi, lo = _TIMESTAMP[big].unpack_from(view, v)
                units = hi << 32 | lo
                if code == PCAPNG_ISB_OPT.STARTTIME:
                    st.starttime_ns = iface.ts_ns(units)
                else:
                    st.endtime_ns = iface.ts_ns(units)
                continue
            value = int.from_bytes(view[v:v + n], order)
            if code == PCAPNG_ISB_OPT.IFRECV:
                st.received = value
            elif code == PCAPNG_ISB_OPT.IFDROP:
                st.dropped = value
            elif code == PCAPNG_ISB_OPT.FILTERACCEPT:
                st.filter_accepted = value
            elif code == PCAPNG_ISB_OPT.OSDROP:
                st.os_dropped = value
            elif code == PCAPNG_ISB_OPT.USRDELIV:
                st.delivered = value
        st.comments = tuple(comments)
        self.stats.append(st)


def read_capture(data: ReadableBuffer | object) -> Iterator[Record]:
    """The records of a pcap or pcapng file (see :class:`CaptureReader`).

    ``Record.data`` views the buffer given: valid while it lives.
    """
    return iter(CaptureReader(data))


def read_file_header(data: ReadableBuffer | object) -> PcapHeader | Section:
    """The file header: a :class:`PcapHeader` for pcap, the first
    :class:`Section` (with its options) for pcapng."""
    reader = CaptureReader(data)
    if reader.header is not None:
        return reader.header
    return next(reader._blocks())[1]  # the first block is the section header
