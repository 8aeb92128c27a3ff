"""Stage and alias history as temporal tables: which version held a stage (or alias)
from when until when, who moved it there and who approved it. "As of T" is a range
lookup on these tables."""

from __future__ import annotations

from typing import Any

from services.catalogue.views import Statement, View, dumps
from services.eventlog.record import StoredEvent

view = View(
    name="history",
    ddl=[
        """CREATE TABLE {s}.stage_history (
            model_id uuid NOT NULL, version_id uuid NOT NULL, number integer NOT NULL,
            stage text NOT NULL, valid_from timestamptz NOT NULL, valid_to timestamptz,
            changed_by text NOT NULL, reason text, request_id text, approvals jsonb,
            superseded_by integer, position bigint NOT NULL, policy jsonb)""",
        "CREATE INDEX ON {s}.stage_history (model_id, stage, valid_from)",
        "CREATE INDEX ON {s}.stage_history (version_id) WHERE valid_to IS NULL",
        """CREATE TABLE {s}.alias_history (
            model_id uuid NOT NULL, alias text NOT NULL, number integer NOT NULL,
            valid_from timestamptz NOT NULL, valid_to timestamptz, assigned_by text NOT NULL,
            position bigint NOT NULL)""",
        "CREATE INDEX ON {s}.alias_history (model_id, alias, valid_from)",
    ],
    # policy: which policy (name, version) a promotion was evaluated under, and whether
    # it passed or was overridden; null before gates existed.
    upgrades=["ALTER TABLE {s}.stage_history ADD COLUMN IF NOT EXISTS policy jsonb"],
)

_CLOSE_STAGE = (
    "UPDATE {s}.stage_history SET valid_to = $2 WHERE version_id = $1 AND valid_to IS NULL"
)
_OPEN_STAGE = (
    "INSERT INTO {s}.stage_history (model_id, version_id, number, stage, valid_from,"
    " changed_by, reason, request_id, approvals, superseded_by, position, policy)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)
_CLOSE_ALIAS = (
    "UPDATE {s}.alias_history SET valid_to = $3"
    " WHERE model_id = $1 AND alias = $2 AND valid_to IS NULL"
)


@view.on("VersionRegistered")
def _registered(e: StoredEvent) -> list[Statement]:
    d = e.data
    return [
        (
            _OPEN_STAGE,
            (
                d["model_id"],
                e.originator_id,
                d["number"],
                "development",
                e.timestamp,
                d["actor"],
                d["reason"],
                None,
                None,
                None,
                e.position,
                None,
            ),
        )
    ]


@view.on("VersionPromoted", "VersionArchived")
def _stage_changed(e: StoredEvent) -> list[Statement]:
    d = e.data
    promoted = e.kind == "VersionPromoted"
    return [
        (_CLOSE_STAGE, (d["version_id"], e.timestamp)),
        (
            _OPEN_STAGE,
            (
                e.originator_id,
                d["version_id"],
                d["number"],
                d["to_stage"] if promoted else "archived",
                e.timestamp,
                d["actor"],
                d["reason"],
                d.get("request_id"),
                dumps(d["approvals"]) if promoted else None,
                d.get("superseded_by"),
                e.position,
                _policy(d.get("evaluation")),
            ),
        ),
    ]


def _policy(evaluation: dict[str, Any] | None) -> str | None:
    """What as-of tells of a promotion's gates: the policy and version, the verdict."""
    if not evaluation:
        return None
    return dumps(
        {
            "name": evaluation["policy"],
            "version": evaluation["policy_version"],
            "passed": evaluation["passed"],
            "overridden_by": evaluation.get("overridden_by", []),
        }
    )


@view.on("VersionDeleted")
def _deleted(e: StoredEvent) -> list[Statement]:
    return [(_CLOSE_STAGE, (e.data["version_id"], e.timestamp))]


@view.on("AliasAssigned")
def _alias_assigned(e: StoredEvent) -> list[Statement]:
    d = e.data
    return [
        (_CLOSE_ALIAS, (e.originator_id, d["alias"], e.timestamp)),
        (
            "INSERT INTO {s}.alias_history (model_id, alias, number, valid_from, assigned_by,"
            " position) VALUES ($1, $2, $3, $4, $5, $6)",
            (e.originator_id, d["alias"], d["number"], e.timestamp, d["actor"], e.position),
        ),
    ]


@view.on("AliasRemoved")
def _alias_removed(e: StoredEvent) -> list[Statement]:
    return [(_CLOSE_ALIAS, (e.originator_id, e.data["alias"], e.timestamp))]
