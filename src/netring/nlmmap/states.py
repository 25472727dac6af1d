"""Frame-state transitions, written once as data.

Every status change a cursor makes goes through :func:`check`; the unit tests
walk :data:`TRANSITIONS`; ``docs/rings.md`` embeds :func:`render_table`'s output
(a test checks the two agree).

Two repairs stand outside the table because they answer the other side
breaking it: a status word that is none of the five is stored UNUSED by the
consumer (counted), and a RESERVED frame whose producer died is published
empty (RESERVED -> VALID, ``nm_len`` 0) by a consumer that takes the producer
role for that one move.

Actors: ``producer`` is whoever fills the ring -- the kernel for a kernel RX
ring, the filler of the user-space engine or a peer process's
:class:`~netring.nlmmap.edge.writer.RingWriter` otherwise -- and ``consumer`` is the
program reading it.  On the TX ring the roles swap: the program produces
(``user``) and the kernel or :meth:`flush` consumes (``sender``).
"""

from __future__ import annotations

from collections import namedtuple

from ..errors import RingError
from .abi import NL_MMAP_STATUS

__all__ = ["Transition", "TRANSITIONS", "ALLOWED", "check", "render_table"]

S = NL_MMAP_STATUS


class Transition(namedtuple("Transition", "ring actor old new why")):
    """One legal status change of a frame.

    Attributes:
        ring: ``"rx"`` or ``"tx"``.
        actor: ``"producer"`` / ``"consumer"`` (rx), ``"user"`` / ``"sender"`` (tx).
        old: the status before (:class:`~netring.nlmmap.abi.NL_MMAP_STATUS`).
        new: the status after.
        why: when the transition happens, in words.
    """

    __slots__ = ()
    ring: str
    actor: str
    old: NL_MMAP_STATUS
    new: NL_MMAP_STATUS
    why: str


TRANSITIONS: tuple[Transition, ...] = (
    # --- RX ring -------------------------------------------------------------------
    Transition("rx", "producer", S.UNUSED, S.RESERVED,
               "kernel (or RingWriter.frame) reserves the frame to build a message in place"),
    Transition("rx", "producer", S.RESERVED, S.VALID,
               "message complete (nm_len 0 if dropped, or left by a dead writer)"),
    Transition("rx", "producer", S.UNUSED, S.VALID,
               "user-space filler (recvmmsg) or RingWriter.send_many: data, then VALID last"),
    Transition("rx", "producer", S.UNUSED, S.COPY,
               "message too large for a frame: it waits in a socket queue"),
    Transition("rx", "consumer", S.VALID, S.UNUSED,
               "message processed (or nm_len 0; or nm_len beyond the frame: dropped, counted)"),
    Transition("rx", "consumer", S.VALID, S.SKIP,
               "consumer keeps the frame and reads on; producer steps over it"),
    Transition("rx", "consumer", S.COPY, S.UNUSED,
               "the queued message was fetched with exactly one recv (or dropped, counted)"),
    Transition("rx", "consumer", S.SKIP, S.UNUSED,
               "a kept frame is handed back (released in any order; see SKIP guarantees)"),
    # --- TX ring -------------------------------------------------------------------
    Transition("tx", "user", S.UNUSED, S.VALID,
               "message built in the frame, nm_len set, VALID stored last"),
    Transition("tx", "sender", S.VALID, S.UNUSED,
               "frame copied into the socket by sendmsg (or reported bad)"),
    Transition("tx", "sender", S.VALID, S.RESERVED,
               "3.10 zero-copy only: kernel processes the frame in place"),
    Transition("tx", "sender", S.RESERVED, S.UNUSED,
               "3.10 zero-copy only: kernel done with the frame"),
)

ALLOWED: frozenset[tuple[str, str, int, int]] = frozenset(
    (t.ring, t.actor, int(t.old), int(t.new)) for t in TRANSITIONS
)


def check(ring: str, actor: str, old: int, new: int, frame: int = -1) -> None:
    """Raise :class:`RingError` unless ``actor`` may move a ``ring`` frame ``old -> new``."""
    if (ring, actor, old, new) not in ALLOWED:
        raise RingError(
            f"illegal {ring.upper()} transition by {actor}: {_name(old)} -> {_name(new)}"
            + (f" (frame {frame})" if frame >= 0 else "")
        )


def _name(v: int) -> str:
    try:
        return S(v).name
    except ValueError:
        return f"status {v}"


def render_table() -> str:
    """The transition table as a Markdown table (embedded in docs/rings.md)."""
    lines = ["| ring | who | from | to | why |", "|---|---|---|---|---|"]
    for t in TRANSITIONS:
        lines.append(f"| {t.ring.upper()} | {t.actor} | {t.old.name} | {t.new.name} | {t.why} |")
    return "\n".join(lines)
