"""`netring demo` end to end: every stage runs for real in its own namespace."""

from __future__ import annotations

import json
import os

import pytest
from nsutil import have_root

from netring.cli import main

pytestmark = pytest.mark.skipif(not have_root(), reason="needs root: the demo unshares a network namespace")


def test_demo_json_every_stage_works(capsys: pytest.CaptureFixture[str]) -> None:
    before = os.readlink("/proc/self/ns/net")
    assert main(["demo", "--count", "3000", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["netns"] != before  # it ran elsewhere
    assert os.readlink("/proc/self/ns/net") == before
    assert r["rings"]["ok"] and r["rings"]["backend"] in ("kernel", "uring", "user")
    u = r["usersock"]
    assert u["ok"] and u["messages"] == u["expected"] == 3000 and u["in_order"]
    assert u["sender_pid_matches"]
    names = {ln["ifname"] for ln in r["rtnl"]["links"]}
    assert {"lo", "demo0", "demo1"} <= names
    ring = r["ring"]
    assert ring["ok"] and ring["messages"] == 3000 and ring["in_order"]
    w = r["writer"]
    assert w["ok"] and w["messages"] == w["expected"] == 3000 and w["in_order"]
    assert w["writer_pid_matches"]
    log = r["nflog"]  # nft and iptables are in the test command's packages
    assert log["ok"], log.get("error")
    assert log["messages"] == log["expected"] == log["payloads_match"] == 3000
    assert log["prefixes"] == ["netring-demo "] and log["seq_gaps"] == 0
    q = r["nfqueue"]
    assert q["ok"], q.get("error")
    assert q["verdicts"] == q["expected"] == q["arrived"] == 3000 and q["dropped"] == 0
    assert q["batches"] < q["verdicts"]  # batch verdicts, not one per packet
    c = r["capture"]  # TX ring on one end of its own veth pair, V3 ring on the other
    assert c["ok"] and c["frames"] == c["sent"] == c["captured"] == 3000
    assert c["byte_exact"] and c["drops"] == 0 and c["tx_per_s"] > 0 and c["rx_per_s"] > 0


def test_demo_text_tells_a_newcomer_where_to_look(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--count", "1000"]) == 0
    text = capsys.readouterr().out
    assert "private network namespace" in text
    assert "in order, none lost" in text
    assert "] AF_PACKET" in text and "1,000 of 1,000 frames captured, byte for byte as sent" in text
    assert "Where next:" in text and "netring probe" in text


def test_demo_skips_firewall_stages_without_nft_or_iptables(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # a fresh machine may have neither tool: those stages say so and the demo still succeeds
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["demo", "--count", "1000", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    for key in ("nflog", "nfqueue"):
        assert r[key]["skipped"] and "nft or iptables" in r[key]["error"], r[key]
    assert r["usersock"]["ok"] and r["writer"]["ok"]
