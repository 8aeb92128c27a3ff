"""What happened and when: as-of, timeline, and the registry's status."""

from __future__ import annotations

import typer

from registrum.cli import paging, tables
from registrum.cli.context import run
from registrum.cli.inputs import Model, stage


def as_of(
    ctx: typer.Context,
    model: Model,
    stage_name: str = typer.Argument(
        ..., metavar="STAGE", help="development, staging, production or archived."
    ),
    time: str = typer.Argument(None, help="ISO 8601, e.g. 2026-11-01T12:00:00Z; default now."),
) -> None:
    """Which version of MODEL was in STAGE at TIME, who promoted it and who approved it."""
    wanted = stage(stage_name)
    run(ctx, lambda c: c.stage_as_of(model, wanted, time), tables.stage_holders)


def timeline(
    ctx: typer.Context,
    model: Model,
    limit: int = paging.limit_option(50),
    every: bool = paging.all_option(),
) -> None:
    """What happened to MODEL and its versions, newest first."""
    paging.listing(
        ctx,
        "events",
        lambda c: c.timeline(model, limit),
        (lambda c: c.iter_timeline(model)) if every else None,
        tables.timeline_table,
        lambda rows, token: {"model": model, "events": rows, "next_page_token": token},
    )


def status(ctx: typer.Context) -> None:
    """The registry's head position and how far each view and relay lags behind it."""
    run(ctx, lambda c: c.health(), tables.status_table)
