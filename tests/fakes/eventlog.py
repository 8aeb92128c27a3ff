"""The event log for unit tests: the in-memory log (services/eventlog/memory.py), and the
registry's events written the way the write side stores them, so a test can say
"a model named fraud was registered, then promoted" instead of building rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from services.eventlog.memory import MemoryEventLog
from services.registry.domain.model import version_id_for

__all__ = ["MemoryEventLog", "RegistryEvents"]

MODEL_TOPIC = "services.registry.domain.model:RegisteredModel"
VERSION_TOPIC = "services.registry.domain.version:ModelVersion"

Append = Callable[[UUID, int, str, bytes], object]


def transcoder() -> JSONTranscoder:
    """The write side's encoding of event state (eventsourcing's defaults)."""
    coder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        coder.register(transcoding)
    return coder


class RegistryEvents:
    """Appends the registry's events, shaped and encoded as the write side stores them,
    through `append(originator_id, originator_version, topic, state)`: MemoryEventLog's
    append, or a writer into a PostgreSQL events table in contract tests."""

    def __init__(self, append: Append, actor: str = "alice") -> None:
        self._append = append
        self.actor = actor
        self._coder = transcoder()
        self._versions: dict[UUID, int] = {}  # originator: its last version
        self._names: dict[UUID, str] = {}
        self._clock = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def register_model(self, name: str) -> UUID:
        model_id = uuid4()
        self._names[model_id] = name
        self._event(
            model_id,
            MODEL_TOPIC,
            "ModelRegistered",
            name=name,
            description="",
            tags={},
            allow_multiple_production=False,
        )
        return model_id

    def rename_model(self, model_id: UUID, new_name: str) -> None:
        old_name, self._names[model_id] = self._names[model_id], new_name
        self._event(model_id, MODEL_TOPIC, "ModelRenamed", old_name=old_name, new_name=new_name)

    def tag_model(self, model_id: UUID, key: str, value: str) -> None:
        self._event(model_id, MODEL_TOPIC, "ModelTagged", key=key, value=value)

    def register_version(
        self,
        model_id: UUID,
        number: int,
        artifact_uri: str | None = None,
        sha256: str | None = None,
        size: int | None = None,
        manifest: list[dict[str, Any]] | None = None,
    ) -> UUID:
        """The model's VersionAdded and the version's VersionRegistered, as one save."""
        version_id = version_id_for(model_id, number)
        self._event(model_id, MODEL_TOPIC, "VersionAdded", number=number, version_id=version_id)
        self._event(
            version_id,
            VERSION_TOPIC,
            "VersionRegistered",
            model_id=model_id,
            model_name=self._names[model_id],
            number=number,
            artifact_uri=artifact_uri or f"s3://models/{model_id}/{number}",
            sha256=sha256,
            size=size,
            format=None,
            flavor=None,
            run_id=None,
            dataset_version=None,
            hyperparameters={},
            metrics={},
            lineage=[],
            tags={},
            description="",
            manifest=manifest or [],
            class_version=2,
        )
        return version_id

    def promote(self, model_id: UUID, number: int, to_stage: str = "production") -> None:
        self._event(
            model_id,
            MODEL_TOPIC,
            "VersionPromoted",
            number=number,
            version_id=version_id_for(model_id, number),
            from_stage="development",
            to_stage=to_stage,
            request_id=f"req-{number}",
            approvals=[{"actor": "bob", "at": self._clock.isoformat(), "comment": None}],
        )

    def assign_alias(self, model_id: UUID, alias: str, number: int) -> None:
        self._event(
            model_id, MODEL_TOPIC, "AliasAssigned", alias=alias, number=number, previous=None
        )

    def remove_alias(self, model_id: UUID, alias: str, number: int) -> None:
        self._event(model_id, MODEL_TOPIC, "AliasRemoved", alias=alias, number=number)

    def tag_version(self, model_id: UUID, number: int, key: str, value: str | None) -> None:
        """Sets the version's tag key to value; None removes it."""
        version_id = version_id_for(model_id, number)
        if value is None:
            self._event(version_id, VERSION_TOPIC, "VersionUntagged", key=key)
        else:
            self._event(version_id, VERSION_TOPIC, "VersionTagged", key=key, value=value)

    def _event(self, originator: UUID, aggregate_topic: str, kind: str, **fields: Any) -> None:
        version = self._versions.get(originator, 0) + 1
        self._versions[originator] = version
        self._clock += timedelta(seconds=1)
        state = {
            "timestamp": self._clock,
            "actor": self.actor,
            "reason": None,
            "command_id": None,
            **fields,
        }
        self._append(originator, version, f"{aggregate_topic}.{kind}", self._coder.encode(state))
