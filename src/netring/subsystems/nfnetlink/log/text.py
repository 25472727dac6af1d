"""The one-line text of a logged packet, as ``netring log`` prints it.

Like ``tcpdump -n -i nflog:N`` with ulogd's interface fields::

    12:00:00.123456 nflog:5 "in: " IN=veth0 OUT= MARK=0x1 IP 10.0.0.1.40000 > 10.0.0.2.53: UDP, length 32
    |time (local)   |group  |prefix|devices (names when known) |payload summary (summary.py)

``UID=``/``GID=`` follow ``MARK=`` for packets of a local socket; a payload
that is not IPv4/IPv6 reads ``proto 0x0806, length 28`` (the ``ETH_P_*``);
without a payload (copy mode META) only ``proto 0x0800``.  A gap in the group's
sequence numbers before the message is said first: ``[lost 12]``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from ..summary import summarize
from .message import LogMessage

__all__ = ["message_line", "clock_text"]


def clock_text(ts_ns: int) -> str:
    """``HH:MM:SS.uuuuuu`` of a time in nanoseconds since the epoch, local time
    (seconds since the epoch for a time the C library cannot convert)."""
    sec, ns = divmod(ts_ns, 1_000_000_000)
    try:
        return time.strftime("%H:%M:%S", time.localtime(sec)) + f".{ns // 1000:06d}"
    except (OverflowError, OSError, ValueError):
        return f"{sec}.{ns // 1000:06d}"


def _dev(idx: int | None, names: Mapping[int, str] | None) -> str:
    if idx is None:
        return ""
    if names:
        return names.get(idx, str(idx))
    return str(idx)


def message_line(msg: LogMessage, names: Mapping[int, str] | None = None,
                 ts_ns: int | None = None) -> str:
    """The text line of ``msg`` (``ts_ns``: the time to print when the kernel sent none)."""
    stamp = msg.timestamp_ns
    if stamp is None:
        stamp = ts_ns
    parts = [clock_text(stamp) if stamp is not None else "-", f"nflog:{msg.group}"]
    if msg.gap:
        parts.insert(0, f"[lost {msg.gap}]")
    prefix = msg.prefix
    if prefix is not None:
        parts.append('"' + prefix.replace("\\", "\\\\").replace('"', '\\"') + '"')
    parts.append(f"IN={_dev(msg.indev, names)}")
    parts.append(f"OUT={_dev(msg.outdev, names)}")
    mark = msg.mark
    if mark is not None:
        parts.append(f"MARK={mark:#x}")
    uid = msg.uid
    if uid is not None:
        parts.append(f"UID={uid}")
        gid = msg.gid
        if gid is not None:
            parts.append(f"GID={gid}")
    payload = msg.payload
    summary = summarize(payload) if payload is not None else None
    if summary is not None:
        parts.append(summary.text())
    elif payload is not None:
        parts.append(f"proto {msg.hw_protocol:#06x}, length {len(payload)}")
    else:
        parts.append(f"proto {msg.hw_protocol:#06x}")
    return " ".join(parts)
