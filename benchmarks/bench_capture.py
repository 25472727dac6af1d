#!/usr/bin/env python3
"""AF_PACKET capture and transmit benchmark: netring's V3 ring (count-only, per packet,
pcap/pcapng files, ``netring capture -w``) beside tcpdump, pcapy-ng and scapy on a veth
pair in a private namespace; drain ceiling and live loss; TX ring vs sendmmsg, qdisc
bypass vs a pfifo qdisc; two fanout members vs one (see netring.tools.bench.capture).
Needs root and gcc; the peers go into a cache venv.  ``--quick``: 200k frames."""

import sys

from netring.tools.bench.capture import run

if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
