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
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Literal

    _Unit = Literal["Q", "I", "H", "B"]

__all__ = ["copy_strided", "fill_repeated", "set_strided"]

_WIDTHS: tuple[tuple[int, _Unit], ...] = ((8, "Q"), (4, "I"), (2, "H"), (1, "B"))


def copy_strided(dst: memoryview, dpos: int, dstep: int, src: memoryview, spos: int,
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
