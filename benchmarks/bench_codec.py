#!/usr/bin/env python3
"""Message walk benchmark: netring.codec.iter_messages vs naive loops (see netring.bench.codec)."""

import sys

from netring.bench.codec import run

if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
