#!/usr/bin/env python3
"""io_uring ring benchmark: 64-byte USERSOCK messages between two processes, a drain
of waiting messages and a route dump, each through the io_uring ring, the recvmmsg
filler and plain recv_into, with io_uring_enter calls per 1000 messages (see
netring.tools.bench._uring; also the last section of ``netring bench ring``).
Needs root.  ``--quick``: smaller sizes."""

import sys

from netring.tools.bench._uring import run

if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
