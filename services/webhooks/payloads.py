"""Stored events to webhook notices: which subscribable event each stored event is, about
which model, with what data. Pure: the model's name and a version's number come from a
Facts lookup (the relay's StoreFacts, filled from the log itself, never the views).

The data of MLflow's events has MLflow's shape field for field (services/webhooks/events.py
names them): version numbers are strings, descriptions may be null. Registrum's own events
carry what an approver or deployer acts on, including who acted and, for a promotion, the
gates' evaluation and the approvals it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.eventlog.record import StoredEvent
from services.relay.translate import Facts
from services.webhooks.events import Event


@dataclass(frozen=True)
class Notice:
    """One event a webhook may be told of. model_id orders deliveries (it survives
    renames); model is the name the model had when the event happened."""

    event: Event
    model_id: str
    model: str
    time: datetime
    data: dict[str, Any]


def notices(event: StoredEvent, facts: Facts) -> list[Notice]:
    """What webhooks are told of one stored event (most events: nothing)."""
    build = _BUILDERS.get(event.kind)
    if build is None:
        return []
    model_id, number = _subject(event, facts)
    name = facts.model_name(model_id) if model_id else None
    if model_id is None or name is None:
        return []  # an event about a model the log does not name (never in a sound log)
    kind, data = build(event.data, name, number)
    entity, _, action = kind.partition(".")
    return [Notice(Event(entity, action), model_id, name, event.timestamp, data)]


def _subject(event: StoredEvent, facts: Facts) -> tuple[str | None, str | None]:
    """The model and the version number (as MLflow writes it: a string) of an event."""
    d = event.data
    if event.aggregate == "ModelVersion":
        if event.kind == "VersionRegistered":
            return str(d["model_id"]), str(d["number"])
        version = facts.version(event.originator_id)
        return (version.model_id, str(version.number)) if version else (None, None)
    number = d.get("number")
    return event.originator_id, None if number is None else str(number)


Built = tuple[str, dict[str, Any]]


def _model_created(d: dict[str, Any], name: str, _: str | None) -> Built:
    return "registered_model.created", {
        "name": name,
        "tags": dict(d.get("tags") or {}),
        "description": d.get("description") or None,
    }


def _version_created(d: dict[str, Any], name: str, number: str | None) -> Built:
    return "model_version.created", {
        "name": name,
        "version": number,
        "source": d["artifact_uri"],
        "run_id": d.get("run_id"),
        "tags": dict(d.get("tags") or {}),
        "description": d.get("description") or None,
    }


def _tag_set(d: dict[str, Any], name: str, number: str | None) -> Built:
    return "model_version_tag.set", {
        "name": name,
        "version": number,
        "key": d["key"],
        "value": d["value"],
    }


def _tag_deleted(d: dict[str, Any], name: str, number: str | None) -> Built:
    return "model_version_tag.deleted", {"name": name, "version": number, "key": d["key"]}


def _alias_created(d: dict[str, Any], name: str, number: str | None) -> Built:
    return "model_version_alias.created", {"name": name, "alias": d["alias"], "version": number}


def _alias_deleted(d: dict[str, Any], name: str, _: str | None) -> Built:
    return "model_version_alias.deleted", {"name": name, "alias": d["alias"]}


def _approval_requested(d: dict[str, Any], name: str, number: str | None) -> Built:
    return "model_version_approval.requested", {
        "name": name,
        "version": number,
        "request_id": d["request_id"],
        "stage": d["stage"],
        "required_approvals": d.get("required_approvals"),
        "requested_by": d.get("actor"),
        "reason": d.get("reason"),
    }


def _approval_granted(d: dict[str, Any], name: str, number: str | None) -> Built:
    return "model_version_approval.granted", {
        "name": name,
        "version": number,
        "request_id": d["request_id"],
        "approved_by": d.get("actor"),
        "comment": d.get("reason"),
        "roles": list(d.get("roles") or []),
        "override": bool(d.get("override", False)),
    }


def _approval_rejected(d: dict[str, Any], name: str, number: str | None) -> Built:
    return "model_version_approval.rejected", {
        "name": name,
        "version": number,
        "request_id": d["request_id"],
        "rejected_by": d.get("actor"),
        "reason": d.get("reason"),
    }


def _promoted(d: dict[str, Any], name: str, number: str | None) -> Built:
    return "model_version_stage.promoted", {
        "name": name,
        "version": number,
        "from_stage": d["from_stage"],
        "to_stage": d["to_stage"],
        "request_id": d.get("request_id"),
        "approvals": list(d.get("approvals") or []),
        # The gates' verdict under the policy in force (None: no policy was published).
        "evaluation": d.get("evaluation"),
        "promoted_by": d.get("actor"),
        "reason": d.get("reason"),
    }


def _archived(d: dict[str, Any], name: str, number: str | None) -> Built:
    superseded = d.get("superseded_by")
    return "model_version_stage.archived", {
        "name": name,
        "version": number,
        "from_stage": d["from_stage"],
        "superseded_by": None if superseded is None else str(superseded),
        "archived_by": d.get("actor"),
        "reason": d.get("reason"),
    }


_BUILDERS = {
    "ModelRegistered": _model_created,
    "VersionRegistered": _version_created,
    "VersionTagged": _tag_set,
    "VersionUntagged": _tag_deleted,
    "AliasAssigned": _alias_created,
    "AliasRemoved": _alias_deleted,
    "ApprovalRequested": _approval_requested,
    "ApprovalGranted": _approval_granted,
    "ApprovalRejected": _approval_rejected,
    "VersionPromoted": _promoted,
    "VersionArchived": _archived,
}
