"""Byte builders for TPACKET rings: fill a buffer the way ``tpacket_rcv`` would.

For unit tests of the walkers without a kernel: :func:`fill_v3_block` writes a
closed V3 block (descriptor, packets, ``tp_next_offset`` chain, status USER),
:func:`fill_frame` one V1/V2 frame.  Field placement follows
``net/packet/af_packet.c`` (``tpacket_rcv``, ``prb_fill_curr_block``,
``prb_close_block``).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from ..packet.constants import TP_STATUS, TPACKET_VERSION, v3_align
from ..packet.geometry import Geometry, blk_plus_priv, mac_offset
from ..packet.structs import (
    sockaddr_ll,
    tpacket2_hdr,
    tpacket3_hdr,
    tpacket_block_desc,
    tpacket_hdr,
)

__all__ = ["Frame", "fill_v3_block", "fill_frame", "fill_ring"]


@dataclass
class Frame:
    """One packet to place: bytes plus the metadata the kernel would write."""

    data: bytes
    wirelen: int | None = None
    sec: int = 1_700_000_000
    nsec: int = 0
    status: int = 0
    vlan_tci: int = 0
    vlan_tpid: int = 0
    rxhash: int = 0
    ifindex: int = 2
    pkttype: int = 0
    protocol: int = 0x0800


def _sll(f: Frame) -> bytes:
    return sockaddr_ll.pack(17, struct.unpack("=H", struct.pack("!H", f.protocol))[0],
                            f.ifindex, 1, f.pkttype, 6, b"\x02" * 6 + b"\0\0")


def fill_v3_block(buf: bytearray | memoryview, geometry: Geometry, index: int,
                  frames: Sequence[Frame], *, seq: int = 1, block_status: int = TP_STATUS.USER,
                  snaplen: int | None = None) -> int:
    """Write block ``index`` holding ``frames``; returns the bytes used (``blk_len``)."""
    bs = geometry.block_size
    base = index * bs
    first = blk_plus_priv(geometry.sizeof_priv)
    off = first
    mac = mac_offset(TPACKET_VERSION.V3, reserve=geometry.reserve)
    prev = -1
    for f in frames:
        data = f.data if snaplen is None else f.data[:snaplen]
        if off + v3_align(mac + len(data)) >= bs:
            raise ValueError("frames do not fit the block")
        nxt = v3_align(mac + len(data))
        tpacket3_hdr.pack_into(buf, base + off, nxt, f.sec, f.nsec, len(data),
                               f.wirelen if f.wirelen is not None else len(f.data),
                               f.status | TP_STATUS.USER, mac, mac + 14, f.rxhash, f.vlan_tci,
                               f.vlan_tpid, 0)
        buf[base + off + 48: base + off + 68] = _sll(f)
        buf[base + off + mac: base + off + mac + len(data)] = data
        prev = off
        off += nxt
    if prev >= 0:  # prb_close_block: the last packet's next offset is 0
        struct.pack_into("=I", buf, base + prev, 0)
    tpacket_block_desc.pack_into(buf, base, 2, 48, int(block_status), len(frames), first, off,
                                 seq, frames[0].sec if frames else 0, 0,
                                 frames[-1].sec if frames else 0, 0)
    return off


def fill_frame(buf: bytearray | memoryview, geometry: Geometry, index: int, f: Frame, *,
               status: int | None = None) -> None:
    """Write V1/V2 frame ``index`` (truncated to the frame as the kernel truncates)."""
    off = geometry.frame_offset(index)
    mac = mac_offset(geometry.version, reserve=geometry.reserve)
    room = geometry.frame_size - mac
    data = f.data[:room]
    st = (f.status | TP_STATUS.USER) if status is None else status
    wl = f.wirelen if f.wirelen is not None else len(f.data)
    if geometry.version == TPACKET_VERSION.V2:
        tpacket2_hdr.pack_into(buf, off, st, wl, len(data), mac, mac + 14, f.sec, f.nsec,
                               f.vlan_tci, f.vlan_tpid)
    else:
        tpacket_hdr.pack_into(buf, off, st, wl, len(data), mac, mac + 14, f.sec, f.nsec // 1000)
    buf[off + 32: off + 52] = _sll(f)
    buf[off + mac: off + mac + len(data)] = data


def fill_ring(buf: bytearray, geometry: Geometry, frames: Sequence[Frame]) -> int:
    """Fill a whole ring with ``frames`` in order (V3: as many per block as fit)."""
    if geometry.version != TPACKET_VERSION.V3:
        for i, f in enumerate(frames):
            fill_frame(buf, geometry, i, f)
        return len(frames)
    mac = mac_offset(TPACKET_VERSION.V3, reserve=geometry.reserve)
    idx = 0
    block = 0
    while idx < len(frames) and block < geometry.block_nr:
        used = blk_plus_priv(geometry.sizeof_priv)
        start = idx
        while idx < len(frames) and used + v3_align(mac + len(frames[idx].data)) < \
                geometry.block_size:
            used += v3_align(mac + len(frames[idx].data))
            idx += 1
        fill_v3_block(buf, geometry, block, frames[start:idx], seq=block + 1)
        block += 1
    return idx
