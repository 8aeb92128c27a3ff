"""Stored events as followers of the log see them: plain dicts, decoded without the
domain.

The write side stores events with eventsourcing's JSON transcoder; UUIDs and datetimes
are wrapped as {"_type_": ..., "_data_": ...}. Our events carry such values only at the
top level (ids and the timestamp; users' tags, metrics and cards are plain JSON), so
decoding is orjson plus a pass over the top-level keys: several times faster than
rebuilding the domain's event objects, which matters when a rebuild replays the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson


def _plain(value: Any) -> Any:
    if type(value) is not dict or "_type_" not in value:
        return value
    kind, data = value["_type_"], value["_data_"]
    if kind == "uuid_hex":
        return f"{data[:8]}-{data[8:12]}-{data[12:16]}-{data[16:20]}-{data[20:]}"
    if kind == "datetime_iso":
        return datetime.fromisoformat(data)
    if kind == "decimal_str":
        return float(data)
    return data


@dataclass(frozen=True)
class StoredEvent:
    """One event of the log: its position (notification id), its aggregate and its kind
    (the event class's name), and its fields as plain values."""

    position: int
    originator_id: str
    originator_version: int
    aggregate: str
    kind: str
    data: dict[str, Any]

    @property
    def timestamp(self) -> datetime:
        value: datetime = self.data["timestamp"]
        return value


def decode(
    position: int, originator_id: UUID | str, originator_version: int, topic: str, state: bytes
) -> StoredEvent:
    """The record of one stored row (its notification id, originator, topic and state)."""
    # topic looks like "services.registry.domain.model:RegisteredModel.VersionAdded"
    qualname = topic.rpartition(":")[2]
    aggregate, _, kind = qualname.rpartition(".")
    return StoredEvent(
        position=position,
        originator_id=str(originator_id),
        originator_version=originator_version,
        aggregate=aggregate,
        kind=kind,
        data={key: _plain(value) for key, value in orjson.loads(state).items()},
    )
