"""Registrum's Python SDK: `from registrum import Client`."""

from registrum.client import Client
from registrum.errors import (
    BadReply,
    DigestMismatch,
    FileError,
    InvalidInput,
    RegistrumError,
    Unreachable,
)

__all__ = [
    "BadReply",
    "Client",
    "DigestMismatch",
    "FileError",
    "InvalidInput",
    "RegistrumError",
    "Unreachable",
]
