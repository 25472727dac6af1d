#!/usr/bin/env python3
"""USERSOCK receive benchmark: recv vs recvmmsg batches (see netring.tools.bench.recvmmsg)."""

import sys

from netring.tools.bench.recvmmsg import run

if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
