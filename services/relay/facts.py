"""What the relay needs to know beyond an event: model names and versions' artefacts,
asked of the event log itself (never of the views, which may lag the relay)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from services.eventlog.port import EventLog
from services.eventlog.record import StoredEvent
from services.registry.domain.model import version_id_for
from services.relay.translate import VersionFacts


class StoreFacts:
    """A cache filled before each batch (load) and kept current by the batch itself
    (observe), so names follow renames in log order."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._names: dict[str, str] = {}
        self._versions: dict[str, VersionFacts] = {}

    def clear(self) -> None:
        self._names.clear()
        self._versions.clear()

    def model_name(self, model_id: str) -> str | None:
        return self._names.get(model_id)

    def version(self, version_id: str) -> VersionFacts | None:
        return self._versions.get(version_id)

    def observe(self, event: StoredEvent) -> None:
        d = event.data
        if event.kind == "ModelRegistered":
            self._names[event.originator_id] = d["name"]
        elif event.kind == "ModelRenamed":
            self._names[event.originator_id] = d["new_name"]
        elif event.kind == "VersionRegistered":
            self._versions[event.originator_id] = _facts(d)

    async def load(self, log: EventLog, batch: Sequence[StoredEvent]) -> None:
        """Fetches what the batch refers to and the cache lacks, as of the batch's start."""
        if len(self._names) + len(self._versions) > self.limit:
            self.clear()
        missing = {v for e in batch if (v := _version_of(e)) and v not in self._versions}
        if missing:
            for version_id, registered in (await log.registrations(missing)).items():
                self._versions[version_id] = _facts(registered.data)
        models = {e.originator_id for e in batch if e.aggregate == "RegisteredModel"}
        models |= {f.model_id for e in batch if (f := self._versions.get(_version_of(e) or ""))}
        for model_id in models - self._names.keys():
            name = await log.model_name_at(model_id, batch[0].position)
            if name is not None:
                self._names[model_id] = name


def _version_of(event: StoredEvent) -> str | None:
    """The version an event is about, if any."""
    if event.aggregate == "ModelVersion":
        return event.originator_id
    if event.kind in ("AliasAssigned", "AliasRemoved"):
        return str(version_id_for(UUID(event.originator_id), event.data["number"]))
    version_id = event.data.get("version_id")
    return str(version_id) if version_id else None


def _facts(d: dict[str, Any]) -> VersionFacts:
    return VersionFacts(
        model_id=str(d["model_id"]),
        number=int(d["number"]),
        artifact_uri=d["artifact_uri"],
        sha256=d.get("sha256"),
        size=d.get("size"),
    )
