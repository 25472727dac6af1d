"""The console entry point ends a finished command with ``os._exit`` after flushing its
output, and takes the normal exit when a module with exit-time work was loaded."""

from __future__ import annotations

import subprocess
import sys

import pytest

import netring.cli as cli


def _ending(monkeypatch: pytest.MonkeyPatch, loaded: set[str]) -> list[tuple[str, int]]:
    ends: list[tuple[str, int]] = []

    class Ended(Exception):
        pass

    def fast(code: int) -> None:
        ends.append(("_exit", code))
        raise Ended

    def normal(code: object = 0) -> None:
        ends.append(("exit", int(code)))  # type: ignore[call-overload]
        raise Ended

    monkeypatch.setattr(cli, "main", lambda: 3)
    monkeypatch.setattr(cli.os, "_exit", fast)
    monkeypatch.setattr(cli.sys, "exit", normal)
    modules = {k: v for k, v in sys.modules.items() if k not in cli._EXIT_HOOKED}
    modules.update({m: sys for m in loaded})
    monkeypatch.setattr(cli.sys, "modules", modules)
    with pytest.raises(Ended):
        cli.run()
    return ends


def test_a_finished_command_skips_the_teardown(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _ending(monkeypatch, set()) == [("_exit", 3)]


@pytest.mark.parametrize("module", cli._EXIT_HOOKED)
def test_exit_time_work_gets_the_normal_exit(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    assert _ending(monkeypatch, {module}) == [("exit", 3)]


def test_output_is_whole_and_the_status_kept_through_a_pipe(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib
    import io
    import os

    monkeypatch.setenv("COLUMNS", "80")
    here = io.StringIO()
    with contextlib.redirect_stdout(here):
        assert cli.main(["dump", "--help"]) == 0
    big = subprocess.run([sys.executable, "-m", "netring", "dump", "--help"],
                         capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert big.returncode == 0 and big.stdout == here.getvalue()
    assert big.stdout.startswith("usage: netring dump")
    bad = subprocess.run([sys.executable, "-m", "netring", "dump", "nosuchkind"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
