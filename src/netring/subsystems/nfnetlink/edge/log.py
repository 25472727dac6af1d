"""nfnetlink_log groups over one ``NETLINK_NETFILTER`` socket: :class:`Log`.

::

    with Log([5, 6], netns="blue", qthresh=64, timeout=0.05) as log:
        for msg in log.messages(count=1000, timeout=10):   # LogMessage views
            print(msg.group, msg.prefix, msg.indev, bytes(msg.payload))
        print(log.stats)          # messages, sequence gaps, overruns, kernel drops

    kernel batch (one datagram)       Log                               you
    --------------------------        ---------------------------       ---------------
    PACKET PACKET ... DONE  -->  recvmmsg: up to N datagrams per call
    PACKET ... DONE         -->  LogReader.feed: views, seq gaps  -->  messages() / batches()
                                                                        run(callback)
                                                                        async for ... amessages()

Requests (bind, unbind, parameters, ``PF_BIND``) go through the one
conversation, :class:`netring.conn.Connection` (``begin`` + ``recv_chunk`` +
``absorb``: the reply rule decides what is the ACK; log datagrams arriving
meanwhile are kept and delivered first).  Packets are received with
``recvmmsg`` (:class:`netring._sys.MMsgBatch`) into slots allocated once, each
as large as the largest datagram the groups can send
(:func:`~netring.subsystems.nfnetlink.log.reader.datagram_bound`); over a
connection without a socket (:class:`netring.testing.FakeSocket`) one datagram
per receive.

Zero copy and lifetimes: the messages and batches yielded are views into the
receive slots, **valid until the iterator is advanced past the datagrams of
one receive**; the simple rule is: use a message before asking for the next
batch, or keep ``msg.copy()`` / ``bytes(msg.payload)``.

Loss is never fatal.  ENOBUFS is counted (``stats.overruns``), and with
``grow`` the receive buffer is doubled (up to ``max_rcvbuf``) and every bound
group's ``nlbufsiz`` too (up to 131072: fewer, fuller datagrams); then
receiving goes on.  What was lost shows as sequence gaps (``stats.seq_gaps``,
per group in ``stats.groups``, and ``msg.gap`` on the first message after a
gap) when ``NFULNL_CFG_F_SEQ`` is on, which it is by default.

Errors from the kernel are named: ``EPERM`` when another socket owns the group
(its port id is read from ``/proc/net/netfilter/nfnetlink_log`` and said),
``EBUSY`` when this socket already bound it, ``ENODEV`` for a group not bound;
``NFULNL_CFG_F_CONNTRACK`` on a kernel without the conntrack glue is a
:class:`~netring.errors.NotSupportedError`.
"""

from __future__ import annotations

import errno as _errno
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator

from .... import _sys
from ...._sys.sigstop import StopOnSignal, wait_or_stop
from ....codec import NETLINK, NLM_F
from ....codec.types import TYPE_CHECKING
from ....conn import Connection
from ....errors import (
    EncodeError,
    NetlinkError,
    NetringError,
    NotSupportedError,
    Overrun,
    TruncatedError,
)
from ....netns import netns_path, run_in_netns
from ....socket import NetlinkSocket
from ..constants import NFPROTO
from ..log.constants import (
    NFULNL_CFG_CMD,
    NFULNL_CFG_F,
    NFULNL_COPY,
    NFULNL_COPY_RANGE_MAX,
    NFULNL_MSG_TYPE_CONFIG,
    NFULNL_NLBUFSIZ_MAX,
)
from ..log.message import LogMessage
from ..log.proc import LogInstance, parse_instances
from ..log.reader import LogReader, LogStats, datagram_bound
from ..log.requests import config_request

if TYPE_CHECKING:
    from collections.abc import Generator

    from ..log.reader import Record
    from ..log.run import Run

__all__ = ["Log", "Batch", "DEFAULT_RCVBUF", "MAX_RCVBUF", "PROC_PATH"]

#: receive buffer asked for by default (``SO_RCVBUFFORCE``; the kernel doubles it).
#: Memory is charged only while datagrams wait, so an idle log costs nothing.
DEFAULT_RCVBUF = 32 << 20
#: the most ``grow`` asks for after overruns
MAX_RCVBUF = 512 << 20
#: bytes of receive slots to allocate in total (the slot count follows the slot size)
SLOT_BUDGET = 4 << 20
#: where the kernel lists the bound groups (read inside the log's namespace)
PROC_PATH = "/proc/thread-self/net/netfilter/nfnetlink_log"
#: seconds a configuration request waits for its ACK
REQUEST_TIMEOUT = 5.0
#: times a configuration request is sent when overruns swallow its answer
REQUEST_TRIES = 4

_ENOBUFS = _errno.ENOBUFS


def _centiseconds(seconds: float) -> int:
    if not seconds >= 0 or seconds == float("inf"):
        raise EncodeError(f"flush timeout {seconds!r}: must be a finite number of seconds >= 0")
    return round(seconds * 100)


class Batch:
    """The log messages of one datagram (one kernel batch), iterated without copying.

    Iterate it for :class:`~netring.subsystems.nfnetlink.log.LogMessage` views, or
    call :meth:`records` for the capture path's tuples; one or the other, once.

    Attributes:
        data: the datagram (a view into a receive slot).
        truncated: the datagram was cut to the slot (its tail was lost; the
            messages that arrived whole are still yielded).
    """

    __slots__ = ("data", "truncated", "_reader", "_it", "_start")

    def __init__(self, data: memoryview, reader: LogReader, truncated: bool) -> None:
        self.data = data
        self.truncated = truncated
        self._reader = reader
        self._it: Iterator[object] | None = None
        self._start = 0

    def __iter__(self) -> Iterator[LogMessage]:
        if self._it is None and not self._start:
            it = self._reader.feed(self.data)
            self._it = it
            return it
        raise EncodeError("a batch is iterated once")

    def records(self) -> Generator[Record, None, None]:
        """:meth:`LogReader.records <netring.subsystems.nfnetlink.log.LogReader.records>`
        of the datagram (offsets into :attr:`data`), after the run :meth:`take_run`
        took if it took one."""
        if self._it is not None:
            raise EncodeError("a batch is iterated once")
        it = self._reader.records(self.data, self._start)
        self._it = it
        return it

    def take_run(self, limit: int | None = None) -> Run | None:
        """The datagram's leading alike messages as columns
        (:meth:`LogReader.take_run <netring.subsystems.nfnetlink.log.LogReader.take_run>`),
        before :meth:`records`, which then yields the rest; at most once."""
        if self._it is not None or self._start:
            raise EncodeError("take_run comes first, once, before records()")
        run = self._reader.take_run(self.data, limit)
        if run is not None:
            self._start = run.end
        return run

    def finish(self) -> None:
        """Walk the messages not taken yet (so they are counted)."""
        if self._it is None:
            self._it = (self._reader.records(self.data, self._start) if self._start
                        else self._reader.feed(self.data))
        for _ in self._it:
            pass


class Log(StopOnSignal):
    """nfnetlink_log over one socket: bind groups, configure, receive.

    Args:
        groups: log groups to bind now (0..65535), with the parameters below.
        netns: namespace name or path to open the socket in (the process stays put).
        copy_mode: ``NFULNL_COPY.PACKET`` (default), ``META`` or ``NONE``.
        copy_range: bytes of each packet to copy (0: all, up to 65531).
        nlbufsiz: bytes of the kernel's batch buffer (``None``: the kernel's,
            about a page); 4096..131072.
        timeout: seconds a batch may wait before the kernel flushes it (``None``:
            the kernel's 1 s); sent in 1/100 s.
        qthresh: messages per batch at most (``None``: the kernel's 100).
        flags: ``NFULNL_CFG_F`` bits; ``SEQ`` (default) numbers each group's
            messages so that losses are counted.
        rcvbuf: receive buffer to ask for (``SO_RCVBUFFORCE``, else ``SO_RCVBUF``
            capped by ``net.core.rmem_max``).
        grow: after an overrun, double the receive buffer and the groups'
            ``nlbufsiz``.
        max_rcvbuf: the most ``grow`` asks for.
        sock: a connection to use instead of opening a socket (e.g. a
            :class:`netring.testing.FakeSocket`); it is closed with the log.

    Attributes:
        stats: every counter (:class:`~netring.subsystems.nfnetlink.log.LogStats`).
        conn: the connection.
        netns: the namespace path (``None``: ours).

    Raises:
        NetlinkError: binding a group failed (``EPERM`` another socket owns it).
        NotSupportedError: ``NFULNL_CFG_F_CONNTRACK`` on a kernel without it.
    """

    def __init__(
        self, groups: Iterable[int] | int = (), *, netns: str | None = None,
        copy_mode: int = NFULNL_COPY.PACKET, copy_range: int = 0,
        nlbufsiz: int | None = None, timeout: float | None = None,
        qthresh: int | None = None, flags: int = NFULNL_CFG_F.SEQ,
        rcvbuf: int = DEFAULT_RCVBUF, grow: bool = True, max_rcvbuf: int = MAX_RCVBUF,
        sock: Connection | None = None,
    ) -> None:
        self.netns = None if netns is None else netns_path(netns)
        #: the parameters every bind() starts from (timeout in 1/100 s)
        self.defaults: dict[str, int | None] = {
            "copy_mode": copy_mode, "copy_range": copy_range, "nlbufsiz": nlbufsiz,
            "timeout": None if timeout is None else _centiseconds(timeout),
            "qthresh": qthresh, "flags": flags}
        self.grow = grow
        self.max_rcvbuf = max_rcvbuf
        self.stats = LogStats()
        self.reader = LogReader(self.stats)
        self._groups: dict[int, dict[str, int | None]] = {}
        self._pf_bound: set[int] = set()
        self._names: dict[int, str] | None = None
        self._names_at = 0.0
        self._batch: _sys.MMsgBatch | None = None
        self._slots: list[bytearray] = []
        self._slot_size = datagram_bound(nlbufsiz, copy_range or NFULNL_COPY_RANGE_MAX)
        self._fd = -1
        if sock is None:
            # requests receive through the socket's own buffer: make it hold any datagram
            sock = NetlinkSocket(NETLINK.NETFILTER, netns=self.netns, rcvbuf=rcvbuf,
                                 bufsize=datagram_bound(NFULNL_NLBUFSIZ_MAX,
                                                        NFULNL_COPY_RANGE_MAX))
        self.conn: Connection = sock
        self._socket = sock if isinstance(sock, NetlinkSocket) else None
        if self._socket is not None:
            self._fd = self._socket.socket.fileno()
            self.stats.rcvbuf = self._socket.rcvbuf
        try:
            for g in [groups] if isinstance(groups, int) else list(groups):
                self.bind(g)
        except BaseException:
            self.close()
            raise

    # -- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        """Close the socket (the kernel unbinds its groups); idempotent."""
        if self._batch is not None:
            self._batch.close()
            self._batch = None
        self.conn.close()

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fileno(self) -> int:
        """The socket's descriptor (readable when a datagram is queued)."""
        return self.conn.fileno()

    @property
    def groups(self) -> list[int]:
        """The groups this log bound, ascending."""
        return sorted(self._groups)

    # -- configuration -------------------------------------------------------------------------
    def _request(self, msg: bytearray, op: str, *, cmd: int | None = None,
                 timeout: float = REQUEST_TIMEOUT) -> None:
        """Send one config request and wait for its ACK, receiving through overruns.

        Log datagrams arriving meanwhile are kept by the connection and delivered
        first by the next receive.  The kernel answers inside ``sendmsg``; when the
        socket's drop counter moved during the send (or an overrun is reported),
        the ACK may be lost with the datagrams: what is queued is taken and, with
        no answer in it, the request is sent again (up to :data:`REQUEST_TRIES`
        times).  A repeated ``BIND`` answered ``EBUSY`` (an ``UNBIND`` answered
        ``ENODEV``) then means the earlier one was done.
        """
        conn = self.conn
        body = memoryview(msg)[16:]
        for attempt in range(REQUEST_TRIES):
            before = conn.drops()
            col = conn.begin(NFULNL_MSG_TYPE_CONFIG, body, NLM_F.REQUEST | NLM_F.ACK, op=op)
            lossy = before is not None and conn.drops() != before
            deadline = time.monotonic() + timeout
            try:
                while not col.done:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(f"{op}: no answer within {timeout} s")
                    try:
                        chunk = conn.recv_chunk(not lossy, None if lossy else left)
                    except Overrun:
                        lossy = True
                        self.stats.overruns += 1
                        continue
                    except TruncatedError:
                        self.stats.truncated += 1
                        continue
                    if chunk is None:  # queue drained, no answer: it was dropped
                        break
                    for _ in conn.absorb(col, chunk):
                        pass  # a config request has no data replies
                else:
                    return
            except NetlinkError as exc:
                if attempt and (
                        (cmd == NFULNL_CFG_CMD.BIND and exc.errno == _errno.EBUSY)
                        or (cmd == NFULNL_CFG_CMD.UNBIND and exc.errno == _errno.ENODEV)):
                    return
                raise
        raise TimeoutError(f"{op}: the answer was lost {REQUEST_TRIES} times "
                           "(the receive buffer keeps overflowing)")

    def _config(self, group: int, op: str, cmd: int | None = None, **params: int | None) -> None:
        msg = config_request(group, cmd=cmd, **params)  # type: ignore[arg-type]
        for attempt in (0, 1):
            try:
                self._request(msg, op, cmd=cmd)
                return
            except NetlinkError as exc:
                if exc.errno == _errno.EAGAIN and attempt == 0:
                    continue  # the kernel loaded the conntrack glue: once more
                raise self._explain(exc, group) from None

    def _explain(self, exc: NetlinkError, group: int) -> NetringError:
        if exc.errno == _errno.EPERM:
            owner = next((i.portid for i in self._instances_or_none() if i.group == group), None)
            who = f"port id {owner}" if owner is not None else "another socket"
            return NetlinkError(exc.errno, exc.op, exc.seq,
                                f"log group {group} is bound by {who}")
        if exc.errno == _errno.EBUSY:
            return NetlinkError(exc.errno, exc.op, exc.seq,
                                f"log group {group} is already bound by this socket")
        if exc.errno == _errno.ENODEV:
            return NetlinkError(exc.errno, exc.op, exc.seq,
                                f"log group {group} is not bound by this socket")
        if exc.errno == _errno.EOPNOTSUPP:
            return NotSupportedError(
                f"{exc.op}: NFULNL_CFG_F_CONNTRACK needs the kernel's nfnetlink conntrack "
                "glue (CONFIG_NETFILTER_NETLINK_GLUE_CT), which this kernel lacks (EOPNOTSUPP)")
        return exc

    def bind(self, group: int, *, copy_mode: int | None = None, copy_range: int | None = None,
             nlbufsiz: int | None = None, timeout: float | None = None,
             qthresh: int | None = None, flags: int | None = None) -> None:
        """Bind log group ``group`` to this socket and configure it in one request.

        Parameters left ``None`` take the log's defaults (the constructor's).

        Raises:
            NetlinkError: ``EPERM`` (another socket owns the group: its port id is
                said), ``EBUSY`` (this socket has it).
            NotSupportedError: ``NFULNL_CFG_F_CONNTRACK`` and the kernel lacks it.
            EncodeError: a parameter out of range.
        """
        if group in self._groups:
            raise EncodeError(f"log group {group} is already bound by this log")
        d = self.defaults
        p: dict[str, int | None] = {
            "copy_mode": d["copy_mode"] if copy_mode is None else copy_mode,
            "copy_range": d["copy_range"] if copy_range is None else copy_range,
            "nlbufsiz": d["nlbufsiz"] if nlbufsiz is None else nlbufsiz,
            "qthresh": d["qthresh"] if qthresh is None else qthresh,
            "flags": d["flags"] if flags is None else flags,
            "timeout": d["timeout"] if timeout is None else _centiseconds(timeout),
        }
        self._fit_slots(p["nlbufsiz"], p["copy_range"])
        self._config(group, f"NFULNL_CFG_CMD_BIND group {group}", NFULNL_CFG_CMD.BIND, **p)
        self._groups[group] = p
        fl = p["flags"] or 0
        # the group's SEQ counter starts at 0 when the instance is made
        self.reader.expect(group, 0 if fl & NFULNL_CFG_F.SEQ else None)
        self.stats.nlbufsiz = max(self.stats.nlbufsiz, p["nlbufsiz"] or 0)

    def configure(self, group: int, *, copy_mode: int | None = None,
                  copy_range: int | None = None, nlbufsiz: int | None = None,
                  timeout: float | None = None, qthresh: int | None = None,
                  flags: int | None = None) -> None:
        """Change parameters of a group this log bound (``None``: unchanged).

        ``flags`` replace the group's flags (the kernel has no mask).  Turning
        ``SEQ`` on for a group that had it off continues its counter where it
        stood, so the next message's number is learnt, not assumed.
        """
        p = self._groups.get(group)
        if p is None:
            raise EncodeError(f"log group {group} is not bound by this log")
        mode = p["copy_mode"] if copy_mode is None and copy_range is not None else copy_mode
        crange = (p["copy_range"] or 0) if copy_range is None else copy_range
        new_nl = nlbufsiz if nlbufsiz is not None else p["nlbufsiz"]
        self._fit_slots(new_nl, crange)
        self._config(group, f"NFULNL_MSG_CONFIG group {group}", None,
                     copy_mode=mode, copy_range=crange if mode is not None else 0,
                     nlbufsiz=nlbufsiz, timeout=None if timeout is None else _centiseconds(timeout),
                     qthresh=qthresh, flags=flags)
        if mode is not None:
            p["copy_mode"], p["copy_range"] = mode, crange
        if nlbufsiz is not None:
            p["nlbufsiz"] = nlbufsiz
            self.stats.nlbufsiz = max(self.stats.nlbufsiz, nlbufsiz)
        if qthresh is not None:
            p["qthresh"] = qthresh
        if timeout is not None:
            p["timeout"] = _centiseconds(timeout)
        if flags is not None:
            if flags & NFULNL_CFG_F.SEQ and not (p["flags"] or 0) & NFULNL_CFG_F.SEQ:
                self.reader.expect(group, None)
            p["flags"] = flags

    def unbind(self, group: int) -> None:
        """Unbind a group this log bound (the kernel flushes its pending batch first)."""
        if group not in self._groups:
            raise EncodeError(f"log group {group} is not bound by this log")
        self._config(group, f"NFULNL_CFG_CMD_UNBIND group {group}", NFULNL_CFG_CMD.UNBIND)
        del self._groups[group]

    def bind_pf(self, family: int = NFPROTO.IPV4) -> None:
        """Make nfnetlink_log the namespace's logger for ``family`` (``PF_BIND``).

        Packets logged without a group of their own (``nf_log_packet`` with no
        logger given: conntrack's invalid-packet logging, for one) then go to
        group 0.  ``/proc/net/netfilter/nf_log`` shows the binding.
        """
        msg = config_request(0, family=family, cmd=NFULNL_CFG_CMD.PF_BIND)
        try:
            self._request(msg, f"NFULNL_CFG_CMD_PF_BIND family {family}")
        except NetlinkError as exc:
            raise self._explain(exc, 0) from None
        self._pf_bound.add(family)

    def unbind_pf(self, family: int = NFPROTO.IPV4) -> None:
        """Stop nfnetlink_log being the namespace's logger for ``family`` (``PF_UNBIND``)."""
        msg = config_request(0, family=family, cmd=NFULNL_CFG_CMD.PF_UNBIND)
        self._request(msg, f"NFULNL_CFG_CMD_PF_UNBIND family {family}")
        self._pf_bound.discard(family)

    # -- what the kernel shows --------------------------------------------------------------------
    def instances(self) -> list[LogInstance]:
        """The groups bound in the log's namespace (``/proc/net/netfilter/nfnetlink_log``),
        by any socket."""
        def read() -> str:
            with open(PROC_PATH) as f:
                return f.read()

        text = read() if self.netns is None else run_in_netns(self.netns, read)
        return parse_instances(text)

    def _instances_or_none(self) -> list[LogInstance]:
        try:
            return self.instances()
        except OSError:
            return []

    def names(self, refresh: bool = False) -> dict[int, str]:
        """Interface names of the log's namespace (ifindex -> name; one link dump, cached)."""
        if self._names is None or refresh:
            from ...rtnetlink.edge import Rtnl

            with Rtnl(self.netns) as rt:
                self._names = dict(rt.names())
            self._names_at = time.monotonic()
        return self._names

    def ifname(self, index: int | None) -> str | None:
        """The name of interface ``index`` (``None`` for ``None``); an index not known
        yet refreshes the names, at most once a second; unknown stays the number."""
        if index is None:
            return None
        names = self.names()
        name = names.get(index)
        if name is None and time.monotonic() - self._names_at >= 1.0:
            name = self.names(refresh=True).get(index)
        return name if name is not None else str(index)

    # -- receiving ----------------------------------------------------------------------------------
    def _fit_slots(self, nlbufsiz: int | None, copy_range: int | None) -> None:
        """Make the receive slots hold the largest datagram these parameters allow."""
        need = datagram_bound(nlbufsiz, copy_range or NFULNL_COPY_RANGE_MAX)
        if need > self._slot_size:
            self._slot_size = need
            if self._batch is not None:
                self._batch.close()
                self._batch = None
                self._slots = []

    def _make_batch(self) -> _sys.MMsgBatch:
        n = max(4, min(64, SLOT_BUDGET // self._slot_size))
        self._slots = [bytearray(self._slot_size) for _ in range(n)]
        self._batch = _sys.MMsgBatch(self._slots, name=True, control=0)
        return self._batch

    def _overrun(self) -> None:
        """ENOBUFS: count it; with ``grow``, double the buffers."""
        self.stats.overruns += 1
        if not self.grow:
            return
        grown = False
        sock = self._socket
        if sock is not None:
            now = sock.rcvbuf // 2  # the kernel reports twice what was asked
            if now < self.max_rcvbuf:
                sock.rcvbuf = min(self.max_rcvbuf, max(now * 2, 1 << 16))
                self.stats.rcvbuf = sock.rcvbuf
                grown = True
        for group, p in self._groups.items():
            cur = p["nlbufsiz"] or 4096
            if cur < NFULNL_NLBUFSIZ_MAX:
                new = min(NFULNL_NLBUFSIZ_MAX, max(cur * 2, 8192))
                self.configure(group, nlbufsiz=new)
                grown = True
        if grown:
            self.stats.grown += 1

    def _receive(self, block: bool, deadline: float | None) -> list[Batch]:
        """The batches of one receive: kept datagrams first, else one ``recvmmsg``."""
        conn = self.conn
        out = self._pending()
        if out:
            return out
        if self._socket is None:
            return self._receive_conn(block, deadline)
        batch = self._batch or self._make_batch()
        fd = self._fd
        flags = _sys.MSG_WAITFORONE | _sys.MSG_DONTWAIT
        while True:
            try:
                got = batch.recv(fd, flags)
            except OSError as exc:
                if exc.errno != _ENOBUFS:
                    raise
                conn.overruns += 1
                self._overrun()
                out = self._pending()  # what arrived while the buffers were grown
                if out:
                    return out
                batch = self._batch or self._make_batch()
                continue
            if got:
                for i in range(got):
                    if _sys.nl_address(batch, i)[0] != 0:
                        self.stats.other += 1  # only the kernel sends log datagrams
                        continue
                    out.append(self._batch_of(batch.view(i), batch.truncated(i)))
                if out:
                    return out
                continue
            if not block:
                return out
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return out
            if not wait_or_stop(fd, left, self._stop) and self._stop_requested():
                return out  # stop_on_signal: the caller's loop ends

    def _pending(self) -> list[Batch]:
        """The log messages the connection kept while a request waited (copies)."""
        out: list[Batch] = []
        try:
            for m in self.conn.take_pending():
                out.append(self._batch_of(m.data, False))
        except Overrun:  # more were kept than the connection holds: they are lost
            self.stats.overruns += 1
        return out

    def _receive_conn(self, block: bool, deadline: float | None) -> list[Batch]:
        """One datagram from a connection without a socket (a fake)."""
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                chunk = self.conn.recv_chunk(block, left)
            except Overrun:
                self._overrun()
                out = self._pending()
                if out:
                    return out
                continue
            except TimeoutError:
                return []
            if chunk is None:
                return []
            if chunk.sender != 0 or chunk.group:
                self.stats.other += 1
                continue
            return [self._batch_of(chunk.data, False)]

    def _batch_of(self, data: memoryview, truncated: bool) -> Batch:
        if truncated:
            self.stats.truncated += 1
            self._slot_size *= 2  # the next receive gets slots that fit
            if self._batch is not None:
                self._batch.close()
                self._batch = None
            data = data[:_whole(data)]
        return Batch(data, self.reader, truncated)

    def batches(self, *, timeout: float | None = None,
                idle: float | None = None) -> Iterator[Batch]:
        """Yield the received datagrams as :class:`Batch` es, until ``timeout``
        seconds in all or ``idle`` seconds without a datagram (``None``: never).

        A batch's messages not taken are walked (and counted) when the next batch
        is asked for.  Views are valid until then (see the module docstring).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait_until = deadline
            if idle is not None:
                until_idle = time.monotonic() + idle
                wait_until = until_idle if deadline is None else min(deadline, until_idle)
            got = self._receive(True, wait_until)
            if not got:
                if self._stop_requested():
                    return
                if wait_until is not None and time.monotonic() >= wait_until:
                    return
                continue
            for b in got:
                yield b
                b.finish()
            if self._stop_requested():
                return  # stop_on_signal: after the datagrams in hand

    def messages(self, *, count: int | None = None, timeout: float | None = None,
                 idle: float | None = None) -> Iterator[LogMessage]:
        """Yield log messages: ``count`` of them, or until ``timeout`` seconds in all
        or ``idle`` seconds without any (``None``: no limit).

        Views are valid until the next message is asked for the safe rule; see
        the module docstring.
        """
        if count is not None and count <= 0:
            return
        seen = 0
        for b in self.batches(timeout=timeout, idle=idle):
            for msg in b:
                yield msg
                seen += 1
                if count is not None and seen >= count:
                    b.finish()
                    return

    def run(self, callback: Callable[[LogMessage], object], *, count: int | None = None,
            timeout: float | None = None, idle: float | None = None) -> int:
        """Call ``callback(msg)`` for each message (stops early when it returns
        ``False``); returns how many messages it was given."""
        n = 0
        for msg in self.messages(count=count, timeout=timeout, idle=idle):
            n += 1
            if callback(msg) is False:
                break
        return n

    async def amessages(self, *, count: int | None = None,
                        timeout: float | None = None) -> AsyncIterator[LogMessage]:
        """``async for`` over log messages (asyncio; ``loop.add_reader``, no thread).

        Same views and lifetimes as :meth:`messages`; stops after ``count``
        messages or ``timeout`` seconds.
        """
        import asyncio

        from ....aio import readable

        deadline = None if timeout is None else time.monotonic() + timeout
        seen = 0
        while count is None or seen < count:
            got = self._receive(False, None)
            if not got:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                try:
                    async with asyncio.timeout(left):
                        await readable(self)
                except TimeoutError:
                    return
                continue
            for b in got:
                for msg in b:
                    yield msg
                    seen += 1
                    if count is not None and seen >= count:
                        b.finish()
                        return

    def refresh_stats(self) -> LogStats:
        """The statistics, with the kernel's drop counter and buffer sizes read now."""
        st = self.stats
        st.drops = self.conn.drops()
        if self._socket is not None and not self._socket.closed:
            st.rcvbuf = self._socket.rcvbuf
        return st


def _whole(data: memoryview) -> int:
    """Bytes of the messages of a truncated datagram that arrived whole."""
    from ....codec.structs import u32

    end = len(data)
    off = 0
    while end - off >= 16:
        n = int(u32.unpack_from(data, off)[0])
        if n < 16 or n > end - off:
            break
        off += (n + 3) & ~3
    return min(off, end)
