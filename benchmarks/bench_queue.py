#!/usr/bin/env python3
"""nfnetlink_queue accept-all benchmark: one consumer (C reference, C batch-64,
NetfilterQueue, fnfqueue, raw Python, netring) behind iptables -j NFQUEUE in a
private namespace, 64- and 1400-byte UDP; verdicts/s, verdicts per consumer
CPU-second, kernel drops, latency at 1k pkt/s (see netring.tools.bench.queue).
Needs root and gcc; the peers go into a cache venv.  ``--quick``: smaller runs."""

import sys

from netring.tools.bench.queue import run

if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
