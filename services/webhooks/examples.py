"""The data a test fire sends for each event (`registrum webhooks test`, MLflow's
TestWebhook): MLflow's own example payloads for its events, and the same shape as a real
delivery for Registrum's, so a receiver is tested against what it will get."""

from __future__ import annotations

from typing import Any

from services.webhooks.events import Event

_MODEL = "example_model"
EXAMPLES: dict[str, dict[str, Any]] = {
    "registered_model.created": {
        "name": _MODEL,
        "tags": {"example_key": "example_value"},
        "description": "An example registered model",
    },
    "model_version.created": {
        "name": _MODEL,
        "version": "1",
        "source": "models:/123",
        "run_id": "abcd1234abcd5678",
        "tags": {"example_key": "example_value"},
        "description": "An example model version",
    },
    "model_version_tag.set": {
        "name": _MODEL,
        "version": "1",
        "key": "example_key",
        "value": "example_value",
    },
    "model_version_tag.deleted": {"name": _MODEL, "version": "1", "key": "example_key"},
    "model_version_alias.created": {"name": _MODEL, "alias": "example_alias", "version": "1"},
    "model_version_alias.deleted": {"name": _MODEL, "alias": "example_alias"},
    "model_version_approval.requested": {
        "name": _MODEL,
        "version": "1",
        "request_id": "example-request",
        "stage": "production",
        "required_approvals": 1,
        "requested_by": "alice",
        "reason": "AUC up 3 points",
    },
    "model_version_approval.granted": {
        "name": _MODEL,
        "version": "1",
        "request_id": "example-request",
        "approved_by": "bob",
        "comment": "model card reviewed",
        "roles": ["reviewer"],
        "override": False,
    },
    "model_version_approval.rejected": {
        "name": _MODEL,
        "version": "1",
        "request_id": "example-request",
        "rejected_by": "bob",
        "reason": "no model card",
    },
    "model_version_stage.promoted": {
        "name": _MODEL,
        "version": "1",
        "from_stage": "staging",
        "to_stage": "production",
        "request_id": "example-request",
        "approvals": [{"actor": "bob", "comment": "model card reviewed"}],
        "evaluation": {"passed": True, "policy_version": 1, "checks": []},
        "promoted_by": "carol",
        "reason": None,
    },
    "model_version_stage.archived": {
        "name": _MODEL,
        "version": "1",
        "from_stage": "production",
        "superseded_by": "2",
        "archived_by": "carol",
        "reason": None,
    },
}


def example(event: Event) -> dict[str, Any]:
    return dict(EXAMPLES[event.name])
