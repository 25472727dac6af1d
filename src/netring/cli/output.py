"""Output helpers shared by the commands."""

from __future__ import annotations

from ..codec.types import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__all__ = ["json_dumps"]


def json_dumps(obj: object, **kw: Any) -> str:
    """``json.dumps``, importing :mod:`json` on first use (``--help`` never needs it)."""
    import json

    return json.dumps(obj, **kw)
