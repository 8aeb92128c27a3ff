"""Signed checkpoints: the registry's Ed25519 key signs the chain's link at a position, so
a copy of the checkpoint kept outside the database (Kafka, an auditor's file) catches a
log rewritten or truncated afterwards.

    message   = "registrum.checkpoint.v1" | position (8 bytes, big-endian) | link (32)
    key id    = the first 16 hex digits of sha256(raw public key)
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.private import read_private, write_private

_MESSAGE = b"registrum.checkpoint.v1"


class KeyInvalid(ValueError):
    """A key file or a public key that is not an Ed25519 key."""


@dataclass(frozen=True)
class Checkpoint:
    """The head of the chain at position, as the key key_id signed it."""

    position: int
    link: bytes
    key_id: str
    signature: bytes

    def as_json(self) -> dict[str, object]:
        return {
            "position": self.position,
            "link": self.link.hex(),
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Checkpoint:
        try:
            return cls(
                position=int(str(data["position"])),
                link=bytes.fromhex(str(data["link"])),
                key_id=str(data["key_id"]),
                signature=base64.b64decode(str(data["signature"]), validate=True),
            )
        except (KeyError, ValueError) as exc:
            raise ValueError(f"not a checkpoint: {exc}") from None


def message(position: int, link: bytes) -> bytes:
    return _MESSAGE + position.to_bytes(8, "big") + link


def raw_public(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, position: int, link: bytes) -> Checkpoint:
    return Checkpoint(position, link, key_id(raw_public(key)), key.sign(message(position, link)))


def signature_holds(public: bytes, checkpoint: Checkpoint) -> bool:
    """Whether checkpoint's signature is public's over its position and link."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(
            checkpoint.signature, message(checkpoint.position, checkpoint.link)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def public_pem(public: bytes) -> str:
    key = Ed25519PublicKey.from_public_bytes(public)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_from_pem(text: str | bytes) -> bytes:
    """The raw public key of a PEM public key (or of a private key's PEM)."""
    data = text.encode() if isinstance(text, str) else text
    try:
        loaded = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            loaded = serialization.load_pem_private_key(data, password=None)  # type: ignore[assignment]
        except (ValueError, TypeError):
            raise KeyInvalid("not a PEM Ed25519 key") from None
    if isinstance(loaded, Ed25519PrivateKey):
        return raw_public(loaded)
    if not isinstance(loaded, Ed25519PublicKey):
        raise KeyInvalid("not an Ed25519 key")
    return raw_public(loaded)


def load_or_create(path: Path) -> Ed25519PrivateKey:
    """The signing key kept at path (PEM, 0600), made on first use."""
    text = read_private(path)
    if text is None:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        write_private(path, pem)
        return key
    try:
        loaded = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise KeyInvalid(f"{path} is not a PEM private key") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyInvalid(f"{path} is not an Ed25519 key")
    return loaded
