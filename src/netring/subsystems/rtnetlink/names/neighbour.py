"""iproute2's names for neighbour states (``print_neigh_state``)."""

from __future__ import annotations

from ..constants import NUD

__all__ = ["nud_state_names"]

# print_neigh_state: NUD_* names in bit order
_NUD = tuple((int(s), str(s.name)) for s in NUD if s)


def nud_state_names(state: int) -> list[str]:
    """``print_neigh_state``: NUD names in bit order, then the rest in hex."""
    out: list[str] = []
    for bit, name in _NUD:
        if state & bit:
            out.append(name)
            state &= ~bit
    if state:
        out.append(f"{state:#x}")
    return out
