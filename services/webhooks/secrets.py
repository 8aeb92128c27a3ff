"""Webhook secrets encrypted at rest (Fernet: AES-128-CBC with HMAC-SHA256, from the
`cryptography` package; never hand-written crypto).

The key is a file (REGISTRUM_WEBHOOK_KEY_FILE; unset: webhook-secrets.key in the data
directory, made mode 0600 on the first start of `registrum serve`, like the audit signing
key). A database dump alone therefore reveals no secret, and deleting a webhook erases its
ciphertext. Every process that creates webhooks (the API) or signs deliveries (the
webhooks role) needs the same file; separate roles never make one of their own, so two
machines cannot drift onto different keys.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from services.private import read_private, write_private


class SecretUnreadable(RuntimeError):
    """A stored secret the configured key cannot decrypt (the key file was replaced)."""


class Cipher:
    """Encrypts and decrypts webhook secrets with one key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "a webhook secret cannot be decrypted with REGISTRUM_WEBHOOK_KEY_FILE's key"
            ) from None


def load(path: Path) -> Cipher | None:
    """The cipher of the key at path; None when there is no file."""
    text = read_private(path)
    return None if text is None else Cipher(text.strip().encode())


def load_or_create(path: Path) -> Cipher:
    """The cipher of the key at path, made (mode 0600) when there is none."""
    found = load(path)
    if found is not None:
        return found
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, Fernet.generate_key().decode() + "\n")
    cipher = load(path)
    if cipher is None:  # written a moment ago: only a concurrent removal gets here
        raise FileNotFoundError(path)
    return cipher
