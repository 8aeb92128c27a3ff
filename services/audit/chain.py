"""The hash chain over the event log: what a link is, computed the same way by the writer
(in the events' own transaction), by `registrum audit verify` against the database, and
offline over an export.

Each stored event gets two digests and a link:

    head    = sha256("registrum.event.v1" | stream id (16 bytes) | stream version (8) |
                     len(type) (4) | type)
    payload = sha256(state, the event's stored bytes)
    link    = sha256(previous link | position (8) | head | payload)

The first event's previous link is 32 zero bytes. Integers are big-endian and unsigned.
The position is in the link but not in the digests, so an event moved to another
position still matches its own digests there: verify can tell a reordered row from an
edited one.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

GENESIS = bytes(32)
HEAD_PREFIX = b"registrum.event.v1"


def head_digest(stream_id: UUID | str, stream_version: int, topic: str) -> bytes:
    """The digest of an event's metadata: its stream, its version there and its type."""
    uid = stream_id if isinstance(stream_id, UUID) else UUID(stream_id)
    kind = topic.encode()
    return hashlib.sha256(
        HEAD_PREFIX
        + uid.bytes
        + stream_version.to_bytes(8, "big")
        + len(kind).to_bytes(4, "big")
        + kind
    ).digest()


def payload_digest(state: bytes) -> bytes:
    """The digest of an event's stored bytes."""
    return hashlib.sha256(state).digest()


def link(previous: bytes, position: int, head: bytes, payload: bytes) -> bytes:
    """The link of the event at position, given the link before it."""
    return hashlib.sha256(previous + position.to_bytes(8, "big") + head + payload).digest()
