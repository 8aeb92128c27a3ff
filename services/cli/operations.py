"""Operator commands: `registrum projector`, `registrum views rebuild`, `registrum status`."""

from __future__ import annotations

import asyncio

import typer

from registrum.cli import output

views_app = typer.Typer(help="The read views.", no_args_is_help=True)


def dsns() -> tuple[str, str]:
    """(events, read) URLs: the configured ones, else the data directory's embedded server."""
    from services.embedded import EmbeddedPostgres
    from services.settings import Settings

    settings = Settings()
    events = settings.database_url
    if not events:
        embedded = EmbeddedPostgres(settings.data_dir.resolve() / "postgres")
        if not embedded.socket_dir.exists():
            output.errors.print(
                "[red]error[/red]: set REGISTRUM_DATABASE_URL, or start `registrum serve` "
                "on this data directory first",
                highlight=False,
            )
            raise typer.Exit(1)
        events = embedded.url
    return events, settings.read_database_url or events


def projector() -> None:
    """Run the projector alone: keep the read views up to date until SIGINT/SIGTERM."""
    from services.catalogue.projector import Projector
    from services.cli.bus import until_signal

    events, read = dsns()
    until_signal(Projector(read, events).run)


@views_app.command("rebuild")
def rebuild(view: list[str] = typer.Option(None, help="Only this view; repeatable.")) -> None:
    """Replay the whole log into fresh views, then swap them in; reads continue meanwhile."""
    from services.catalogue.rebuild import rebuild as run
    from services.catalogue.views.all import VIEWS

    unknown = [v for v in view or [] if v not in VIEWS]
    if unknown:
        raise typer.BadParameter(f"unknown view {unknown[0]!r}; views: {', '.join(VIEWS)}")
    chosen = [VIEWS[v] for v in view] if view else list(VIEWS.values())
    events, read = dsns()
    applied = asyncio.run(run(read, events, chosen))
    for name, count in applied.items():
        output.console.print(f"rebuilt {name}: {count} events")
