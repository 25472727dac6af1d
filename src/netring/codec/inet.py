"""IP address text exactly as glibc's ``inet_ntop`` writes it.

Python's :mod:`ipaddress` (3.11) prints IPv4-mapped IPv6 addresses with a hex
tail (``::ffff:102:304``); glibc, and so every iproute2 tool, keeps the dotted
tail (``::ffff:1.2.3.4``).  The views use these so their text matches ``ip``::

    4 bytes   01 02 03 04                        -> "1.2.3.4"
    16 bytes  20 01 0d b8 00 .. 00 01            -> "2001:db8::1"   (longest zero run >= 2 words)
    16 bytes  00 .. 00 ff ff 01 02 03 04         -> "::ffff:1.2.3.4"
"""

from __future__ import annotations

from .types import ReadableBuffer

__all__ = ["ntop4", "ntop6"]


def ntop4(b: ReadableBuffer, offset: int = 0) -> str:
    """Dotted quad of the 4 bytes at ``offset`` of ``b`` (read in place, no slice)."""
    return f"{b[offset]}.{b[offset + 1]}.{b[offset + 2]}.{b[offset + 3]}"


def ntop6(b: bytes | bytearray | memoryview) -> str:
    """IPv6 text form exactly as glibc ``inet_ntop(AF_INET6)`` writes it."""
    w = [(b[i] << 8) | b[i + 1] for i in range(0, 16, 2)]
    best_base, best_len, cur_base, cur_len = -1, 0, -1, 0
    for i in range(8):
        if w[i] == 0:
            if cur_base < 0:
                cur_base, cur_len = i, 1
            else:
                cur_len += 1
        elif cur_base >= 0:
            if cur_len > best_len:
                best_base, best_len = cur_base, cur_len
            cur_base = -1
    if cur_base >= 0 and cur_len > best_len:
        best_base, best_len = cur_base, cur_len
    if best_len < 2:
        return ":".join(f"{x:x}" for x in w)
    if best_base == 0 and (best_len == 6 or (best_len == 5 and w[5] == 0xFFFF)):
        return ("::ffff:" if best_len == 5 else "::") + ntop4(b, 12)
    head = ":".join(f"{x:x}" for x in w[:best_base])
    tail = ":".join(f"{x:x}" for x in w[best_base + best_len:])
    return head + "::" + tail
