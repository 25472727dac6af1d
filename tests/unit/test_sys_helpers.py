"""Shared OS helpers: the poll deadline arithmetic, eventfd signal/drain, sealed memfds."""

from __future__ import annotations

import fcntl
import os
import time

import pytest

from netring._sys import eventfd, mapping, poll
from netring._sys.nladdr import sockaddr_nl_bytes
from netring.codec.structs import sockaddr_nl


def test_timeout_ms_rounds_up_and_never_goes_negative() -> None:
    assert poll.timeout_ms(None) == -1
    assert poll.timeout_ms(0) == 0
    assert poll.timeout_ms(0.0001) == 1  # a short wait is a wait, not a 0 ms spin
    assert poll.timeout_ms(1.5) == 1500
    assert poll.timeout_ms(-3) == 0


def test_ms_left_is_cut_to_the_slice() -> None:
    assert poll.ms_left(None) == -1
    assert poll.ms_left(None, 20) == 20
    assert poll.ms_left(time.monotonic() - 1) == 0
    assert poll.ms_left(time.monotonic() + 10, 20) == 20
    assert 0 < poll.ms_left(poll.deadline_after(0.5)) <= 500


def test_eventfd_signal_wakes_and_drain_resets() -> None:
    fd = eventfd.create()
    try:
        r = poll.Readable(fd)
        assert not r.wait(0)
        eventfd.drain(fd)  # already 0: no error
        eventfd.signal(fd)
        eventfd.signal(fd)
        assert r.wait(0) and poll.wait_readable(fd, 0)
        eventfd.drain(fd)
        assert not r.wait(0)
    finally:
        os.close(fd)


def test_sealed_memfd_cannot_change_size() -> None:
    fd = mapping.sealed_memfd("netring-test", mapping.PAGE_SIZE)
    try:
        assert os.fstat(fd).st_size == mapping.PAGE_SIZE
        assert os.fstat(fd).st_mode & 0o777 == 0o600
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
        assert seals & fcntl.F_SEAL_SHRINK and seals & fcntl.F_SEAL_GROW
        with pytest.raises(PermissionError):
            os.ftruncate(fd, 2 * mapping.PAGE_SIZE)
        mm = mapping.map_shared(fd, mapping.PAGE_SIZE)
        pinned = mapping.pin(mm)
        assert mapping.address(pinned) != 0
        with pytest.raises(BufferError):
            mm.close()
        del pinned
        mm.close()
    finally:
        os.close(fd)


def test_sockaddr_nl_bytes_is_the_codec_struct() -> None:
    raw = sockaddr_nl_bytes(1234, 5)
    assert sockaddr_nl.unpack(raw)[2:] == (1234, 5) and len(raw) == sockaddr_nl.size
