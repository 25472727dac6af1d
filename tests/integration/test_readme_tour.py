"""The README's library tour runs as written, on a machine that has only netring,
and runs again (it creates what it uses and removes it)."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest
from nsutil import have_ip, have_root

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _tour() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks, "the README has no Python tour"
    return blocks[0]


def test_readme_tour_runs_twice(tmp_path: pathlib.Path) -> None:
    if not (have_root() and have_ip()):
        pytest.skip("the tour creates a network namespace: needs root and iproute2")
    subprocess.run(["ip", "netns", "del", "tour"], capture_output=True, check=False)
    script = tmp_path / "tour.py"
    script.write_text(_tour())
    for _ in range(2):
        out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert '"dst": "10.0.0.0/24"' in out.stdout.replace("'", '"')
        assert "v0" in out.stdout.splitlines() and "v1" in out.stdout.splitlines()
        assert "<Message" in out.stdout
    assert not pathlib.Path("/run/netns/tour").exists()
