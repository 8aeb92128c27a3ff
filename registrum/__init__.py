"""Registrum's Python SDK: `from registrum import Client`."""

from registrum.client import Client
from registrum.errors import (
    BadReply,
    CredentialsError,
    DigestMismatch,
    FileError,
    Forbidden,
    InvalidInput,
    RegistrumError,
    Unauthenticated,
    Unreachable,
)

__all__ = [
    "BadReply",
    "Client",
    "CredentialsError",
    "DigestMismatch",
    "FileError",
    "Forbidden",
    "InvalidInput",
    "RegistrumError",
    "Unauthenticated",
    "Unreachable",
]
