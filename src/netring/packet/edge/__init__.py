"""AF_PACKET edge: the modules here make the system calls the pure ``netring.packet`` code needs."""
