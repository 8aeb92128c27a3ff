"""`registrum audit`: verify the log's hash chain and checkpoints, export it for auditors
and replay an export into an empty registry (operator commands: they reach the event store
directly)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import asyncpg
import typer

from registrum.cli import output
from services.audit import export, reading
from services.audit import replay as replay_module
from services.audit.signing import Checkpoint, KeyInvalid, key_id, public_from_pem
from services.audit.verify import Report, Verifier
from services.cli.signals import runtime

audit_app = typer.Typer(help="The audit trail: verify and export the log.", no_args_is_help=True)

PublicKeys = typer.Option(
    None,
    "--public-key",
    help="A trusted public key (PEM) that signs checkpoints; repeatable. Without one, "
    "the keys the log names are used.",
)
Checkpoints = typer.Option(
    None,
    "--checkpoints",
    help="Checkpoints kept elsewhere (JSON Lines, one checkpoint per line: from "
    "/api/v1/audit/checkpoints or the registry.audit-checkpoints topic); repeatable.",
)


@audit_app.command("keygen")
def keygen(
    out: Path = typer.Option(..., "--out", help="Where to write the key (PEM, mode 0600)."),
) -> None:
    """Make the registry's checkpoint signing key (Ed25519), for REGISTRUM_AUDIT_KEY_FILE
    of the signer role. Refuses to replace an existing key."""
    from services.audit.signing import key_id, load_or_create, raw_public

    if out.exists():
        output.error(f"{out} exists; a registry keeps its key (move it away first)")
        raise typer.Exit(1)
    out.parent.mkdir(parents=True, exist_ok=True)
    key = load_or_create(out)
    output.console.print(f"made signing key {key_id(raw_public(key))} in {out} (mode 0600)")


@audit_app.command("verify")
def verify(
    file: Path = typer.Option(None, "--file", help="Verify this export instead of the database."),
    public_key: list[Path] = PublicKeys,
    checkpoints: list[Path] = Checkpoints,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Recompute the hash chain and check the checkpoints; name every finding. Exit 0 when
    the log is intact, 1 when something was found."""
    trusted = _keys(public_key)
    outside = _checkpoints(checkpoints)
    if file is not None:
        report = _verify_file(file, trusted, outside)
    else:
        with runtime() as running:
            report = asyncio.run(_verify_database(running.events_url, trusted, outside))
    _print(report, as_json)
    if not report.clean:
        raise typer.Exit(1)


@audit_app.command("export")
def export_log(
    out: Path = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
) -> None:
    """Write the events, their links and the checkpoints as JSON Lines (streamed)."""
    with runtime() as running:
        if out is None:
            rows = asyncio.run(_export(running.events_url, sys.stdout.buffer))
        else:
            with out.open("wb") as target:
                rows = asyncio.run(_export(running.events_url, target))
    output.note(f"exported {rows} rows")


@audit_app.command("replay")
def replay(
    file: Path = typer.Argument(..., help="An export made by `registrum audit export`."),
    public_key: list[Path] = PublicKeys,
) -> None:
    """Load an export into an empty registry (REGISTRUM_DATABASE_URL, or the embedded one
    of the data directory), each event at its position. The export is verified first;
    then `registrum views rebuild` (or `serve`) builds the views from it."""
    trusted = _keys(public_key)
    report = _verify_file(file, trusted, [])
    if not report.clean:
        _print(report, as_json=False)
        output.error(f"{file} does not verify; nothing was loaded")
        raise typer.Exit(1)
    with runtime() as running:
        running.require_schema()  # the tables are made by `registrum db migrate`
        try:
            loaded = asyncio.run(_replay(running.events_url, file))
        except replay_module.NotEmpty as exc:
            output.error(str(exc))
            raise typer.Exit(1) from None
    output.say(f"loaded {loaded} events up to position {report.head}; the chain verifies")


async def _replay(dsn: str, path: Path) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        with path.open("rb") as lines:
            return await replay_module.load(conn, export.Reader(iter(lines)).rows())
    finally:
        await conn.close()


@audit_app.command("dossier")
def dossier(
    model: str = typer.Argument(..., help="The model's name."),
    version: int = typer.Argument(..., min=1, help="The version's number."),
    out: Path = typer.Option(Path("."), "--output", "-o", help="Folder to write into."),
) -> None:
    """Write a version's dossier (MODEL-vN.json and .html): Annex IV-shaped evidence with
    the proof that its record is intact. Exit 0 when the proof verifies, 1 when not."""
    from services.dossier.assemble import dossier as assemble
    from services.dossier.gather import gather
    from services.dossier.render import html
    from services.registry.domain.errors import DomainError

    with runtime() as running:
        try:
            evidence = asyncio.run(
                gather(running.registry, running.events_url, model, version, running.artifacts)
            )
        except DomainError as exc:
            output.error(exc.message)
            raise typer.Exit(1) from None
    doc = assemble(evidence)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{model}-v{version}"
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    stem.with_suffix(".html").write_text(html(doc))
    proof = doc["sections"]["proof"]
    output.say(f"wrote {stem}.json and {stem}.html")
    output.say(f"proof: {proof['status']}")
    if not proof["verified"]:
        raise typer.Exit(1)


async def _verify_database(
    dsn: str, trusted: dict[str, bytes], outside: list[Checkpoint]
) -> Report:
    conn = await asyncpg.connect(dsn)
    try:
        async with reading.snapshot(conn):
            logged, named = await reading.recorded(conn)
            verifier = Verifier([*logged, *outside], trusted or named)
            async for events, links in reading.spans(conn):
                verifier.feed_batch(events, links)
        return verifier.finish()
    finally:
        await conn.close()


def _verify_file(path: Path, trusted: dict[str, bytes], outside: list[Checkpoint]) -> Report:
    try:
        with path.open("rb") as lines:
            reader = export.Reader(iter(lines))
            verifier = Verifier([*reader.checkpoints, *outside], trusted or reader.keys)
            verifier.feed_many(reader.rows())
            return verifier.finish()
    except (OSError, export.ExportInvalid) as exc:
        output.error(f"{path}: {exc}")
        raise typer.Exit(2) from None


async def _export(dsn: str, target: object) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        async with reading.snapshot(conn):
            logged, named = await reading.recorded(conn)
            top = await reading.head(conn)
            return await export.write(
                target,  # type: ignore[arg-type]
                top[0] if top else 0,
                logged,
                named,
                reading.rows(conn),
            )
    finally:
        await conn.close()


def _keys(paths: list[Path] | None) -> dict[str, bytes]:
    keys = {}
    for path in paths or []:
        try:
            raw = public_from_pem(path.read_bytes())
        except (OSError, KeyInvalid) as exc:
            output.error(f"{path}: {exc}")
            raise typer.Exit(2) from None
        keys[key_id(raw)] = raw
    return keys


def _checkpoints(paths: list[Path] | None) -> list[Checkpoint]:
    """Checkpoints from files holding a page of /api/v1/audit/checkpoints (JSON), or one
    checkpoint per line (JSON Lines, as kept from registry.audit-checkpoints)."""
    found = []
    for path in paths or []:
        try:
            text = path.read_text()
            try:
                whole = json.loads(text)
            except ValueError:
                whole = None
            if isinstance(whole, dict) and "checkpoints" in whole:
                items = whole["checkpoints"]
            else:
                items = [json.loads(line) for line in text.splitlines() if line.strip()]
            found += [Checkpoint.from_json(item) for item in items if "signature" in item]
        except (OSError, ValueError, TypeError) as exc:
            output.error(f"{path}: {exc}")
            raise typer.Exit(2) from None
    return found


def _print(report: Report, as_json: bool) -> None:
    if as_json:
        output.console.print_json(json.dumps(report.as_json()))
        return
    verdict = "intact" if report.clean else f"{len(report.findings)} findings"
    output.say(
        f"{verdict}: {report.events} events, {report.links} links, "
        f"{report.checkpoints} checkpoints checked, head {report.head} "
        f"({report.head_link.hex()[:16]})"
    )
    for finding in report.findings:
        output.say(f"  {finding.kind:<24} at {finding.position}: {finding.detail}")
