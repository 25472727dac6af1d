"""netring bench queue: the consumer table, its command lines and the parsers (no kernel)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys

import pytest

from netring.tools.bench import queue as q

VALUES = {name: f"<{name[1:]}>" for name in q.PLACEHOLDERS}


def test_the_consumer_table_is_well_formed() -> None:
    keys = [c.key for c in q.CONSUMERS]
    assert len(keys) == len(set(keys))
    assert len({c.label for c in q.CONSUMERS}) == len(keys)
    for c in q.CONSUMERS:
        assert c.key.isidentifier() and c.label and c.argv, c
        assert c.needs in ("", "netfilterqueue", "fnfqueue", "netring", "netring_compat"), c
        assert not c.single or c.single in keys, c
        assert c.seed is None or (c.seed[0] in ("socket", "ring") and c.seed[1] >= 0), c
        unknown = [t for t in c.argv if t.startswith("$") and t not in q.PLACEHOLDERS]
        assert not unknown, (c.key, unknown)
    # the references the ratios are taken against are in the table
    assert {"c", "c_batch64", "netfilterqueue", "fnfqueue", "py", "py_batch64"} <= set(keys)


def test_every_command_line_is_filled_in() -> None:
    for c in q.CONSUMERS:
        argv = q.consumer_argv(c, VALUES)
        assert len(argv) == len(c.argv)
        assert not any(a.startswith("$") for a in argv), argv
        assert argv[0] in VALUES.values(), argv
        if "-c" in argv and not c.todo:  # a Python source: it must at least parse
            ast.parse(argv[argv.index("-c") + 1])
    with pytest.raises(KeyError):
        q.consumer_argv(q.CONSUMERS[0], {})


def test_the_python_consumers_parse_and_import_only_what_they_should() -> None:
    for name, src, allowed in (
        ("raw", q.RAW_PY, {"errno", "json", "signal", "socket", "struct", "sys"}),
        ("NetfilterQueue", q.NETFILTERQUEUE_PY, {"sys", "netfilterqueue"}),
        ("netring's drop-in", q.NETRING_COMPAT_PY, {"sys", "netring"}),
        ("fnfqueue", q.FNFQUEUE_PY, {"sys", "fnfqueue"}),
        ("netring packets", q.NETRING_PACKETS_PY, {"json", "signal", "sys", "netring"}),
        ("netring batches", q.NETRING_BATCHES_PY, {"json", "signal", "sys", "netring"}),
        ("netring run", q.NETRING_RUN_PY, {"json", "signal", "sys", "netring"}),
    ):
        tree = ast.parse(src)
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
        assert imported == allowed, (name, imported)


def test_todo_entries_say_why_and_runnable_ones_do_not() -> None:
    for c in q.CONSUMERS:
        if c.todo:
            assert c.key.startswith("netring") and c.needs == "netring", c
        else:
            assert "TODO" not in c.argv, c
        if c.needs == "netring" and not c.todo:  # netring's rows import what the check finds
            src = c.argv[c.argv.index("-c") + 1]
            assert f"from {q.NETRING_QUEUE_MODULE} import Queue" in src, c


def test_the_drop_in_row_is_netfilterqueues_code_with_the_import_swapped() -> None:
    nfq = q.NETFILTERQUEUE_PY.splitlines()
    ours = q.NETRING_COMPAT_PY.splitlines()
    differ = [(a, b) for a, b in zip(nfq, ours, strict=True) if a != b]
    assert differ == [("from netfilterqueue import NetfilterQueue",
                       "from netring.compat.netfilterqueue import NetfilterQueue")]
    row = next(c for c in q.CONSUMERS if c.key == "netring_compat")
    assert row.needs == "netring_compat" and q.NETRING_COMPAT_PY in row.argv


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
@pytest.mark.parametrize("name", ["TRAFFIC_C", "CONSUMER_C"])
def test_the_c_programs_compile(tmp_path: os.PathLike[str], name: str) -> None:
    src = os.path.join(tmp_path, f"{name}.c")
    with open(src, "w") as f:
        f.write(getattr(q, name))
    r = subprocess.run(["gcc", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-pthread", src],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_parse_queue_stats() -> None:
    text = ("    7   4303     3 2 65531     5     6   600300  1\n"
            "   12      0     0 0     0     0     0        0  1\n"
            "garbage line\n")
    rows = q.parse_queue_stats(text)
    assert set(rows) == {7, 12}
    assert rows[7] == {"queue": 7, "portid": 4303, "waiting": 3, "copy_mode": 2,
                       "copy_range": 65531, "queue_dropped": 5, "user_dropped": 6,
                       "id_sequence": 600300}
    assert q.parse_queue_stats("") == {}


def test_the_peer_venv_is_under_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/x/cache")
    assert q.peer_venv_dir() == "/x/cache/netring-bench/venv"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert q.peer_venv_dir().endswith("/.cache/netring-bench/venv")
    assert not q.peer_venv_dir().startswith(sys.prefix)


def test_without_root_it_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    out = io.StringIO()
    res = q.run(quick=True, out=out)
    assert res["error"].startswith("netring bench queue: needs root")
    assert out.getvalue().count("\n") == 1
