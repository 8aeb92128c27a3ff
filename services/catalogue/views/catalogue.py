"""The catalogue: models, versions, aliases and approval requests as they are now."""

from __future__ import annotations

from typing import Any

from services.catalogue.views import Statement, View, dumps
from services.eventlog.record import StoredEvent
from services.registry.domain import cards

view = View(
    name="catalogue",
    # gates: the last promotion's gate evaluation; null before gates existed.
    upgrades=["ALTER TABLE {s}.versions ADD COLUMN IF NOT EXISTS gates jsonb"],
    overwrites=frozenset(
        {"VersionAdded", "ModelDescribed", "ModelRenamed", "VersionDescribed", "ModelCardUpdated"}
    ),
    ddl=[
        """CREATE TABLE {s}.models (
            model_id uuid PRIMARY KEY, name text NOT NULL, description text NOT NULL,
            tags jsonb NOT NULL, created_by text NOT NULL, created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL, deleted boolean NOT NULL DEFAULT false,
            latest_version integer NOT NULL DEFAULT 0,
            allow_multiple_production boolean NOT NULL, position bigint NOT NULL)""",
        "CREATE INDEX ON {s}.models (name) WHERE NOT deleted",
        """CREATE TABLE {s}.versions (
            version_id uuid PRIMARY KEY, model_id uuid NOT NULL, number integer NOT NULL,
            stage text NOT NULL, artifact_uri text NOT NULL, sha256 text, size bigint,
            format text, flavor text, run_id text, dataset_version text,
            hyperparameters jsonb NOT NULL, metrics jsonb NOT NULL, lineage jsonb NOT NULL,
            tags jsonb NOT NULL, description text NOT NULL, model_card jsonb NOT NULL,
            created_by text NOT NULL, created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL, stage_changed_at timestamptz NOT NULL,
            deleted boolean NOT NULL DEFAULT false, position bigint NOT NULL,
            manifest jsonb NOT NULL DEFAULT '[]', gates jsonb, UNIQUE (model_id, number))""",
        "CREATE INDEX ON {s}.versions (model_id, stage)",
        """CREATE TABLE {s}.aliases (
            model_id uuid NOT NULL, alias text NOT NULL, number integer NOT NULL,
            assigned_by text NOT NULL, assigned_at timestamptz NOT NULL,
            PRIMARY KEY (model_id, alias))""",
        "CREATE INDEX ON {s}.aliases (model_id, number)",
        """CREATE TABLE {s}.approvals (
            request_id text PRIMARY KEY, version_id uuid NOT NULL, stage text NOT NULL,
            status text NOT NULL, requested_by text NOT NULL, requested_at timestamptz NOT NULL,
            reason text, required integer NOT NULL, approvals jsonb NOT NULL,
            decided_by text)""",
        "CREATE INDEX ON {s}.approvals (version_id)",
    ],
)


def _on_model(e: StoredEvent, assignments: str, *args: Any) -> list[Statement]:
    """One UPDATE of the event's model: the change, plus when and at which position.
    One statement per event, so runs of like events go to the server as one batch."""
    n = len(args)
    return [
        (
            f"UPDATE {{s}}.models SET {assignments}, updated_at = ${n + 2}, position = ${n + 3}"
            " WHERE model_id = $1",
            (e.originator_id, *args, e.timestamp, e.position),
        )
    ]


def _on_version(e: StoredEvent, assignments: str, *args: Any) -> list[Statement]:
    n = len(args)
    return [
        (
            f"UPDATE {{s}}.versions SET {assignments}, updated_at = ${n + 2}, position = ${n + 3}"
            " WHERE version_id = $1",
            (e.originator_id, *args, e.timestamp, e.position),
        )
    ]


def _with_version_touch(e: StoredEvent, statement: str, *args: Any) -> list[Statement]:
    """statement (on another table, with $1..$n) and the version's updated_at, as one."""
    n = len(args)
    return [
        (
            f"WITH done AS ({statement}) UPDATE {{s}}.versions SET updated_at = ${n + 1},"
            f" position = ${n + 2} WHERE version_id = ${n + 3}",
            (*args, e.timestamp, e.position, e.originator_id),
        )
    ]


@view.on("ModelRegistered")
def _model_registered(e: StoredEvent) -> list[Statement]:
    d = e.data
    return [
        (
            "INSERT INTO {s}.models (model_id, name, description, tags, created_by, created_at,"
            " updated_at, allow_multiple_production, position)"
            " VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)",
            (
                e.originator_id,
                d["name"],
                d["description"],
                dumps(d["tags"]),
                d["actor"],
                e.timestamp,
                d["allow_multiple_production"],
                e.position,
            ),
        )
    ]


@view.on("ModelDescribed")
def _model_described(e: StoredEvent) -> list[Statement]:
    return _on_model(e, "description = $2", e.data["description"])


@view.on("ModelTagged")
def _model_tagged(e: StoredEvent) -> list[Statement]:
    return _on_model(
        e, "tags = tags || jsonb_build_object($2::text, $3::text)", e.data["key"], e.data["value"]
    )


@view.on("ModelUntagged")
def _model_untagged(e: StoredEvent) -> list[Statement]:
    return _on_model(e, "tags = tags - $2::text", e.data["key"])


@view.on("ModelRenamed")
def _model_renamed(e: StoredEvent) -> list[Statement]:
    return _on_model(e, "name = $2", e.data["new_name"])


@view.on("ModelDeleted")
def _model_deleted(e: StoredEvent) -> list[Statement]:
    return _on_model(e, "deleted = $2", True)


@view.on("VersionAdded")
def _version_added(e: StoredEvent) -> list[Statement]:
    return _on_model(e, "latest_version = $2", e.data["number"])


@view.on("VersionRegistered")
def _version_registered(e: StoredEvent) -> list[Statement]:
    d = e.data
    return [
        (
            "INSERT INTO {s}.versions (version_id, model_id, number, stage, artifact_uri, sha256,"
            " size, format, flavor, run_id, dataset_version, hyperparameters, metrics, lineage,"
            " tags, description, model_card, created_by, created_at, updated_at,"
            " stage_changed_at, position, manifest) VALUES ($1, $2, $3, 'development', $4, $5,"
            " $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, '{{}}', $16, $17, $17, $17, $18,"
            " $19)",
            (
                e.originator_id,
                d["model_id"],
                d["number"],
                d["artifact_uri"],
                d["sha256"],
                d["size"],
                d["format"],
                d["flavor"],
                d["run_id"],
                d["dataset_version"],
                dumps(d["hyperparameters"]),
                dumps(d["metrics"]),
                dumps(d["lineage"]),
                dumps(d["tags"]),
                d["description"],
                d["actor"],
                e.timestamp,
                e.position,
                dumps(d.get("manifest", [])),  # absent from class_version 1 events
            ),
        )
    ]


@view.on("VersionDescribed")
def _version_described(e: StoredEvent) -> list[Statement]:
    return _on_version(e, "description = $2", e.data["description"])


@view.on("VersionTagged")
def _version_tagged(e: StoredEvent) -> list[Statement]:
    return _on_version(
        e, "tags = tags || jsonb_build_object($2::text, $3::text)", e.data["key"], e.data["value"]
    )


@view.on("VersionUntagged")
def _version_untagged(e: StoredEvent) -> list[Statement]:
    return _on_version(e, "tags = tags - $2::text", e.data["key"])


@view.on("MetricsRecorded")
def _metrics_recorded(e: StoredEvent) -> list[Statement]:
    return _on_version(e, "metrics = metrics || $2::jsonb", dumps(e.data["metrics"]))


@view.on("LineageLinked")
def _lineage_linked(e: StoredEvent) -> list[Statement]:
    return _on_version(e, "lineage = lineage || $2::jsonb", dumps(e.data["references"]))


@view.on("ModelCardUpdated")
def _card_updated(e: StoredEvent) -> list[Statement]:
    return _on_version(e, "model_card = $2::jsonb", dumps(cards.stored_card(e.data)))


# cards.amended in SQL. A card this view stored before cards were typed (free JSON, no
# schema_version) is first read the way cards.typed reads it.
_AMENDED = (
    "model_card = jsonb_build_object('schema_version', 1)"
    " || (CASE WHEN model_card = '{{}}' OR model_card ? 'schema_version' THEN model_card"
    " ELSE jsonb_build_object('schema_version', 1, 'legacy', model_card) END - $3::text[])"
    " || $2::jsonb"
)


@view.on("ModelCardAmended")
def _card_amended(e: StoredEvent) -> list[Statement]:
    return _on_version(e, _AMENDED, dumps(e.data["sections"]), list(e.data["removed"]))


@view.on("ApprovalRequested")
def _approval_requested(e: StoredEvent) -> list[Statement]:
    d = e.data
    return _with_version_touch(
        e,
        "INSERT INTO {s}.approvals (request_id, version_id, stage, status, requested_by,"
        " requested_at, reason, required, approvals)"
        " VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, '[]')",
        d["request_id"],
        e.originator_id,
        d["stage"],
        d["actor"],
        e.timestamp,
        d["reason"],
        d["required_approvals"],
    )


@view.on("ApprovalGranted")
def _approval_granted(e: StoredEvent) -> list[Statement]:
    approval = dumps(
        [{"actor": e.data["actor"], "at": e.timestamp.isoformat(), "comment": e.data["reason"]}]
    )
    return _with_version_touch(
        e,
        "UPDATE {s}.approvals SET approvals = approvals || $2::jsonb,"
        " status = CASE WHEN jsonb_array_length(approvals) + 1 >= required"
        " THEN 'approved' ELSE status END WHERE request_id = $1",
        e.data["request_id"],
        approval,
    )


@view.on("ApprovalRejected", "ApprovalWithdrawn")
def _approval_closed(e: StoredEvent) -> list[Statement]:
    status = "rejected" if e.kind == "ApprovalRejected" else "withdrawn"
    return _with_version_touch(
        e,
        "UPDATE {s}.approvals SET status = $2, decided_by = $3 WHERE request_id = $1",
        e.data["request_id"],
        status,
        e.data["actor"],
    )


def _on_model_version(e: StoredEvent, assignments: str, *args: Any) -> list[Statement]:
    """A model event about one of its versions: change the version, touch the model."""
    n = len(args)
    return [
        (
            f"WITH done AS (UPDATE {{s}}.versions SET {assignments}, updated_at = ${n + 2},"
            f" position = ${n + 3} WHERE version_id = $1)"
            f" UPDATE {{s}}.models SET updated_at = ${n + 2}, position = ${n + 3}"
            f" WHERE model_id = ${n + 4}",
            (e.data["version_id"], *args, e.timestamp, e.position, e.originator_id),
        )
    ]


@view.on("VersionArchived")
def _archived(e: StoredEvent) -> list[Statement]:
    return _on_model_version(e, "stage = $2, stage_changed_at = $3", "archived", e.timestamp)


@view.on("VersionPromoted")
def _promoted(e: StoredEvent) -> list[Statement]:
    evaluation = e.data.get("evaluation")
    return _on_model_version(
        e,
        "stage = $2, stage_changed_at = $3, gates = $4",
        e.data["to_stage"],
        e.timestamp,
        dumps(evaluation) if evaluation is not None else None,
    )


@view.on("VersionDeleted")
def _version_deleted(e: StoredEvent) -> list[Statement]:
    return _on_model_version(e, "deleted = $2", True)


@view.on("AliasAssigned")
def _alias_assigned(e: StoredEvent) -> list[Statement]:
    d = e.data
    return [
        (
            "WITH done AS (INSERT INTO {s}.aliases (model_id, alias, number, assigned_by,"
            " assigned_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model_id, alias) DO UPDATE"
            " SET number = EXCLUDED.number, assigned_by = EXCLUDED.assigned_by,"
            " assigned_at = EXCLUDED.assigned_at)"
            " UPDATE {s}.models SET updated_at = $5, position = $6 WHERE model_id = $1",
            (e.originator_id, d["alias"], d["number"], d["actor"], e.timestamp, e.position),
        )
    ]


@view.on("AliasRemoved")
def _alias_removed(e: StoredEvent) -> list[Statement]:
    return [
        (
            "WITH done AS (DELETE FROM {s}.aliases WHERE model_id = $1 AND alias = $2)"
            " UPDATE {s}.models SET updated_at = $3, position = $4 WHERE model_id = $1",
            (e.originator_id, e.data["alias"], e.timestamp, e.position),
        )
    ]
