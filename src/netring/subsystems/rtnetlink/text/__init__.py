"""iproute2's default text for rtnetlink objects, rendered from the views (pure).

``netring dump`` and ``netring monitor`` print what ``ip`` prints (iproute2 6.1):
one module per object kind renders lines straight from a view's attributes (no
intermediate dict), with the options of ``ip`` in a :class:`TextContext`.
"""

from __future__ import annotations

from .context import TextContext

__all__ = ["TextContext"]
