"""A queue's configuration and introspection: :class:`QueueConfig`, a part of
:class:`~.queue.Queue`.

What a :class:`~.queue.Queue` asks of the kernel and reads back about itself,
apart from packets and verdicts::

    bind(q)            [PF_UNBIND, PF_BIND per family, once]  then BIND + params + flags
    unbind(q)          UNBIND (verdicts recorded so far sent first)
    set_mode/set_maxlen/set_flags    NFQNL_MSG_CONFIG on a bound queue
    kernel_stats()     /proc/net/netfilter/nfnetlink_queue in the queue's namespace
    stats()            QueueStats: the queue's counts, the batcher's and the kernel's
    ifname(i)          an interface name in the queue's namespace (cached)

Every request is one acknowledged ``NFQNL_MSG_CONFIG`` through the queue's
connection; a refusal becomes a named error (EPERM names the port id holding
the queue, read from the statistics file).  None of this is on a hot path: it
lives apart from the receive path (:mod:`.queue_receive`) and the verdict
bookkeeping (:mod:`.queue_verdicts`), mixed into the one ``Queue`` class.
"""

from __future__ import annotations

import errno as _errno
import socket as _socket

from ....codec.types import TYPE_CHECKING
from ....errors import EncodeError, NetlinkError, NotSupportedError
from ....netns import run_in_netns
from ..constants import NFPROTO
from ..queue.constants import NFQA_CFG_F, NFQNL_CFG_CMD
from ..queue.requests import NFQNL_CONFIG_TYPE, config_body
from ..queue.stats import VERDICT_KINDS, KernelQueueStats, QueueStats, parse_proc_nfnetlink_queue

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ....conn import Connection
    from ....nlmmap.base import RingBase
    from ..queue.batch import Batcher

__all__ = ["QueueConfig", "PROC_NFNETLINK_QUEUE"]

#: the kernel's per-netns statistics file (read in the queue's namespace)
PROC_NFNETLINK_QUEUE = "/proc/thread-self/net/netfilter/nfnetlink_queue"


def _queue_list(queues: int | Iterable[int]) -> list[int]:
    qs = [queues] if isinstance(queues, int) else list(queues)
    for q in qs:
        if not 0 <= q <= 0xFFFF:
            raise EncodeError(f"queue {q} outside 0..65535")
    return list(dict.fromkeys(qs))


class QueueConfig:
    """Binding, queue parameters and statistics of a :class:`~.queue.Queue` (a mixin:
    the state it reads is set up by ``Queue.__init__``)."""

    conn: Connection
    netns: str | None
    copy_mode: int
    copy_range: int
    maxlen: int | None
    flags: NFQA_CFG_F
    bound: list[int]
    batcher: Batcher
    _pf_bound: bool
    _last_id: dict[int, int]
    _stats: QueueStats
    _names: dict[int, str]

    if TYPE_CHECKING:
        def _flush(self, force: bool) -> None: ...  # QueueVerdicts

        @property
        def receive_path(self) -> str: ...  # Queue

        @property
        def ring(self) -> RingBase | None: ...  # Queue

    # -- configuration -------------------------------------------------------------------
    def _request(self, body: bytes, op: str) -> None:
        self.conn.request(NFQNL_CONFIG_TYPE, body, op=op, timeout=10.0)

    def _owner(self, queue: int) -> int | None:
        k = self.kernel_stats().get(queue)
        return None if k is None else k.portid

    def bind(self, queue: int) -> None:
        """Bind ``queue`` to this socket and set it up (copy mode, range, maxlen, flags)
        in the same message: a new queue starts in copy mode NONE, which drops.

        Raises:
            NetlinkError: EPERM: another socket holds the queue (its port id named);
                EBUSY: this socket already holds it.
            NotSupportedError: the kernel refused a flag (EOPNOTSUPP).
        """
        (queue,) = _queue_list(queue)
        if not self._pf_bound:
            # PF_UNBIND/PF_BIND: needed by kernels before 3.8, accepted and ignored since
            pf = [config_body(0, command=c, pf=f) for f in (NFPROTO.IPV4, NFPROTO.IPV6)
                  for c in (NFQNL_CFG_CMD.PF_UNBIND, NFQNL_CFG_CMD.PF_BIND)]
            for body in pf:
                self._request(body, "PF_BIND")
            self._pf_bound = True
        body = config_body(queue, command=NFQNL_CFG_CMD.BIND, copy_mode=self.copy_mode,
                           copy_range=self.copy_range, maxlen=self.maxlen,
                           flags=int(self.flags), mask=int(self.flags) or None)
        try:
            self._request(body, f"bind queue {queue}")
        except NetlinkError as exc:
            raise self._bind_error(queue, exc) from None
        self.bound.append(queue)
        self._last_id[queue] = 0  # a new queue: its first id is 1

    def _bind_error(self, queue: int, exc: NetlinkError) -> NetlinkError | NotSupportedError:
        op = f"bind queue {queue}"
        if exc.errno == _errno.EPERM:
            owner = self._owner(queue)
            who = (f"port id {owner}" if owner is not None else "another socket")
            return NetlinkError(_errno.EPERM, op, exc.seq, ext_msg=(
                f"queue {queue} is held by another socket ({who}; an autobound port id is "
                f"usually its process id): only one socket may bind a queue"))
        if exc.errno == _errno.EBUSY:
            return NetlinkError(_errno.EBUSY, op, exc.seq,
                                ext_msg=f"queue {queue} is already bound by this socket")
        if exc.errno == _errno.EOPNOTSUPP:
            return NotSupportedError(f"{op}: the kernel refused queue flags "
                                     f"{self.flags!r} (EOPNOTSUPP)")
        return exc

    def unbind(self, queue: int) -> None:
        """Unbind ``queue`` (the kernel drops the packets it still holds for it: give
        them verdicts first, as :meth:`close` does)."""
        self._flush(force=True)
        if queue in self.bound:
            self.bound.remove(queue)
        self.batcher.forget(queue)
        self._request(config_body(queue, command=NFQNL_CFG_CMD.UNBIND), f"unbind queue {queue}")

    def set_mode(self, queue: int, copy_mode: int, copy_range: int = 0) -> None:
        """Change a bound queue's copy mode and range (``NFQA_CFG_PARAMS``)."""
        self._request(config_body(queue, copy_mode=copy_mode, copy_range=copy_range),
                      f"queue {queue} params")

    def set_maxlen(self, queue: int, maxlen: int) -> None:
        """Change a bound queue's length limit (``NFQA_CFG_QUEUE_MAXLEN``)."""
        self._request(config_body(queue, maxlen=maxlen), f"queue {queue} maxlen")

    def set_flags(self, queue: int, flags: int, mask: int | None = None) -> None:
        """Change a bound queue's flags: the bits of ``mask`` take their value from
        ``flags`` (``mask`` ``None``: every known flag, so the ones not in ``flags``
        are cleared).

        Raises:
            NotSupportedError: the kernel refused a flag (EOPNOTSUPP).
        """
        try:
            self._request(config_body(queue, flags=flags, mask=mask), f"queue {queue} flags")
        except NetlinkError as exc:
            if exc.errno == _errno.EOPNOTSUPP:
                raise NotSupportedError(f"queue {queue}: the kernel refused flags "
                                        f"{NFQA_CFG_F(flags)!r} (EOPNOTSUPP)") from None
            raise

    # -- statistics ----------------------------------------------------------------------
    def kernel_stats(self) -> dict[int, KernelQueueStats]:
        """``/proc/net/netfilter/nfnetlink_queue`` of the queue's namespace, by queue."""
        def read() -> str:
            try:
                with open(PROC_NFNETLINK_QUEUE) as f:
                    return f.read()
            except FileNotFoundError:
                return ""  # the module is not loaded: no queue exists
        text = read() if self.netns is None else run_in_netns(self.netns, read)
        return parse_proc_nfnetlink_queue(text)

    def stats(self, *, kernel: bool = True) -> QueueStats:
        """A snapshot of every count (see :class:`~..queue.stats.QueueStats`).

        Args:
            kernel: also read the kernel's per-queue counters for the bound queues.
        """
        s = self._stats
        out = QueueStats()
        for name in QueueStats.__slots__:
            setattr(out, name, getattr(s, name))
        b = self.batcher
        out.verdicts = {VERDICT_KINDS[i]: b.by_verdict[i] for i in range(6)}
        out.batch_messages = b.batch_messages
        out.single_messages = b.single_messages
        out.enobufs = self.conn.overruns
        out.in_flight = b.in_flight
        out.socket_drops = self.conn.drops()
        out.receive = self.receive_path
        ring = self.ring
        out.ring = None if ring is None else dict(ring.stats())
        if kernel:
            ks = self.kernel_stats()
            out.kernel = {q: ks[q] for q in self.bound if q in ks}
            # ids after the last one received that are not waiting in the socket buffer
            # either: failed unicasts no later packet revealed yet
            for q, k in out.kernel.items():
                last = self._last_id.get(q)
                st = b.queues.get(q)
                mine = len(st.outstanding) if st is not None else 0
                if last is not None:
                    unread = max(0, k.queue_total - mine)
                    out.id_gaps += max(0, ((k.id_sequence - last) & 0xFFFFFFFF) - unread)
        if self.flags & NFQA_CFG_F.FAIL_OPEN:
            out.fail_open_accepts = out.id_gaps
        return out

    def ifname(self, ifindex: int | None) -> str | None:
        """The name of interface ``ifindex`` in the queue's namespace (cached), or ``None``."""
        if ifindex is None:
            return None
        name = self._names.get(ifindex)
        if name is None:
            try:
                name = (_socket.if_indextoname(ifindex) if self.netns is None else
                        run_in_netns(self.netns, _socket.if_indextoname, ifindex))
            except OSError:
                return None
            self._names[ifindex] = name
        return name
