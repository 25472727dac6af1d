"""The sizes a queue's ring receive path is built from (no kernel needed)."""

from __future__ import annotations

import pytest

from netring.codec.structs import sockaddr_nl
from netring.errors import EncodeError
from netring.nlmmap.abi import NL_MMAP_HDRLEN
from netring.nlmmap.uring_abi import io_uring_recvmsg_out
from netring.nlmmap.uring_cursor import RecvmsgLayout
from netring.subsystems.nfnetlink.edge.queue_receive import (
    RING_FRAMES,
    RING_PREFIX,
    open_queue_ring,
    ring_geometry,
    slot_size,
)
from netring.subsystems.nfnetlink.queue.constants import (
    NFQNL_COPY,
    NFQNL_MAX_COPY_RANGE,
    NFQNL_QMAX_DEFAULT,
)
from netring.subsystems.nfnetlink.queue.stats import QueueStats


def test_the_prefix_is_the_largest_any_backend_puts_before_a_datagram() -> None:
    assert RING_PREFIX == NL_MMAP_HDRLEN + io_uring_recvmsg_out.size + sockaddr_nl.size


@pytest.mark.parametrize("mode,copy_range", [(NFQNL_COPY.PACKET, NFQNL_MAX_COPY_RANGE),
                                             (NFQNL_COPY.PACKET, 1500),
                                             (NFQNL_COPY.PACKET, 0),
                                             (NFQNL_COPY.META, 0)])
@pytest.mark.parametrize("batch", [1, 10, 64, 1024])
@pytest.mark.parametrize("page", [4096, 16384])
def test_a_frame_holds_a_whole_slot_on_every_backend(mode: int, copy_range: int, batch: int,
                                                     page: int) -> None:
    slot = slot_size(mode, copy_range)
    g = ring_geometry(slot, batch, page)
    assert g.frame_size % page == 0 and g.block_size % g.frame_size == 0
    assert g.data_size >= slot  # the kernel's and the user-space engine's frames
    assert RecvmsgLayout(g, sockaddr_nl.size, None).capacity >= slot  # io_uring's
    assert g.frame_nr >= max(2 * batch, RING_FRAMES) and g.frame_nr & (g.frame_nr - 1) == 0


def test_the_ring_holds_a_default_length_kernel_queue() -> None:
    # a consumer behind by a whole default queue still finds a frame per datagram
    assert RING_FRAMES == NFQNL_QMAX_DEFAULT == 1024
    assert ring_geometry(slot_size(NFQNL_COPY.PACKET, NFQNL_MAX_COPY_RANGE), 64,
                         4096).frame_nr == 1024


def test_the_slot_is_what_the_recvmmsg_path_uses() -> None:
    assert slot_size(NFQNL_COPY.META, 65531) == 1024
    assert slot_size(NFQNL_COPY.PACKET, 1500) == (1500 + 1024 + 63) & ~63


def test_an_unknown_ring_backend_is_refused_before_anything_opens() -> None:
    with pytest.raises(EncodeError, match="ring must be None or one of"):
        open_queue_ring(None, "io_uring", 2048, 64)


def test_stats_say_the_receive_path() -> None:
    s = QueueStats()
    assert s.receive == "recvmmsg" and s.ring is None
    s.receive, s.ring = "uring", {"truncated": 0}
    d = s.to_dict()
    assert d["receive"] == "uring" and d["ring"] == {"truncated": 0}
