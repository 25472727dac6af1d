"""Drop-in replacements for other libraries' APIs, written on netring's own objects.

::

    netfilterqueue   NetfilterQueue 1.1 (``NetfilterQueue``, ``Packet``, ``COPY_*``,
                     ``PROTOCOLS``) over :class:`netring.subsystems.nfnetlink.edge.queue.Queue`

Each module is an edge module (it does I/O) and is imported on its own:
``from netring.compat.netfilterqueue import NetfilterQueue``.
"""
