"""Handlers of the commands on a version's content: register, describe, tag, untag,
metrics, lineage, model card (set whole or amended), delete."""

from __future__ import annotations

from schemas import commands as c
from schemas.model_card import dump
from services.registry import inputs
from services.registry.domain import values
from services.registry.domain.values import Context
from services.registry.domain.version import ModelVersion
from services.registry.execution import Decide, Decision
from services.registry.handlers.base import handles, on_stage, on_version
from services.registry.scope import Scope
from services.registry.summaries import version_summary

_ADDRESS = {"type", "command_id", "reason", "model"}


@handles(c.RegisterVersion)
def register_version(command: c.RegisterVersion, ctx: Context, scope: Scope) -> Decide:
    facts = inputs.version_facts(command.model_dump(exclude=_ADDRESS))
    facts["lineage"] = scope.resolve_parents(facts["lineage"])
    if facts["manifest"]:
        scope.check_files(facts)

    def decide() -> Decision:
        model = scope.model(command.model)
        number, version_id = model.add_version(ctx)
        # Decided afresh on every attempt: a retry may get another number.
        uri = facts["artifact_uri"] or f"models:/{model.name}/{number}"
        version = ModelVersion.register(
            version_id=version_id,
            ctx=ctx,
            model_id=model.id,
            model_name=model.name,
            number=number,
            **{**facts, "artifact_uri": uri},
        )
        return Decision([model, version], lambda: version_summary(model, version))

    return decide


@handles(c.DescribeVersion)
def describe_version(command: c.DescribeVersion, ctx: Context, scope: Scope) -> Decide:
    description = values.check_text(command.description, "description")
    return on_version(scope, command, lambda m, v: v.describe(description, ctx))


@handles(c.TagVersion)
def tag_version(command: c.TagVersion, ctx: Context, scope: Scope) -> Decide:
    key, value = values.check_tag(command.key, command.value)
    return on_version(scope, command, lambda m, v: v.tag(key, value, ctx))


@handles(c.UntagVersion)
def untag_version(command: c.UntagVersion, ctx: Context, scope: Scope) -> Decide:
    return on_version(scope, command, lambda m, v: v.untag(command.key, ctx))


@handles(c.RecordMetrics)
def record_metrics(command: c.RecordMetrics, ctx: Context, scope: Scope) -> Decide:
    metrics = values.check_metrics(command.metrics)
    return on_version(scope, command, lambda m, v: v.record_metrics(metrics, ctx))


@handles(c.LinkLineage)
def link_lineage(command: c.LinkLineage, ctx: Context, scope: Scope) -> Decide:
    given = [ref.model_dump() for ref in command.references]
    references = scope.resolve_parents(inputs.lineage(given))
    return on_version(scope, command, lambda m, v: v.link_lineage(references, ctx))


@handles(c.UpdateModelCard)
def update_model_card(command: c.UpdateModelCard, ctx: Context, scope: Scope) -> Decide:
    card = command.card.stored()
    return on_version(scope, command, lambda m, v: v.update_model_card(card, ctx))


@handles(c.AmendModelCard)
def amend_model_card(command: c.AmendModelCard, ctx: Context, scope: Scope) -> Decide:
    sections = dump(command.sections)
    removed = [str(name) for name in command.remove]
    return on_version(scope, command, lambda m, v: v.amend_model_card(sections, removed, ctx))


@handles(c.DeleteVersion)
def delete_version(command: c.DeleteVersion, ctx: Context, scope: Scope) -> Decide:
    return on_stage(scope, command, lambda m, v: m.delete_version(v.number, ctx))
