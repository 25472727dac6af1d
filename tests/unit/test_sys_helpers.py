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


def test_signal_stop_records_the_signal_wakes_a_poll_and_restores_what_was_there() -> None:
    import select
    import signal

    from netring._sys.sigstop import SignalStop

    seen: list[int] = []
    before = signal.signal(signal.SIGUSR1, lambda signum, frame: seen.append(signum))
    try:
        with SignalStop(signal.SIGUSR1) as stop:
            p = select.poll()
            p.register(stop.fd, select.POLLIN)
            assert not stop.requested and p.poll(0) == []
            os.kill(os.getpid(), signal.SIGUSR1)
            assert stop.requested  # the handler only records it
            assert p.poll(0) == [(stop.fd, select.POLLIN)]  # the wake pipe has its byte
            stop.drain()
            assert p.poll(0) == []
            fd = stop.fd
        assert stop.fd == -1
        with pytest.raises(OSError):
            os.fstat(fd)  # the pipe is closed
        assert signal.set_wakeup_fd(-1) == -1  # the previous wake-up fd (none) is back
        os.kill(os.getpid(), signal.SIGUSR1)
        assert seen == [signal.SIGUSR1]  # and the previous handler
    finally:
        signal.signal(signal.SIGUSR1, before)


def test_signal_stop_refuses_what_it_cannot_watch_in_its_own_words() -> None:
    import signal
    import threading

    from netring._sys.sigstop import SignalStop
    from netring.errors import EncodeError

    with pytest.raises(EncodeError, match="signal 9: cannot be watched"):
        with SignalStop(signal.SIGKILL):
            pass
    assert signal.set_wakeup_fd(-1) == -1  # nothing left installed
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with SignalStop():
                pass
        except EncodeError as exc:
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join(5)
    assert len(errors) == 1 and "main thread" in str(errors[0])
