"""`registrum db migrate` and `registrum db status`: the databases' schema, which every
other role only checks (and `serve` migrates by itself)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import typer

from registrum.cli import output
from services.bootstrap import NotConfigured, Runtime
from services.settings import Settings

db_app = typer.Typer(help="The databases' schema.", no_args_is_help=True)


@contextmanager
def _urls() -> Iterator[tuple[str, str]]:
    """The events and read databases' URLs; an unreachable one is a one-line error."""
    with Runtime(Settings(), migrate=False) as running:
        try:
            yield running.events_url, running.read_url
        except NotConfigured as exc:
            output.error(str(exc))
            raise typer.Exit(1) from None
        except psycopg.OperationalError as exc:
            output.error(f"cannot reach the database: {str(exc).strip()}")
            raise typer.Exit(1) from None


@db_app.command("migrate")
def migrate(
    to: int = typer.Option(None, "--to", min=1, help="Apply versions up to this one only."),
) -> None:
    """Apply the migrations the databases lack, each in its own transaction."""
    from services.schema.migrator import migrate as run
    from services.schema.status import SchemaMismatch

    with _urls() as (events_url, read_url):
        try:
            applied = run(events_url, read_url, upto=to, waiting=output.note)
        except SchemaMismatch as exc:
            output.error(str(exc))
            raise typer.Exit(1) from None
    for done in applied:
        output.say(
            f"applied version {done.migration.version} to {done.target.label}"
            f" ({done.migration.database}): {done.migration.description}"
        )
    if not applied:
        output.say("nothing to apply: the schema is current")


@db_app.command("status")
def status() -> None:
    """Show each database's schema version against the one this Registrum needs; exit 1
    when a database is behind (run `registrum db migrate`) or ahead (upgrade Registrum)."""
    from services.schema.status import MIGRATE, UPGRADE, SchemaAhead, states

    with _urls() as (events_url, read_url):
        found = states(events_url, read_url)
    for state in found:
        problem = state.problem
        if problem is None:
            verdict = "current"
        elif isinstance(problem, SchemaAhead):
            verdict = f"newer than this Registrum: {UPGRADE}"
        else:
            missing = ", ".join(map(str, sorted({m.version for m in state.pending})))
            verdict = f"behind (lacks {missing}): {MIGRATE}"
        output.say(
            f"{state.target.label} ({', '.join(state.target.databases)}): version "
            f"{state.current}, this Registrum needs {state.expected}: {verdict}"
        )
        for version in state.edited:
            output.note(f"version {version} was applied from a different text than this one")
    if any(state.problem is not None for state in found):
        raise typer.Exit(1)
