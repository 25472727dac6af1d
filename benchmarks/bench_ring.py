#!/usr/bin/env python3
"""Ring benchmark: 64-byte messages between two processes through a ring (fed from a
USERSOCK socket, or written directly by the peer with RingWriter, no socket) vs plain
netlink recv, a unix datagram socket and multiprocessing.Queue, plus a route dump
through a ring vs plain recv (see netring.tools.bench.ring).  Needs root.  ``--quick``:
smaller sizes."""

import sys

from netring.tools.bench.ring import run

if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
