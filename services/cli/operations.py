"""Operator commands: `registrum api`, `registrum projector`, `registrum signer`,
`registrum views rebuild`."""

from __future__ import annotations

import asyncio

import typer

from registrum.cli import output
from services.cli.ops import run_role
from services.cli.roles import start_line
from services.cli.signals import runtime, say

views_app = typer.Typer(help="The read views.", no_args_is_help=True)


def api(
    host: str = typer.Option(None, help="Listen address (REGISTRUM_HOST)."),
    port: int = typer.Option(None, help="Listen port (REGISTRUM_PORT)."),
) -> None:
    """Run the HTTP API alone: no projector, relay or intake, no embedded service (other
    processes run those roles). Until SIGINT/SIGTERM."""
    from services.cli.serve import run_http

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    with runtime("api", **overrides) as running:
        app = running.api()
        settings = running.settings
        say(
            start_line("api", running, kafka=False)
            + f"; listening on http://{settings.host}:{settings.port}"
        )
        run_http(app, settings)


def projector() -> None:
    """Run the projector alone: keep the read views up to date until SIGINT/SIGTERM."""
    with runtime("projector") as running:
        main = running.projector()
        say(start_line("projector", running, kafka=False, artifacts=False))
        run_role(running, "projector", main)


def signer() -> None:
    """Run the checkpoint signer alone: sign the audit chain's head every N events or T
    seconds with the registry's key (REGISTRUM_AUDIT_KEY_FILE, shared by every signer; one
    signs at a time, the others stand by). Until SIGINT/SIGTERM."""
    with runtime("signer") as running:
        main = running.signer(make_key=False)
        say(start_line("signer", running, kafka=False, artifacts=False))
        run_role(running, "signer", main)


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
        running.require_schema()
        applied = asyncio.run(run(running.read_url, running.events_url, chosen))
    for name, count in applied.items():
        output.console.print(f"rebuilt {name}: {count} events")
