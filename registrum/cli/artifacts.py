"""`registrum artifacts verify`: have the registry re-hash what it stores;
`registrum artifacts gc`: find (and remove) the objects no version references."""

from __future__ import annotations

from typing import Any

import typer

from registrum.cli import output, tables
from registrum.cli.context import run
from registrum.cli.failures import ExitCode
from registrum.cli.inputs import Model, VersionRef, hours, version
from registrum.client import Client

app = typer.Typer(help="Stored artefacts.", no_args_is_help=True)


@app.command("verify")
def artifacts_verify(ctx: typer.Context, model: Model, version_ref: VersionRef) -> None:
    """Re-hash the stored bytes of VERSION (a number or @alias) of MODEL: its files, or
    the s3:// object it refers to."""

    def call(client: Client) -> dict[str, Any]:
        found = version(client, model, version_ref)
        report = client.verify_version(model, found["number"])
        if not report.get("ok"):
            _say_what_failed(report)
        return report

    result = run(ctx, call, tables.verify_table)
    if not result.get("ok"):
        raise typer.Exit(ExitCode.REFUSED)


def _say_what_failed(report: dict[str, Any]) -> None:
    """Missing bytes and altered bytes, told apart: only altered ones hint at tampering."""
    checked = tables.verified_entries(report)
    for status, message in (
        ("altered", "altered (the stored bytes hash to another digest)"),
        ("missing", "missing from the registry's artefact store (not altered)"),
    ):
        where = [str(e.get("path")) for e in checked if tables.entry_status(e) == status]
        if where:
            output.error(f"{message}: {', '.join(where)}")


@app.command("gc")
def artifacts_gc(
    ctx: typer.Context,
    apply: bool = typer.Option(
        False, "--apply", help="Remove them; without it, only show what would be removed."
    ),
    grace_hours: float = typer.Option(
        None,
        "--grace-hours",
        help="Keep unreferenced objects younger than this (default: the registry's "
        "REGISTRUM_ARTIFACT_GC_GRACE_HOURS).",
    ),
) -> None:
    """Find the stored objects that no version references (deleted versions still do) and
    that are older than the grace period; remove them with --apply."""
    grace = hours(grace_hours, "--grace-hours")
    run(
        ctx, lambda client: client.collect_garbage(apply=apply, grace_hours=grace), tables.gc_report
    )
