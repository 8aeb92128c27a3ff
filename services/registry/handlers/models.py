"""Handlers of the commands on a registered model: register, rename, describe, tag,
untag, delete."""

from __future__ import annotations

from schemas import commands as c
from services.registry.domain import values
from services.registry.domain.model import RegisteredModel
from services.registry.domain.names import ModelName
from services.registry.domain.values import Context
from services.registry.execution import Decide, Decision
from services.registry.handlers.base import handles, on_model
from services.registry.scope import Scope
from services.registry.summaries import model_summary


@handles(c.RegisterModel)
def register_model(command: c.RegisterModel, ctx: Context, scope: Scope) -> Decide:
    name = values.check_name(command.name)
    description = values.check_text(command.description, "description")
    tags = values.check_tags(command.tags)

    def decide() -> Decision:
        model = RegisteredModel.register(
            name, ctx, description, tags, command.allow_multiple_production
        )
        index = scope.name_index(name)
        if index is None:
            index = ModelName.reserve(name, model.id, ctx)
        else:
            index.reclaim(model.id, ctx)
        return Decision([index, model], lambda: model_summary(model))

    return decide


@handles(c.RenameModel)
def rename_model(command: c.RenameModel, ctx: Context, scope: Scope) -> Decide:
    name = command.model
    new_name = values.check_name(command.new_name, "new_name")

    def decide() -> Decision:
        model = scope.model(name)
        if new_name == name:
            return Decision([], lambda: model_summary(model))
        old_index = scope.taken_index(name)
        new_index = scope.name_index(new_name)
        if new_index is None:
            new_index = ModelName.reserve(new_name, model.id, ctx)
        else:
            new_index.reclaim(model.id, ctx)
        old_index.release(ctx)
        model.rename(new_name, ctx)
        return Decision([old_index, new_index, model], lambda: model_summary(model))

    return decide


@handles(c.DescribeModel)
def describe_model(command: c.DescribeModel, ctx: Context, scope: Scope) -> Decide:
    description = values.check_text(command.description, "description")
    return on_model(scope, command.model, lambda m: m.describe(description, ctx))


@handles(c.TagModel)
def tag_model(command: c.TagModel, ctx: Context, scope: Scope) -> Decide:
    key, value = values.check_tag(command.key, command.value)
    return on_model(scope, command.model, lambda m: m.tag(key, value, ctx))


@handles(c.UntagModel)
def untag_model(command: c.UntagModel, ctx: Context, scope: Scope) -> Decide:
    return on_model(scope, command.model, lambda m: m.untag(command.key, ctx))


@handles(c.DeleteModel)
def delete_model(command: c.DeleteModel, ctx: Context, scope: Scope) -> Decide:
    def decide() -> Decision:
        model = scope.model(command.model)
        index = scope.taken_index(command.model)
        model.delete(ctx)
        index.release(ctx)
        return Decision([model, index], lambda: model_summary(model))

    return decide
