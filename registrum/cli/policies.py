"""`registrum policies`: publish the promotion policy (CEL gates in YAML) and read its
versions."""

from __future__ import annotations

from typing import Any

import typer

from registrum.cli.context import run
from registrum.cli.inputs import text_file
from registrum.cli.output import inert, say

app = typer.Typer(help="The promotion policy: gates per stage, as CEL rules.", no_args_is_help=True)


@app.command("publish")
def publish(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="The policy as YAML ('-' for stdin)."),
    reason: str = typer.Option(None, help="Why it changes."),
) -> None:
    """Make FILE the policy in force (owners of the registry); a new version of it."""
    document = text_file(file, "policy", "YAML file")

    def show(result: dict[str, Any]) -> None:
        p = result.get("policy") or {}
        say("policy ", inert(p.get("name")), " v", inert(p.get("version")), " in force")

    run(ctx, lambda c: c.publish_policy(document, reason=reason), show)


@app.command("list")
def list_versions(
    ctx: typer.Context,
    as_of: str = typer.Option(None, "--as-of", help="Which was in force at this time."),
) -> None:
    """Every version published, newest first, and the one in force."""

    def show(result: dict[str, Any]) -> None:
        current = result.get("in_force") or {}
        say("in force: ", inert(current.get("name")), " v", inert(current.get("version")))
        for p in result.get("versions") or []:
            say(
                "  v",
                inert(p.get("version")),
                " ",
                inert(p.get("name")),
                " by ",
                inert(p.get("published_by")),
                " at ",
                inert(p.get("published_at")),
            )

    run(ctx, lambda c: c.policies(as_of=as_of), show)
