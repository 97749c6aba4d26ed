"""Helpers shared by the constructs; not part of the public API."""
