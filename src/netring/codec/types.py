"""Buffer type accepted by the decoders: anything ``struct.unpack_from`` and
``memoryview`` accept (bytes, bytearray, memoryview, mmap).

The aliases exist for the type checker only: every module uses postponed
annotations (``from __future__ import annotations``), so nothing evaluates them
at run time, and importing :mod:`typing` (with ``re`` and ``collections``
behind it, about a third of netring's import time) is left to code that needs it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import mmap
    from typing import TypeAlias

    ReadableBuffer: TypeAlias = bytes | bytearray | memoryview | mmap.mmap
    WritableBuffer: TypeAlias = bytearray | memoryview | mmap.mmap
else:
    ReadableBuffer = WritableBuffer = object  # never evaluated in an annotation

__all__ = ["ReadableBuffer", "WritableBuffer"]
