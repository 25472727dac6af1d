"""The converters every command shares (``netring.cli.args``): what each accepts, its
bounds, the size suffixes, and a complaint that names the option and the value."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from netring.cli.args import MAX_RCVBUF, integer, number, seconds, size


def _refused(conv: object, text: str) -> str:
    with pytest.raises(argparse.ArgumentTypeError) as exc:
        conv(text)  # type: ignore[operator]
    return str(exc.value)


def test_integer_accepts_decimal_and_prefixed_whole_numbers() -> None:
    conv = integer("mark", 0, 0xFFFFFFFF)
    assert [conv(t) for t in ("0", "7", "010", "1_000", " 42 ", "0x10", "0o17", "0b11",
                              "4294967295", "0xffffffff")] == [
        0, 7, 10, 1000, 42, 16, 15, 3, 0xFFFFFFFF, 0xFFFFFFFF]


@pytest.mark.parametrize(("lo", "hi", "text", "message"), [
    (0, 0xFFFFFFFF, "x", "mark 'x': not a whole number"),
    (0, 0xFFFFFFFF, "1.5", "mark '1.5': not a whole number"),
    (0, 0xFFFFFFFF, "", "mark '': not a whole number"),
    (0, 0xFFFFFFFF, "0x100000000", "mark 4294967296: must be between 0 and 4294967295"),
    (0, 0xFFFFFFFF, "-1", "mark -1: must be between 0 and 4294967295"),
    (1, None, "0", "mark 0: must be at least 1"),
    (1, None, "-0x2", "mark -2: must be at least 1"),
])
def test_integer_refuses_with_the_option_and_the_value(lo: int, hi: int | None, text: str,
                                                       message: str) -> None:
    assert _refused(integer("mark", lo, hi), text) == message


def test_integer_bounds_are_inclusive() -> None:
    conv = integer("batch", 1, 1024)
    assert conv("1") == 1 and conv("1024") == 1024
    assert _refused(conv, "1025") == "batch 1025: must be between 1 and 1024"
    assert integer("count", 1)(str(1 << 80)) == 1 << 80  # no upper bound


def test_size_takes_binary_suffixes_in_either_case() -> None:
    conv = size("buffer", 1)
    assert [conv(t) for t in ("4096", "64k", "64K", "32m", "32M", "1g", " 2G ", "0x10k")] == [
        4096, 64 << 10, 64 << 10, 32 << 20, 32 << 20, 1 << 30, 2 << 30, 16 << 10]
    assert size("rcvbuf", 1, MAX_RCVBUF)(str(MAX_RCVBUF)) == MAX_RCVBUF


@pytest.mark.parametrize(("text", "message"), [
    ("lots", "rcvbuf 'lots': not a size in bytes (e.g. 4096, 64K, 32M)"),
    ("k", "rcvbuf 'k': not a size in bytes (e.g. 4096, 64K, 32M)"),
    ("4x", "rcvbuf '4x': not a size in bytes (e.g. 4096, 64K, 32M)"),
    ("1.5M", "rcvbuf '1.5M': not a size in bytes (e.g. 4096, 64K, 32M)"),
    ("", "rcvbuf '': not a size in bytes (e.g. 4096, 64K, 32M)"),
    ("0", "rcvbuf '0': must be between 1 and 1073741823 bytes"),
    ("1G", "rcvbuf '1G': must be between 1 and 1073741823 bytes"),
])
def test_size_refuses_with_the_option_and_the_value_as_typed(text: str, message: str) -> None:
    assert _refused(size("rcvbuf", 1, MAX_RCVBUF), text) == message


def test_size_bounds_apply_after_the_suffix() -> None:
    conv = size("nlbufsiz", 4096, 131072)
    assert conv("4k") == 4096 and conv("128K") == 131072
    assert _refused(conv, "1k") == "nlbufsiz '1k': must be between 4096 and 131072 bytes"
    assert _refused(conv, "129k") == "nlbufsiz '129k': must be between 4096 and 131072 bytes"
    assert size("buffer", 1)("9g") == 9 << 30  # no upper bound
    assert _refused(size("buffer", 4096), "1k") == "buffer '1k': must be at least 4096 bytes"
    assert _refused(size("buffer", 1), "0") == "buffer '0': must be at least 1 byte"


def test_seconds_and_numbers() -> None:
    assert seconds()("0.25") == 0.25 and seconds()("3") == 3.0 and seconds()("1e-3") == 0.001
    assert seconds("flush timeout", zero=True)("0") == 0.0
    assert number("rate", "packets per second")("1000.5") == 1000.5


@pytest.mark.parametrize(("conv", "text", "message"), [
    (seconds(), "soon", "timeout 'soon': not a number of seconds"),
    (seconds(), "0", "timeout 0: must be a finite number of seconds > 0"),
    (seconds(), "-1", "timeout -1: must be a finite number of seconds > 0"),
    (seconds(), "inf", "timeout inf: must be a finite number of seconds > 0"),
    (seconds(), "nan", "timeout nan: must be a finite number of seconds > 0"),
    (seconds("flush timeout", zero=True), "-0.5",
     "flush timeout -0.5: must be a finite number of seconds >= 0"),
    (number("rate", "packets per second"), "-5",
     "rate -5: must be a finite number of packets per second > 0"),
    (number("rate", "packets per second"), "fast", "rate 'fast': not a number of packets per second"),
])
def test_numbers_refuse_with_the_option_and_the_value(conv: object, text: str,
                                                      message: str) -> None:
    assert _refused(conv, text) == message


def test_a_command_reports_a_refused_value_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from netring.cli import main

    assert main(["monitor", "--rcvbuf", "1T"]) == 2
    assert capsys.readouterr().err == ("netring monitor: argument --rcvbuf: rcvbuf '1T': not a "
                                       "size in bytes (e.g. 4096, 64K, 32M)\n")
    assert main(["dump", "routes", "-c", "-1"]) == 2
    assert capsys.readouterr().err == ("netring dump: argument -c/--count: count -1: must be "
                                       "at least 1\n")


def test_importing_the_converters_stays_cheap() -> None:
    """Every command imports this module on every run: beyond what ``netring.cli``
    itself loads, it may add only itself."""
    code = ("import sys, netring.cli; before = set(sys.modules); import netring.cli.args; "
            "print(sorted(set(sys.modules) - before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['netring.cli.args']"
