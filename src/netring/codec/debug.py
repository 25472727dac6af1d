"""A libmnl-style (``mnl_nlmsg_fprintf``) human dump of netlink messages.

::

    ----------------        ------------------
    |  0000000036  |        | message length |
    | 00002 | ---- |        |  type | flags  |
    |  0000000001  |        | sequence number|
    |  0000000000  |        |     port ID    |
    ----------------        ------------------
    | 00 00 00 00  |        |  extra header  |
    |00008|--|00003|        |len |flags| type|
    | 6c 6f 00 00  |        |      data      |   l o

Attributes are only recognised after a known extra-header length (``extra_len``);
without it the payload is printed as data words.  Malformed input is rendered up
to the fault and the fault is named, so the dump itself never raises.
"""

from __future__ import annotations

from ..errors import DecodeError
from .attribute import iter_attrs
from .constants import NLA_F
from .message import as_memoryview, iter_messages
from .structs import nlattr
from .types import ReadableBuffer

_F_NESTED = int(NLA_F.NESTED)
_F_NET_BYTEORDER = int(NLA_F.NET_BYTEORDER)

__all__ = ["dump_messages"]

_RULE = "----------------\t------------------"


def _flags4(flags: int) -> str:
    return "".join(
        c if flags & bit else "-"
        for bit, c in ((0x1, "R"), (0x2, "M"), (0x4, "A"), (0x8, "E"))
    )


def _data_rows(mv: memoryview, start: int, end: int, label: str) -> list[str]:
    rows = []
    for o in range(start, end, 4):
        chunk = bytes(mv[o : min(o + 4, end)])
        hexs = " ".join(f"{b:02x}" for b in chunk).ljust(11)
        text = " ".join(chr(b) if 32 <= b < 127 else " " for b in chunk)
        rows.append(f"| {hexs}  |\t|{label:^16}|\t {text}")
    return rows


def _attr_rows(mv: memoryview, start: int, end: int, depth: int) -> list[str]:
    rows: list[str] = []
    for a in iter_attrs(mv, start, end):
        raw_len, raw_type = nlattr.unpack_from(mv, a.offset)
        fl = ("N" if raw_type & _F_NESTED else "-") + ("B" if raw_type & _F_NET_BYTEORDER else "-")
        rows.append(f"|{raw_len:05d}|{fl}|{a.type:05d}|\t|len |flags| type|" + "  " * depth)
        payload_end = a.offset + a.len
        rows.extend(_data_rows(mv, a.offset + 4, (payload_end + 3) & ~3 if payload_end + 3 <= end else payload_end, "data"))
    return rows


def dump_messages(buf: ReadableBuffer, extra_len: int | None = None) -> str:
    """Render every message in ``buf`` as a libmnl-style table.

    Args:
        buf: one or more netlink messages.
        extra_len: size of the family header that precedes attributes; ``None``
            prints the payload as raw data words.
    """
    mv = as_memoryview(buf)
    out: list[str] = []
    try:
        for m in iter_messages(mv):
            out.append(_RULE)
            out.append(f"|  {m.len:010d}  |\t| message length |")
            out.append(f"| {m.type:05d} | {_flags4(m.flags)} |\t|  type | flags  |")
            out.append(f"|  {m.seq:010d}  |\t| sequence number|")
            out.append(f"|  {m.portid:010d}  |\t|     port ID    |")
            out.append(_RULE)
            pstart = m.offset + 16
            pend = m.offset + m.len
            if extra_len is None or m.type < 0x10:
                out.extend(_data_rows(mv, pstart, pend, "data"))
                continue
            hend = min(pstart + ((extra_len + 3) & ~3), pend)
            out.extend(_data_rows(mv, pstart, hend, "extra header"))
            try:
                out.extend(_attr_rows(mv, hend, pend, 0))
            except DecodeError as exc:
                out.append(f"!! malformed attribute: {exc}")
        out.append(_RULE)
    except DecodeError as exc:
        out.append(f"!! malformed message: {exc}")
    return "\n".join(out)
