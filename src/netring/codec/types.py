"""Buffer types accepted by the decoders, and :mod:`typing`'s names without :mod:`typing`.

``ReadableBuffer``: anything ``struct.unpack_from`` and ``memoryview`` accept (bytes,
bytearray, memoryview, mmap); ``WritableBuffer``: what ``recv_into`` fills.

The aliases exist for the type checker only: every module uses postponed
annotations (``from __future__ import annotations``), so nothing evaluates them
at run time.  Importing :mod:`typing` costs about 15 M instructions (5 ms, a tenth of
``netring dump links``), so the modules a command needs import ``Protocol``,
``Generic`` and ``TypeVar`` from here: the type checker sees typing's own, and at run
time they are stand-ins with the one behaviour netring's code relies on (a base class;
``Class[T]`` returning the class).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import mmap
    from typing import TypeAlias

    ReadableBuffer: TypeAlias = bytes | bytearray | memoryview | mmap.mmap
    WritableBuffer: TypeAlias = bytearray | memoryview | mmap.mmap
    from typing import Generic, Protocol, TypeVar
else:
    ReadableBuffer = WritableBuffer = object  # never evaluated in an annotation

    class Protocol:
        """``typing.Protocol`` at run time here: a base class that names an interface."""

        __slots__ = ()

    class Generic:
        """``typing.Generic`` at run time here: ``Class[T]`` is the class itself."""

        __slots__ = ()

        def __class_getitem__(cls, params):
            return cls

    def TypeVar(name, *constraints, **options):
        """``typing.TypeVar`` at run time here: the variable's name (nothing reads it)."""
        return name

__all__ = ["ReadableBuffer", "WritableBuffer", "Generic", "Protocol", "TypeVar", "TYPE_CHECKING"]
