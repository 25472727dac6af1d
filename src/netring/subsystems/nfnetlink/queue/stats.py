"""Every count of a queue consumer in one place: what arrived, what left, what was lost.

::

    packets / bytes            packets received, netlink bytes received
    verdicts                   by kind: accept drop repeat queue stop (what we sent)
    batch_messages             NFQNL_MSG_VERDICT_BATCH messages sent
    single_messages            NFQNL_MSG_VERDICT messages sent
    released_without_verdict   packets the policy gave a verdict (iterator advanced,
                               callback returned, copy collected, window full, close)
    truncated                  datagrams larger than a receive slot (given the policy verdict)
    enobufs                    ENOBUFS reports: the socket buffer overflowed, the kernel's
                               unicast failed (then user_dropped, or with FAIL_OPEN accepted)
    id_gaps                    ids the kernel assigned but never delivered (failed unicasts:
                               each one was dropped, or accepted with FAIL_OPEN)
    fail_open_accepts          id_gaps while FAIL_OPEN was on (the kernel accepted them);
                               accepts on a full queue are counted by no one (see docs)
    verdict_errors             verdicts the kernel refused (ENOENT, EPERM, ...)
    kernel                     /proc/net/netfilter/nfnetlink_queue per queue (read in the
                               queue's network namespace): queue_total, copy_mode,
                               copy_range, queue_dropped, user_dropped, id_sequence
    socket_drops               the socket's SO_MEMINFO drop counter
    receive                    the receive path: "recvmmsg", or the RX ring's backend
                               ("uring", "kernel", "user")
    ring                       the RX ring's own counters (None on the recvmmsg path)
"""

from __future__ import annotations

__all__ = ["QueueStats", "KernelQueueStats", "parse_proc_nfnetlink_queue", "VERDICT_KINDS",
           "stats_line"]

#: the low byte of a verdict word -> its name (NF_DROP .. NF_STOP)
VERDICT_KINDS = ("drop", "accept", "stolen", "queue", "repeat", "stop")


class KernelQueueStats:
    """One line of ``/proc/net/netfilter/nfnetlink_queue`` (``seq_show`` in
    net/netfilter/nfnetlink_queue.c)::

        queue_num peer_portid queue_total copy_mode copy_range queue_dropped
        queue_user_dropped id_sequence 1
    """

    __slots__ = ("queue", "portid", "queue_total", "copy_mode", "copy_range", "queue_dropped",
                 "user_dropped", "id_sequence")

    def __init__(self, fields: list[int]) -> None:
        (self.queue, self.portid, self.queue_total, self.copy_mode, self.copy_range,
         self.queue_dropped, self.user_dropped, self.id_sequence) = fields[:8]

    def to_dict(self) -> dict[str, int]:
        """The fields as a dict."""
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self) -> str:
        return f"<KernelQueueStats {self.to_dict()}>"


def parse_proc_nfnetlink_queue(text: str) -> dict[int, KernelQueueStats]:
    """``{queue number: KernelQueueStats}`` from the proc file's text (bad lines skipped)."""
    out: dict[int, KernelQueueStats] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 8:
            continue
        try:
            fields = [int(p) for p in parts[:8]]
        except ValueError:
            continue
        out[fields[0]] = KernelQueueStats(fields)
    return out


class QueueStats:
    """A snapshot of a consumer's counts (see the module docstring for each)."""

    __slots__ = ("packets", "bytes", "batches", "verdicts", "batch_messages", "single_messages",
                 "released_without_verdict", "truncated", "enobufs", "id_gaps",
                 "fail_open_accepts", "verdict_errors", "kernel", "socket_drops", "in_flight",
                 "receive", "ring")

    def __init__(self) -> None:
        self.packets = 0
        self.bytes = 0
        self.batches = 0
        self.verdicts: dict[str, int] = dict.fromkeys(VERDICT_KINDS, 0)
        self.batch_messages = 0
        self.single_messages = 0
        self.released_without_verdict = 0
        self.truncated = 0
        self.enobufs = 0
        self.id_gaps = 0
        self.fail_open_accepts = 0
        self.verdict_errors = 0
        self.kernel: dict[int, KernelQueueStats] = {}
        self.socket_drops: int | None = None
        self.in_flight = 0
        self.receive = "recvmmsg"
        self.ring: dict[str, object] | None = None

    @property
    def kernel_dropped(self) -> int:
        """Packets the kernel dropped: full queue (``queue_dropped``) plus failed unicast
        (``user_dropped``), over every queue."""
        return sum(k.queue_dropped + k.user_dropped for k in self.kernel.values())

    def to_dict(self) -> dict[str, object]:
        """Everything as a JSON-ready dict."""
        out: dict[str, object] = {k: getattr(self, k) for k in self.__slots__ if k != "kernel"}
        out["verdicts"] = dict(self.verdicts)
        out["kernel"] = {str(q): k.to_dict() for q, k in self.kernel.items()}
        out["kernel_dropped"] = self.kernel_dropped
        return out

    def __repr__(self) -> str:
        return f"<QueueStats {self.to_dict()}>"


def stats_line(s: QueueStats, elapsed: float, *, rates: bool = True) -> str:
    """One line of counts (the command line's live line and final summary).

    ``rates``: packets/s and bytes/s over ``elapsed`` seconds first.
    """
    v = s.verdicts
    kinds = " ".join(f"{k} {v[k]}" for k in VERDICT_KINDS if v.get(k))
    parts = [f"{s.packets} packets"]
    if rates and elapsed > 0:
        parts.append(f"{s.packets / elapsed:,.0f} pkt/s {s.bytes / elapsed / 1e6:,.2f} MB/s")
    parts.append(f"verdicts: {kinds or 'none'}")
    parts.append(f"kernel drops {s.kernel_dropped}")
    parts.append(f"ENOBUFS {s.enobufs}")
    parts.append(f"fail-open accepts {s.fail_open_accepts}")
    if s.released_without_verdict:
        parts.append(f"policy verdicts {s.released_without_verdict}")
    if s.verdict_errors:
        parts.append(f"verdict errors {s.verdict_errors}")
    return ", ".join(parts)
