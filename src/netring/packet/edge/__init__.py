"""AF_PACKET OS edge: the packet socket, its mmap'ed RX/TX rings, fanout, timestamps.

Modules: :mod:`.sock` (``PacketSocket``), :mod:`.ring` (``CaptureRing``),
:mod:`.tx` (``TxRing``), :mod:`.fanout` (groups, handing sockets to workers),
:mod:`.hwtstamp` (``SIOCSHWTSTAMP``).
"""
