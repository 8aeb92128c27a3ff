"""The catalogue: models, versions, aliases and approval requests as they are now."""

from __future__ import annotations

import json

from services.catalogue.events import StoredEvent
from services.catalogue.views import Statement, View

view = View(
    name="catalogue",
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
            UNIQUE (model_id, number))""",
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


def _touch_model(e: StoredEvent) -> Statement:
    return (
        "UPDATE {s}.models SET updated_at = $2, position = $3 WHERE model_id = $1",
        (e.originator_id, e.timestamp, e.position),
    )


def _touch_version(e: StoredEvent) -> Statement:
    return (
        "UPDATE {s}.versions SET updated_at = $2, position = $3 WHERE version_id = $1",
        (e.originator_id, e.timestamp, e.position),
    )


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
                json.dumps(d["tags"]),
                d["actor"],
                e.timestamp,
                d["allow_multiple_production"],
                e.position,
            ),
        )
    ]


@view.on("ModelDescribed")
def _model_described(e: StoredEvent) -> list[Statement]:
    return [
        (
            "UPDATE {s}.models SET description = $2 WHERE model_id = $1",
            (e.originator_id, e.data["description"]),
        ),
        _touch_model(e),
    ]


@view.on("ModelTagged")
def _model_tagged(e: StoredEvent) -> list[Statement]:
    return [
        (
            "UPDATE {s}.models SET tags = tags || jsonb_build_object($2::text, $3::text)"
            " WHERE model_id = $1",
            (e.originator_id, e.data["key"], e.data["value"]),
        ),
        _touch_model(e),
    ]


@view.on("ModelUntagged")
def _model_untagged(e: StoredEvent) -> list[Statement]:
    return [
        (
            "UPDATE {s}.models SET tags = tags - $2::text WHERE model_id = $1",
            (e.originator_id, e.data["key"]),
        ),
        _touch_model(e),
    ]


@view.on("ModelRenamed")
def _model_renamed(e: StoredEvent) -> list[Statement]:
    return [
        (
            "UPDATE {s}.models SET name = $2 WHERE model_id = $1",
            (e.originator_id, e.data["new_name"]),
        ),
        _touch_model(e),
    ]


@view.on("ModelDeleted")
def _model_deleted(e: StoredEvent) -> list[Statement]:
    return [
        ("UPDATE {s}.models SET deleted = true WHERE model_id = $1", (e.originator_id,)),
        _touch_model(e),
    ]


@view.on("VersionAdded")
def _version_added(e: StoredEvent) -> list[Statement]:
    return [
        (
            "UPDATE {s}.models SET latest_version = $2 WHERE model_id = $1",
            (e.originator_id, e.data["number"]),
        ),
        _touch_model(e),
    ]


@view.on("VersionRegistered")
def _version_registered(e: StoredEvent) -> list[Statement]:
    d = e.data
    return [
        (
            "INSERT INTO {s}.versions (version_id, model_id, number, stage, artifact_uri, sha256,"
            " size, format, flavor, run_id, dataset_version, hyperparameters, metrics, lineage,"
            " tags, description, model_card, created_by, created_at, updated_at,"
            " stage_changed_at, position) VALUES ($1, $2, $3, 'development', $4, $5, $6, $7, $8,"
            " $9, $10, $11, $12, $13, $14, $15, '{{}}', $16, $17, $17, $17, $18)",
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
                json.dumps(d["hyperparameters"]),
                json.dumps(d["metrics"]),
                json.dumps(d["lineage"]),
                json.dumps(d["tags"]),
                d["description"],
                d["actor"],
                e.timestamp,
                e.position,
            ),
        )
    ]


@view.on("VersionDescribed")
def _version_described(e: StoredEvent) -> list[Statement]:
    return [
        (
            "UPDATE {s}.versions SET description = $2 WHERE version_id = $1",
            (e.originator_id, e.data["description"]),
        ),
        _touch_version(e),
    ]


@view.on("VersionTagged")
def _version_tagged(e: StoredEvent) -> list[Statement]:
    return [
        (
            "UPDATE {s}.versions SET tags = tags || jsonb_build_object($2::text, $3::text)"
            " WHERE version_id = $1",
            (e.originator_id, e.data["key"], e.data["value"]),
        ),
        _touch_version(e),
    ]


@view.on("VersionUntagged")
def _version_untagged(e: StoredEvent) -> list[Statement]:
    return [
        (
            "UPDATE {s}.versions SET tags = tags - $2::text WHERE version_id = $1",
            (e.originator_id, e.data["key"]),
        ),
        _touch_version(e),
    ]


@view.on("MetricsRecorded")
def _metrics_recorded(e: StoredEvent) -> list[Statement]:
    return [
        (
            "UPDATE {s}.versions SET metrics = metrics || $2::jsonb WHERE version_id = $1",
            (e.originator_id, json.dumps(e.data["metrics"])),
        ),
        _touch_version(e),
    ]


@view.on("LineageLinked")
def _lineage_linked(e: StoredEvent) -> list[Statement]:
    return [
        (
            "UPDATE {s}.versions SET lineage = lineage || $2::jsonb WHERE version_id = $1",
            (e.originator_id, json.dumps(e.data["references"])),
        ),
        _touch_version(e),
    ]


@view.on("ModelCardUpdated")
def _card_updated(e: StoredEvent) -> list[Statement]:
    return [
        (
            "UPDATE {s}.versions SET model_card = $2::jsonb WHERE version_id = $1",
            (e.originator_id, json.dumps(e.data["card"])),
        ),
        _touch_version(e),
    ]


@view.on("ApprovalRequested")
def _approval_requested(e: StoredEvent) -> list[Statement]:
    d = e.data
    return [
        (
            "INSERT INTO {s}.approvals (request_id, version_id, stage, status, requested_by,"
            " requested_at, reason, required, approvals)"
            " VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, '[]')",
            (
                d["request_id"],
                e.originator_id,
                d["stage"],
                d["actor"],
                e.timestamp,
                d["reason"],
                d["required_approvals"],
            ),
        ),
        _touch_version(e),
    ]


@view.on("ApprovalGranted")
def _approval_granted(e: StoredEvent) -> list[Statement]:
    approval = json.dumps(
        [{"actor": e.data["actor"], "at": e.timestamp.isoformat(), "comment": e.data["reason"]}]
    )
    return [
        (
            "UPDATE {s}.approvals SET approvals = approvals || $2::jsonb,"
            " status = CASE WHEN jsonb_array_length(approvals) + 1 >= required"
            " THEN 'approved' ELSE status END WHERE request_id = $1",
            (e.data["request_id"], approval),
        ),
        _touch_version(e),
    ]


@view.on("ApprovalRejected", "ApprovalWithdrawn")
def _approval_closed(e: StoredEvent) -> list[Statement]:
    status = "rejected" if e.kind == "ApprovalRejected" else "withdrawn"
    return [
        (
            "UPDATE {s}.approvals SET status = $2, decided_by = $3 WHERE request_id = $1",
            (e.data["request_id"], status, e.data["actor"]),
        ),
        _touch_version(e),
    ]


@view.on("VersionPromoted", "VersionArchived")
def _stage_changed(e: StoredEvent) -> list[Statement]:
    stage = e.data.get("to_stage", "archived")
    return [
        (
            "UPDATE {s}.versions SET stage = $2, stage_changed_at = $3, updated_at = $3,"
            " position = $4 WHERE version_id = $1",
            (e.data["version_id"], stage, e.timestamp, e.position),
        ),
        _touch_model(e),
    ]


@view.on("VersionDeleted")
def _version_deleted(e: StoredEvent) -> list[Statement]:
    return [
        (
            "UPDATE {s}.versions SET deleted = true, updated_at = $2, position = $3"
            " WHERE version_id = $1",
            (e.data["version_id"], e.timestamp, e.position),
        ),
        _touch_model(e),
    ]


@view.on("AliasAssigned")
def _alias_assigned(e: StoredEvent) -> list[Statement]:
    return [
        (
            "INSERT INTO {s}.aliases (model_id, alias, number, assigned_by, assigned_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model_id, alias) DO UPDATE SET"
            " number = EXCLUDED.number, assigned_by = EXCLUDED.assigned_by,"
            " assigned_at = EXCLUDED.assigned_at",
            (e.originator_id, e.data["alias"], e.data["number"], e.data["actor"], e.timestamp),
        ),
        _touch_model(e),
    ]


@view.on("AliasRemoved")
def _alias_removed(e: StoredEvent) -> list[Statement]:
    return [
        (
            "DELETE FROM {s}.aliases WHERE model_id = $1 AND alias = $2",
            (e.originator_id, e.data["alias"]),
        ),
        _touch_model(e),
    ]
