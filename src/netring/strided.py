"""Strided copies between flat buffers, each a loop in C: records at a fixed step.

Pure module.  Used where many equal-sized items move between two buffers whose
items sit at fixed steps (a ring's slots or packets, a file's records): one
memoryview slice assignment per field and unit moves that field of every item,
so no Python code runs per item::

    src  | a . . . | a . . . | a . . . |      sstep apart
           |         |         |
    dst  | a . | a . | a . |                  dstep apart

CPython copies a strided memoryview item by item with ``memcpy``, so the
widest unit that divides both steps (8, 4, 2 or 1 bytes) is used.

When netring's optional C accelerator is built (``netring._accel``, compiled by pip
from source where a C compiler is present), :func:`copy_strided` and
:func:`uniform_fields` and :func:`gather_checked` are its versions: one ``memmove``
(``memcmp``, one read of each word) per item, the same results (every item must lie
inside the buffers: ``ValueError`` otherwise).
The ``*_py`` functions are the pure-Python originals, always available;
``NETRING_PURE=1`` in the environment selects them.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, Literal

    _Unit = Literal["Q", "I", "H", "B"]

__all__ = ["ACCELERATED", "accelerator", "copy_strided", "copy_strided_py", "fill_repeated",
           "gather_checked", "gather_checked_py", "set_strided", "uniform_fields",
           "uniform_fields_py"]

_WIDTHS: tuple[tuple[int, _Unit], ...] = ((8, "Q"), (4, "I"), (2, "H"), (1, "B"))


def copy_strided_py(dst: memoryview, dpos: int, dstep: int, src: memoryview, spos: int,
                    sstep: int, size: int, count: int) -> None:
    """Copy ``size`` bytes of each of ``count`` items: item ``i`` from
    ``src[spos + i * sstep:][:size]`` to ``dst[dpos + i * dstep:][:size]``.

    ``dst`` and ``src`` are flat byte memoryviews (``dst`` writable), every item
    inside them; the caller checks the bounds.
    """
    if count <= 0:
        return
    done = 0
    while done < size:
        g, fmt = next(w for w in _WIDTHS
                      if size - done >= w[0] and not dstep % w[0] and not sstep % w[0])
        d = dpos + done
        s = spos + done
        for _ in range((size - done) // g):
            dst[d:d + (count - 1) * dstep + g].cast(fmt)[::dstep // g] = \
                src[s:s + (count - 1) * sstep + g].cast(fmt)[::sstep // g]
            d += g
            s += g
            done += g


def uniform_fields_py(buf: memoryview | bytes, step: int, count: int,
                      fields: Sequence[tuple[int, int]]) -> bool:
    """True when, for every ``(offset, size)`` of ``fields``, the ``size`` bytes at
    ``offset + i * step`` are the same for each item ``i < count`` (item 0's).

    The check of a run of alike records (every header word equal), one strided
    comparison per field unit, no Python code per item.

    Raises:
        ValueError: ``step`` not positive, or a field of the last item outside ``buf``.
    """
    mv = memoryview(buf).cast("B")
    n = len(mv)
    if count <= 0:
        return True
    if step <= 0:
        raise ValueError(f"step {step} is not positive")
    span = (count - 1) * step
    for off, size in fields:
        if off < 0 or size < 0 or span + off + size > n:
            raise ValueError(f"field of {size} bytes at {off} in {count} items {step} apart "
                             f"reaches outside {n} bytes")
    for off, size in fields:
        done = 0
        while done < size:
            g, fmt = next(w for w in _WIDTHS if size - done >= w[0] and not step % w[0])
            for _ in range((size - done) // g):
                a = off + done
                col = mv[a:a + span + g].cast(fmt)[::step // g].tobytes()
                if col != col[:g] * count:
                    return False
                done += g
    return True


def gather_checked_py(buf: memoryview | bytes, pos: int, step: int, count: int,
                      checks: Sequence[tuple[int, int]], take: int, limit: int
                      ) -> list[int] | None:
    """The native-endian u32 at ``pos + take + i * step`` for each item ``i < count``,
    when every item holds, for each ``(offset, value)`` of ``checks``, the u32
    ``value`` at ``offset`` and no gathered word exceeds ``limit``; else ``None``.

    The check and column read of a run of alike records (a ring's frame headers):
    each checked word compared across the items with one strided comparison
    (:func:`uniform_fields_py`), then item 0's against the value.

    Raises:
        ValueError: ``step`` not positive, or a word of an item outside ``buf``.
    """
    if count <= 0:
        return []
    if step <= 0:
        raise ValueError(f"step {step} is not positive")
    mv = memoryview(buf).cast("B")
    n = len(mv)
    span = (count - 1) * step
    for off in (take, *(o for o, _v in checks)):
        if off < 0 or pos + off + span + 4 > n:
            raise ValueError(f"a word at {off} in {count} items {step} apart from {pos} "
                             f"reaches outside {n} bytes")
    if not uniform_fields_py(mv, step, count, [(pos + o, 4) for o, _v in checks]):
        return None
    for o, v in checks:
        if int.from_bytes(mv[pos + o : pos + o + 4], sys.byteorder) != v:
            return None
    a = pos + take
    if not a % 4 and not step % 4:
        out = mv[a : a + span + 4].cast("I")[:: step // 4].tolist()
    else:
        out = [int.from_bytes(mv[a + i * step : a + i * step + 4], sys.byteorder)
               for i in range(count)]
    return None if max(out) > limit else out


#: the accelerator's functions that callers elsewhere take by name (accelerator())
_NAMED: dict[str, Callable[..., Any]] = {}
try:
    from ._accel import copy_strided as _copy_strided_c
    from ._accel import gather_checked as _gather_checked_c
    from ._accel import uniform_fields as _uniform_fields_c
    from ._accel import v4_flow_hashes as _v4_flow_hashes_c
except ImportError:  # not built (no compiler), or NETRING_PURE=1 (see netring/__init__.py)
    ACCELERATED = False
    copy_strided = copy_strided_py
    uniform_fields = uniform_fields_py
    gather_checked = gather_checked_py
else:
    #: True when :func:`copy_strided` and :func:`uniform_fields` are the C accelerator's.
    ACCELERATED = True
    copy_strided = _copy_strided_c
    uniform_fields = _uniform_fields_c
    gather_checked = _gather_checked_c
    _NAMED["v4_flow_hashes"] = _v4_flow_hashes_c


def accelerator(name: str) -> Callable[..., Any] | None:
    """The C accelerator's function ``name`` where the accelerator is in use
    (:data:`ACCELERATED`), else ``None``: the caller keeps its pure-Python version
    (the reference) and uses this one when it is there."""
    return _NAMED.get(name)


def set_strided(dst: memoryview, dpos: int, dstep: int, value: bytes, count: int) -> None:
    """Write the bytes ``value`` at ``dpos + i * dstep`` for each ``i < count``."""
    size = len(value)
    copy_strided(dst, dpos, dstep, memoryview(value * count), 0, size, size, count)


def fill_repeated(region: memoryview, template: bytes, count: int) -> None:
    """``region`` (``count`` templates long) filled with ``template`` repeated
    (doubling copies)."""
    r = len(template)
    region[:r] = template
    have = r
    total = r * count
    while have < total:
        k = min(have, total - have)
        region[have:have + k] = region[:k]
        have += k
