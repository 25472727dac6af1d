"""Ring packets to a capture file: the glue between the walkers and :mod:`netring.pcap`.

Pure module.  The pcap writers know nothing of rings; this module knows both.
``write_batch(writer, blk)`` writes a V3 block's (or a V1/V2 batch's) packets
as ``writer.write(pkt.data, pkt.ts_ns, pkt.wirelen)`` would, with the VLAN tag
the kernel took off put back, and (pcapng) each packet's direction as epb_flags.

The fast path is a fact of the V3 layout: a ``tpacket3_hdr`` holds ``tp_sec``,
``tp_nsec``, ``tp_snaplen`` and ``tp_len`` as four consecutive host-order u32 at
offset 4, which is a nanosecond pcap record header.  A block whose packets all
share one stride (checked for every packet by the walker) and one ``tp_mac``,
whose captured lengths fit the ring's snaplen and its end, and which holds no
VLAN-tagged packet, is handed to the writer as two ranges over the mapping::

    block | desc | hdr0: next sec nsec snap len ... | ll | data0 | hdr1 ...
                        ^ heads = range(first + 4, ..., stride)
                                               datas = range(first + tp_mac, ..., stride) ^

and the writer assembles the records with strided copies (``write_from``).
Every other block goes packet by packet through the reused view.  The data is
read before the call returns: release the block after it.
"""

from __future__ import annotations

import sys

from ..pcap.format import PCAPNG_EPB_DIRECTION
from ..pcap.writer import PcapngWriter, PcapWriter
from ..strided import uniform_fields
from .constants import PACKET_TYPE, TP_STATUS
from .summary import insert_vlan_tag
from .walk import Block, FrameBatch

__all__ = ["write_batch", "direction_of", "TPACKET3_STAMP_OFFSET"]

#: where tp_sec, tp_nsec, tp_snaplen, tp_len (a pcap ns record header) start in a tpacket3_hdr
TPACKET3_STAMP_OFFSET = 4
_NO_DIRECTION = 0xFF
#: sll_pkttype -> pcapng direction (PACKET_OUTGOING: outbound; host, broadcast, multicast,
#: other host: inbound; loopback, user, kernel: none)
_DIRECTION_TABLE = bytes(
    int(PCAPNG_EPB_DIRECTION.OUTBOUND) if t == PACKET_TYPE.OUTGOING
    else int(PCAPNG_EPB_DIRECTION.INBOUND) if t < PACKET_TYPE.OUTGOING
    else _NO_DIRECTION
    for t in range(256))
_VLAN_VALID = int(TP_STATUS.VLAN_VALID)
assert _VLAN_VALID < 0x100  # a bit of tp_status's lowest byte
_VLAN_BYTE = 0 if sys.byteorder == "little" else 3  # that byte within the host-order word
#: every byte value without the VLAN_VALID bit (translate deletes them; what is left is tagged)
_UNTAGGED = bytes(b for b in range(256) if not b & _VLAN_VALID)


def direction_of(pkttype: int) -> int | None:
    """The pcapng direction of an ``sll_pkttype`` (``None``: loopback, user, kernel)."""
    d = _DIRECTION_TABLE[pkttype & 0xFF]
    return None if d == _NO_DIRECTION else d


def write_batch(writer: PcapWriter | PcapngWriter, batch: Block | FrameBatch,
                count: int | None = None, *, direction: bool = False) -> int:
    """Write the first ``count`` (default all) packets of ``batch``; returns how many.

    Args:
        writer: a :class:`~netring.pcap.writer.PcapWriter` or
            :class:`~netring.pcap.writer.PcapngWriter` (interface 0).
        batch: a V3 :class:`Block` or a V1/V2 :class:`FrameBatch`, not yet released.
        count: packets to take from its start.
        direction: pcapng only: write each packet's direction (from ``sll_pkttype``)
            as its epb_flags.
    """
    n = len(batch) if count is None else max(0, min(count, len(batch)))
    if not n:
        return 0
    pcapng = isinstance(writer, PcapngWriter)
    dirs_wanted = pcapng and direction
    if isinstance(batch, Block) and n > 1:
        done = _write_strided(writer, batch, n, dirs_wanted)
        if done is not None:
            return done
    items: list[tuple[bytes | memoryview, int, int]] = []
    dirs: list[int | None] = []
    for i, pkt in enumerate(batch):
        if i >= n:
            break
        data: bytes | memoryview = pkt.data
        wirelen = pkt.wirelen
        tci = pkt.vlan_tci
        if tci is not None:  # the kernel took the tag off: put it back
            data = insert_vlan_tag(data, tci, pkt.vlan_tpid)
            wirelen += 4
        items.append((data, pkt.ts_ns, wirelen))
        if dirs_wanted:
            dirs.append(direction_of(pkt.pkttype))
    if not isinstance(writer, PcapngWriter) or not dirs_wanted:
        return writer.write_many(items)
    write = writer.write
    for (data, ts_ns, wirelen), d in zip(items, dirs, strict=True):
        write(data, ts_ns, wirelen, direction=d)
    return n


def _write_strided(writer: PcapWriter | PcapngWriter, blk: Block, n: int, directions: bool
                   ) -> int | None:
    """The fast path (see the module docstring), or ``None`` when the block does not
    qualify."""
    if blk.released:
        return None
    lay = blk.layout(n)
    if lay is None:
        return None
    offs, mac, _snap = lay
    step = offs.step
    first = offs.start
    last = offs[-1]
    wk = blk._walker
    b = wk.bytes
    at = first + 20 + _VLAN_BYTE  # tp_status' byte with TP_STATUS_VLAN_VALID
    if uniform_fields(b, step, n, ((at, 1),)):
        if b[at] & _VLAN_VALID:
            return None  # a tag to put back
    elif b[at:last + 21 + _VLAN_BYTE:step].tobytes().translate(None, _UNTAGGED):
        return None
    heads = range(first + TPACKET3_STAMP_OFFSET, last + TPACKET3_STAMP_OFFSET + 1, step)
    datas = range(first + mac, last + mac + 1, step)
    if not directions or not isinstance(writer, PcapngWriter):
        return writer.write_from(b, heads, datas)
    ll = wk.packet._ll + 10  # sll_pkttype
    dirs = b[first + ll:last + ll + 1:step].tobytes().translate(_DIRECTION_TABLE)
    if _NO_DIRECTION in dirs:
        return None
    return writer.write_from(b, heads, datas, direction=dirs)
