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

from ..codec.types import TYPE_CHECKING
from ..lazy import lazy_names
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
    "PacketSocket": "edge.sock",
    "CaptureRing": "edge.ring",
    "TxRing": "edge.tx",
    "MmsgSender": "edge.tx",
    "open_sender": "edge.tx",
    "open_members": "edge.fanout",
    "send_socket": "edge.fanout",
    "recv_socket": "edge.fanout",
}




__getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY)

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
