"""`registrum versions describe|tag|untag|record-metrics|link-lineage|set-card|delete`:
changes to one version, each one command appended to the log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from registrum.cli.context import run
from registrum.cli.failures import Usage
from registrum.cli.inputs import (
    Model,
    Version,
    json_object,
    lineage_references,
    number,
    pairs,
)
from registrum.cli.output import inert, say
from registrum.cli.versions import app

REASON_HELP = "Why: recorded with the change."


def _said(what: str) -> Callable[[dict[str, Any]], None]:
    def show(result: dict[str, Any]) -> None:
        v = result.get("version") or {}
        say(what, " ", inert(v.get("model"), "bold"), " version ", inert(v.get("number")))

    return show


@app.command("describe")
def describe(
    ctx: typer.Context,
    model: Model,
    version: Version,
    description: str = typer.Argument(..., help="What changed in this version."),
    reason: str = typer.Option(None, help=REASON_HELP),
) -> None:
    """Set the description of VERSION of MODEL."""
    n = number(version)
    run(ctx, lambda c: c.describe_version(model, n, description, reason=reason), _said("described"))


@app.command("tag")
def tag(
    ctx: typer.Context,
    model: Model,
    version: Version,
    key: str = typer.Argument(..., help="The tag's key."),
    value: str = typer.Argument(..., help="The tag's value."),
    reason: str = typer.Option(None, help=REASON_HELP),
) -> None:
    """Set tag KEY of VERSION of MODEL to VALUE."""
    n = number(version)
    run(ctx, lambda c: c.tag_version(model, n, key, value, reason=reason), _said("tagged"))


@app.command("untag")
def untag(
    ctx: typer.Context,
    model: Model,
    version: Version,
    key: str = typer.Argument(..., help="The tag's key."),
) -> None:
    """Remove tag KEY from VERSION of MODEL."""
    n = number(version)
    run(ctx, lambda c: c.untag_version(model, n, key), _said(f"removed tag {key!r} from"))


@app.command("record-metrics")
def record_metrics(
    ctx: typer.Context,
    model: Model,
    version: Version,
    metric: list[str] = typer.Argument(..., help="NAME=NUMBER, one or more."),
    reason: str = typer.Option(None, help=REASON_HELP),
) -> None:
    """Record metrics of VERSION of MODEL (a metric recorded again is overwritten)."""
    n = number(version)
    metrics = pairs(metric, "a metric", numbers=True)
    run(
        ctx,
        lambda c: c.record_metrics(model, n, metrics, reason=reason),
        _said(f"recorded {len(metrics)} metrics of"),
    )


@app.command("link-lineage")
def link_lineage(
    ctx: typer.Context,
    model: Model,
    version: Version,
    reference: list[str] = typer.Argument(
        ...,
        help="KIND=ID, one or more; KIND is dataset, feature, code, run, model_version or "
        "deployment (e.g. dataset=s3://data/2026-10, model_version=fraud-detector/1).",
    ),
    relation: str = typer.Option("input", help="How the version relates to them."),
    reason: str = typer.Option(None, help=REASON_HELP),
) -> None:
    """Link VERSION of MODEL to what it was made from."""
    n = number(version)
    references = lineage_references(reference, relation)
    run(
        ctx,
        lambda c: c.link_lineage(model, n, references, reason=reason),
        _said(f"linked {len(references)} references to"),
    )


@app.command("set-card")
def set_card(
    ctx: typer.Context,
    model: Model,
    version: Version,
    card: str = typer.Argument(None, help="A JSON file holding the card's object; - for stdin."),
    merge: bool = typer.Option(
        False, "--merge", help="Set only the sections in the file, keeping the others."
    ),
    remove: list[str] = typer.Option(
        None, "--remove", help="A section to empty, keeping the others; repeatable."
    ),
    reason: str = typer.Option(None, help=REASON_HELP),
) -> None:
    """Set the model card of VERSION of MODEL from a JSON file: the whole card, or with
    --merge and --remove, some of its sections."""
    n = number(version)
    if card is None and not remove:
        raise Usage("give the card's JSON file (- for stdin), or sections to --remove")
    content = json_object(card, "the model card") if card is not None else {}
    if merge or remove:
        run(
            ctx,
            lambda c: c.amend_model_card(model, n, content, remove or [], reason=reason),
            _said("changed the model card of"),
        )
        return
    run(
        ctx,
        lambda c: c.update_model_card(model, n, content, reason=reason),
        _said("set the model card of"),
    )


@app.command("delete")
def delete(ctx: typer.Context, model: Model, version: Version) -> None:
    """Delete VERSION of MODEL; its number is not reused, its history stays in the log."""
    n = number(version)
    run(ctx, lambda c: c.delete_version(model, n), _said("deleted"))
