"""`registrum versions card|card-diff`: read a version's model card (Markdown, HTML or
JSON), and what changed between two versions' cards. Setting a card is `set-card`
(version_edits.py)."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from registrum.cli import output
from registrum.cli.context import options, run
from registrum.cli.failures import Usage
from registrum.cli.inputs import Model, Version, VersionRef, number
from registrum.cli.output import console, escape_controls, inert, say
from registrum.cli.versions import app
from registrum.client import Client, is_number

FORMATS = {"md": "markdown", "markdown": "markdown", "html": "html", "json": "json"}


def _number(client: Client, model: str, ref: str) -> int:
    """A version number, or the number @alias points at."""
    if ref.startswith("@"):
        return int(client.resolve(model, ref[1:])["number"])
    if not is_number(ref):
        raise Usage(f"VERSION is a number or @alias, not {ref!r}")
    return int(ref)


def _print_document(text: str) -> None:
    # Printed as sent, line by line, with any control character shown escaped.
    for line in text.rstrip("\n").split("\n"):
        print(escape_controls(line))


@app.command("card")
def card(
    ctx: typer.Context,
    model: Model,
    version_ref: VersionRef,
    format: str = typer.Option("md", "--format", "-f", help="md, html or json."),
) -> None:
    """Show the model card of VERSION (a number or @alias) of MODEL."""
    chosen = FORMATS.get(format.lower())
    if chosen is None:
        raise Usage(f"--format is md, html or json, not {format!r}")
    if chosen == "json" or options(ctx).json:
        run(ctx, lambda c: c.get_card(model, _number(c, model, version_ref)), output.emit_json)
        return
    run(
        ctx,
        lambda c: c.render_card(model, _number(c, model, version_ref), chosen),
        _print_document,
    )


def _changes(result: dict[str, Any]) -> None:
    if result.get("identical"):
        say(
            "the model cards of versions ",
            inert(result.get("against")),
            " and ",
            inert(result.get("version")),
            " are the same",
        )
        return
    table = Table("section", "change", "field", "before", "after")
    for change in result.get("changes") or []:
        rows = change.get("fields") or [
            {"path": None, "before": change.get("before"), "after": change.get("after")}
        ]
        for row in rows:
            table.add_row(
                inert(change.get("section")),
                inert(change.get("change")),
                inert(row.get("path")),
                inert(row.get("before")),
                inert(row.get("after")),
            )
    console.print(table)


@app.command("card-diff")
def card_diff(ctx: typer.Context, model: Model, before: Version, after: Version) -> None:
    """What changed in the model card of MODEL from version BEFORE to version AFTER."""
    a, b = number(before), number(after)
    run(ctx, lambda c: c.card_diff(model, b, against=a), _changes)
