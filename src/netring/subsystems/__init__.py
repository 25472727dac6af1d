"""subsystems package."""
