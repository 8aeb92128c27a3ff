"""`registrum alias set|rm`: stable names for a version (champion, challenger...)."""

from __future__ import annotations

from typing import Annotated

import typer

from registrum.cli.context import run
from registrum.cli.inputs import Model, Version, number
from registrum.cli.output import inert, say

Alias = Annotated[str, typer.Argument(help="The alias, e.g. champion.")]

app = typer.Typer(
    help="Aliases: stable names for a version (champion, challenger...).", no_args_is_help=True
)


@app.command("set")
def alias_set(
    ctx: typer.Context,
    model: Model,
    name: Alias,
    version: Version,
) -> None:
    """Point alias NAME of MODEL at VERSION."""
    n = number(version)
    run(
        ctx,
        lambda c: c.set_alias(model, name, n),
        lambda r: say(inert(model), "@", inert(name), f" → version {n}"),
    )


@app.command("rm")
def alias_rm(ctx: typer.Context, model: Model, name: Alias) -> None:
    """Remove alias NAME of MODEL."""
    run(
        ctx,
        lambda c: c.remove_alias(model, name),
        lambda r: say("removed ", inert(model), "@", inert(name)),
    )
