"""AF_PACKET: capture rings (TPACKET_V1/V2/V3), TX rings, fanout, statistics.

Pure names (constants, structs, geometry, walkers, fanout values, statistics,
the one-line decoder) load with the package; the edge names (``PacketSocket``,
``CaptureRing``, ``TxRing``, ``MmsgSender``, ``open_sender``, ``open_members``,
``send_socket``, ``recv_socket``) load on first use.  See docs/capture.md::

    from netring.packet import CaptureRing
    with CaptureRing("eth0", version=3) as ring:
        for blk in ring.blocks(timeout=10):
            for pkt in blk:                      # one reused view per walk
                print(pkt.ts_ns, pkt.wirelen, pkt.direction, pkt.data[:14].hex())
"""

from __future__ import annotations

import importlib

from ..codec.types import TYPE_CHECKING
from .constants import (
    ETH_P,
    PACKET,
    PACKET_FANOUT,
    PACKET_FANOUT_FLAG,
    PACKET_TYPE,
    SOF_TIMESTAMPING,
    SOL_PACKET,
    TP_STATUS,
    TP_STATUS_TX,
    TPACKET_VERSION,
)
from .fanout import FanoutSpec
from .geometry import Geometry, GeometryError
from .stats import RolloverStats, Stats, StatsCounter
from .walk import Block, FrameBatch, FrameWalker, Packet, V3Walker, make_walker

if TYPE_CHECKING:
    from .edge.fanout import open_members, recv_socket, send_socket
    from .edge.ring import CaptureRing
    from .edge.sock import PacketSocket
    from .edge.tx import MmsgSender, TxRing, open_sender

_LAZY = {
    "PacketSocket": "sock",
    "CaptureRing": "ring",
    "TxRing": "tx",
    "MmsgSender": "tx",
    "open_sender": "tx",
    "open_members": "fanout",
    "send_socket": "fanout",
    "recv_socket": "fanout",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.edge.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "SOL_PACKET",
    "PACKET",
    "PACKET_TYPE",
    "PACKET_FANOUT",
    "PACKET_FANOUT_FLAG",
    "SOF_TIMESTAMPING",
    "TP_STATUS",
    "TP_STATUS_TX",
    "TPACKET_VERSION",
    "ETH_P",
    "Geometry",
    "GeometryError",
    "Packet",
    "Block",
    "FrameBatch",
    "V3Walker",
    "FrameWalker",
    "make_walker",
    "FanoutSpec",
    "Stats",
    "RolloverStats",
    "StatsCounter",
    "PacketSocket",
    "CaptureRing",
    "TxRing",
    "MmsgSender",
    "open_sender",
    "open_members",
    "send_socket",
    "recv_socket",
]
