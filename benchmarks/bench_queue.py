#!/usr/bin/env python3
"""nfnetlink_queue accept-all benchmark: one consumer (C reference, C batch-64,
NetfilterQueue, netring's NetfilterQueue drop-in, fnfqueue, raw Python, netring)
behind iptables -j NFQUEUE in a private namespace, 64- and 1400-byte UDP;
verdicts/s, verdicts per consumer CPU-second, kernel drops, latency at 1k pkt/s
(see netring.tools.bench.queue).  Needs root and gcc; the peers go into a cache
venv.  ``--quick``: smaller runs; ``--only KEY,KEY``: those consumers (keys of
netring.tools.bench.queue.CONSUMERS); ``--rounds N``: interleaved rounds."""

import argparse

from netring.tools.bench.queue import CONSUMERS, run

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs, for a fast look")
    ap.add_argument("--only", help="comma-separated consumer keys: "
                    + ", ".join(c.key for c in CONSUMERS))
    ap.add_argument("--rounds", type=int, help="interleaved rounds per consumer (best kept)")
    args = ap.parse_args()
    only = [k for k in args.only.split(",") if k] if args.only else None
    unknown = sorted(set(only or ()) - {c.key for c in CONSUMERS})
    if unknown:
        ap.error(f"unknown consumer keys: {', '.join(unknown)}")
    run(quick=args.quick, rounds=args.rounds, only=only)
