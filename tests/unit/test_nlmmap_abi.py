"""Ring ABI, geometry rules (each one named) and the transition table."""

from __future__ import annotations

import pytest

from netring.errors import RingError
from netring.nlmmap.abi import (
    NL_MMAP_HDRLEN,
    NL_MMAP_MSG_ALIGNMENT,
    NL_MMAP_STATUS,
    nl_mmap_hdr,
    nl_mmap_req,
)
from netring.nlmmap.geometry import RULES, GeometryError, MappingLayout, RingGeometry, validate
from netring.nlmmap.states import ALLOWED, TRANSITIONS, check, render_table


def test_abi_sizes_and_values() -> None:
    assert nl_mmap_req.size == 16
    assert nl_mmap_hdr.size == 24
    assert NL_MMAP_HDRLEN == 24
    assert NL_MMAP_MSG_ALIGNMENT == 4
    assert [(s.name, int(s)) for s in NL_MMAP_STATUS] == [
        ("UNUSED", 0), ("RESERVED", 1), ("VALID", 2), ("COPY", 3), ("SKIP", 4)
    ]


# (block_size, block_nr, frame_size, frame_nr) -> the rule netlink_set_ring() trips on
BAD = [
    ((0, 1, 24, 1), "block_size > 0"),
    ((0x80000000, 1, 24, 1), "block_size > 0"),  # (int)nm_block_size <= 0
    ((100, 1, 24, 1), "block_size % page_size == 0"),
    ((4096, 1, 20, 1), "frame_size >= NL_MMAP_HDRLEN"),
    ((4096, 1, 26, 1), "frame_size % NL_MMAP_MSG_ALIGNMENT == 0"),
    ((4096, 1, 8192, 1), "frame_size <= block_size"),
    ((4096, 2, 2048, 3), "frame_nr == frames_per_block * block_nr"),
    ((4096, 0, 2048, 0), "block_nr > 0"),
]


@pytest.mark.parametrize("req,rule", BAD, ids=[r for _, r in BAD])
def test_each_rule_named(req: tuple[int, int, int, int], rule: str) -> None:
    with pytest.raises(GeometryError) as ei:
        RingGeometry(*req)
    assert ei.value.rule == rule
    assert rule in str(ei.value)
    for v in ei.value.values.values():
        assert str(v) in str(ei.value)
    assert isinstance(ei.value, RingError)


def test_rules_in_kernel_order() -> None:
    # a request breaking every rule reports the first one the kernel checks
    with pytest.raises(GeometryError) as ei:
        validate(100, 1, 21, 7)
    assert ei.value.rule == RULES[1][0]
    with pytest.raises(GeometryError) as ei:
        validate(4096, 1, 21, 7)
    assert ei.value.rule == RULES[2][0] or ei.value.rule == RULES[3][0]
    assert [r for r, _ in RULES] == [
        "block_size > 0", "block_size % page_size == 0", "frame_size >= NL_MMAP_HDRLEN",
        "frame_size % NL_MMAP_MSG_ALIGNMENT == 0", "frame_size <= block_size",
        "frame_nr == frames_per_block * block_nr",
    ]


def test_page_size_is_a_parameter() -> None:
    RingGeometry(16384, 1, 16384, 1, page_size=16384)
    with pytest.raises(GeometryError):
        RingGeometry(4096, 1, 2048, 2, page_size=16384)


def test_block_aware_offsets() -> None:
    g = RingGeometry(4096, 3, 1500, 6)  # 2 frames per block, 1096-byte tail
    assert g.frames_per_block == 2 and not g.uniform
    assert g.offsets == (0, 1500, 4096, 5596, 8192, 9692)
    assert g.frame_offset(3) == 5596
    for i in range(g.frame_nr):  # never straddles a block
        off = g.frame_offset(i)
        assert off // 4096 == (off + g.frame_size - 1) // 4096
    with pytest.raises(RingError):
        g.frame_offset(6)
    assert g.data_size == 1500 - 24


def test_pack_unpack_and_for_frames() -> None:
    g = RingGeometry.for_frames(2048, 100)
    assert g.frame_nr >= 100 and g.uniform and g.frame_size == 2048
    assert RingGeometry.unpack(g.pack()) == g
    g2 = RingGeometry.for_frames(16384 + 24, 8)
    assert g2.data_size >= 16384


def test_mapping_layout_rx_then_tx() -> None:
    rx = RingGeometry(8192, 4, 2048, 16)
    tx = RingGeometry(4096, 2, 4096, 2)
    m = MappingLayout(rx, tx)
    assert (m.rx_offset, m.tx_offset, m.size) == (0, 32768, 32768 + 8192)
    assert MappingLayout(None, tx).tx_offset == 0
    with pytest.raises(RingError):
        MappingLayout(None, None)


def test_transition_table() -> None:
    S = NL_MMAP_STATUS
    # the documented RX protocol
    check("rx", "consumer", S.VALID, S.UNUSED)
    check("rx", "consumer", S.VALID, S.SKIP)
    check("rx", "consumer", S.SKIP, S.UNUSED)
    check("rx", "consumer", S.COPY, S.UNUSED)
    check("rx", "producer", S.UNUSED, S.RESERVED)
    check("rx", "producer", S.RESERVED, S.VALID)
    check("tx", "user", S.UNUSED, S.VALID)
    check("tx", "sender", S.VALID, S.UNUSED)
    # and what it forbids
    for bad in [("rx", "consumer", S.RESERVED, S.UNUSED), ("rx", "consumer", S.UNUSED, S.VALID),
                ("rx", "producer", S.VALID, S.UNUSED), ("rx", "consumer", S.COPY, S.SKIP),
                ("tx", "user", S.VALID, S.UNUSED), ("rx", "producer", S.SKIP, S.VALID)]:
        with pytest.raises(RingError, match="illegal"):
            check(*bad)
    # nobody may move a RESERVED RX frame except the producer
    assert all(not (t.ring == "rx" and t.old == S.RESERVED and t.actor != "producer")
               for t in TRANSITIONS)
    assert len(ALLOWED) == len(TRANSITIONS)


def test_docs_table_matches_code() -> None:
    import pathlib

    doc = pathlib.Path(__file__).resolve().parents[2] / "docs" / "rings.md"
    if not doc.exists():
        pytest.skip("docs/rings.md not present")
    assert render_table() in doc.read_text()


def test_every_exported_name_imports() -> None:
    import subprocess
    import sys

    import netring.nlmmap as ring

    for name in ring.__all__:
        assert getattr(ring, name) is not None, name
    with pytest.raises(AttributeError):
        ring.NoSuchThing  # noqa: B018
    # importing the package loads no edge module (they come on first use)
    code = "import sys, netring.nlmmap; print(sorted(m for m in sys.modules if m.startswith('netring.nlmmap.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "edge" not in out.stdout and "kernel" not in out.stdout and "shm" not in out.stdout
    # and the package itself adds no OS module to what ``import netring`` loaded
    code = ("import sys, netring; before = set(sys.modules); import netring.nlmmap; "
            "print(sorted(set(sys.modules) - before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    added = eval(out.stdout)  # noqa: S307 - our own subprocess printing a list of names
    ours = [m for m in added if m.startswith("netring")]
    assert ours and all(m.startswith("netring.nlmmap") and ".edge" not in m for m in ours)
    assert not {"ctypes", "mmap", "socket", "select", "fcntl", "os"} & set(added)
