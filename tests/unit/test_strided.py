"""Strided copies: the optional C accelerator against the pure-Python original."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netring import strided
from netring.strided import copy_strided_py, fill_repeated, set_strided

try:
    from netring import _accel
except ImportError:
    _accel = None  # type: ignore[assignment]

PURE_ENV = os.environ.get("NETRING_PURE", "") not in ("", "0")


def _reference(dst: bytearray, dpos: int, dstep: int, src: bytes, spos: int, sstep: int,
               size: int, count: int) -> bytearray:
    out = bytearray(dst)
    for i in range(count):
        out[dpos + i * dstep:dpos + i * dstep + size] = src[spos + i * sstep:][:size]
    return out


@st.composite
def _copies(draw: st.DrawFn) -> tuple[bytes, int, int, int, int, int, int]:
    size = draw(st.integers(1, 40))
    count = draw(st.integers(1, 30))
    dstep = draw(st.integers(size, size + 24))
    sstep = draw(st.integers(size, size + 24))
    dpos = draw(st.integers(0, 16))
    spos = draw(st.integers(0, 16))
    n = spos + (count - 1) * sstep + size
    src = draw(st.binary(min_size=n, max_size=n))
    return src, dpos, dstep, spos, sstep, size, count


@given(_copies())
@settings(max_examples=300, deadline=None)
def test_copies_match_item_by_item(case: tuple[bytes, int, int, int, int, int, int]) -> None:
    """The pure-Python copy, and the C accelerator's where it is built, equal a copy
    made item by item."""
    src, dpos, dstep, spos, sstep, size, count = case
    dst = bytearray(b"\xee" * (dpos + (count - 1) * dstep + size + 3))
    want = _reference(dst, dpos, dstep, src, spos, sstep, size, count)
    impls = [copy_strided_py] + ([_accel.copy_strided] if _accel is not None else [])
    for impl in impls:
        out = bytearray(dst)
        impl(memoryview(out), dpos, dstep, memoryview(src), spos, sstep, size, count)
        assert out == want, impl


@pytest.mark.skipif(_accel is None, reason="the C accelerator is not built here")
@pytest.mark.parametrize("bad", [
    (0, 8, 0, 8, 8, 5),    # destination one item short
    (0, 8, 4, 8, 8, 4),    # source item 3 ends past the source
    (-1, 8, 0, 8, 8, 1),   # negative position
    (0, 0, 0, 8, 8, 2),    # zero step
    (0, 8, 30, 8, 8, 1),   # one item running past the source's end
])
def test_accelerated_copy_refuses_items_outside_and_writes_nothing(bad: tuple[int, ...]) -> None:
    dpos, dstep, spos, sstep, size, count = bad
    dst = bytearray(32)
    src = bytes(range(1, 33))
    with pytest.raises(ValueError, match="reach outside"):
        _accel.copy_strided(dst, dpos, dstep, src, spos, sstep, size, count)
    assert dst == bytearray(32)


@pytest.mark.skipif(_accel is None, reason="the C accelerator is not built here")
def test_accelerated_copy_needs_a_writable_destination() -> None:
    with pytest.raises(BufferError):
        _accel.copy_strided(bytes(8), 0, 4, bytes(8), 0, 4, 4, 2)


def test_set_and_fill() -> None:
    buf = bytearray(12)
    set_strided(memoryview(buf), 1, 4, b"ab", 3)
    assert buf == bytearray(b"\0ab\0\0ab\0\0ab\0")
    region = bytearray(9)
    fill_repeated(memoryview(region), b"xyz", 3)
    assert region == bytearray(b"xyzxyzxyz")


def test_the_accelerator_is_used_where_it_can_be_built() -> None:
    """With a C compiler on this machine the install built the accelerator, and it is the
    one in use (NETRING_PURE=1 aside): a failed build must not pass unnoticed."""
    if PURE_ENV:
        assert not strided.ACCELERATED and strided.copy_strided is copy_strided_py
    elif shutil.which("gcc") or shutil.which("cc"):
        assert strided.ACCELERATED, "a C compiler is present but netring._accel is not built"
        assert strided.copy_strided is _accel.copy_strided
    else:
        assert strided.copy_strided is copy_strided_py


def test_accelerator_names_a_c_function_only_when_the_accelerator_is_in_use() -> None:
    assert strided.accelerator("no_such_function") is None
    if strided.ACCELERATED:
        assert strided.accelerator("v4_flow_hashes") is _accel.v4_flow_hashes
    else:
        assert strided.accelerator("v4_flow_hashes") is None


@pytest.mark.skipif(not strided.ACCELERATED, reason="the C accelerator is not in use")
def test_the_c_flow_hash_refuses_headers_outside_the_buffer_and_a_bad_bitmap() -> None:
    buf = bytes(100)
    ports = bytes(32)
    assert _accel.v4_flow_hashes(buf, 0, 24, 4, 1, 1, ports) != []
    with pytest.raises(ValueError, match="reach outside"):
        _accel.v4_flow_hashes(buf, 0, 24, 5, 1, 1, ports)  # the fifth ends at 120
    with pytest.raises(ValueError, match="32-byte bitmap"):
        _accel.v4_flow_hashes(buf, 0, 24, 1, 1, 1, bytes(31))
    assert _accel.v4_flow_hashes(buf, 0, 24, 0, 1, 1, ports) == []


def test_netring_pure_selects_the_python_code() -> None:
    code = ("import netring.strided as s, netring.pcap.writer as w; "
            "print(s.ACCELERATED, w.copy_strided is s.copy_strided_py)")
    env = dict(os.environ, NETRING_PURE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["False", "True"]


@pytest.mark.skipif(PURE_ENV, reason="already running the pure-Python code")
def test_bulk_writers_pass_on_the_pure_python_code() -> None:
    """The pcap/pcapng bulk paths, nflog's runs, the V3 block walk and the io_uring
    completion checks through the pure-Python ``*_py`` functions: the same unit tests,
    run with NETRING_PURE=1."""
    here = os.path.dirname(__file__)
    tests = [os.path.join(here, t) for t in (
        "test_pcap_writer.py", "test_nflog_run.py", "test_packet_capfile.py", "test_packet_pure.py",
        "test_packet_window.py", "test_nlmmap_uring.py", "test_strided.py",
        "test_nfqueue_pool_pure.py")]
    env = dict(os.environ, NETRING_PURE="1")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "failed" not in r.stdout


@st.composite
def _runs(draw: st.DrawFn) -> tuple[bytes, int, int, list[tuple[int, int]]]:
    step = draw(st.integers(1, 24))
    count = draw(st.integers(1, 12))
    item = draw(st.binary(min_size=step, max_size=step))
    items = [bytearray(item) for _ in range(count)]
    for _ in range(draw(st.integers(0, 2))):  # a few bytes changed somewhere
        i, j = draw(st.integers(0, count - 1)), draw(st.integers(0, step - 1))
        items[i][j] ^= draw(st.integers(1, 255))
    fields = draw(st.lists(st.tuples(st.integers(0, step - 1), st.integers(0, step)).map(
        lambda f: (f[0], min(f[1], step - f[0]))), max_size=4))
    return b"".join(items) + draw(st.binary(max_size=3)), step, count, fields


def _uniform_reference(buf: bytes, step: int, count: int, fields: list[tuple[int, int]]) -> bool:
    return all(buf[i * step + off:i * step + off + size] == buf[off:off + size]
               for off, size in fields for i in range(count))


@given(_runs())
@settings(max_examples=400, deadline=None)
def test_uniform_fields_match_item_by_item(
        case: tuple[bytes, int, int, list[tuple[int, int]]]) -> None:
    """The pure-Python check, and the C accelerator's where it is built, say what a
    comparison of every item with the first says."""
    buf, step, count, fields = case
    want = _uniform_reference(buf, step, count, fields)
    assert strided.uniform_fields_py(buf, step, count, fields) == want
    if _accel is not None:
        assert _accel.uniform_fields(memoryview(buf), step, count, fields) == want


@pytest.mark.parametrize("impl", ["py", "c"])
@pytest.mark.parametrize(("step", "count", "fields"), [
    (8, 4, [(0, 9)]),     # a field longer than the item reaches past the last one
    (8, 5, [(0, 1)]),     # a fifth item that is not there
    (0, 2, [(0, 1)]),     # step zero
    (8, 2, [(-1, 2)]),    # negative offset
])
def test_uniform_fields_refuses_fields_outside(impl: str, step: int, count: int,
                                               fields: list[tuple[int, int]]) -> None:
    if impl == "c" and _accel is None:
        pytest.skip("the C accelerator is not built here")
    fn = strided.uniform_fields_py if impl == "py" else _accel.uniform_fields
    with pytest.raises(ValueError):
        fn(bytes(32), step, count, fields)


@st.composite
def _headers(draw: st.DrawFn) -> tuple[bytes, int, int, int, list[tuple[int, int]], int, int]:
    """Items of u32 words, mostly alike: a few words changed, checks taken from item 0
    (sometimes a value no item holds), a gathered word and a limit near its values."""
    step = 4 * draw(st.integers(2, 8))
    count = draw(st.integers(1, 12))
    pos = draw(st.sampled_from([0, 4, 6]))  # 6: words off the 4-byte grid
    item = bytearray(draw(st.binary(min_size=step, max_size=step)))
    items = [bytearray(item) for _ in range(count)]
    for _ in range(draw(st.integers(0, 2))):
        i, j = draw(st.integers(0, count - 1)), draw(st.integers(0, step - 1))
        items[i][j] ^= draw(st.integers(1, 255))
    buf = bytes(pos) + b"".join(items)
    words = step // 4
    offs = draw(st.lists(st.integers(0, words - 1), max_size=3, unique=True))
    checks = [(4 * o, int.from_bytes(item[4 * o : 4 * o + 4], sys.byteorder)
               ^ draw(st.sampled_from([0, 0, 0, 1]))) for o in offs]
    take = 4 * draw(st.integers(0, words - 1))
    first = int.from_bytes(item[take : take + 4], sys.byteorder)
    limit = max(0, first + draw(st.integers(-1, 1)))
    return buf, pos, step, count, checks, take, limit


def _gather_reference(buf: bytes, pos: int, step: int, count: int,
                      checks: list[tuple[int, int]], take: int, limit: int) -> list[int] | None:
    def word(i: int, off: int) -> int:
        a = pos + i * step + off
        return int.from_bytes(buf[a : a + 4], sys.byteorder)
    if any(word(i, o) != v for i in range(count) for o, v in checks):
        return None
    out = [word(i, take) for i in range(count)]
    return None if max(out) > limit else out


@given(_headers())
@settings(max_examples=400, deadline=None)
def test_gather_checked_matches_item_by_item(
        case: tuple[bytes, int, int, int, list[tuple[int, int]], int, int]) -> None:
    """The pure-Python gather, and the C accelerator's where it is built, return what
    reading every item's words one by one returns."""
    want = _gather_reference(*case)
    assert strided.gather_checked_py(*case) == want
    if _accel is not None:
        buf, *rest = case
        assert _accel.gather_checked(memoryview(buf), *rest) == want


@pytest.mark.parametrize("impl", ["py", "c"])
@pytest.mark.parametrize(("pos", "step", "count", "checks", "take"), [
    (0, 8, 5, [], 0),          # a fifth item that is not there
    (0, 8, 4, [(6, 0)], 0),    # a checked word that runs past the last item
    (0, 8, 4, [], 8),          # the gathered word of the last item past the end
    (0, 0, 2, [], 0),          # step zero
    (0, 8, 2, [(-4, 0)], 0),   # negative offset
])
def test_gather_checked_refuses_words_outside(impl: str, pos: int, step: int, count: int,
                                              checks: list[tuple[int, int]], take: int) -> None:
    if impl == "c" and _accel is None:
        pytest.skip("the C accelerator is not built here")
    fn = strided.gather_checked_py if impl == "py" else _accel.gather_checked
    with pytest.raises(ValueError):
        fn(bytes(32), pos, step, count, checks, take, 1 << 32)
