"""Buffer type accepted by the decoders: anything ``struct.unpack_from`` and
``memoryview`` accept (bytes, bytearray, memoryview, mmap)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, Union

if TYPE_CHECKING:  # type-only: pure modules never import mmap at run time
    import mmap

__all__ = ["ReadableBuffer", "WritableBuffer"]

ReadableBuffer: TypeAlias = Union[bytes, bytearray, memoryview, "mmap.mmap"]
WritableBuffer: TypeAlias = Union[bytearray, memoryview, "mmap.mmap"]
