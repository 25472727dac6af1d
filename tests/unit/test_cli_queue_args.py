"""``netring queue`` input checks: every bad argument is one line and exit status 2,
found before any socket is opened."""

from __future__ import annotations

import argparse

import pytest

from netring.cli import EXIT_USAGE, main
from netring.cli.queue import parse_queues


def test_queue_specs() -> None:
    assert parse_queues("3") == [3]
    assert parse_queues("3,5") == [3, 5]
    assert parse_queues("3:6") == [3, 4, 5, 6]
    assert parse_queues("1,4:5,1") == [1, 4, 5]
    assert parse_queues("0:65535")[-1] == 65535
    for bad in ("", "x", "3:", "70000", "5:3", "1,,2", "-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_queues(bad)


@pytest.mark.parametrize(("argv", "text"), [
    (["queue"], "the following arguments are required: -q/--queue"),
    (["queue", "-q", "70000"], "queue '70000': queue numbers are 0..65535"),
    (["queue", "-q", "5:3"], "queue range '5:3': 3 is below 5"),
    (["queue", "-q", "a"], "not a queue number"),
    (["queue", "-q", "1", "--verdict", "repeat"], "invalid choice: 'repeat'"),
    (["queue", "-q", "1", "--mark", "x"], "mark 'x': not a whole number"),
    (["queue", "-q", "1", "--mark", "0x100000000"], "mark 4294967296: must be between 0"),
    (["queue", "-q", "1", "--batch", "0"], "batch 0: must be between 1 and 1024"),
    (["queue", "-q", "1", "--count", "0"], "count 0: must be between 1"),
    (["queue", "-q", "1", "--timeout", "-1"], "timeout -1: must be a finite number"),
    (["queue", "-q", "1", "--timeout", "soon"], "timeout 'soon': not a number"),
    (["queue", "-q", "1", "--copy-range", "70000"], "copy range 70000: must be between 0"),
    (["queue", "-q", "1", "--workers", "0"], "workers 0: must be between 1 and 64"),
    (["queue", "-q", "1", "--workers", "2", "--fanout", "hash"], "invalid choice: 'hash'"),
    (["queue", "-q", "1", "--workers", "2", "--json"], "--workers cannot be combined with --json"),
    (["queue", "-q", "1", "--workers", "2", "-w", "/tmp/x.pcapng"],
     "--workers cannot be combined with -w"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], text: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("netring queue: ") and text in err, err
    assert "Traceback" not in err and "usage:" not in err


def test_a_missing_namespace_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue", "-q", "1", "--netns", "no-such-ns-here", "--fail-open"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no network namespace named 'no-such-ns-here'" in err
