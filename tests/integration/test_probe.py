"""`netring probe` against the real kernel: each answer must agree with a direct try."""

from __future__ import annotations

import errno
import json
import os
import socket
import struct

import pytest
from nsutil import have_root

from netring.cli import main
from netring.tools.probe import probe

pytestmark = pytest.mark.skipif(not have_root(), reason="needs root: AF_PACKET and nfnetlink probes")


def _direct_rx_ring() -> tuple[bool, int | None]:
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as s:
        try:
            s.setsockopt(270, 6, struct.pack("=IIII", 4096, 1, 2048, 2))
            return True, None
        except OSError as exc:
            return False, exc.errno


def test_probe_answers_match_direct_attempts() -> None:
    r = probe()
    assert r["kernel"] == __import__("platform").release()
    ok, err = _direct_rx_ring()
    assert r["netlink_mmap"]["rx"] is ok
    if not ok:
        assert r["netlink_mmap"]["error"].startswith(errno.errorcode[err])  # type: ignore[index]
    assert r["usersock"]["ok"] is True
    assert r["recvmmsg"]["ok"] is True
    assert "TPACKET_V3" in r["af_packet"]["tpacket_versions"]
    assert "hash" in r["af_packet"]["fanout_modes"]
    assert r["nfnetlink_queue"]["ok"] is True
    assert r["netns"]["ok"] is True
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as s:
        try:
            s.setsockopt(270, 11, 1)
            direct_ext = True
        except OSError:
            direct_ext = False
    assert r["netlink_options"]["ext_ack"] is direct_ext
    # the io_uring ring: available exactly when a ring can be set up here
    from netring._sys import uring

    try:
        os.close(uring.io_uring_setup(2, bytearray(120)))
        direct_uring = True
    except OSError:
        direct_uring = False
    assert r["io_uring_ring"]["available"] is direct_uring
    assert r["io_uring_ring"]["io_uring_disabled"] == uring.io_uring_disabled()


def test_probe_cli_json_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"kernel", "netlink_mmap"} <= data.keys()
    assert set(data["netlink_mmap"]) >= {"rx", "tx", "error"}
    assert main(["probe"]) == 0
    text = capsys.readouterr().out
    assert "netlink mmap rings" in text and "AF_PACKET" in text
    assert "io_uring ring" in text
