#!/usr/bin/env python3
"""Route dump benchmark: netring typed views vs ip -4 route show vs pyroute2
(see netring.tools.bench.dump).  Needs root.  ``--quick``: 100k routes instead of 1M."""

import sys

from netring.tools.bench.dump import run

if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
