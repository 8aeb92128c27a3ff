"""Operator commands: `registrum projector`, `registrum views rebuild`."""

from __future__ import annotations

import asyncio

import typer

from registrum.cli import output
from services.cli.ops import run_role
from services.cli.signals import runtime

views_app = typer.Typer(help="The read views.", no_args_is_help=True)


def projector() -> None:
    """Run the projector alone: keep the read views up to date until SIGINT/SIGTERM."""
    with runtime("projector") as running:
        run_role(running, "projector", running.projector())


@views_app.command("rebuild")
def rebuild(view: list[str] = typer.Option(None, help="Only this view; repeatable.")) -> None:
    """Replay the whole log into fresh views, then swap them in; reads continue meanwhile."""
    from services.catalogue.rebuild import rebuild as run
    from services.catalogue.views.all import VIEWS

    unknown = [v for v in view or [] if v not in VIEWS]
    if unknown:
        raise typer.BadParameter(f"unknown view {unknown[0]!r}; views: {', '.join(VIEWS)}")
    chosen = [VIEWS[v] for v in view] if view else list(VIEWS.values())
    with runtime() as running:
        applied = asyncio.run(run(running.read_url, running.events_url, chosen))
    for name, count in applied.items():
        output.console.print(f"rebuilt {name}: {count} events")
