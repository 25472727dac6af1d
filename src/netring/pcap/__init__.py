"""pcap and pcapng, pure: the one home of the capture-file formats.

Shared by everything that writes what it saw to a file (AF_PACKET capture,
nfnetlink_queue with the verdict given, nfnetlink_log with its prefix).  No OS
module is imported here: writers take any binary file object, readers any
buffer (or a file object, read whole).

``format``   the wire facts (magic numbers, block and option codes, flag fields,
             link types, the fixed structs), declared once
``writer``   :class:`PcapWriter`, :class:`PcapngWriter`, :func:`open_writer`
``reader``   :func:`read_capture`, :class:`CaptureReader` (sections, interfaces,
             statistics), :class:`Record`
"""

from __future__ import annotations

from .format import (
    LINKTYPE,
    PCAP_MAGIC_NS,
    PCAP_MAGIC_US,
    PCAPNG_BLOCK,
    PCAPNG_BYTE_ORDER_MAGIC,
    PCAPNG_EPB_DIRECTION,
    PCAPNG_EPB_FLAG,
    PCAPNG_EPB_OPT,
    PCAPNG_EPB_RECEPTION,
    PCAPNG_HASH,
    PCAPNG_IDB_OPT,
    PCAPNG_ISB_OPT,
    PCAPNG_OPT,
    PCAPNG_SHB_OPT,
    PCAPNG_TSRESOL_BASE2,
    PCAPNG_VERDICT_TYPE,
    pcap_file_header,
    pcap_record_header,
    pcapng_block_header,
)
from .reader import (
    CaptureReader,
    Interface,
    InterfaceStats,
    PcapHeader,
    Record,
    Section,
    parse_verdict,
    read_capture,
    read_file_header,
)
from .writer import (
    PcapngWriter,
    PcapWriter,
    SupportsWrite,
    epb_flags,
    make_verdict,
    open_writer,
)

__all__ = [
    "LINKTYPE",
    "PCAP_MAGIC_NS",
    "PCAP_MAGIC_US",
    "PCAPNG_BYTE_ORDER_MAGIC",
    "PCAPNG_BLOCK",
    "PCAPNG_EPB_DIRECTION",
    "PCAPNG_EPB_FLAG",
    "PCAPNG_EPB_OPT",
    "PCAPNG_EPB_RECEPTION",
    "PCAPNG_HASH",
    "PCAPNG_IDB_OPT",
    "PCAPNG_ISB_OPT",
    "PCAPNG_OPT",
    "PCAPNG_SHB_OPT",
    "PCAPNG_TSRESOL_BASE2",
    "PCAPNG_VERDICT_TYPE",
    "pcap_file_header",
    "pcap_record_header",
    "pcapng_block_header",
    "PcapWriter",
    "PcapngWriter",
    "SupportsWrite",
    "open_writer",
    "epb_flags",
    "make_verdict",
    "CaptureReader",
    "Interface",
    "InterfaceStats",
    "PcapHeader",
    "Record",
    "Section",
    "parse_verdict",
    "read_capture",
    "read_file_header",
]
