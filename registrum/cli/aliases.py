"""`registrum alias set|rm|protect|request`: stable names for a version (champion,
challenger...), and the protected ones that move only through an approved request."""

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


@app.command("protect")
def alias_protect(
    ctx: typer.Context,
    model: Model,
    name: Alias,
    off: bool = typer.Option(False, "--off", help="Make it a plain alias again."),
) -> None:
    """Protect alias NAME of MODEL (owners): it then moves only through an approved request
    (`registrum alias request`), and cannot be removed."""
    run(
        ctx,
        lambda c: c.protect_alias(model, name, protected=not off),
        lambda r: say(inert(model), "@", inert(name), " is ", "plain" if off else "protected"),
    )


@app.command("request")
def alias_request(
    ctx: typer.Context,
    model: Model,
    name: Alias,
    version: Version,
    approvals: int = typer.Option(None, min=1, help="Distinct approvers needed."),
    reason: str = typer.Option(None, help="Why this version should take the alias."),
) -> None:
    """Ask for sign-off to point the protected alias NAME of MODEL at VERSION; once it is
    approved, `registrum alias set` moves it."""
    n = number(version)

    def show(result: dict[str, object]) -> None:
        requests = result["version"].get("approval_requests") or []  # type: ignore[attr-defined]
        say("requested approval ", inert(requests[-1].get("id") if requests else None))

    run(
        ctx,
        lambda c: c.request_alias_approval(
            model, n, name, required_approvals=approvals, reason=reason
        ),
        show,
    )
