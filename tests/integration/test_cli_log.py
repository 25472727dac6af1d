"""``netring log`` against the real kernel: lines, JSON, exit statuses, one-line errors,
and capture files read back by tshark with the same payloads and prefixes."""

from __future__ import annotations

import json
import select
import shutil
import socket
import subprocess
import sys
import time
from typing import Any

import pytest
from nsutil import Netns, sh

from netring.netns import run_in_netns
from netring.subsystems.nfnetlink.edge.log import Log

pytestmark = pytest.mark.skipif(shutil.which("nft") is None, reason="needs nft to add log rules")

RULES = """table inet t {
  chain out { type filter hook output priority 0; udp dport 7101 log group 31 prefix "first: "
              udp dport 7102 log group 32 prefix "second: " ; }
}
"""


def _setup(ns: Netns) -> None:
    sh("ip", "netns", "exec", ns.name, "nft", "-f", "-", input=RULES)


def _netring(*args: str, timeout: float = 60) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "netring", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_bound(ns: Netns, groups: set[int], timeout: float = 20) -> None:
    """Until the command has bound its groups (the kernel lists them)."""
    deadline = time.monotonic() + timeout
    with Log(netns=ns.name) as probe:
        while time.monotonic() < deadline:
            if groups <= {i.group for i in probe.instances()}:
                return
            time.sleep(0.05)
    raise AssertionError(f"groups {groups} never bound")


def _send(ns: Netns, packets: list[tuple[int, bytes]], v6: bool = False) -> None:
    def run() -> None:
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        for port, data in packets:
            s.sendto(data, ("::1" if v6 else "127.0.0.1", port))
        s.close()
    run_in_netns(ns.path, run)


def _run(ns: Netns, args: list[str], packets: list[tuple[int, bytes]], groups: set[int],
         v6_packets: list[tuple[int, bytes]] | None = None,
         timeout: float = 60) -> tuple[int, str, str]:
    proc = _netring("log", "--netns", ns.name, *args)
    try:
        _wait_bound(ns, groups)
        _send(ns, packets)
        if v6_packets:
            _send(ns, v6_packets, v6=True)
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err


def test_text_lines_and_exit_after_count(netns: Netns) -> None:
    _setup(netns)
    rc, out, err = _run(netns, ["-g", "31,32", "-c", "3"],
                        [(7101, b"a" * 10), (7102, b"b" * 20), (7101, b"c" * 30)], {31, 32})
    assert rc == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    by_group = sorted(lines, key=lambda ln: ln.split()[1])
    assert 'nflog:31 "first: " IN= OUT=lo UID=0 GID=0 IP 127.0.0.1.' in by_group[0]
    assert by_group[0].endswith("> 127.0.0.1.7101: UDP, length 10") or \
        by_group[1].endswith("> 127.0.0.1.7101: UDP, length 30")
    assert any('"second: "' in ln and ln.endswith("UDP, length 20") for ln in lines)
    assert err.startswith("netring log: 3 packets") and "0 lost (sequence gaps)" in err


def test_json_and_exit_at_the_timeout(netns: Netns) -> None:
    _setup(netns)
    rc, out, err = _run(netns, ["-g", "31", "--json", "--timeout", "2", "-s", "32"],
                        [(7101, b"j" * 50)], {31})
    assert rc == 0, err
    [d] = [json.loads(ln) for ln in out.splitlines()]
    assert d["group"] == 31 and d["prefix"] == "first: " and d["outdev"] == "lo"
    assert d["payload_len"] == 32 and d["ip"]["dport"] == 7101 and d["ip"]["length"] == 78
    assert d["seq"] == 0 and isinstance(d["ts_ns"], int)


def test_one_line_errors(netns: Netns) -> None:
    with Log(33, netns=netns.name) as holder:
        proc = subprocess.run([sys.executable, "-m", "netring", "log", "-g", "33", "--netns",
                               netns.name, "--timeout", "1"], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 4
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert proc.stderr.startswith("netring log: permission denied: NFULNL_CFG_CMD_BIND "
                                      "group 33: EPERM")
        assert f"bound by port id {holder.conn.portid}" in proc.stderr
    for args, text in (
        (["-g", "70000"], "netring log: argument -g/--group: group 70000: must be between 0 and 65535"),
        (["-g", "1,x"], "netring log: argument -g/--group: group 'x': not a whole number"),
        (["-g", "1", "--format", "pcap"], "netring log: --format needs -w FILE"),
        (["-g", "1", "--nlbufsiz", "1k"], "netring log: argument --nlbufsiz: nlbufsiz '1k': "
                                          "must be between 4096 and 131072 bytes"),
        (["-g", "1", "--netns", "nrt-none-such"], "netring log: no network namespace named "
                                                  "'nrt-none-such'"),
    ):
        proc = subprocess.run([sys.executable, "-m", "netring", "log", *args],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(text), proc.stderr


def _tshark(path: str, *fields: str) -> list[list[str]]:
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-E", "separator=|",
                          *[x for f in fields for x in ("-e", f)]],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return [ln.split("|") for ln in out.splitlines()]


def _file_packets(ns: Netns, tmp: Any, fmt: str) -> tuple[str, str, list[tuple[int, bytes]],
                                                           list[tuple[int, bytes]]]:
    if shutil.which("tshark") is None:
        pytest.skip("needs tshark to read the capture back")
    _setup(ns)
    path = str(tmp / f"log.{fmt}")
    v4 = [(7101, bytes([i]) * (10 + i)) for i in range(5)] + [(7102, b"second" * 3)]
    v6 = [(7101, b"six" * 7)]
    rc, out, err = _run(ns, ["-g", "31,32", "-w", path, "--format", fmt, "-c", "7"], v4,
                        {31, 32}, v6_packets=v6)
    assert rc == 0, err
    assert out == "" and "7 written to " + path in err
    return path, err, v4, v6


def test_pcapng_read_back_by_tshark(netns: Netns, tmp_path: Any) -> None:
    path, _, v4, v6 = _file_packets(netns, tmp_path, "pcapng")
    rows = _tshark(path, "frame.interface_name", "frame.comment", "udp.dstport", "udp.payload")
    sent = sorted([("nflog:31" if p == 7101 else "nflog:32",
                    "first: " if p == 7101 else "second: ", str(p), d.hex())
                   for p, d in v4 + v6])
    got = sorted((r[0], r[1], r[2], r[3].replace(":", "")) for r in rows)
    assert got == sent
    info = subprocess.run(["capinfos", path], capture_output=True, text=True, timeout=60).stdout
    assert "Number of interfaces in file: 2" in info and "Raw IP" in info


def test_pcap_read_back_by_tshark(netns: Netns, tmp_path: Any) -> None:
    path, _, v4, v6 = _file_packets(netns, tmp_path, "pcap")
    rows = _tshark(path, "udp.dstport", "udp.payload")
    assert sorted((r[0], r[1].replace(":", "")) for r in rows) == \
        sorted((str(p), d.hex()) for p, d in v4 + v6)


def test_sigterm_ends_with_the_summary(netns: Netns) -> None:
    import signal

    _setup(netns)
    proc = _netring("log", "--netns", netns.name, "-g", "31")
    try:
        _wait_bound(netns, {31})
        _send(netns, [(7101, b"t")])
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 15)  # the packet's line is out
        assert ready
        first = proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=30)
        out = first + rest
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert len(out.splitlines()) == 1 and err.startswith("netring log: 1 packets")


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_sigterm_during_a_flood_leaves_a_whole_file(netns: Netns, tmp_path: Any,
                                                     fmt: str) -> None:
    """SIGTERM while datagrams keep coming and are written: the file ends after a whole
    record, and holds as many as the summary says were written."""
    import re
    import signal
    import threading

    from netring.pcap.reader import read_capture

    _setup(netns)
    path = str(tmp_path / f"flood.{fmt}")
    proc = _netring("log", "--netns", netns.name, "-g", "31", "-w", path, "--format", fmt)
    stop = threading.Event()

    def flood() -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(400_000):  # bounded; stopped once the signal went
            if stop.is_set():
                break
            s.sendto(i.to_bytes(4, "big") * 8, ("127.0.0.1", 7101))
        s.close()

    sender = threading.Thread(target=run_in_netns, args=(netns.path, flood))
    try:
        _wait_bound(netns, {31})
        sender.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until records are being written
            if (tmp_path / f"flood.{fmt}").stat().st_size > 256 << 10:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        stop.set()
        sender.join(30)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    written = int(re.search(r"(\d+) written to", err).group(1))  # type: ignore[union-attr]
    with open(path, "rb") as f:
        records = list(read_capture(f.read()))  # a record cut short raises DecodeError
    assert written > 1000 and len(records) == written


def test_a_flood_goes_to_pcap_as_columns_and_reads_back(netns: Netns, tmp_path: Any) -> None:
    """Kernel batches of equal messages (a burst to one rule) take the column path;
    tshark reads back every packet with its payload, and the counts add up."""
    if shutil.which("tshark") is None:
        pytest.skip("needs tshark to read the capture back")
    from netring.pcap.format import LINKTYPE
    from netring.pcap.writer import PcapWriter
    from netring.subsystems.nfnetlink.log.capture import CaptureSink
    from netring.subsystems.nfnetlink.log.constants import NFULNL_CFG_F

    _setup(netns)
    sent = [(7101, bytes([i & 0xFF]) * 48) for i in range(3000)]
    taken: list[int] = []

    class Counting(CaptureSink):
        def _write_run(self, run: Any, now: int) -> int:
            taken.append(run.count)
            n: int = super()._write_run(run, now)
            return n

    path = tmp_path / "flood.pcap"
    with open(path, "wb") as f, Log([31], netns=netns.name, nlbufsiz=65536, qthresh=100,
                                    timeout=0.05, flags=NFULNL_CFG_F.SEQ) as log:
        writer = PcapWriter(f, int(LINKTYPE.RAW), 0xFFFF)
        sink = Counting(writer, False, [31], 0xFFFF)
        _send(netns, sent)
        got = 0
        deadline = time.monotonic() + 20
        while got < len(sent) and time.monotonic() < deadline:
            for batch in log.batches(timeout=1.0):
                got += sink.write_datagram(batch, time.time_ns())
        writer.close()
        stats = log.refresh_stats()
    assert got == len(sent) == sink.written == stats.messages
    assert stats.seq_gaps == 0 and stats.overruns == 0
    assert sum(taken) >= len(sent) // 2, taken  # most of the burst went as columns
    rows = _tshark(str(path), "udp.dstport", "udp.payload", "ip.len")
    assert [(int(r[0]), bytes.fromhex(r[1].replace(":", ""))) for r in rows] == sent
    assert {r[2] for r in rows} == {str(20 + 8 + 48)}
