"""The events a webhook may subscribe to, as `entity.action` pairs.

MLflow 3.17's own model-registry events come first, with MLflow's names, so that a
receiver written for MLflow works unchanged. MLflow's prompt and budget-policy events name
things Registrum does not have: a webhook asking for them is refused (INVALID_PARAMETER_VALUE)
rather than accepted and never fired. Registrum's governance events follow, under entities
MLflow does not define (`model_version_approval`, `model_version_stage`): MLflow's client
cannot read those entity names back, so a webhook meant for MLflow's client keeps to
MLflow's events.
"""

from __future__ import annotations

from dataclasses import dataclass

MLFLOW_EVENTS = (
    "registered_model.created",
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
)
REGISTRUM_EVENTS = (
    "model_version_approval.requested",
    "model_version_approval.granted",
    "model_version_approval.rejected",
    "model_version_stage.promoted",
    "model_version_stage.archived",
)
EVENTS = MLFLOW_EVENTS + REGISTRUM_EVENTS
# MLflow events about things this registry does not keep.
UNSUPPORTED = frozenset(
    {
        "prompt.created",
        "prompt_version.created",
        "prompt_tag.set",
        "prompt_tag.deleted",
        "prompt_version_tag.set",
        "prompt_version_tag.deleted",
        "prompt_alias.created",
        "prompt_alias.deleted",
        "budget_policy.exceeded",
    }
)


class UnknownEvent(ValueError):
    """An entity and action that name no event a webhook can subscribe to here."""


@dataclass(frozen=True, order=True)
class Event:
    """One subscribable event. On the wire (MLflow's JSON for its protobuf enums) entity
    and action are upper case: {"entity": "MODEL_VERSION", "action": "CREATED"}; in a
    delivery's body they are lower case, as MLflow sends them."""

    entity: str
    action: str

    @property
    def name(self) -> str:
        return f"{self.entity}.{self.action}"

    def wire(self) -> dict[str, str]:
        return {"entity": self.entity.upper(), "action": self.action.upper()}

    @classmethod
    def parse(cls, entity: object, action: object) -> Event:
        """The event named by an entity and an action in either case; UnknownEvent if none."""
        if not isinstance(entity, str) or not isinstance(action, str):
            raise UnknownEvent("an event is {entity, action}, both strings")
        name = f"{entity.strip().lower()}.{action.strip().lower()}"
        if name in UNSUPPORTED:
            raise UnknownEvent(f"{name}: this registry keeps no prompts or budget policies")
        if name not in EVENTS:
            raise UnknownEvent(f"unknown webhook event {name!r}; known: {', '.join(EVENTS)}")
        entity_name, _, action_name = name.partition(".")
        return cls(entity_name, action_name)

    @classmethod
    def named(cls, name: str) -> Event:
        entity, _, action = name.partition(".")
        return cls.parse(entity, action)
