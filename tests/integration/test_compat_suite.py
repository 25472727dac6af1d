"""NetfilterQueue 1.1.0's own test suite passes on netring's drop-in wherever it passes on
NetfilterQueue itself (tools/compat_check.py: the sdist is fetched from PyPI at run time,
into a cache venv)."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "compat_check.py"


def _cache() -> pathlib.Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "netring-bench"


def _why_not() -> str:
    if os.geteuid() != 0:
        return "needs root: NetfilterQueue's suite makes namespaces and iptables rules"
    cached = ((_cache() / "compat-sdist" / "NetfilterQueue-1.1.0.tar.gz").exists()
              and (_cache() / "compat-venv" / "netring-compat-requirements.txt").exists())
    if cached:
        return ""
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError as exc:
        return (f"PyPI (pypi.org:443) is unreachable ({exc}) and NetfilterQueue 1.1.0's sdist "
                f"and test requirements are not cached in {_cache()}")
    return ""


def test_netfilterqueues_own_suite_passes_on_the_drop_in() -> None:
    why = _why_not()
    if why:
        pytest.skip(why)
    r = subprocess.run([sys.executable, str(TOOL), "--json"], capture_output=True, text=True,
                       timeout=1800)
    result = json.loads(r.stdout)
    if result["status"] == 3:
        pytest.skip(f"NetfilterQueue's suite could not be run: {result['error']}")
    ref = result["runs"].get("netfilterqueue", {})
    if "skipped" in ref:
        pytest.skip(f"no reference run to compare with: {ref['skipped']}")
    ours = result["runs"]["netring"]["outcomes"]
    theirs = ref["outcomes"]
    assert set(ours) == set(theirs) and len(ours) >= 10, (ours, theirs)
    assert result["drop_in_fails_where_reference_passes"] == [], result
    assert result["status"] == 0 and r.returncode == 0
    # where NetfilterQueue fails, the drop-in fails the same way (here: test_mark_repeat,
    # as this kernel gives forwarded packets no timestamp), or passes
    for name, outcome in theirs.items():
        if outcome != "passed":
            assert ours[name] in ("passed", outcome), (name, ours[name], outcome)
