"""The CLI's error boundary: every escaping error is one line and a documented exit status.

No root needed: commands are replaced by functions that raise, and the namespace
errors checked here are found before any system call.
"""

from __future__ import annotations

import argparse
import errno
import io

import pytest

import netring.cli.probe as probe_cmd
from netring.cli import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_NOT_SUPPORTED,
    EXIT_PERMISSION,
    EXIT_USAGE,
    exit_status,
    main,
)
from netring.errors import (
    DecodeError,
    EncodeError,
    NamespaceError,
    NamespaceNotFound,
    NamespacePermissionError,
    NetlinkError,
    NetringError,
    NotANamespace,
    NotSupportedError,
)
from netring.netns import netns_path
from netring.tools.bench._common import command_line, machine, machine_line, print_table


def _raising(exc: BaseException) -> object:
    def run(args: argparse.Namespace) -> int:
        raise exc

    return run


CASES = [
    (NetlinkError(errno.ENODEV, "RTM_GETLINK", 3), EXIT_FAILURE, "RTM_GETLINK: ENODEV, seq 3"),
    (NetlinkError(errno.EPERM, "RTM_NEWLINK", 4), EXIT_PERMISSION, "permission denied: RTM_NEWLINK"),
    (DecodeError("short attribute", 20), EXIT_FAILURE, "short attribute (at offset 20)"),
    (EncodeError("no room for attribute"), EXIT_USAGE, "no room for attribute"),
    (NotSupportedError("NETLINK_RX_RING: ENOPROTOOPT"), EXIT_NOT_SUPPORTED,
     "not supported here: NETLINK_RX_RING: ENOPROTOOPT"),
    (NamespaceNotFound("/run/netns/x", "no network namespace named 'x'"), EXIT_USAGE,
     "no network namespace named 'x'"),
    (NotANamespace("/etc/passwd", "/etc/passwd is not a network namespace (setns: EINVAL)"),
     EXIT_USAGE, "/etc/passwd is not a network namespace (setns: EINVAL)"),
    (NamespacePermissionError("/run/netns/x", "setns into /run/netns/x: Operation not permitted",
                              errno.EPERM), EXIT_PERMISSION,
     "permission denied: setns into /run/netns/x: Operation not permitted"),
    (PermissionError(errno.EACCES, "Permission denied", "/proc/1/ns/net"), EXIT_PERMISSION,
     "permission denied: /proc/1/ns/net: Permission denied"),
    (OSError(errno.EMFILE, "socket: Too many open files"), EXIT_FAILURE,
     "socket: Too many open files"),
    (ValueError("unknown table 'x'"), EXIT_USAGE, "unknown table 'x'"),
    (KeyError("x"), EXIT_FAILURE, "internal error: KeyError"),
    (NetringError("something"), EXIT_FAILURE, "something"),
]


@pytest.mark.parametrize(("exc", "rc", "text"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_every_escaping_error_is_one_line_and_its_exit_status(
        exc: BaseException, rc: int, text: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(probe_cmd, "_run", _raising(exc))
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert main(["probe"]) == rc
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"netring probe: {text}")
    assert "Traceback" not in err and "[Errno" not in err
    assert "run as root" not in err  # said to root, it would mislead


def test_permission_hint_only_for_a_non_root_user(monkeypatch: pytest.MonkeyPatch) -> None:
    exc = PermissionError(errno.EPERM, "setns: Operation not permitted")
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert exit_status(exc) == (EXIT_PERMISSION, "permission denied: setns: Operation not permitted")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    rc, text = exit_status(exc)
    assert rc == EXIT_PERMISSION and "uid 1000" in text


def test_keyboard_interrupt_is_130(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(probe_cmd, "_run", _raising(KeyboardInterrupt()))
    assert main(["probe"]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "netring probe: interrupted\n"


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe_cmd, "_run", _raising(NetlinkError(errno.ENODEV, "RTM_GETLINK")))
    with pytest.raises(NetlinkError):
        main(["--debug", "probe"])


def test_broken_pipe_is_not_an_error(monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(probe_cmd, "_run", _raising(BrokenPipeError(errno.EPIPE, "Broken pipe")))
    assert main(["probe"]) == 0
    assert capsys.readouterr().err == ""


def test_argparse_errors_keep_usage_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--bogus"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("usage: netring") and "unrecognized arguments: --bogus" in err
    # dump says it in one line, without the usage block
    assert main(["dump", "bogus"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'bogus'" in err
    assert main(["--version"]) == 0


def test_global_netns_refused_by_a_command_without_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-n", "blue", "probe"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == "netring probe: -n/--netns blue: this command does not run in a network namespace\n"


def test_global_netns_reaches_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []

    def fake(args: argparse.Namespace) -> int:
        seen.append(args.netns)
        return 0

    import netring.cli.dump as dump_cmd

    monkeypatch.setattr(dump_cmd, "_run", fake)
    assert main(["-n", "blue", "dump", "routes"]) == 0
    assert main(["--netns", "/proc/1/ns/net", "dump", "links"]) == 0
    assert main(["-n", "blue", "dump", "routes", "--netns", "red"]) == 0  # the command's own wins
    assert main(["dump", "routes"]) == 0
    assert seen == ["blue", "/proc/1/ns/net", "red", None]


def test_empty_namespace_name_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", "links", "--netns", ""]) == EXIT_USAGE
    assert capsys.readouterr().err == "netring dump: empty network namespace name ''\n"


def test_namespace_error_classes() -> None:
    with pytest.raises(NotANamespace, match="empty network namespace name"):
        netns_path("")
    with pytest.raises(NotANamespace, match="'..' is not a network namespace name"):
        netns_path("..")
    assert netns_path("blue") == "/run/netns/blue"
    assert netns_path("/proc/1/ns/net") == "/proc/1/ns/net"
    nf = NamespaceNotFound("/run/netns/x", "no network namespace named 'x'")
    assert isinstance(nf, FileNotFoundError) and isinstance(nf, NetringError)
    assert nf.errno == errno.ENOENT and nf.path == "/run/netns/x"
    assert str(nf) == "no network namespace named 'x'"
    na = NotANamespace("/tmp", "/tmp is a directory")
    assert isinstance(na, NamespaceError) and not isinstance(na, ValueError)
    assert isinstance(NamespacePermissionError("p", "r", errno.EPERM), PermissionError)


def test_demo_count_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--count", "0"]) == EXIT_USAGE
    assert capsys.readouterr().err == "netring demo: argument --count: count 0: must be at least 1\n"


def test_bench_unknown_name_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "nosuch"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("netring bench: unknown benchmark 'nosuch'")


def test_benchmark_machine_and_command_lines() -> None:
    m = {"cpu": "Intel(R) Xeon(R) Processor", "cores": 2, "kernel": "6.18.44",
         "python": "3.11.7", "implementation": "CPython"}
    assert machine_line(m) == "Intel(R) Xeon(R) Processor, 2 cores, Linux 6.18.44, CPython 3.11.7"
    assert "{" not in machine_line(machine())
    assert command_line(["/x/src/netring/__main__.py", "bench", "ring", "--quick"]) == \
        "python -m netring bench ring --quick"
    assert command_line(["/usr/bin/netring", "bench", "codec"]) == "netring bench codec"
    assert command_line(["benchmarks/bench_ring.py", "a b"]) == "python benchmarks/bench_ring.py 'a b'"


def test_first_table_has_no_blank_line_before_it() -> None:
    out = io.StringIO()
    print_table(out, "title", [("a", "1")], ("x", "y"), first=True)
    print_table(out, "second", [("b", "2")], ("x", "y"))
    assert out.getvalue() == "title\nx  y\na  1\n\nsecond\nx  y\nb  2\n"
