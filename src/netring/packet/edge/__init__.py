"""AF_PACKET OS edge: the packet socket, its mmap'ed RX/TX rings, fanout, timestamps, filters.

Modules: :mod:`.sock` (``PacketSocket``), :mod:`.ring` (``CaptureRing``),
:mod:`.tx` (``TxRing``), :mod:`.fanout` (groups, handing sockets to workers),
:mod:`.hwtstamp` (``SIOCSHWTSTAMP``), :mod:`.filter` (compiling and attaching
BPF socket filters).  The pure ``netring.packet`` code needs the system calls made here.
"""
