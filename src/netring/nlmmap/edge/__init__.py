"""The OS side of netlink mmap rings; every module here may import OS modules.

::

    kernel    KernelRing, probe: the kernel's own rings (CONFIG_NETLINK_MMAP, 3.10 - 4.5)
    uring     UringRing, probe: the kernel fills the frames through io_uring (6.0+)
    shm       SharedRing: rings in a sealed memfd, shared header, COPY stream
    filler    RingFiller: recvmmsg from a netlink socket straight into RX frames
    fanout    Feeder: one socket into K rings (round-robin or keyed)
    tx        TxRing, flush_frames (one sendmsg), FrameSender (one sendmmsg)
    user      UserRing: the user-space backend behind the common consumer API
    factory   open_ring, ring_support, default_geometry
    writer    RingWriter: a peer process writes frames directly (no socket)
    transport RingTransport: a ring as the transport of netring.conn.Connection
"""
