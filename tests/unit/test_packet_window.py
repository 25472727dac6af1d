"""``Packet.data`` over a block whose packets share ``tp_mac`` and ``tp_snaplen`` takes one
window for the block (checked for every packet); any other block reads each header."""

from __future__ import annotations

from netring.packet.geometry import Geometry
from netring.packet.walk import V3Walker
from netring.testing.tpacket import Frame, fill_v3_block

G = Geometry.v3(block_size=1 << 16, block_nr=4)


def _ring(blocks: list[list[Frame]], snaplen: int | None = None) -> V3Walker:
    buf = bytearray(G.block_size * G.block_nr)
    for i, frames in enumerate(blocks):
        fill_v3_block(buf, G, i, frames, seq=i + 1)
    return V3Walker(memoryview(buf), G, snaplen=snaplen)


def _datas_by_iteration(w: V3Walker, blocks: int) -> list[list[bytes]]:
    out = []
    for _ in range(blocks):
        b = w.next_block()
        assert b is not None
        out.append([bytes(p.data) for p in b])
        b.release()
    return out


def _datas_by_drain(w: V3Walker) -> list[bytes]:
    got: list[bytes] = []
    w.drain(lambda p: got.append(bytes(p.data)))
    return got


# equal frames; then one stride but two captured lengths (63 and 64 bytes align alike);
# then a block of mixed strides; then equal frames again
EQUAL = [Frame(bytes([i]) * 64) for i in range(40)]
SAME_STRIDE = [Frame(bytes([i]) * (63 if i % 3 else 64)) for i in range(40)]
MIXED = [Frame(bytes([i]) * (40 + 30 * (i % 4))) for i in range(40)]
BLOCKS = [EQUAL, SAME_STRIDE, MIXED, EQUAL[::-1]]


def test_each_block_gives_each_packet_its_own_bytes() -> None:
    want = [[f.data for f in frames] for frames in BLOCKS]
    assert _datas_by_iteration(_ring(BLOCKS), 4) == want
    assert _datas_by_drain(_ring(BLOCKS)) == [d for block in want for d in block]


def test_the_ring_snaplen_cuts_the_window_too() -> None:
    want = [[f.data[:50] for f in frames] for frames in BLOCKS]
    assert _datas_by_iteration(_ring(BLOCKS, snaplen=50), 4) == want


def test_a_window_from_one_block_never_reads_the_next() -> None:
    w = _ring([EQUAL, MIXED])
    b = w.next_block()
    assert b is not None
    first = [bytes(p.data) for p in b]
    b.release()
    b = w.next_block()
    assert b is not None
    pkt = next(iter(b))  # the reused view, now on the mixed block
    assert bytes(pkt.data) == MIXED[0].data and first[0] == EQUAL[0].data


def test_datas_cuts_the_same_window_or_reads_each_packet() -> None:
    w = _ring(BLOCKS)
    for frames in BLOCKS:
        b = w.next_block()
        assert b is not None
        assert [bytes(d) for d in b.datas()] == [f.data for f in frames]
        b.release()
