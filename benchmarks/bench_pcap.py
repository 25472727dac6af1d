#!/usr/bin/env python3
"""Capture-file writing: netring's PcapWriter / PcapngWriter against a naive writer.

N packets of 64 bytes (default 1,000,000; ``--quick``: 200,000), nanosecond
stamps 1 µs apart, written

* to a sink: an object whose ``write`` only returns the length (the formats'
  own cost), and
* to a real file (an unbuffered ``FileIO`` in a temporary directory; the
  writers buffer 1 MiB themselves, the naive writer gets Python's buffered file),

per packet (``write``; for pcapng also with ``direction=``, the one option a
capture writes, as an epb_flags word) and in batches of 1024 packets (``write_many``, one list
per batch as a capture drain loop would hand over a ring block).  The naive
baseline packs each record header with ``struct.pack`` and writes header and data
with two ``file.write`` calls, as simple pcap writers do.  The files written are
then read back with ``read_capture`` (records/s).

Run: ``python benchmarks/bench_pcap.py [--quick]`` (no root needed).
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from netring.pcap import LINKTYPE, PCAPNG_EPB_DIRECTION, PcapngWriter, PcapWriter, read_capture
from netring.pcap.format import PCAP_MAGIC_NS, PCAP_VERSION
from netring.tools.bench._common import command_line, machine, machine_line, print_table

PKT = bytes(range(64))
TS0 = 1_700_000_000_000_000_000
BATCH = 1024


class Sink:
    """A file object that keeps nothing."""

    def write(self, data: Any) -> int:
        return len(data)


def naive(f: Any, n: int) -> None:
    f.write(struct.pack("=IHHiIII", PCAP_MAGIC_NS, *PCAP_VERSION, 0, 0, 262144, 1))
    hdr = struct.Struct("=IIII")
    for i in range(n):
        sec, frac = divmod(TS0 + i * 1000, 1_000_000_000)
        f.write(hdr.pack(sec, frac, len(PKT), len(PKT)))
        f.write(PKT)


def pcap_write(f: Any, n: int) -> None:
    with PcapWriter(f, LINKTYPE.ETHERNET) as w:
        write = w.write
        for i in range(n):
            write(PKT, TS0 + i * 1000)


def pcapng_write(f: Any, n: int) -> None:
    with PcapngWriter(f) as w:
        w.add_interface(LINKTYPE.ETHERNET)
        write = w.write
        for i in range(n):
            write(PKT, TS0 + i * 1000)


def pcapng_write_direction(f: Any, n: int) -> None:
    with PcapngWriter(f) as w:
        w.add_interface(LINKTYPE.ETHERNET)
        write = w.write
        inbound = PCAPNG_EPB_DIRECTION.INBOUND
        for i in range(n):
            write(PKT, TS0 + i * 1000, None, 0, direction=inbound)


def _batches(n: int) -> list[list[tuple[bytes, int, None]]]:
    # a few distinct batches, reused: the stamps repeat, which changes no cost
    return [[(PKT, TS0 + (b * BATCH + i) * 1000, None) for i in range(BATCH)] for b in range(8)]


def pcap_many(f: Any, n: int, batches: list[list[tuple[bytes, int, None]]]) -> None:
    with PcapWriter(f, LINKTYPE.ETHERNET) as w:
        for b in range(n // BATCH):
            w.write_many(batches[b % len(batches)])
        w.write_many(batches[0][:n % BATCH])


def pcapng_many(f: Any, n: int, batches: list[list[tuple[bytes, int, None]]]) -> None:
    with PcapngWriter(f) as w:
        w.add_interface(LINKTYPE.ETHERNET)
        for b in range(n // BATCH):
            w.write_many(batches[b % len(batches)])
        w.write_many(batches[0][:n % BATCH])


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(quick: bool = False) -> dict[str, Any]:
    n = 200_000 if quick else 1_000_000
    batches = _batches(n)
    variants: list[tuple[str, Callable[[Any], None], bool]] = [
        ("naive: struct.pack + 2 writes per packet", lambda f: naive(f, n), False),
        ("netring PcapWriter.write", lambda f: pcap_write(f, n), True),
        ("netring PcapWriter.write_many (1024/batch)", lambda f: pcap_many(f, n, batches), True),
        ("netring PcapngWriter.write", lambda f: pcapng_write(f, n), True),
        ("netring PcapngWriter.write(direction=) (epb_flags)",
         lambda f: pcapng_write_direction(f, n), True),
        ("netring PcapngWriter.write_many (1024/batch)", lambda f: pcapng_many(f, n, batches),
         True),
    ]
    rows = []
    result: dict[str, Any] = {"packets": n, "size": len(PKT), "variants": {}}
    base: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn, raw in variants:
            sink_s = timed(lambda fn=fn: fn(Sink()))
            path = os.path.join(tmp, "out")
            with open(path, "wb", buffering=0 if raw else -1) as f:
                file_s = timed(lambda fn=fn, f=f: fn(f))
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                data = f.read()
            read_s = timed(lambda data=data: sum(1 for _ in read_capture(data)))
            base.setdefault("sink", sink_s)
            base.setdefault("file", file_s)
            rates = (n / sink_s, n / file_s, n / read_s)
            result["variants"][name] = {"sink_pps": rates[0], "file_pps": rates[1],
                                        "read_rps": rates[2], "file_bytes": size}
            rows.append([name, f"{rates[0] / 1e6:.2f} M/s", f"{base['sink'] / sink_s:.2f}x",
                         f"{rates[1] / 1e6:.2f} M/s", f"{size / file_s / 2**20:.0f} MiB/s",
                         f"{base['file'] / file_s:.2f}x", f"{rates[2] / 1e6:.2f} M/s"])
    print_table(sys.stdout, f"Writing {n:,} packets of {len(PKT)} bytes", rows,
                ["variant", "to sink", "vs naive", "to file", "file MiB/s", "vs naive",
                 "read back"], first=True)
    result["command"] = command_line()
    result["machine"] = machine()
    print(f"\ncommand: {result['command']}")
    print(f"machine: {machine_line(result['machine'])}")
    return result


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
