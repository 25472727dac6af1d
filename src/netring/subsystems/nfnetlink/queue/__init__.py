"""nfnetlink_queue, pure: constants, structs, the packet view, request encoders,
the out-of-order-safe verdict batcher and checksum fix-ups.

::

    constants   NFQNL_MSG NFQA NFQA_VLAN NFQNL_CFG_CMD NFQNL_COPY NFQA_CFG NFQA_CFG_F NFQA_SKB
    structs     nfqnl_msg_packet_hdr / _hw / _timestamp, verdict_hdr, config_cmd, config_params
    packet      Packet: lazy view of NFQNL_MSG_PACKET (verdict methods, zero-copy payload)
    requests    config_body(), VerdictWriter (verdicts back to back in one buffer)
    batch       Batcher: VERDICT_BATCH only for the contiguous completed prefix
    checksum    inet_checksum(), fix_packet() for replacement payloads
    stats       QueueStats: every count of received, verdicts and loss in one place
    flow        flow_hash(): the symmetric 5-tuple hash a worker pool fans out by
    pool        a worker pool's frames, verdict records, control block, PoolStats

The socket object is :class:`netring.subsystems.nfnetlink.edge.queue.Queue`.
"""

from __future__ import annotations

from .batch import Batcher, id_after
from .checksum import fix_packet, inet_checksum
from .constants import (
    NFQA,
    NFQA_CFG,
    NFQA_CFG_F,
    NFQA_SKB,
    NFQA_VLAN,
    NFQNL_CFG_CMD,
    NFQNL_COPY,
    NFQNL_MAX_COPY_RANGE,
    NFQNL_MSG,
    NFQNL_QMAX_DEFAULT,
)
from .packet import PACKET_ID_OFFSET, Packet
from .requests import VerdictWriter, config_body

__all__ = [
    "NFQA", "NFQA_CFG", "NFQA_CFG_F", "NFQA_SKB", "NFQA_VLAN", "NFQNL_CFG_CMD", "NFQNL_COPY",
    "NFQNL_MAX_COPY_RANGE", "NFQNL_MSG", "NFQNL_QMAX_DEFAULT", "Packet", "PACKET_ID_OFFSET",
    "VerdictWriter", "config_body", "Batcher", "id_after", "fix_packet", "inet_checksum",
]
