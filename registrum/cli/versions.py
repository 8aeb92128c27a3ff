"""`registrum versions ...`: register (upload or refer), show, list, search, download.
Changes to a version (describe, tag, metrics, lineage, model card, delete) are in
version_edits.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from registrum.cli import output, paging, tables
from registrum.cli.context import options, run
from registrum.cli.failures import Usage
from registrum.cli.inputs import Model, VersionRef, artefact, pairs, stage, version
from registrum.cli.output import inert, say
from registrum.client import Client
from registrum.errors import FileError
from registrum.files import local_files

app = typer.Typer(help="Model versions.", no_args_is_help=True)

FILTER_HELP = "e.g. \"metrics.auc >= 0.9 AND tags.team = 'risk'\""
ORDER_HELP = 'e.g. "metrics.auc DESC"'


@app.command("register")
def versions_register(
    ctx: typer.Context,
    model: Model,
    artifact: str = typer.Argument(
        ..., help="A local file or folder to upload, or the URI of an artefact stored elsewhere."
    ),
    sha256: str = typer.Option(None, help="The artefact's sha256 digest."),
    size: int = typer.Option(None, help="The artefact's size in bytes."),
    run_id: str = typer.Option(None, help="The training run."),
    dataset_version: str = typer.Option(None, help="The training data's version."),
    metric: list[str] = typer.Option(None, help="NAME=NUMBER, repeatable."),
    tag: list[str] = typer.Option(None, help="KEY=VALUE, repeatable."),
    description: str = typer.Option("", help="What changed in this version."),
) -> None:
    """Register the next version of MODEL: upload a local file or folder, or refer to ARTIFACT."""
    fields = {
        "sha256": sha256,
        "size": size,
        "run_id": run_id,
        "dataset_version": dataset_version,
        "metrics": pairs(metric, "--metric", numbers=True),
        "tags": pairs(tag, "--tag"),
        "description": description,
    }
    local = artefact(artifact)
    total = 0
    if local is not None:
        try:
            total = sum(p.stat().st_size for _, p in local_files(local))
        except FileError as exc:
            raise Usage(exc.message) from None
        except OSError as exc:
            raise Usage(f"{exc.filename}: {exc.strerror}") from None

    def call(client: Client) -> dict[str, Any]:
        if local is None:
            return client.register_version(model, artifact, **fields)
        label = f"uploading {local.name}"
        with output.progress(total, label, quiet=options(ctx).json) as tick:
            return client.register_files(model, local, tick, **fields)

    def show(result: dict[str, Any]) -> None:
        v = result["version"]
        say(
            "registered ",
            inert(v.get("model") or model, "bold"),
            " version ",
            inert(v.get("number")),
            f" ({len(v.get('manifest') or [])} files, sha256 ",
            inert(v.get("sha256")),
            ")",
        )

    run(ctx, call, show)


@app.command("download")
def versions_download(
    ctx: typer.Context,
    model: Model,
    version_ref: VersionRef,
    dest: Path = typer.Argument(..., help="Folder to write the files into."),
) -> None:
    """Download VERSION (a number or @alias) of MODEL into DEST, checking every digest."""

    def call(client: Client) -> dict[str, Any]:
        found = version(client, model, version_ref)
        total = sum(int(e.get("size") or 0) for e in found.get("manifest") or [])
        label = f"downloading {model} {version_ref}"
        with output.progress(total, label, quiet=options(ctx).json) as tick:
            written = client.download(found, dest, tick)
        return {"version": found, "files": [str(p) for p in written]}

    run(
        ctx,
        call,
        lambda r: say(f"wrote {len(r['files'])} files to ", inert(dest), ", every digest checked"),
    )


@app.command("show")
def versions_show(ctx: typer.Context, model: Model, version_ref: VersionRef) -> None:
    """Show a version: VERSION is a number or @alias."""
    run(ctx, lambda c: version(c, model, version_ref), tables.version_detail)


@app.command("list")
def versions_list(
    ctx: typer.Context,
    model: Model,
    stage_name: str = typer.Option(None, "--stage", help="Only this stage."),
    filter: str = typer.Option(None, "--filter", help=FILTER_HELP),
    order_by: str = typer.Option(None, help=ORDER_HELP),
    limit: int = paging.limit_option(),
    every: bool = paging.all_option(),
) -> None:
    """List a model's versions, optionally filtered and ordered."""
    wanted = stage(stage_name) if stage_name else None
    paging.listing(
        ctx,
        "versions",
        lambda c: c.list_versions(model, wanted, limit=limit, filter=filter, order_by=order_by),
        (lambda c: c.iter_versions(model, wanted, filter, order_by)) if every else None,
        tables.versions_table,
    )


@app.command("search")
def versions_search(
    ctx: typer.Context,
    filter: str = typer.Argument(..., help=FILTER_HELP + "; name is the model's name"),
    order_by: str = typer.Option(None, help=ORDER_HELP),
    limit: int = paging.limit_option(),
    every: bool = paging.all_option(),
) -> None:
    """Search versions of every model."""
    paging.listing(
        ctx,
        "versions",
        lambda c: c.search_versions(filter, order_by, limit),
        (lambda c: c.iter_search_versions(filter, order_by)) if every else None,
        tables.versions_table,
    )
