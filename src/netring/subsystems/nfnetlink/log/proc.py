"""``/proc/net/netfilter/nfnetlink_log``: the log groups bound in a network namespace.

One line per bound group, written by the kernel's ``seq_show``
(net/netfilter/nfnetlink_log.c)::

    "%5u %6u %5u %1u %5u %6u %2u\\n"
     group portid qlen copy_mode copy_range flush_timeout use

``qlen`` is the number of messages waiting in the group's current batch; the
file has no drop counter (a datagram the receive buffer refused is counted in
the receiving socket's ``sk_drops``, and a batch the kernel failed to allocate
is counted nowhere).
"""

from __future__ import annotations

from ....errors import DecodeError

__all__ = ["LogInstance", "parse_instances"]


class LogInstance:
    """One bound log group, as the kernel lists it.

    Attributes:
        group: the log group.
        portid: the netlink port id of the socket that bound it.
        qlen: messages in the batch being filled.
        copy_mode: ``NFULNL_COPY_*``.
        copy_range: bytes copied per packet.
        flush_timeout: the flush timeout, 1/100 s.
        use: the kernel's reference count.
    """

    __slots__ = ("group", "portid", "qlen", "copy_mode", "copy_range", "flush_timeout", "use")

    def __init__(self, group: int, portid: int, qlen: int, copy_mode: int, copy_range: int,
                 flush_timeout: int, use: int) -> None:
        self.group = group
        self.portid = portid
        self.qlen = qlen
        self.copy_mode = copy_mode
        self.copy_range = copy_range
        self.flush_timeout = flush_timeout
        self.use = use

    def __repr__(self) -> str:
        return (f"<LogInstance group={self.group} portid={self.portid} qlen={self.qlen} "
                f"copy_mode={self.copy_mode} copy_range={self.copy_range} "
                f"flush_timeout={self.flush_timeout}>")


def parse_instances(text: str) -> list[LogInstance]:
    """The instances listed in the file's ``text``.

    Raises:
        DecodeError: a line that is not seven numbers (``offset``: its line number).
    """
    out: list[LogInstance] = []
    for i, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 7 or not all(f.isdigit() for f in fields):
            raise DecodeError(f"nfnetlink_log line {line!r} is not seven numbers", i)
        g, p, q, m, r, t, u = (int(f) for f in fields)
        out.append(LogInstance(g, p, q, m, r, t, u))
    return out
