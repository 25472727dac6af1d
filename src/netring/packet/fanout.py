"""Fanout: the ``PACKET_FANOUT`` value, its modes and flags, what the kernel guarantees.

Pure module.  A group is (id, mode, flags) per network namespace; every member
socket must ask for the same mode, flags, protocol and device (``fanout_add``:
EINVAL otherwise).  The kernel picks one member per packet
(``packet_rcv_fanout``)::

    mode      member chosen                                        guarantee
    hash      __skb_get_hash_symmetric(skb) scaled to n members    a flow (both directions:
                                                                   the hash is symmetric)
                                                                   always lands on one member
    lb        a shared counter, round robin                        even spread, no flow affinity
    cpu       the CPU that received the packet                     per-CPU affinity
    rollover  the last member with room, moving on when full       fills members in turn
    rnd       prandom                                              even spread on average
    qm        skb's recorded RX queue                              per-queue affinity
    cbpf      a classic BPF program's return value modulo n        whatever the program says
    ebpf      an eBPF program's return value modulo n              (PACKET_FANOUT_DATA)

Flags: ``rollover`` (hashed member full: try the others), ``defrag`` (reassemble
IP fragments before hashing, so fragments of a datagram stay together),
``uniqueid`` (the kernel picks an unused id; pass id 0, read it back),
``ignore_outgoing`` (members do not see packets the host sends).

Value layout: ``id | mode << 16 | flags << 24`` as one ``int``, or ``struct
fanout_args`` (8 bytes) when a member limit is given.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import EncodeError
from .constants import PACKET_FANOUT, PACKET_FANOUT_FLAG
from .structs import fanout_args

__all__ = ["MODES", "FLAGS", "FanoutSpec", "parse_mode", "parse_flags"]

MODES = {m.name.lower(): m for m in PACKET_FANOUT}
FLAGS = {f.name.lower(): f for f in PACKET_FANOUT_FLAG if f.name}


def parse_mode(mode: str | int) -> PACKET_FANOUT:
    """A mode by name (``"hash"``) or number."""
    if isinstance(mode, str):
        try:
            return MODES[mode.lower()]
        except KeyError:
            raise EncodeError(f"unknown fanout mode {mode!r}; choose from "
                              f"{', '.join(MODES)}") from None
    try:
        return PACKET_FANOUT(mode)
    except ValueError:
        raise EncodeError(f"unknown fanout mode {mode}") from None


def parse_flags(flags: str | int | PACKET_FANOUT_FLAG | tuple[str, ...] | list[str] | None
                ) -> PACKET_FANOUT_FLAG:
    """Flags by names (``"rollover,defrag"`` or a sequence of names) or as a number."""
    if flags is None:
        return PACKET_FANOUT_FLAG(0)
    if isinstance(flags, int):
        return PACKET_FANOUT_FLAG(flags)
    names = flags.split(",") if isinstance(flags, str) else list(flags)
    out = PACKET_FANOUT_FLAG(0)
    for n in names:
        n = n.strip().lower().replace("-", "_")
        if not n:
            continue
        if n not in FLAGS:
            raise EncodeError(f"unknown fanout flag {n!r}; choose from {', '.join(FLAGS)}")
        out |= FLAGS[n]
    return out


@dataclass(frozen=True, slots=True)
class FanoutSpec:
    """One group membership request.

    Attributes:
        group: group id 0..65535 (0 with ``uniqueid``: the kernel picks).
        mode: a :class:`PACKET_FANOUT` mode.
        flags: :class:`PACKET_FANOUT_FLAG` bits.
        max_members: member limit (``fanout_args.max_num_members``; ``None``: the
            legacy int, limit 256).
    """

    group: int
    mode: PACKET_FANOUT = PACKET_FANOUT.HASH
    flags: PACKET_FANOUT_FLAG = PACKET_FANOUT_FLAG(0)
    max_members: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.group <= 0xFFFF:
            raise EncodeError(f"fanout group {self.group} outside 0..65535")
        if self.flags & PACKET_FANOUT_FLAG.UNIQUEID and self.group:
            raise EncodeError("fanout uniqueid needs group id 0 (the kernel picks one)")
        if self.mode == PACKET_FANOUT.ROLLOVER and self.flags & PACKET_FANOUT_FLAG.ROLLOVER:
            raise EncodeError("fanout mode rollover cannot take the rollover flag "
                              "(fanout_add: EINVAL)")
        if self.max_members is not None and not 1 <= self.max_members <= 65536:
            raise EncodeError(f"fanout max_members {self.max_members} outside 1..65536")

    @property
    def type_flags(self) -> int:
        """``mode | flags`` as the kernel's ``type_flags`` (the value's upper 16 bits)."""
        return int(self.mode) | int(self.flags)

    def pack(self) -> bytes:
        """The ``setsockopt(PACKET_FANOUT)`` value: a 4-byte int or ``fanout_args``."""
        if self.max_members is None:
            return (self.group | self.type_flags << 16).to_bytes(4, "little" if _LE else "big")
        if _LE:
            return fanout_args.pack(self.group, self.type_flags, self.max_members)
        return fanout_args.pack(self.type_flags, self.group, self.max_members)

    @staticmethod
    def decode(value: int) -> tuple[int, int, int]:
        """``getsockopt(PACKET_FANOUT)``'s int as ``(group, mode, flags)`` (flags in
        ``type_flags`` space, like :class:`PACKET_FANOUT_FLAG`); all 0 when not in a group."""
        v = value & 0xFFFFFFFF
        return v & 0xFFFF, (v >> 16) & 0xFF, ((v >> 24) & 0xFF) << 8


_LE = fanout_args.pack(1, 0, 0)[:1] == b"\x01"
