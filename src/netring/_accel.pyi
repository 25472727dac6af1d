# The optional C accelerator (src/netring/_accel.c); see netring.strided.
from collections.abc import Sequence

from _typeshed import ReadableBuffer, WriteableBuffer

def copy_strided(dst: WriteableBuffer, dpos: int, dstep: int, src: ReadableBuffer, spos: int,
                 sstep: int, size: int, count: int) -> None: ...
def uniform_fields(buf: ReadableBuffer, step: int, count: int,
                   fields: Sequence[tuple[int, int]]) -> bool: ...
def v4_flow_hashes(buf: ReadableBuffer, pos: int, step: int, count: int, k1: int, k2: int,
                   port_protocols: ReadableBuffer) -> list[int]: ...
