"""The one exception hierarchy of netring.

Every error netring raises derives from :class:`NetringError`.  Errors are always
raised, never stored inside decoded data.

``DecodeError``       the peer (kernel or process) sent bytes we cannot parse
``EncodeError``       the caller asked us to build something invalid
``NetlinkError``      the kernel answered a request with a negative errno
``DumpInterrupted``   a dump reply carried ``NLM_F_DUMP_INTR`` (a ``NetlinkError``, EINTR)
``Overrun``           the kernel dropped messages for this socket (ENOBUFS)
``TruncatedError``    a datagram did not fit our own receive buffer (MSG_TRUNC)
``RingError``         an illegal ring frame transition or ring misuse
``NotSupportedError`` the kernel or platform lacks a feature (says which)
``InterfaceNotFound`` no network interface of that name or index (in that namespace)
``FilterLocked``      a socket's BPF filter is locked (SO_LOCK_FILTER; a ``PermissionError``)
``NamespaceError``    a network namespace cannot be entered (an ``OSError``; says which
                      path and why); ``NamespaceNotFound`` is also a ``FileNotFoundError``,
                      ``NamespacePermissionError`` also a ``PermissionError``, and
                      ``NotANamespace`` names a file that is not a network namespace
"""

from __future__ import annotations

import errno as _errno

__all__ = [
    "NetringError",
    "DecodeError",
    "EncodeError",
    "NetlinkError",
    "DumpInterrupted",
    "Overrun",
    "TruncatedError",
    "RingError",
    "NotSupportedError",
    "InterfaceNotFound",
    "FilterLocked",
    "NamespaceError",
    "NamespaceNotFound",
    "NamespacePermissionError",
    "NotANamespace",
]


class NetringError(Exception):
    """Root of every exception netring raises."""


class DecodeError(NetringError, ValueError):
    """Malformed input: the bytes at ``offset`` cannot be decoded.

    Attributes:
        offset: byte offset into the buffer being decoded where the problem lies.
        reason: short human-readable explanation.
    """

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"{reason} (at offset {offset})")
        self.reason = reason
        self.offset = offset


class EncodeError(NetringError, ValueError):
    """The caller built something invalid (no room, value out of range, ...)."""


class NetlinkError(NetringError, OSError):
    """The kernel rejected a request.

    Attributes:
        errno: positive errno value reported by the kernel.
        op: what was being done (e.g. ``"RTM_NEWLINK"`` or ``"request type 16"``).
        seq: sequence number of the failed request.
        ext_msg: extended-ack message text (``NLMSGERR_ATTR_MSG``) or ``None``.
        ext_offset: extended-ack offset of the offending attribute or ``None``.
        miss_type: extended-ack missing attribute type or ``None``.
    """

    def __init__(
        self,
        errno: int,
        op: str = "",
        seq: int = 0,
        ext_msg: str | None = None,
        ext_offset: int | None = None,
        miss_type: int | None = None,
    ) -> None:
        self.op = op
        self.seq = seq
        self.ext_msg = ext_msg
        self.ext_offset = ext_offset
        self.miss_type = miss_type
        name = _errno.errorcode.get(errno, str(errno))
        text = f"{op}: " if op else ""
        text += f"{name}, seq {seq}"
        if ext_msg:
            text += f": {ext_msg}"
        if ext_offset is not None:
            text += f" [attribute at offset {ext_offset}]"
        if miss_type is not None:
            text += f" [missing attribute type {miss_type}]"
        OSError.__init__(self, errno, text)

    def __str__(self) -> str:
        return str(self.strerror)


class DumpInterrupted(NetlinkError):
    """A dump reply carried ``NLM_F_DUMP_INTR``: the kernel data changed while dumping.

    The dump is inconsistent and should be restarted (``retry=N`` does so).  Its
    errno is ``EINTR``, as libmnl reports the same condition.

    Args:
        op: the operation (``"dump RTM_GETROUTE"``).
        seq: the dump request's sequence number.
        detail: what happened (default: the kernel flagged the dump).
    """

    def __init__(self, op: str = "", seq: int = 0, detail: str | None = None) -> None:
        super().__init__(
            _errno.EINTR, op=op, seq=seq,
            ext_msg=detail or "dump interrupted (NLM_F_DUMP_INTR): the data changed "
            "while dumping; restart it",
        )


class Overrun(NetringError):
    """The kernel dropped messages for this socket (ENOBUFS on receive).

    The socket stays usable; state derived from notifications must be re-synchronised.

    Attributes:
        count: overruns seen on this socket so far (including this one).
        drops: kernel drop counter for the socket when it could be read, else ``None``.
    """

    def __init__(self, count: int, drops: int | None = None) -> None:
        super().__init__(
            f"netlink receive overrun (ENOBUFS): messages were lost; overrun #{count}"
            + (f", kernel drop counter {drops}" if drops is not None else "")
        )
        self.count = count
        self.drops = drops


class TruncatedError(NetringError):
    """A datagram was larger than the receive buffer netring offered (MSG_TRUNC).

    The kernel has consumed the datagram: its tail is lost.  Size the buffer
    from the largest message the peer sends (dumps: 32 KiB; notifications of
    big objects: more) and count this as a loss.

    Attributes:
        size: the datagram's real length when the kernel reported it, else ``None``.
        bufsize: the buffer that was offered.
    """

    def __init__(self, what: str, size: int | None, bufsize: int) -> None:
        real = f"{size} bytes" if size is not None else "a datagram"
        super().__init__(f"{what}: {real} truncated to the {bufsize}-byte receive buffer "
                         "(MSG_TRUNC); its tail is lost")
        self.size = size
        self.bufsize = bufsize


class RingError(NetringError):
    """An illegal ring frame transition, a bad geometry, or ring misuse."""


class NotSupportedError(NetringError):
    """The kernel or platform lacks a feature; the message says which."""


class InterfaceNotFound(NetringError, LookupError):
    """No network interface of that name or index in the namespace asked about.

    Attributes:
        name: the interface name (or index, as text) that was looked up.
    """

    def __init__(self, name: str, where: str = "") -> None:
        super().__init__(f"no interface named {name!r}" + (f" in {where}" if where else ""))
        self.name = name


class FilterLocked(NetringError, PermissionError):
    """A socket's BPF filter is locked (``SO_LOCK_FILTER``): the kernel answered EPERM.

    A locked filter cannot be replaced, removed or unlocked; it goes with the socket.

    Attributes:
        op: the refused operation (``"SO_ATTACH_FILTER"``, ``"SO_DETACH_FILTER"``, ...).
    """

    def __init__(self, op: str) -> None:
        PermissionError.__init__(
            self, _errno.EPERM, f"{op}: the socket's filter is locked (SO_LOCK_FILTER, EPERM); "
            "it stays until the socket is closed")
        self.op = op

    def __str__(self) -> str:
        return str(self.strerror)


class NamespaceError(NetringError, OSError):
    """A network namespace could not be entered.

    Attributes:
        path: the namespace file asked for (``/run/netns/NAME``, ``/proc/PID/ns/net``,
            ``fd N``), as given after name resolution.
        reason: what is wrong, in words.
        errno: the errno behind it (``ENOENT``, ``EINVAL``, ``EPERM``, ...).
    """

    def __init__(self, path: str, reason: str, errno: int = _errno.EINVAL) -> None:
        OSError.__init__(self, errno, reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class NamespaceNotFound(NamespaceError, FileNotFoundError):
    """No namespace file at the path (or no ``/run/netns`` entry for the name)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason, _errno.ENOENT)


class NamespacePermissionError(NamespaceError, PermissionError):
    """Entering the namespace was refused (``setns``: EPERM; ``open``: EACCES)."""


class NotANamespace(NamespaceError):
    """The path exists but is not a network namespace: a directory, an ordinary
    file, another kind of namespace, or an empty name."""
