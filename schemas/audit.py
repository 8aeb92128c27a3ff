"""The audit trail over REST: GET /api/v1/audit/checkpoints answers a CheckpointPage (the
signed checkpoints of the log's hash chain and every key that ever signed them)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from schemas.bodies import Strict


class SigningKeyOut(Strict):
    key_id: str = Field(description="The first 16 hex digits of sha256(raw public key)")
    public_key: str = Field(description="Raw Ed25519 public key, base64")
    public_key_pem: str = Field(description="The same key as PEM (SubjectPublicKeyInfo)")
    replaces: str | None = Field(description="The key this one took over from")
    added_at: datetime
    recorded_at: int = Field(description="The log position of the key's event")


class CheckpointOut(Strict):
    position: int = Field(description="The log position whose link is signed")
    link: str = Field(description="The hash chain's link there (hex)")
    key_id: str
    signature: str = Field(
        description='Ed25519 over "registrum.checkpoint.v1" | position (8 bytes, '
        "big-endian) | link (32 bytes), base64"
    )
    time: datetime
    recorded_at: int = Field(description="The log position of the checkpoint's event")


class CheckpointPage(Strict):
    keys: list[SigningKeyOut]
    checkpoints: list[CheckpointOut]
    next_page_token: str | None = Field(
        description="Pass as page_token for the checkpoints after these; null at the end"
    )
