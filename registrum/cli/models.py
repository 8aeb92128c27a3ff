"""`registrum models ...`: list, create, show, rename, describe, tag, untag, delete."""

from __future__ import annotations

from typing import Any

import typer

from registrum.cli import paging, tables
from registrum.cli.context import run
from registrum.cli.inputs import Model, model_name, pairs
from registrum.cli.output import inert, say

app = typer.Typer(help="Registered models.", no_args_is_help=True)

REASON_HELP = "Why: recorded with the change."


def _said(verb: str, suffix: str = "") -> Any:
    def show(result: dict[str, Any]) -> None:
        say(f"{verb} model ", inert(result.get("model", {}).get("name"), "bold"), suffix)

    return show


@app.command("list")
def models_list(
    ctx: typer.Context,
    filter: str = typer.Option(None, "--filter", help="e.g. \"name LIKE 'fraud%'\""),
    limit: int = paging.limit_option(),
    every: bool = paging.all_option(),
) -> None:
    """List registered models."""
    paging.listing(
        ctx,
        "models",
        lambda c: c.list_models(limit, filter=filter),
        (lambda c: c.iter_models(filter)) if every else None,
        tables.models_table,
    )


@app.command("create")
def models_create(
    ctx: typer.Context,
    name: Model,
    description: str = typer.Option("", help="What the model is for."),
    tag: list[str] = typer.Option(None, help="KEY=VALUE, repeatable."),
    allow_multiple_production: bool = typer.Option(
        False, help="Let several versions be in production at once."
    ),
) -> None:
    """Register a new model name."""
    tags = pairs(tag, "--tag")
    fields: dict[str, Any] = {"description": description, "tags": tags}
    if allow_multiple_production:
        fields["allow_multiple_production"] = True
    run(ctx, lambda c: c.create_model(name, **fields), _said("created"))


@app.command("show")
def models_show(ctx: typer.Context, name: Model) -> None:
    """Show one model."""
    run(ctx, lambda c: c.get_model(name), tables.model_detail)


@app.command("rename")
def models_rename(
    ctx: typer.Context,
    name: Model,
    new_name: str = typer.Argument(..., help="The new name; the old one is free again."),
    reason: str = typer.Option(None, help=REASON_HELP),
) -> None:
    """Rename a model."""
    model_name(new_name)
    run(
        ctx,
        lambda c: c.rename_model(name, new_name, reason=reason),
        lambda r: say("renamed model ", inert(name), " to ", inert(r["model"]["name"], "bold")),
    )


@app.command("describe")
def models_describe(
    ctx: typer.Context,
    name: Model,
    description: str = typer.Argument(..., help="What the model is for."),
    reason: str = typer.Option(None, help=REASON_HELP),
) -> None:
    """Set a model's description."""
    run(ctx, lambda c: c.describe_model(name, description, reason=reason), _said("described"))


@app.command("tag")
def models_tag(
    ctx: typer.Context,
    name: Model,
    key: str = typer.Argument(..., help="The tag's key."),
    value: str = typer.Argument(..., help="The tag's value."),
    reason: str = typer.Option(None, help=REASON_HELP),
) -> None:
    """Set tag KEY of a model to VALUE."""
    run(
        ctx,
        lambda c: c.tag_model(name, key, value, reason=reason),
        lambda r: say("tagged model ", inert(name, "bold"), ": ", inert(key), "=", inert(value)),
    )


@app.command("untag")
def models_untag(
    ctx: typer.Context, name: Model, key: str = typer.Argument(..., help="The tag's key.")
) -> None:
    """Remove tag KEY from a model."""
    run(
        ctx,
        lambda c: c.untag_model(name, key),
        lambda r: say("removed tag ", inert(key), " from model ", inert(name, "bold")),
    )


@app.command("delete")
def models_delete(ctx: typer.Context, name: Model) -> None:
    """Delete a model: its name is free again; its history stays in the log."""
    run(ctx, lambda c: c.delete_model(name), _said("deleted"))
