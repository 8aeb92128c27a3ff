"""MLflow 3's webhook signature, which Registrum sends unchanged so that a receiver written
for MLflow verifies ours with the same code.

Each request carries X-MLflow-Delivery-Id, X-MLflow-Timestamp (Unix seconds) and, when the
webhook has a secret, X-MLflow-Signature: `v1,` and the base64 of
HMAC-SHA256(secret, "<delivery id>.<timestamp>.<body>"), the body being the exact bytes
sent. The timestamp is signed, so a receiver can refuse old requests (replays); the
delivery id is signed, so it cannot be swapped to defeat the receiver's deduplication.

Registrum's delivery id is the same on every attempt of one delivery (MLflow draws a new
one per request): receivers deduplicate on it. The timestamp, and so the signature, is
fresh on each attempt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"
VERSION = "v1"


def sign(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The X-MLflow-Signature value of one request."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode()}"


def verify(secret: str, delivery_id: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether signature is the one secret gives this request (what a receiver checks; a
    constant-time comparison)."""
    if not timestamp.isdigit():
        return False
    expected = sign(secret, delivery_id, int(timestamp), body)
    return hmac.compare_digest(expected.encode(), signature.encode())


def headers(secret: str | None, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one request: without a secret, no signature (as MLflow)."""
    sent = {
        "Content-Type": "application/json",
        DELIVERY_ID_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
    }
    if secret:
        sent[SIGNATURE_HEADER] = sign(secret, delivery_id, timestamp, body)
    return sent
