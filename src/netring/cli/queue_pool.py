"""``netring queue --workers W [--fanout flow|rr]``: the verdict is given in W worker
processes behind the one queue socket (:class:`~netring.subsystems.nfnetlink.edge.pool.QueuePool`).

The command line's own loop (``netring queue``, :mod:`.queue`) binds the queue, prints
the live line and the summary; this module only runs the pool in its place and adds
the pool's line (verdicts per worker, batch and single verdict messages, dead-worker
verdicts) to the summary.
"""

from __future__ import annotations

import argparse
import sys
import time

from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from ..subsystems.nfnetlink.edge.queue import Queue

__all__ = ["run_pool", "conflict", "CONFLICTS"]

#: options that need every packet in the command's own process
CONFLICTS = (("json", "--json"), ("write", "-w"))


def conflict(args: argparse.Namespace) -> str | None:
    """The one-line complaint when ``--workers`` comes with an option it cannot serve."""
    bad = [flag for name, flag in CONFLICTS if getattr(args, name, None)]
    if args.workers and bad:
        return (f"--workers cannot be combined with {' or '.join(bad)}: the packets are "
                "handled in the worker processes")
    return None


def run_pool(q: Queue, args: argparse.Namespace, verdict: int, live: bool, every: float,
             lines: list[str]) -> None:
    """Give every packet ``verdict`` (and ``--mark``) in ``args.workers`` workers until
    ``--count`` packets or ``--timeout``; refresh the live line every ``every`` seconds
    when ``live``; append the pool's summary line to ``lines`` (also when interrupted)."""
    from ..subsystems.nfnetlink.edge.pool import QueuePool
    from ..subsystems.nfnetlink.queue.pool import pool_line
    from ..subsystems.nfnetlink.queue.stats import stats_line

    result: object = verdict if args.mark is None else (verdict, args.mark)

    def callback(pkt: object) -> object:
        return result

    pool = QueuePool(q, callback, workers=args.workers, fanout=args.fanout)
    try:
        pool.start()
        if not live:
            pool.run(count=args.count, timeout=args.timeout, handle_signals=False)
            return
        start = time.monotonic()
        deadline = None if args.timeout is None else start + args.timeout
        left = args.count
        while left is None or left > 0:
            step = every if deadline is None else min(every, deadline - time.monotonic())
            if step <= 0:
                break
            got = pool.run(count=left, timeout=step, handle_signals=False)
            left = None if left is None else left - got
            sys.stderr.write("\r\x1b[K" + stats_line(q.stats(), time.monotonic() - start)
                             + "; " + pool_line(pool.stats(kernel=False)))
            sys.stderr.flush()
    finally:
        pool.close()
        lines.append(pool_line(pool.stats(kernel=False)))
