"""The `registrum` command: serve the registry, or talk to one over HTTP.

Exit codes: 0 done, 1 refused or not found (with the server's message), 2 usage.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from registrum.client import Client, RegistrumError
from registrum.files import FileError, local_files
from services.cli import bus, operations, output
from services.registry.domain.values import is_number

app = typer.Typer(
    help="Registrum: the event-sourced model registry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models = typer.Typer(help="Registered models.", no_args_is_help=True)
versions = typer.Typer(help="Model versions.", no_args_is_help=True)
alias = typer.Typer(
    help="Aliases: stable names for a version (champion, challenger...).", no_args_is_help=True
)
app.add_typer(models, name="models")
app.add_typer(versions, name="versions")
app.add_typer(alias, name="alias")
artifacts = typer.Typer(help="Stored artefacts.", no_args_is_help=True)
app.add_typer(artifacts, name="artifacts")
app.add_typer(operations.views_app, name="views")
app.command("projector")(operations.projector)
app.command("relay")(bus.relay)
app.command("intake")(bus.intake)
app.command("watch")(bus.watch)


@dataclass
class Options:
    url: str
    actor: str
    json: bool

    def client(self) -> Client:
        # Each CLI run is a new process: read at least what anyone wrote before it.
        return Client(self.url, self.actor, consistency="head")


def _options(ctx: typer.Context) -> Options:
    return ctx.obj


@app.callback()
def main_options(
    ctx: typer.Context,
    url: str = typer.Option(
        "http://127.0.0.1:8000", envvar="REGISTRUM_URL", help="The registry's address."
    ),
    actor: str = typer.Option(
        None, "--as", envvar="REGISTRUM_ACTOR", help="Who acts; defaults to your login name."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    ctx.obj = Options(url=url, actor=actor or getpass.getuser(), json=as_json)


def _run(
    ctx: typer.Context, call: Callable[[Client], Any], show: Callable[[Any], None] | None = None
) -> Any:
    opts = _options(ctx)
    try:
        with opts.client() as client:
            result = call(client)
    except RegistrumError as exc:
        output.errors.print(f"[red]error[/red] ({exc.code}): {exc.message}", highlight=False)
        raise typer.Exit(1) from None
    if opts.json:
        output.emit_json(result)
    elif show is not None:
        show(result)
    return result


def _pairs(items: list[str] | None, what: str, number: bool = False) -> dict[str, Any]:
    pairs: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{what} must look like KEY=VALUE, not {item!r}")
        if number:
            try:
                pairs[key] = float(value)
            except ValueError:
                raise typer.BadParameter(f"{what} {key} must be a number") from None
        else:
            pairs[key] = value
    return pairs


def _version_ref(client: Client, model: str, ref: str) -> dict[str, Any]:
    """VERSION is a number or @alias."""
    if ref.startswith("@"):
        return client.resolve(model, ref[1:])
    return client.get_version(model, _number(ref))


def _number(ref: str) -> int:
    if not is_number(ref):
        raise typer.BadParameter(f"a version is a number or @alias, not {ref!r}")
    return int(ref)


# -- serve ------------------------------------------------------------------------------


@app.command()
def serve(
    host: str = typer.Option(None, help="Listen address (REGISTRUM_HOST)."),
    port: int = typer.Option(None, help="Listen port (REGISTRUM_PORT)."),
    data_dir: Path = typer.Option(None, help="Data directory (REGISTRUM_DATA_DIR)."),
) -> None:
    """Run the registry: API and event store (embedded PostgreSQL unless a URL is set)."""
    from services.cli.serve import serve as run
    from services.embedded import EmbeddedError
    from services.settings import Settings

    overrides: dict[str, Any] = {
        k: v for k, v in {"host": host, "port": port, "data_dir": data_dir}.items() if v is not None
    }
    settings = Settings(**overrides)
    try:
        run(settings)
    except EmbeddedError as exc:
        output.errors.print(f"[red]error[/red]: {exc}", highlight=False)
        raise typer.Exit(1) from None


@app.command()
def status(ctx: typer.Context) -> None:
    """The registry's head position and how far each view lags behind it."""
    _run(ctx, lambda c: c.health(), output.status_table)


# -- models -----------------------------------------------------------------------------


@models.command("list")
def models_list(ctx: typer.Context, limit: int = typer.Option(100)) -> None:
    """List registered models."""
    _run(ctx, lambda c: c.list_models(limit)["models"], output.models_table)


@models.command("create")
def models_create(
    ctx: typer.Context,
    name: str,
    description: str = typer.Option("", help="What the model is for."),
    tag: list[str] = typer.Option(None, help="KEY=VALUE, repeatable."),
) -> None:
    """Register a new model name."""
    tags = _pairs(tag, "--tag")
    _run(
        ctx,
        lambda c: c.create_model(name, description=description, tags=tags),
        lambda r: output.console.print(f"created model [bold]{r['model']['name']}[/bold]"),
    )


@models.command("show")
def models_show(ctx: typer.Context, name: str) -> None:
    """Show one model."""
    _run(ctx, lambda c: c.get_model(name), output.model_detail)


# -- versions ---------------------------------------------------------------------------


@versions.command("register")
def versions_register(
    ctx: typer.Context,
    model: str,
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
        "metrics": _pairs(metric, "--metric", True),
        "tags": _pairs(tag, "--tag"),
        "description": description,
    }
    local = Path(artifact)

    def call(client: Client) -> dict[str, Any]:
        if not local.exists():
            return client.register_version(model, artifact, **fields)
        try:
            total = sum(p.stat().st_size for _, p in local_files(local))
        except FileError as exc:
            raise RegistrumError(0, "bad_path", str(exc)) from None
        with output.progress(total, f"uploading {local.name}", quiet=_options(ctx).json) as tick:
            return client.register_files(model, local, tick, **fields)

    _run(
        ctx,
        call,
        lambda r: output.console.print(
            f"registered [bold]{model}[/bold] version {r['version']['number']}"
            f" ({len(r['version'].get('manifest') or [])} files, sha256 {r['version']['sha256']})"
        ),
    )


@versions.command("download")
def versions_download(
    ctx: typer.Context,
    model: str,
    version: str,
    dest: Path = typer.Argument(..., help="Folder to write the files into."),
) -> None:
    """Download VERSION (a number or @alias) of MODEL into DEST, checking every digest."""

    def call(client: Client) -> dict[str, Any]:
        found = _version_ref(client, model, version)
        total = sum(e["size"] for e in found.get("manifest") or [])
        with output.progress(
            total, f"downloading {model} {version}", quiet=_options(ctx).json
        ) as tick:
            written = client.download(found, dest, tick)
        return {"version": found, "files": [str(p) for p in written]}

    _run(
        ctx,
        call,
        lambda r: output.console.print(
            f"wrote {len(r['files'])} files to {dest}, every digest checked"
        ),
    )


@versions.command("show")
def versions_show(ctx: typer.Context, model: str, version: str) -> None:
    """Show a version: VERSION is a number or @alias."""
    _run(ctx, lambda c: _version_ref(c, model, version), output.version_detail)


FILTER_HELP = "e.g. \"metrics.auc >= 0.9 AND tags.team = 'risk'\""


@versions.command("list")
def versions_list(
    ctx: typer.Context,
    model: str,
    stage: str = typer.Option(None, help="Only this stage."),
    filter: str = typer.Option(None, "--filter", help=FILTER_HELP),
    order_by: str = typer.Option(None, help='e.g. "metrics.auc DESC"'),
    limit: int = typer.Option(100, help="At most this many."),
) -> None:
    """List a model's versions, optionally filtered and ordered."""
    _run(
        ctx,
        lambda c: c.list_versions(model, stage, limit=limit, filter=filter, order_by=order_by)[
            "versions"
        ],
        output.versions_table,
    )


@versions.command("search")
def versions_search(
    ctx: typer.Context,
    filter: str = typer.Argument(..., help=FILTER_HELP + "; name is the model's name"),
    order_by: str = typer.Option(None, help='e.g. "metrics.auc DESC"'),
    limit: int = typer.Option(100, help="At most this many."),
) -> None:
    """Search versions of every model."""
    _run(
        ctx, lambda c: c.search_versions(filter, order_by, limit)["versions"], output.versions_table
    )


@app.command("as-of")
def as_of(
    ctx: typer.Context,
    model: str,
    stage: str,
    time: str = typer.Argument(None, help="ISO 8601, e.g. 2026-11-01T12:00:00Z; default now."),
) -> None:
    """Which version of MODEL was in STAGE at TIME, who promoted it and who approved it."""
    _run(ctx, lambda c: c.stage_as_of(model, stage, time), output.stage_holders)


@app.command()
def timeline(ctx: typer.Context, model: str, limit: int = typer.Option(50)) -> None:
    """What happened to MODEL and its versions, newest first."""
    _run(ctx, lambda c: c.timeline(model, limit), output.timeline_table)


# -- reviews and stages ---------------------------------------------------------------


def _said(verb: str) -> Callable[[dict[str, Any]], None]:
    def show(result: dict[str, Any]) -> None:
        v = result["version"]
        output.console.print(f"{verb}: {v['model']} version {v['number']} is {v['stage']}")

    return show


@app.command("request-approval")
def request_approval(
    ctx: typer.Context,
    model: str,
    version: str,
    stage: str,
    approvals: int = typer.Option(None, help="Distinct approvers needed."),
    reason: str = typer.Option(None, help="Why this version should be promoted."),
) -> None:
    """Ask for sign-off to promote VERSION of MODEL to STAGE."""
    number = _number(version)

    def show(result: dict[str, Any]) -> None:
        requests = [
            r
            for r in result["version"]["approval_requests"]
            if r["stage"] == stage.lower() and r["status"] == "pending"
        ]
        output.console.print(f"requested approval {requests[-1]['id'] if requests else ''}")

    _run(
        ctx,
        lambda c: c.request_approval(
            model, number, stage, required_approvals=approvals, reason=reason
        ),
        show,
    )


def _review(
    ctx: typer.Context,
    decision: str,
    model: str,
    version: str,
    request: str | None,
    comment: str | None,
) -> None:
    number = _number(version)

    def call(client: Client) -> dict[str, Any]:
        request_id = request
        if request_id is None:
            pending = [
                r["id"]
                for r in client.get_version(model, number)["approval_requests"]
                if r["status"] == "pending"
            ]
            if len(pending) != 1:
                raise RegistrumError(
                    404 if not pending else 409,
                    "ambiguous_request",
                    "no pending request; nothing to review"
                    if not pending
                    else "several pending requests; choose one with --request: "
                    + ", ".join(pending),
                )
            request_id = pending[0]
        return client.review(model, number, request_id, decision, reason=comment)

    _run(
        ctx,
        call,
        _said({"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"}[decision]),
    )


@app.command()
def approve(
    ctx: typer.Context,
    model: str,
    version: str,
    request: str = typer.Option(None, help="The request id; default: the pending one."),
    comment: str = typer.Option(None, help="Recorded with the approval."),
) -> None:
    """Sign off a pending approval request."""
    _review(ctx, "approve", model, version, request, comment)


@app.command()
def reject(
    ctx: typer.Context,
    model: str,
    version: str,
    request: str = typer.Option(None, help="The request id; default: the pending one."),
    comment: str = typer.Option(None, help="Why it is rejected."),
) -> None:
    """Reject a pending approval request."""
    _review(ctx, "reject", model, version, request, comment)


@app.command()
def withdraw(
    ctx: typer.Context,
    model: str,
    version: str,
    request: str = typer.Option(None, help="The request id; default: the pending one."),
    comment: str = typer.Option(None, help="Why it is withdrawn."),
) -> None:
    """Withdraw your own pending approval request."""
    _review(ctx, "withdraw", model, version, request, comment)


@app.command()
def promote(
    ctx: typer.Context,
    model: str,
    version: str,
    stage: str,
    reason: str = typer.Option(None, help="Why now."),
) -> None:
    """Promote VERSION of MODEL to STAGE (needs an approved request)."""
    number = _number(version)
    _run(ctx, lambda c: c.promote(model, number, stage, reason=reason), _said("promoted"))


@app.command()
def archive(
    ctx: typer.Context,
    model: str,
    version: str,
    reason: str = typer.Option(None, help="Why it is retired."),
) -> None:
    """Archive VERSION of MODEL."""
    number = _number(version)
    _run(ctx, lambda c: c.archive(model, number, reason=reason), _said("archived"))


@artifacts.command("verify")
def artifacts_verify(ctx: typer.Context, model: str, version: str) -> None:
    """Re-hash the stored bytes of VERSION (a number or @alias) of MODEL: its files, or
    the s3:// object it refers to."""

    def call(client: Client) -> dict[str, Any]:
        found = _version_ref(client, model, version)
        report = client.verify_version(model, found["number"])
        if not report["ok"]:
            bad = [f["path"] for f in report.get("files", []) if not f["ok"]]
            output.errors.print(
                f"[red]altered[/red]: {', '.join(bad) or report['reference']['uri']}",
                highlight=False,
            )
        return report

    result = _run(ctx, call, output.verify_table)
    if not result["ok"]:
        raise typer.Exit(1)


# -- aliases ------------------------------------------------------------------------------


@alias.command("set")
def alias_set(ctx: typer.Context, model: str, name: str, version: str) -> None:
    """Point alias NAME of MODEL at VERSION."""
    number = _number(version)
    _run(
        ctx,
        lambda c: c.set_alias(model, name, number),
        lambda r: output.console.print(f"{model}@{name} → version {number}"),
    )


@alias.command("rm")
def alias_rm(ctx: typer.Context, model: str, name: str) -> None:
    """Remove alias NAME of MODEL."""
    _run(
        ctx,
        lambda c: c.remove_alias(model, name),
        lambda r: output.console.print(f"removed {model}@{name}"),
    )


def main() -> None:
    app()
