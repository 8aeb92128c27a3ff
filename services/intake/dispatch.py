"""Runs a command message through the registry: the Kafka twin of the REST handlers."""

from __future__ import annotations

from typing import Any

from schemas import intake as m
from services.registry.application import Outcome, Registry
from services.registry.domain.values import Context, promotable_stage


def execute(registry: Registry, command: Any) -> tuple[str, Outcome]:
    """Returns what the result describes ("model" or "version") and the outcome; domain
    errors propagate, as from any other entry point."""
    ctx = Context(actor=command.actor, reason=command.reason, command_id=command.command_id)
    match command:
        case m.RegisterModelCommand():
            return "model", registry.create_model(
                command.name,
                ctx,
                description=command.description,
                tags=command.tags,
                allow_multiple_production=command.allow_multiple_production,
            )
        case m.RegisterVersionCommand():
            facts = command.model_dump(exclude={"type", "command_id", "actor", "reason", "model"})
            return "version", registry.register_version(command.model, ctx, **facts)
        case m.RemoveAliasCommand():
            return "model", registry.remove_alias(command.model, command.alias, ctx)
        case m.SetAliasCommand():
            return "version", registry.set_alias(command.model, command.alias, command.version, ctx)
    return "version", _on_version(registry, command, ctx)


def _on_version(registry: Registry, command: Any, ctx: Context) -> Outcome:
    name, number = command.model, command.version
    match command:
        case m.RecordMetricsCommand():
            return registry.record_metrics(name, number, command.metrics, ctx)
        case m.LinkLineageCommand():
            references = [ref.model_dump() for ref in command.references]
            return registry.link_lineage(name, number, references, ctx)
        case m.UpdateModelCardCommand():
            return registry.update_model_card(name, number, command.card, ctx)
        case m.TagVersionCommand():
            return registry.tag_version(name, number, command.key, command.value, ctx)
        case m.RequestApprovalCommand():
            stage = promotable_stage(command.stage)
            return registry.request_approval(name, number, stage, ctx, command.required_approvals)
        case m.ReviewCommand():
            review = {"Approve": registry.approve, "Reject": registry.reject}.get(
                command.type, registry.withdraw
            )
            return review(name, number, command.request_id, ctx)
        case m.PromoteCommand():
            return registry.promote(name, number, promotable_stage(command.stage), ctx)
        case m.ArchiveCommand():
            return registry.archive(name, number, ctx)
    raise TypeError(f"no dispatch for {type(command).__name__}")  # a new command type
