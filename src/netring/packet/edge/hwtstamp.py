"""Hardware timestamping on a device: ``SIOCSHWTSTAMP`` / ``SIOCGHWTSTAMP``.

OS edge module.  libpcap turns NIC stamping on the same way before it sets
``PACKET_TIMESTAMP``::

    struct ifreq { char ifr_name[16]; void *ifr_data -> struct hwtstamp_config
                   { int flags; int tx_type; int rx_filter; } }
    ioctl(fd, SIOCSHWTSTAMP, &ifr)   rx_filter = HWTSTAMP_FILTER_ALL (the driver may widen it)

Most virtual devices (veth, bridges) have no hardware clock: the ioctl answers
EOPNOTSUPP and :func:`enable` says so in one line.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import fcntl
import os
import struct

from ..constants import HWTSTAMP_FILTER, HWTSTAMP_TX, SIOCGHWTSTAMP, SIOCSHWTSTAMP
from ..structs import hwtstamp_config

__all__ = ["enable", "query"]

IFNAMSIZ = 16


def _ioctl(fd: int, req: int, ifname: str, config: tuple[int, int, int]
           ) -> tuple[int, int, int]:
    cfg = ctypes.create_string_buffer(hwtstamp_config.pack(*config), hwtstamp_config.size)
    ifr = struct.pack(f"{IFNAMSIZ}sP16x", ifname.encode()[:IFNAMSIZ - 1], ctypes.addressof(cfg))
    fcntl.ioctl(fd, req, ifr)
    out: tuple[int, int, int] = hwtstamp_config.unpack(cfg.raw)
    return out


def _reason(ifname: str, what: str, exc: OSError) -> str:
    code = exc.errno or 0
    name = _errno.errorcode.get(code, str(code))
    why = {
        _errno.EOPNOTSUPP: "the driver has no hardware timestamping",
        _errno.EPERM: "needs CAP_NET_ADMIN",
        _errno.ERANGE: "the device cannot stamp the packets asked for",
        _errno.EINVAL: "the device refused the configuration",
    }.get(code, os.strerror(code))
    return f"hardware timestamps not active on {ifname}: {what}: {name} ({why})"


def query(fd: int, ifname: str) -> tuple[int, int, int] | str:
    """``SIOCGHWTSTAMP``: ``(flags, tx_type, rx_filter)``, or the one-line reason it failed."""
    try:
        return _ioctl(fd, SIOCGHWTSTAMP, ifname, (0, 0, 0))
    except OSError as exc:
        return _reason(ifname, "SIOCGHWTSTAMP", exc)


def enable(fd: int, ifname: str, rx_filter: int = HWTSTAMP_FILTER.ALL,
           tx_type: int = HWTSTAMP_TX.OFF) -> tuple[bool, str]:
    """Ask the device to stamp received packets; ``(active, text)``.

    ``active`` is True when the driver accepted a filter other than NONE;
    ``text`` names the filter it applied, or the one-line reason it is not active.
    """
    try:
        _flags, _tx, rx = _ioctl(fd, SIOCSHWTSTAMP, ifname, (0, tx_type, rx_filter))
    except OSError as exc:
        return False, _reason(ifname, "SIOCSHWTSTAMP", exc)
    if rx == HWTSTAMP_FILTER.NONE:
        return False, (f"hardware timestamps not active on {ifname}: the driver "
                       "answered rx_filter NONE")
    return True, f"hardware timestamps active on {ifname} (rx_filter {rx})"
