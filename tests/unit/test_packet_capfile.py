"""Ring blocks to capture files (``netring.packet.capfile``) on synthetic rings: the same
bytes as one ``write`` per packet view, whichever path a block takes."""

from __future__ import annotations

import io

import pytest

import netring.pcap.writer as writer_module
from netring.errors import RingError
from netring.packet import TP_STATUS, Geometry
from netring.packet.capfile import direction_of, write_batch
from netring.packet.summary import insert_vlan_tag
from netring.packet.walk import FrameWalker, V3Walker
from netring.pcap import PcapngWriter, PcapWriter
from netring.testing.tpacket import Frame, fill_frame, fill_v3_block


def _frame(i: int, n: int) -> bytes:
    return bytes((i * 13 + j) & 0xFF for j in range(n))


def _expected(writer: PcapWriter | PcapngWriter, batch: object, count: int | None,
              direction: bool) -> None:
    for i, pkt in enumerate(batch):  # type: ignore[attr-defined]
        if count is not None and i >= count:
            break
        data, wl = pkt.tobytes(), pkt.wirelen
        if pkt.vlan_tci is not None:
            data, wl = insert_vlan_tag(data, pkt.vlan_tci, pkt.vlan_tpid), wl + 4
        if isinstance(writer, PcapngWriter) and direction:
            writer.write(data, pkt.ts_ns, wl, direction=direction_of(pkt.pkttype))
        else:
            writer.write(data, pkt.ts_ns, wl)


def _writers(fmt: str) -> tuple[io.BytesIO, PcapWriter | PcapngWriter]:
    f = io.BytesIO()
    if fmt == "pcap":
        return f, PcapWriter(f, 1, 96)
    w = PcapngWriter(f)
    w.add_interface(1, 96)
    return f, w


BLOCKS = {
    "equal frames": lambda i: Frame(_frame(i, 60), sec=100, nsec=i, pkttype=i % 5),
    "sizes vary": lambda i: Frame(_frame(i, 60 + i % 30), sec=100, nsec=i),
    "one tagged": lambda i: Frame(_frame(i, 60), status=TP_STATUS.VLAN_VALID if i == 5 else 0,
                                  vlan_tci=7),
    "loopback type": lambda i: Frame(_frame(i, 60), pkttype=5 if i == 3 else 0),
    "over the snaplen": lambda i: Frame(_frame(i, 120)),
}


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
@pytest.mark.parametrize("kind", list(BLOCKS))
@pytest.mark.parametrize("count", [None, 17, 1])
def test_a_v3_block_is_written_as_one_write_per_packet_would(fmt: str, kind: str,
                                                            count: int | None) -> None:
    g = Geometry.v3(1 << 16, 2, retire_ms=1)
    buf = bytearray(g.size)
    fill_v3_block(buf, g, 0, [BLOCKS[kind](i) for i in range(40)])
    for direction in (False, True):
        blk = V3Walker(buf, g, snaplen=100).next_block()
        assert blk is not None
        got, wa = _writers(fmt)
        want, wb = _writers(fmt)
        assert write_batch(wa, blk, count, direction=direction) == (count or 40)
        _expected(wb, blk, count, direction)
        wa.close()
        wb.close()
        assert got.getvalue() == want.getvalue(), (kind, direction)


def test_equal_frames_go_straight_from_the_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a: object) -> None:
        raise AssertionError("per-packet path")

    monkeypatch.setattr(writer_module, "_tuples_from", refuse)
    g = Geometry.v3(1 << 16, 2, retire_ms=1)
    buf = bytearray(g.size)
    fill_v3_block(buf, g, 0, [BLOCKS["equal frames"](i) for i in range(40)])
    for fmt in ("pcap", "pcapng"):
        blk = V3Walker(buf, g).next_block()
        assert blk is not None
        f, w = _writers(fmt)
        monkeypatch.setattr(type(w), "write_many", refuse)
        assert write_batch(w, blk, direction=True) == 40
        assert w.packets == 40


@pytest.mark.parametrize("version", [1, 2])
def test_frame_batches_take_the_per_packet_path(version: int) -> None:
    g = Geometry.frames(version - 1, 256, mtu=1500, buffer_size=1 << 16)
    buf = bytearray(g.size)
    for i in range(6):
        fill_frame(buf, g, i, Frame(_frame(i, 70), nsec=i * 1000, status=TP_STATUS.VLAN_VALID
                                    if version == 2 and i == 2 else 0, vlan_tci=3))
    for fmt in ("pcap", "pcapng"):
        batch = FrameWalker(buf, g).next_batch()
        assert batch is not None and len(batch) == 6
        got, wa = _writers(fmt)
        want, wb = _writers(fmt)
        write_batch(wa, batch, direction=True)
        _expected(wb, batch, None, True)
        wa.close()
        wb.close()
        assert got.getvalue() == want.getvalue()


def test_directions_follow_tcpdump() -> None:
    assert [direction_of(t) for t in range(8)] == [1, 1, 1, 1, 2, None, None, None]


@pytest.mark.parametrize("kind", list(BLOCKS))
def test_block_datas_are_the_views_data(kind: str) -> None:
    g = Geometry.v3(1 << 16, 2, retire_ms=1)
    buf = bytearray(g.size)
    fill_v3_block(buf, g, 0, [BLOCKS[kind](i) for i in range(40)])
    blk = V3Walker(buf, g, snaplen=100).next_block()
    assert blk is not None
    want = [p.tobytes() for p in blk]
    assert [bytes(d) for d in blk.datas()] == want
    lay = blk.layout()
    assert (lay is not None) == (kind in ("equal frames", "one tagged", "loopback type"))
    blk.release()
    with pytest.raises(RingError):
        blk.datas()


def test_block_datas_reuse_a_layout_across_blocks() -> None:
    g = Geometry.v3(1 << 16, 3, retire_ms=1)
    buf = bytearray(g.size)
    for b in range(3):
        fill_v3_block(buf, g, b, [Frame(_frame(i + 100 * b, 60)) for i in range(30)], seq=b + 1)
    w = V3Walker(buf, g)
    for b in range(3):
        blk = w.next_block()
        assert blk is not None
        assert [bytes(d) for d in blk.datas()] == [_frame(i + 100 * b, 60) for i in range(30)]
        blk.release()
    assert len(w._slices) == 1  # one layout, cut once
