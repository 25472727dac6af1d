"""pcap and pcapng, pure: the one home of the capture-file formats.

Shared by everything that writes what it saw to a file (AF_PACKET capture,
nfnetlink_queue with the verdict given, nfnetlink_log with its prefix).  No OS
module is imported here: writers take any binary file object, readers any
buffer.  :mod:`.format` holds the wire facts (magic numbers, block and option
codes, link types, the fixed structs), declared once.
"""

from __future__ import annotations

from .format import (
    LINKTYPE,
    PCAP_MAGIC_NS,
    PCAP_MAGIC_US,
    PCAPNG_BLOCK,
    PCAPNG_BYTE_ORDER_MAGIC,
    PCAPNG_EPB_OPT,
    PCAPNG_IDB_OPT,
    PCAPNG_ISB_OPT,
    PCAPNG_OPT,
    pcap_file_header,
    pcap_record_header,
    pcapng_block_header,
)

__all__ = [
    "LINKTYPE",
    "PCAP_MAGIC_NS",
    "PCAP_MAGIC_US",
    "PCAPNG_BYTE_ORDER_MAGIC",
    "PCAPNG_BLOCK",
    "PCAPNG_EPB_OPT",
    "PCAPNG_IDB_OPT",
    "PCAPNG_ISB_OPT",
    "PCAPNG_OPT",
    "pcap_file_header",
    "pcap_record_header",
    "pcapng_block_header",
]
