"""nfnetlink: the netfilter netlink family (``NETLINK_NETFILTER``), pure.

Every nfnetlink message carries a 4-byte ``struct nfgenmsg`` after the netlink
header and names its subsystem in the high byte of ``nlmsg_type``::

    nlmsghdr (16)  | nfgenmsg (4)                         | attributes (BE ints)
    type = subsys << 8 | msg    family u8, version u8, res_id be16

``constants`` and ``structs`` hold what every nfnetlink subsystem shares;
``queue`` (nfnetlink_queue) and ``log`` (nfnetlink_log) build on them.
"""
