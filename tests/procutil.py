"""Child processes for tests: fork a function, reap it with a bound on time."""

from __future__ import annotations

import os
import signal
import time
import traceback
from collections.abc import Callable


def fork(fn: Callable[[], object]) -> int:
    """Fork; run ``fn`` in the child, which exits 0 on success and 1 on any exception."""
    pid = os.fork()
    if pid == 0:  # child: never returns into the caller's code
        code = 1
        try:
            fn()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


def reap(pid: int, timeout: float = 60) -> int:
    """Wait for ``pid`` at most ``timeout`` seconds; return its exit code.

    A child still running then is killed and the test fails.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"child {pid} did not finish in {timeout}s")


class SignalsWhenCollected:
    """Sends this process SIGTERM from its finaliser: Python runs the signal's handler
    inside ``__del__``, where an exception raised by the handler would be lost."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        self.after = True  # the handler runs here, in the finaliser's frame
