"""The audit trail's own facts in the log: the keys that sign checkpoints, and the
checkpoints themselves.

A key is introduced by an event (and a rotation names the key it replaces), so every key
that ever signed stays in the log and old checkpoints stay verifiable. Each checkpoint is
its own small aggregate, keyed by the position it covers: two signers racing for one
position cannot both record it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from services.registry.domain.values import Context

SIGNING_KEYS_ID = uuid5(NAMESPACE_URL, "registrum:signing-keys")


def checkpoint_id(position: int) -> UUID:
    return uuid5(NAMESPACE_URL, f"registrum:checkpoint:{position}")


class SigningKeys(Aggregate):
    """Every public key the registry has signed checkpoints with, by key id."""

    class Event(Aggregate.Event):
        actor: str
        reason: str | None
        command_id: str | None

    class KeysOpened(Aggregate.Created, Event):
        def apply(self, keys: SigningKeys) -> None:
            keys.keys = {}
            keys.current = None

    class SigningKeyAdded(Event):
        key_id: str
        public_key: str  # raw Ed25519, base64
        replaces: str | None

        def apply(self, keys: SigningKeys) -> None:
            keys.keys[self.key_id] = self.public_key
            keys.current = self.key_id

    if TYPE_CHECKING:
        keys: dict[str, str]
        current: str | None

    @classmethod
    def open(cls, ctx: Context) -> SigningKeys:
        return cls._create(cls.KeysOpened, id=SIGNING_KEYS_ID, **ctx.fields())

    def add(self, key_id: str, public_key: str, ctx: Context) -> bool:
        """Makes key_id the signing key; False when it already is."""
        if self.current == key_id:
            return False
        self.trigger_event(
            self.SigningKeyAdded,
            key_id=key_id,
            public_key=public_key,
            replaces=self.current,
            **ctx.fields(),
        )
        return True


class Checkpoint(Aggregate):
    """The chain's link at position, signed."""

    class CheckpointSigned(Aggregate.Created):
        position: int
        link: str  # hex
        key_id: str
        signature: str  # base64
        actor: str
        reason: str | None
        command_id: str | None

    @classmethod
    def sign(
        cls, position: int, link: str, key_id: str, signature: str, ctx: Context
    ) -> Checkpoint:
        return cls._create(
            cls.CheckpointSigned,
            id=checkpoint_id(position),
            position=position,
            link=link,
            key_id=key_id,
            signature=signature,
            **ctx.fields(),
        )
