"""``netring log``'s argument checks: one line and exit 2, before any socket is opened."""

from __future__ import annotations

import pytest

from netring.cli import main
from netring.cli.log import parse_groups


@pytest.mark.parametrize(("args", "text"), [
    (["log"], "netring log: the following arguments are required: -g/--group"),
    (["log", "-g", "70000"], "netring log: argument -g/--group: group 70000: must be between 0 and 65535"),
    (["log", "-g", "5,5"], "netring log: argument -g/--group: group 5 given twice"),
    (["log", "-g", "5,"], "netring log: argument -g/--group: group list '5,': an empty group"),
    (["log", "-g", "1", "-s", "70000"], "netring log: argument -s/--snaplen: snaplen 70000: "
                                         "must be between 0 and 65531"),
    (["log", "-g", "1", "--timeout", "0"], "netring log: argument --timeout: timeout 0: must "
                                            "be a finite number of seconds > 0"),
    (["log", "-g", "1", "--rcvbuf", "lots"], "netring log: argument --rcvbuf: rcvbuf 'lots': "
                                              "not a size in bytes"),
    (["log", "-g", "1", "--format", "pcap"], "netring log: --format needs -w FILE"),
    (["log", "-g", "1", "-w", "-", "--json"], "netring log: -w - and --json both write to "
                                               "standard output: choose one"),
])
def test_bad_arguments_are_one_line(args: list[str], text: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(text), err


def test_group_lists() -> None:
    assert parse_groups("5") == [5] and parse_groups("0, 65535,7") == [0, 65535, 7]
