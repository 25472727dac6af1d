"""The owner's data path of a :class:`~.pool.QueuePool`: :class:`PoolDispatch`, a part
of ``QueuePool``: packets out to the workers, verdicts back to the queue.

::

    Queue.recv_batch --> _take: the batch held (its verdicts come from the workers),
                         each packet a key (queue << 32 | id) and a message view;
                         oversize ones and those with no live worker: the policy
                         --> a slot per packet: flow hash % live workers (or the
                             fanout function), or round-robin over those with room
    _dispatch/_send  --> as many messages per packet frame as fit, back to back,
                         never more than depth in flight per worker; the rest waits
                         in the queue's receive slots (no copy), never blocking
    _collect         <-- every worker's ready verdict frames, each record checked
                         against what that worker holds (a foreign or malformed one
                         kills it), merged in id order, handed to the queue's Batcher
                         (most extend the completed prefix: one VERDICT_BATCH)

Methods of the one ``QueuePool`` class (no per-packet call through another
object); this module keeps them apart from the workers' lifecycle
(:mod:`.pool_slots`) and the loop (:mod:`.pool`).
"""

from __future__ import annotations

import signal
import time

from ....codec.types import TYPE_CHECKING
from ....errors import DecodeError, EncodeError
from ....strided import copy_strided
from ..queue.pool import decode_verdicts, plain_verdicts

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from ..queue.flow import MessageFlows
    from ..queue.pool import PoolStats, VerdictRecord
    from .pool_slot import _Slot
    from .queue import Queue

__all__ = ["PoolDispatch", "COLLECT_FRAMES"]

#: verdict frames the owner reads from one worker per round
COLLECT_FRAMES = 64


class PoolDispatch:
    """Fanout, flow control and verdict collection of a :class:`~.pool.QueuePool` (a
    mixin: the state it reads is set up by ``QueuePool.__init__``)."""

    queue: Queue
    fanout: str
    depth: int
    policy: int
    _key: Callable[[memoryview], int] | None
    _flows: MessageFlows
    _frame_data: int
    _slots: list[_Slot]
    _stats: PoolStats
    _msgs: list[memoryview] | None
    _batch: Any
    _keys: list[int]
    _hashes: list[int]
    _rr_pending: list[int]
    _strided: tuple[memoryview, int] | None
    _alike: int
    _pending: int
    _rr: int

    def _live(self) -> list[_Slot]:
        return [s for s in self._slots if s.alive and not s.ending]

    # -- verdicts from workers ------------------------------------------------------------
    def _collect(self, only: _Slot | None = None) -> int:
        """Every verdict the workers (or ``only``) have sent so far, checked, then
        handed to the queue's batcher in packet id order: the workers' streams merged,
        most of them extend the completed prefix at once (no system call: each ring's
        ready frames are read in runs and released together).  A frame of plain
        verdicts with the batch's verdict (a worker accepting what it got) is checked
        and recorded as one column of ids, with no Python step per packet beyond
        building its keys."""
        q = self.queue
        b = q.batcher
        got: list[VerdictRecord] = []
        runs: dict[int, list[int]] = {}  # queue -> ids given the batch's verdict
        plain = b.verdict if b.mark is None else -1  # with a batch mark, records go alone
        for s in (self._slots if only is None else (only,)):
            if s.v_ring is not None:
                for view in s.v_ring.rx.iter_data(COLLECT_FRAMES):
                    self._check_records(s, view, got, runs, plain)
        if not got and not runs:
            return 0
        refused = 0
        taken = 0
        for queue, ids in runs.items():
            ids.sort()  # the workers' runs merged in id order (a wrap at 2**32 only costs batching)
            refused += b.complete_batched(queue, ids)
            taken += len(ids)
        if got:
            got.sort()  # (queue, id, ...): each queue's ids in order
            if q.writer.room < 40 * len(got) + 256:
                q.flush(force=False)  # room for every record's message, if it goes alone
            complete = b.complete
            for queue, pid, verdict, mark, extra in got:
                try:
                    if extra is None:
                        if mark is None:
                            complete(queue, pid, verdict)
                        else:
                            complete(queue, pid, verdict, mark=mark)
                    else:
                        q.set_verdict(queue, pid, verdict, mark=mark, connmark=extra.connmark,
                                      labels=extra.labels, payload=extra.payload,
                                      fix_checksums=False)
                except EncodeError:
                    refused += 1  # the queue no longer waits for it (unbound meanwhile)
            taken += len(got)
        if refused:
            self._stats.bad_verdicts += refused
        return taken - refused

    def _check_records(self, s: _Slot, data: memoryview, out: list[VerdictRecord],
                       runs: dict[int, list[int]], plain: int) -> None:
        """One verdict frame of worker ``s``: every record must be for a packet given to
        it and still without a verdict; the good ones go to ``out``, or, for a frame of
        plain records with verdict ``plain`` for one queue, their ids to ``runs``."""
        run = plain_verdicts(data)
        if run is not None and run[1] == plain:
            queue, _v, ids = run
            qb = queue << 32
            keys = [qb | i for i in ids]
            inflight = s.inflight
            if inflight.issuperset(keys):
                before = len(inflight)
                inflight.difference_update(keys)
                repeats = len(keys) - (before - len(inflight))  # an id twice: foreign
                runs.setdefault(queue, []).extend(list(dict.fromkeys(ids)) if repeats else ids)
                s.stats.verdicts += len(keys) - repeats
                s.progress = time.monotonic()
                if repeats:
                    self._stats.bad_verdicts += repeats
                    self._misbehaved(s)
                return
        try:
            recs = decode_verdicts(data)
        except DecodeError:
            self._stats.bad_verdicts += 1
            self._misbehaved(s)
            return
        inflight = s.inflight
        remove = inflight.remove
        foreign = 0
        for r in recs:
            try:
                remove(r[0] << 32 | r[1])
            except KeyError:
                foreign += 1  # not a packet this worker holds
                continue
            out.append(r)
        s.stats.verdicts += len(recs) - foreign
        s.progress = time.monotonic()
        if foreign:
            self._stats.bad_verdicts += foreign
            self._misbehaved(s)

    def _misbehaved(self, s: _Slot) -> None:
        """A worker wrote what no worker of this pool writes: stop it (its packets
        get the policy verdict when it is reaped)."""
        if s.alive:
            signal.pidfd_send_signal(s.pidfd, signal.SIGKILL)  # reaped by the next check

    # -- packets to workers ----------------------------------------------------------------
    def _capacity(self) -> int:
        depth = self.depth
        return sum(depth - len(s.inflight) for s in self._slots if s.alive and not s.ending)

    def _take(self, batch: Any) -> None:
        """Keep a received batch's packets for the workers and hand out what fits."""
        n = len(batch)
        ids = batch.ids
        qs = batch.queues
        batch.hold()  # their verdicts come from the workers
        if qs is None:
            base = batch.queue << 32
            keys = [base | i for i in ids]
        else:
            keys = [qq << 32 | i for qq, i in zip(qs, ids, strict=True)]
        self._stats.packets += n
        self._batch = batch
        self._msgs = None  # the messages' views, made when a copy or a hash needs them
        self._keys = keys
        order: list[int] | range = range(n)
        ds = self._frame_data
        lens = batch.lengths()
        longest = max(lens)
        # all alike and in the receive slots: runs of them go into frames in bulk
        self._strided = batch.strided if min(lens) == longest else None
        self._alike = longest
        if longest > ds:
            order = [i for i in order if lens[i] <= ds]
            for i in set(range(n)) - set(order):
                self._policy(keys[i])
                self._stats.oversize += 1
        live = self._live()
        if not live:
            for i in order:
                self._policy(keys[i])
            self._stats.no_worker += len(order)
            return
        self._pending = len(order)
        if self.fanout == "rr":
            self._rr_pending = list(order)
        else:
            nl = len(live)
            if nl == 1:
                live[0].pending.extend(order)
                self._hashes = []
            else:
                got: list[int] | None = None
                if self._key is None and self._strided is not None:
                    # one length, in the receive slots: the hashes of the batch in bulk
                    got = self._flows.hashes(self._strided[0], self._strided[1], n, longest)
                if got is not None:
                    hashes = got
                elif self._key is not None:
                    hashes = list(map(self._key, self._messages()))
                else:
                    h = self._flows.hash
                    hashes = [h(m, len(m)) for m in self._messages()]
                self._hashes = hashes
                for i in order:
                    live[hashes[i] % nl].pending.append(i)
        self._dispatch()

    def _remap(self, dead: _Slot) -> None:
        """The pending packets of a slot left empty go to the slots still alive."""
        pend, dead.pending = dead.pending, []
        if not pend:
            return
        live = self._live()
        if not live:
            for i in pend:
                self._policy(self._keys[i])
            self._stats.no_worker += len(pend)
            self._pending -= len(pend)
            return
        hashes = self._hashes
        for i in pend:
            live[(hashes[i] if hashes else 0) % len(live)].pending.append(i)

    def _dispatch(self) -> int:
        """Write what fits of the pending packets into their workers' rings."""
        sent = 0
        depth = self.depth
        if self.fanout == "rr":
            pend = self._rr_pending
            live = self._live()
            nl = len(live)
            if not nl or not pend:
                return 0
            rooms = [depth - len(s.inflight) for s in live]
            k = len(pend)
            r = self._rr % nl
            lists: list[list[int]] = [[] for _ in live]
            if min(rooms) * nl >= k:  # every worker takes its share, one run of ids each
                size, extra = divmod(k, nl)
                at = 0
                for j in range(nl):
                    w = (r + j) % nl
                    take = size + (j < extra)
                    lists[w] = pend[at:at + take]
                    at += take
                self._rr = (r + extra) % nl
                rest: list[int] = []
            else:  # by turns, skipping the full ones
                left = sum(rooms)
                j = r
                taken = 0
                while taken < k and left:
                    w = j % nl
                    j += 1
                    if rooms[w]:
                        rooms[w] -= 1
                        left -= 1
                        lists[w].append(pend[taken])
                        taken += 1
                self._rr = j % nl
                rest = pend[taken:]
            unsent: list[int] = []
            for s, idx in zip(live, lists, strict=True):
                if idx:
                    got = self._send(s, idx)
                    sent += got
                    if got < len(idx):
                        unsent.extend(idx[got:])
            self._rr_pending = sorted(unsent + rest) if unsent else rest
        else:
            for s in self._slots:
                pend = s.pending
                if pend and s.alive and not s.ending:
                    room = depth - len(s.inflight)
                    if room > 0:
                        got = self._send(s, pend[:room] if room < len(pend) else pend)
                        if got:
                            del pend[:got]
                            sent += got
        self._pending -= sent
        return sent

    def _send(self, s: _Slot, idx: Sequence[int]) -> int:
        """Copy the packets ``idx`` into worker ``s``'s ring, as many per frame as fit
        (back to back, each at a 4-byte aligned offset); returns how many went in.
        Consecutive packets of one length in the receive slots fill a frame with one
        strided copy (:func:`~netring.strided.copy_strided`), no Python step each."""
        keys = self._keys
        ds = self._frame_data
        writer = s.rx_writer
        n = len(idx)
        strided = self._strided if self._strided is not None and idx[-1] - idx[0] == n - 1 \
            else None
        msgs = None if strided is not None else self._messages()
        size = step = per_frame = 0
        if strided is not None:
            size = self._alike
            step = (size + 3) & ~3
            per_frame = 1 + (ds - size) // step
        sent = 0
        while sent < n:
            view = writer.frame(wait=False)  # the next free frame's data area, reserved
            if view is None:  # frames it has not released yet
                self._stats.ring_full += 1
                break
            if strided is not None:
                src, stride = strided
                at = idx[sent]
                k = min(n, sent + per_frame)
                copy_strided(view, 0, step, src, at * stride, stride, size, k - sent)
                end = (k - sent - 1) * step + size
                taken = keys[at:at + k - sent]
            else:
                assert msgs is not None
                o = end = 0
                k = sent
                while k < n:
                    m = msgs[idx[k]]
                    ln = len(m)
                    if o + ln > ds:
                        break
                    view[o:o + ln] = m
                    end = o + ln
                    o = (end + 3) & ~3
                    k += 1
                taken = [keys[i] for i in idx[sent:k]]
            writer.commit(end)
            if not s.inflight:
                s.progress = time.monotonic()
            s.inflight.update(taken)
            sent = k
        if sent:
            s.stats.packets += sent
            self._stats.dispatched += sent
        return sent

    def _messages(self) -> list[memoryview]:
        """The held batch's messages (zero copy; made once per batch)."""
        msgs = self._msgs
        if msgs is None:
            assert self._batch is not None
            msgs = self._msgs = self._batch.messages()
        return msgs

    def _policy(self, key: int) -> None:
        try:
            self.queue.set_verdict(key >> 32, key & 0xFFFFFFFF, self.policy)
        except EncodeError:
            self._stats.bad_verdicts += 1

    def _policy_pending(self) -> None:
        """Packets still waiting in the owner (no worker took them): the policy."""
        if not self._pending:
            return
        idx = list(self._rr_pending)
        self._rr_pending = []
        for s in self._slots:
            idx.extend(s.pending)
            s.pending = []
        for i in idx:
            self._policy(self._keys[i])
        self._stats.no_worker += len(idx)
        self._pending = 0
