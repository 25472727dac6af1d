"""``netring probe [--json]``: what this kernel offers, found by trying each thing."""

from __future__ import annotations

import argparse

from ..codec.types import TYPE_CHECKING
from .output import json_dumps

if TYPE_CHECKING:
    from typing import Any

__all__ = ["register", "format_probe"]


def register(sub: Any) -> None:
    p = sub.add_parser("probe", help="show what this kernel offers (each answer found by trying it)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run)


def _yes(ok: object) -> str:
    return "yes" if ok else "no"


def format_probe(r: dict[str, Any]) -> str:
    """Human-readable rendering of :func:`netring.tools.probe.probe`'s result."""
    lines = [f"kernel              {r['kernel']}"]
    mm = r.get("netlink_mmap", {})
    ur = r.get("io_uring_ring")  # the io_uring ring backend (nlmmap/edge/uring.py)
    if "rx" in mm:
        state = f"rx {_yes(mm['rx'])}, tx {_yes(mm['tx'])}"
        if mm.get("error"):
            state += (f" ({mm['error']}): netring uses "
                      + ("io_uring to fill its rings" if ur and ur.get("available")
                         else "its user-space ring engine"))
        else:
            state += ": netring uses the kernel's rings"
    else:
        state = f"unknown ({mm.get('error')})"
    lines.append(f"netlink mmap rings  {state}")
    if ur is not None:
        text = (f"yes ({ur.get('reason')}; features {ur.get('features')})" if ur.get("available")
                else f"no ({ur.get('reason')})")
        lines.append(f"io_uring ring       {text}")

    def simple(label: str, key: str) -> None:
        d = r.get(key, {})
        text = _yes(d.get("ok"))
        if d.get("error"):
            text += f" ({d['error']})"
        lines.append(f"{label:<20}{text}")

    simple("recvmmsg", "recvmmsg")
    simple("NETLINK_USERSOCK", "usersock")
    opts = r.get("netlink_options", {})
    lines.append(
        "netlink options     "
        + ", ".join(f"{k.upper()} {_yes(opts.get(k))}" for k in ("ext_ack", "cap_ack", "get_strict_chk"))
    )
    pk = r.get("af_packet", {})
    lines.append(
        "AF_PACKET           "
        + (", ".join(pk.get("tpacket_versions", [])) or "no")
        + (f" ({pk['error']})" if pk.get("error") else "")
    )
    lines.append("  fanout modes      " + (", ".join(pk.get("fanout_modes", [])) or "none"))
    simple("nfnetlink_queue", "nfnetlink_queue")
    simple("nfnetlink_log", "nfnetlink_log")
    simple("network namespaces", "netns")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    from ..tools.probe import probe

    result = probe()
    print(json_dumps(result) if args.json else format_probe(result))
    return 0
