"""Registrum's Python SDK: `from registrum import Client`."""

from registrum.client import Client, RegistrumError

__all__ = ["Client", "RegistrumError"]
