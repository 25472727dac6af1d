"""The C ``size_t`` of this platform, without ctypes: ``struct``'s native ``N`` code."""

from __future__ import annotations

import struct

from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Literal

__all__ = ["SIZE_T", "SIZE_FMT"]

SIZE_T = struct.calcsize("N")  # sizeof(size_t)
SIZE_FMT: Literal["Q", "I"] = "Q" if SIZE_T == 8 else "I"  # size_t as a struct/array code
