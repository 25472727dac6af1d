#!/usr/bin/env python3
"""Message walk benchmark: netring.codec.iter_messages vs naive loops (see netring.tools.bench.codec)."""

import sys

from netring.tools.bench.codec import run

if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
