"""Reply validation: is this message an answer to our request?

Kept as pure functions so sockets, rings and fakes share one rule
(the same rule libmnl's ``mnl_cb_run`` and mdlayher/netlink's ``Validate`` apply).
"""

from __future__ import annotations

__all__ = ["is_reply", "is_notification"]


def is_reply(msg_seq: int, msg_portid: int, seq: int, portid: int) -> bool:
    """True when a message with ``msg_seq``/``msg_portid`` answers request ``seq``
    sent from ``portid``.

    Sequence numbers must match exactly.  Port ids must match unless either side is 0
    (the kernel addresses replies to the requesting socket; some senders write 0).
    A ``msg_seq`` of 0 never matches a non-zero request: it is a notification.
    """
    if msg_seq != seq:
        return False
    return msg_portid == 0 or portid == 0 or msg_portid == portid


def is_notification(msg_seq: int) -> bool:
    """True for an unsolicited message (kernel notifications carry seq 0)."""
    return msg_seq == 0
