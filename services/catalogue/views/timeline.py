"""A per-model activity timeline: every event on a model or its versions, in log order.
(VersionAdded is left out: VersionRegistered tells the same.)"""

from __future__ import annotations

from services.catalogue.views import Statement, View, dumps
from services.eventlog.record import StoredEvent

view = View(
    name="timeline",
    ddl=[
        """CREATE TABLE {s}.version_models (
            version_id uuid PRIMARY KEY, model_id uuid NOT NULL, number integer NOT NULL)""",
        """CREATE TABLE {s}.activity (
            position bigint PRIMARY KEY, model_id uuid NOT NULL, at timestamptz NOT NULL,
            actor text, kind text NOT NULL, number integer, reason text, command_id text,
            details jsonb NOT NULL)""",
        "CREATE INDEX ON {s}.activity (model_id, position)",
    ],
)

_SKIP = {"timestamp", "actor", "reason", "command_id", "originator_topic"}


def _details(e: StoredEvent) -> str:
    return dumps({k: v for k, v in e.data.items() if k not in _SKIP})


def handle(e: StoredEvent) -> list[Statement]:
    d = e.data
    statements: list[Statement] = []
    common = (
        e.position,
        e.timestamp,
        d.get("actor"),
        e.kind,
        d.get("reason"),
        d.get("command_id"),
        _details(e),
    )
    if e.aggregate == "RegisteredModel":
        statements.append(
            (
                "INSERT INTO {s}.activity (position, at, actor, kind, reason, command_id, details,"
                " model_id, number) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                (*common, e.originator_id, d.get("number")),
            )
        )
    elif e.kind == "VersionRegistered":
        # One statement per event, so runs of registrations are sent as one batch.
        statements.append(
            (
                "WITH known AS (INSERT INTO {s}.version_models (version_id, model_id, number)"
                " VALUES ($8, $9, $10) RETURNING model_id, number)"
                " INSERT INTO {s}.activity (position, at, actor, kind, reason, command_id, details,"
                " model_id, number) SELECT $1, $2, $3, $4, $5, $6, $7, model_id, number FROM known",
                (*common, e.originator_id, d["model_id"], d["number"]),
            )
        )
    elif e.aggregate == "ModelVersion":
        statements.append(
            (
                "INSERT INTO {s}.activity (position, at, actor, kind, reason, command_id, details,"
                " model_id, number) SELECT $1, $2, $3, $4, $5, $6, $7, model_id, number"
                " FROM {s}.version_models WHERE version_id = $8",
                (*common, e.originator_id),
            )
        )
    return statements


for _kind in (
    "ModelRegistered",
    "ModelDescribed",
    "ModelTagged",
    "ModelUntagged",
    "ModelRenamed",
    "ModelDeleted",
    "VersionPromoted",
    "VersionArchived",
    "VersionDeleted",
    "AliasAssigned",
    "AliasRemoved",
    "VersionRegistered",
    "VersionDescribed",
    "VersionTagged",
    "VersionUntagged",
    "MetricsRecorded",
    "LineageLinked",
    "ModelCardUpdated",
    "ModelCardAmended",
    "ApprovalRequested",
    "ApprovalGranted",
    "ApprovalRejected",
    "ApprovalWithdrawn",
):
    view.handlers[_kind] = handle
