"""Socket statistics the kernel resets on every read, accumulated here.

``getsockopt(PACKET_STATISTICS)`` returns the counters since the previous read
and zeroes them (``packet_getsockopt``); on the way out the kernel adds the
drops to ``tp_packets``, so ``packets`` counts every packet the socket was
offered (captured or dropped).  :class:`StatsCounter` turns those deltas into
totals since the socket was opened::

    read 1: {packets 10, drops 2}  -> delta 10/2, total 10/2
    read 2: {packets  5, drops 0}  -> delta  5/0, total 15/2

``tpacket_rollover_stats`` (``PACKET_ROLLOVER_STATS``) is cumulative in the
kernel (never reset), so it is reported as read.
"""

from __future__ import annotations

from dataclasses import dataclass

from .structs import tpacket_rollover_stats, tpacket_stats, tpacket_stats_v3

__all__ = ["Stats", "RolloverStats", "StatsCounter"]


@dataclass(frozen=True, slots=True)
class Stats:
    """Packet-socket counters (``tpacket_stats``/``tpacket_stats_v3``).

    Attributes:
        packets: packets offered to the socket (captured + dropped; ``tp_packets``).
        drops: packets the kernel dropped because the ring (or queue) was full.
        freeze_q_cnt: times a V3 ring froze (the next block was still user's).
    """

    packets: int = 0
    drops: int = 0
    freeze_q_cnt: int = 0

    @property
    def captured(self) -> int:
        """Packets that reached the ring or queue (``packets - drops``)."""
        return self.packets - self.drops

    def __add__(self, other: Stats) -> Stats:
        return Stats(self.packets + other.packets, self.drops + other.drops,
                     self.freeze_q_cnt + other.freeze_q_cnt)

    @classmethod
    def unpack(cls, raw: bytes) -> Stats:
        """From the ``getsockopt`` bytes (8: ``tpacket_stats``, 12: ``tpacket_stats_v3``)."""
        if len(raw) >= tpacket_stats_v3.size:
            return cls(*tpacket_stats_v3.unpack_from(raw))
        p, d = tpacket_stats.unpack_from(raw)
        return cls(p, d, 0)


@dataclass(frozen=True, slots=True)
class RolloverStats:
    """``tpacket_rollover_stats``: fanout rollover counters (cumulative in the kernel).

    Attributes:
        all: packets moved to another member.
        huge: of those, moved because their flow was "huge" (rxhash history).
        failed: rollovers that found no member with room.
    """

    all: int = 0
    huge: int = 0
    failed: int = 0

    @classmethod
    def unpack(cls, raw: bytes) -> RolloverStats:
        return cls(*tpacket_rollover_stats.unpack_from(raw))


class StatsCounter:
    """Totals over reset-on-read kernel counters.

    Attributes:
        total: everything since the socket was opened.
        last: the delta the last :meth:`feed` added.
    """

    __slots__ = ("total", "last")

    def __init__(self) -> None:
        self.total = Stats()
        self.last = Stats()

    def feed(self, raw: bytes) -> Stats:
        """Add one ``PACKET_STATISTICS`` read; returns its delta."""
        self.last = Stats.unpack(raw)
        self.total = self.total + self.last
        return self.last
