"""The checkpoint signer, a follower of the log: every N events or T seconds (whichever
comes first, and only when the log has moved), it signs the chain's head with the
registry's key and records the checkpoint as an event. The relay then publishes it to
`registry.audit-checkpoints`, so copies live outside the database.

A checkpoint is itself an event, at the position after the one it covers: the signer
waits for events other than its own before signing again, so an idle registry records
nothing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from dataclasses import dataclass

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import reading
from services.audit.signing import key_id, raw_public, sign
from services.registry.application import Registry

log = logging.getLogger("registrum.audit")


@dataclass(frozen=True)
class Cadence:
    events: int = 1000
    seconds: float = 60.0
    poll: float = 0.5


class Signer:
    def __init__(
        self, registry: Registry, events_dsn: str, key: Ed25519PrivateKey, cadence: Cadence
    ) -> None:
        self.registry = registry
        self.events_dsn = events_dsn
        self.key = key
        self.cadence = cadence
        self.key_id = key_id(raw_public(key))

    async def introduce(self) -> None:
        """Records this signer's public key in the log, unless it already signs."""
        public = base64.b64encode(raw_public(self.key)).decode()
        if await asyncio.to_thread(self.registry.introduce_signing_key, self.key_id, public):
            log.info("checkpoints are now signed with key %s", self.key_id)

    async def sign_now(self) -> bool:
        """Introduces the key if needed and signs the chain's head at once (operators,
        tests and benches; run() signs on its cadence). False with nothing to sign."""
        await self.introduce()
        conn = await asyncpg.connect(self.events_dsn)
        try:
            top = await reading.head(conn)
        finally:
            await conn.close()
        return top is not None and await self.checkpoint(*top)

    async def run(self, stop: asyncio.Event) -> None:
        await self.introduce()
        conn = await asyncpg.connect(self.events_dsn)
        try:
            await self._loop(conn, stop)
        finally:
            await conn.close()

    async def _loop(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        signed_through = await reading.last_checkpoint_event(conn)
        last_time = time.monotonic()
        while not stop.is_set():
            top = await reading.head(conn)
            if top is not None:
                position, link = top
                due = position - signed_through >= self.cadence.events or (
                    time.monotonic() - last_time >= self.cadence.seconds
                )
                if position > signed_through and due:
                    await self.checkpoint(position, link)
                    signed_through = await reading.last_checkpoint_event(conn)
                    last_time = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.cadence.poll)

    async def checkpoint(self, position: int, link: bytes) -> bool:
        """Signs the chain's link at position and records it; False when a checkpoint of
        that position is already recorded."""
        cp = sign(self.key, position, link)
        return await asyncio.to_thread(
            self.registry.record_checkpoint,
            cp.position,
            cp.link.hex(),
            cp.key_id,
            base64.b64encode(cp.signature).decode(),
        )
