"""nfnetlink edges: the objects that own a ``NETLINK_NETFILTER`` socket."""
