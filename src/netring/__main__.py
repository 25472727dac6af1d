"""``python -m netring``: the command-line tool."""

from __future__ import annotations

from .cli import run

run()
