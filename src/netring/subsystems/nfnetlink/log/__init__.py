"""nfnetlink_log (``NFNL_SUBSYS_ULOG``), pure part: constants, structs, views, requests.

* :mod:`.constants` - ``NFULNL_MSG``, ``NFULA``, ``NFULA_VLAN``, ``NFULA_CFG``,
  ``NFULNL_CFG_CMD``, ``NFULNL_COPY``, ``NFULNL_CFG_F`` and the kernel's limits.
* :mod:`.structs` - ``nfulnl_msg_packet_hdr``/``_hw``/``_timestamp``,
  ``nfulnl_msg_config_cmd``/``_mode``.
* :mod:`.message` - :class:`LogMessage`, the lazy view of one logged packet.
* :mod:`.reader` - :class:`LogReader` (datagrams in, views out, sequence gaps
  counted) and :class:`LogStats`.
* :mod:`.requests` - :func:`config_request`, the one request of the subsystem.
* :mod:`.text` - :func:`message_line`, the text ``netring log`` prints.

The socket side is :class:`netring.subsystems.nfnetlink.edge.log.Log`.
"""

from __future__ import annotations

from .constants import (
    NFULA,
    NFULA_CFG,
    NFULA_VLAN,
    NFULNL_CFG_CMD,
    NFULNL_CFG_F,
    NFULNL_COPY,
    NFULNL_COPY_RANGE_MAX,
    NFULNL_MSG,
    NFULNL_MSG_TYPE_CONFIG,
    NFULNL_MSG_TYPE_PACKET,
    NFULNL_NLBUFSIZ_MAX,
)
from .message import LogMessage
from .reader import GroupStats, LogReader, LogStats
from .requests import config_request

__all__ = [
    "NFULA", "NFULA_CFG", "NFULA_VLAN", "NFULNL_CFG_CMD", "NFULNL_CFG_F", "NFULNL_COPY",
    "NFULNL_COPY_RANGE_MAX", "NFULNL_MSG", "NFULNL_MSG_TYPE_CONFIG", "NFULNL_MSG_TYPE_PACKET",
    "NFULNL_NLBUFSIZ_MAX", "LogMessage", "LogReader", "LogStats", "GroupStats",
    "config_request",
]
