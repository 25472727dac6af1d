"""``netring queue`` against the kernel: count and timeout end it with status 0, the
verdict and mark apply, NDJSON per packet, the protection warning, the summary."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from nfqutil import counters, drain, ipt, queue_rule, udp_pair
from nsutil import Netns

from netring.cli import main

PORT = 9400


def _send_later(tx: object, n: int, delay: float = 0.3, port: int = PORT) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        for i in range(n):
            tx.sendto(b"c:%d:" % i, ("127.0.0.1", port))  # type: ignore[attr-defined]
    t = threading.Thread(target=run)
    t.start()
    return t


def test_count_ends_with_status_0_and_json_lines(netns: Netns,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    ipt(netns, "-A", "INPUT", "-p", "udp", "--dport", str(PORT), "-m", "mark", "--mark", "0x5")
    queue_rule(netns, PORT, 30, bypass=True)
    rx, tx = udp_pair(netns, PORT)
    t = _send_later(tx, 10)
    rc = main(["queue", "-q", "30", "--count", "10", "--timeout", "20", "--mark", "0x5",
               "--netns", netns.name, "--json"])
    t.join()
    assert rc == 0
    cap = capsys.readouterr()
    lines = [json.loads(x) for x in cap.out.splitlines()]
    assert len(lines) == 10 and {d["queue"] for d in lines} == {30}
    assert all(d["verdict"] == "accept" and d["verdict_mark"] == 5 for d in lines)
    assert [d["id"] for d in lines] == list(range(1, 11))
    assert "warning" not in cap.err  # a --queue-bypass rule protects queue 30
    assert cap.err.splitlines()[-1].startswith("netring queue: 10 packets")
    assert "verdicts: accept 10" in cap.err
    assert len(drain(rx)) == 10 and counters(netns, "INPUT") == [10]


def test_timeout_ends_with_status_0_and_drop_drops(netns: Netns,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    queue_rule(netns, PORT, 31)
    rx, tx = udp_pair(netns, PORT)
    t = _send_later(tx, 5)
    t0 = time.monotonic()
    rc = main(["queue", "-q", "31:32", "--verdict", "drop", "--timeout", "1.5",
               "--netns", netns.name])
    t.join()
    assert rc == 0 and 1.4 < time.monotonic() - t0 < 6
    err = capsys.readouterr().err
    assert "warning: queue 31, 32: neither --fail-open nor a --queue-bypass rule" in err
    assert "netring queue: 5 packets" in err and "verdicts: drop 5" in err
    assert drain(rx) == []


def test_fail_open_needs_no_warning(netns: Netns, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue", "-q", "33", "--fail-open", "--timeout", "0.2",
                 "--netns", netns.name]) == 0
    err = capsys.readouterr().err
    assert "warning" not in err and err.startswith("netring queue: 0 packets")


def test_a_held_queue_is_one_line_and_exit_4(netns: Netns,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from netring.subsystems.nfnetlink.edge.queue import Queue

    with Queue(34, netns=netns.path) as q:
        rc = main(["queue", "-q", "34", "--fail-open", "--timeout", "1", "--netns", netns.name])
        err = capsys.readouterr().err
        assert rc == 4
        assert err.count("\n") == 1
        assert f"queue 34 is held by another socket (port id {q.portid}" in err


def test_sigterm_unbinds_and_prints_the_summary(netns: Netns) -> None:
    queue_rule(netns, PORT, 35)
    rx, tx = udp_pair(netns, PORT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.Popen([sys.executable, "-m", "netring", "queue", "-q", "35", "--fail-open",
                          "--netns", netns.name], stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            tx.sendto(b"c:1:", ("127.0.0.1", PORT))
            if drain(rx, settle=0.05):
                break
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == -signal.SIGTERM
    assert "netring queue:" in err.splitlines()[-1] and "packets" in err.splitlines()[-1]
    text = subprocess.run(["ip", "netns", "exec", netns.name, "cat",
                           "/proc/net/netfilter/nfnetlink_queue"], capture_output=True,
                          text=True).stdout
    assert not any(line.split()[0] == "35" for line in text.splitlines())


def test_write_pcapng_with_verdict_queue_and_packet_id(netns: Netns, tmp_path: object,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import pathlib
    import shutil

    from netring.pcap.format import LINKTYPE
    from netring.pcap.reader import CaptureReader

    path = pathlib.Path(str(tmp_path)) / "q.pcapng"
    queue_rule(netns, PORT, 36, bypass=True)
    rx, tx = udp_pair(netns, PORT)
    t = _send_later(tx, 4)
    assert main(["queue", "-q", "36", "--count", "4", "--timeout", "20", "-w", str(path),
                 "--netns", netns.name]) == 0
    t.join()
    capsys.readouterr()
    reader = CaptureReader(path.read_bytes())
    recs = list(reader)
    assert len(recs) == 4
    assert [r.packetid for r in recs] == [1, 2, 3, 4]
    assert {r.queue for r in recs} == {36}
    assert all(r.verdicts == [(0, b"NF_ACCEPT")] for r in recs)
    assert all(r.linktype == LINKTYPE.IPV4 for r in recs)
    assert [bytes(r.data)[28:] for r in recs] == [b"c:%d:" % i for i in range(4)]
    if shutil.which("tshark"):  # an independent reader
        out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "udp.dstport",
                              "-e", "frame.packet_id", "-e", "frame.interface_queue",
                              "-e", "frame.verdict.hw"],
                             capture_output=True, text=True, timeout=60).stdout.split("\n")
        rows = [line.split("\t") for line in out if line.strip()]
        assert [r[:3] for r in rows] == [[str(PORT), str(i), "36"] for i in range(1, 5)]
        assert all(bytes.fromhex(r[3].replace(":", "")) == b"NF_ACCEPT" for r in rows)


def test_workers_give_the_verdicts_in_a_pool(netns: Netns, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    ipt(netns, "-A", "INPUT", "-p", "udp", "--dport", str(PORT), "-m", "mark", "--mark", "0x5")
    queue_rule(netns, PORT, 37, bypass=True)
    rx, tx = udp_pair(netns, PORT)
    t = _send_later(tx, 200)
    rc = main(["queue", "-q", "37", "--workers", "2", "--fanout", "rr", "--count", "200",
               "--timeout", "20", "--mark", "0x5", "--netns", netns.name])
    t.join()
    assert rc == 0
    err = capsys.readouterr().err.splitlines()
    assert err[-2].startswith("netring queue: 200 packets") and "accept 200" in err[-2]
    assert err[-1].startswith("netring queue: workers 2 (rr): w0 ")
    assert len(drain(rx)) == 200 and counters(netns, "INPUT") == [200]


def test_ring_receives_through_io_uring(netns: Netns, capsys: pytest.CaptureFixture[str]) -> None:
    from netring.nlmmap.edge import uring

    if not uring.support()["available"]:
        pytest.skip("io_uring ring not available here")
    queue_rule(netns, PORT, 36, bypass=True)
    rx, tx = udp_pair(netns, PORT)
    t = _send_later(tx, 12)
    rc = main(["queue", "-q", "36", "--count", "12", "--timeout", "20", "--ring", "uring",
               "--netns", netns.name, "--json"])
    t.join()
    assert rc == 0
    cap = capsys.readouterr()
    assert [json.loads(x)["id"] for x in cap.out.splitlines()] == list(range(1, 13))
    assert "netring queue: received through the uring ring" in cap.err
    assert len(drain(rx)) == 12


def test_ring_and_workers_are_refused_in_one_line(netns: Netns,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["queue", "-q", "37", "--ring", "uring", "--workers", "2", "--netns", netns.name])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith("netring queue: --ring cannot be combined with --workers")
