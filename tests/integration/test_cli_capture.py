"""``netring capture`` and ``netring send`` against veth pairs: exit codes, counts, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from nsutil import Netns
from pktutil import exp_frame

from netring.packet import PacketSocket

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")


def _netring(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    return subprocess.run([sys.executable, "-m", "netring", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def _start(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    return subprocess.Popen([sys.executable, "-m", "netring", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.fixture
def veth(netns: Netns) -> Netns:
    netns.add_veth()
    return netns


def _feed(ns: Netns, proc: subprocess.Popen[str], n: int) -> None:
    """Send experimental frames until the capture process has ended (bounded)."""
    with PacketSocket("veth0", netns=ns.name) as tx:
        deadline = time.monotonic() + 10
        i = 0
        while proc.poll() is None and time.monotonic() < deadline:
            tx.send_many([exp_frame(i + k) for k in range(n)])
            i += n
            time.sleep(0.05)


@pytest.mark.parametrize("tpacket", ["1", "2", "3"])
def test_capture_stops_after_count_with_tcpdump_summary(veth: Netns, tpacket: str) -> None:
    p = _start("capture", "-i", "veth1", "--netns", veth.name, "-c", "5", "--timeout", "10",
               "--tpacket", tpacket)
    _feed(veth, p, 3)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert len(out.splitlines()) == 5
    assert "5 packets captured" in err and "packets dropped by kernel" in err
    assert any("length" in line for line in out.splitlines())


def test_capture_json_is_one_object_per_packet(veth: Netns) -> None:
    p = _start("capture", "-i", "veth1", "--netns", veth.name, "-c", "4", "--timeout", "10",
               "--json")
    _feed(veth, p, 2)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    objs = [json.loads(line) for line in out.splitlines()]
    assert len(objs) == 4 and all("ts_ns" in o and "wirelen" in o for o in objs)


def test_capture_workers_share_the_count(veth: Netns) -> None:
    p = _start("capture", "-i", "veth1", "--netns", veth.name, "-c", "20", "--timeout", "10",
               "--workers", "2", "--fanout-mode", "lb")
    time.sleep(1.0)
    _feed(veth, p, 10)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    assert len(out.splitlines()) == 20 and "20 packets captured" in err


def test_capture_timeout_exits_zero(veth: Netns) -> None:
    r = _netring("capture", "-i", "veth1", "--netns", veth.name, "--timeout", "0.3")
    assert r.returncode == 0 and "0 packets dropped by kernel" in r.stderr


@pytest.mark.parametrize("args, code, text", [
    (["-i", "nosuch"], 1, "no interface named 'nosuch'"),
    (["-i", "veth1", "-c", "-1"], 2, "count -1"),
    (["-i", "veth1", "-c", "x"], 2, "count 'x': not a whole number"),
    (["-i", "veth1", "--snaplen", "999999"], 2, "snaplen 999999"),
    (["-i", "veth1", "--tpacket", "4"], 2, "invalid choice: 4"),
    (["-i", "veth1", "--timeout", "-2"], 2, "timeout -2"),
    (["-i", "veth1", "--workers", "0"], 2, "workers 0"),
])
def test_capture_bad_input_is_one_line(veth: Netns, args: list[str], code: int,
                                       text: str) -> None:
    r = _netring("capture", "--netns", veth.name, *args)
    assert r.returncode == code
    assert len(r.stderr.strip().splitlines()) == 1 and text in r.stderr
    assert "Traceback" not in r.stderr


def test_capture_write_and_send_replay(veth: Netns, tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "x.pcap")
    p = _start("capture", "-i", "veth1", "--netns", veth.name, "-c", "6", "--timeout", "10",
               "-w", path)
    _feed(veth, p, 3)
    _out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    r = _netring("send", "-i", "veth0", "--netns", veth.name, path, "--loop", "2")
    assert r.returncode == 0 and "12 packets" in r.stderr


def test_send_bad_input(veth: Netns, tmp_path: object) -> None:
    r = _netring("send", "-i", "veth0", "--netns", veth.name, "/nonexistent.pcap")
    assert r.returncode in (1, 3) and len(r.stderr.strip().splitlines()) == 1
    r = _netring("send", "-i", "veth0", "--netns", veth.name, "x.pcap", "--rate", "-5")
    assert r.returncode == 2 and "rate -5" in r.stderr


def _feed_mixed(ns: Netns, proc: subprocess.Popen[str]) -> None:
    """Experimental frames, UDP frames and VLAN-tagged UDP until the capture has ended."""
    from pktutil import udp_frame

    with PacketSocket("veth0", netns=ns.name) as tx:
        deadline = time.monotonic() + 10
        i = 0
        while proc.poll() is None and time.monotonic() < deadline:
            tx.send_many([exp_frame(i), udp_frame("10.0.0.1", "10.0.0.2", 1000, 2000),
                          udp_frame("10.0.0.1", "10.0.0.2", 1000, 2000, vlan=(0x8100, 7))])
            i += 1
            time.sleep(0.02)


def test_capture_filter_keeps_only_matching_packets(veth: Netns) -> None:
    p = _start("capture", "-i", "veth1", "--netns", veth.name, "-c", "5", "--timeout", "10",
               "-f", "ether proto 0x88b5")
    _feed_mixed(veth, p)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 5 and all("ethertype 0x88b5" in line for line in lines)


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_capture_file_is_read_back_by_tshark_with_vlan_tags(veth: Netns, tmp_path: object,
                                                           fmt: str) -> None:
    import shutil

    if shutil.which("tshark") is None:
        pytest.skip("needs tshark to read the file back")
    path = os.path.join(str(tmp_path), f"x.{fmt}")
    p = _start("capture", "-i", "veth1", "--netns", veth.name, "-c", "9", "--timeout", "10",
               "-w", path, "--format", fmt)
    _feed_mixed(veth, p)
    _out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    r = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "vlan.id", "-e", "eth.type"],
                       capture_output=True, text=True, timeout=60)
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert len(rows) == 9
    assert any(row[0] == "7" for row in rows)  # the tag the kernel took off is back


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_capture_file_holds_the_frames_sent_byte_for_byte(veth: Netns, tmp_path: object,
                                                          fmt: str) -> None:
    """Equal frames in bursts (whole V3 blocks of one stride: the strided write path):
    every frame back in order, identical, with its length and (pcapng) direction."""
    import shutil

    from netring.pcap import read_capture

    path = os.path.join(str(tmp_path), f"burst.{fmt}")
    p = _start("capture", "-i", "veth1", "--netns", veth.name, "-c", "600", "--timeout", "10",
               "-w", path, "--format", fmt, "--retire-ms", "4",
               "-f", "4,40 0 0 12,21 0 1 34997,6 0 0 262144,6 0 0 0")  # ether proto 0x88b5
    _feed(veth, p, 200)
    _out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    with open(path, "rb") as f:
        recs = list(read_capture(f))
    assert len(recs) == 600
    first = int.from_bytes(bytes(recs[0].data[14:18]), "big")
    assert [bytes(r.data) for r in recs] == [exp_frame(first + i) for i in range(600)]
    assert all(r.wirelen == r.caplen == 60 for r in recs)
    if fmt == "pcapng":
        assert {r.direction for r in recs} == {1}  # inbound
    if shutil.which("tshark") is not None:
        r = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.len",
                            "-e", "eth.type"], capture_output=True, text=True, timeout=60)
        assert r.stdout.splitlines() == ["60\t0x88b5"] * 600


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_sigterm_mid_capture_leaves_a_whole_file_with_its_summary(veth: Netns, tmp_path: object,
                                                                  fmt: str) -> None:
    """SIGTERM while frames keep arriving: the capture ends between blocks, the file
    holds every record it counted (pcapng: and its statistics block), exit 0."""
    import re
    import signal

    from netring.pcap import read_capture

    path = os.path.join(str(tmp_path), f"term.{fmt}")
    p = _start("capture", "-i", "veth1", "--netns", veth.name, "-w", path, "--format", fmt,
               "--retire-ms", "4", "-f", "4,40 0 0 12,21 0 1 34997,6 0 0 262144,6 0 0 0")
    with PacketSocket("veth0", netns=veth.name) as tx:
        deadline = time.monotonic() + 20
        i = 0
        while time.monotonic() < deadline:  # until records are being written
            tx.send_many([exp_frame(i + k) for k in range(200)])
            i += 200
            if os.path.exists(path) and os.path.getsize(path) > 64 << 10:
                break
        p.send_signal(signal.SIGTERM)
        for _ in range(20):  # frames still coming while it stops
            tx.send_many([exp_frame(i + k) for k in range(200)])
            i += 200
    _out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    captured = int(re.search(r"(\d+) packets captured", err).group(1))  # type: ignore[union-attr]
    with open(path, "rb") as f:
        data = f.read()
    recs = list(read_capture(data))  # a record cut short raises DecodeError
    assert captured > 100 and len(recs) == captured
    if fmt == "pcapng":
        from netring.pcap.reader import CaptureReader

        reader = CaptureReader(data)
        list(reader)
        assert reader.stats and reader.stats[-1].received is not None  # the ISB went out
