"""Tools built on the library: demo traffic generators and harnesses (not the core API)."""
