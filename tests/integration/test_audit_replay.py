"""An auditor's round trip on real PostgreSQL: export the log, verify the file offline with
only the registry's public key, replay it into an empty registry, and find the views
identical to the source's, table by table."""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from services.audit.signing import public_pem, raw_public
from services.bootstrap import build_registry
from services.catalogue import queries
from services.catalogue.projector import Projector
from services.checkpoints.signer import Cadence, Signer
from services.cli.audit import audit_app
from services.registry.domain.errors import DomainError
from services.settings import Settings
from tests.people import open_to_testers
from tests.services import fresh_database
from tests.workload import step

KEY = Ed25519PrivateKey.generate()


def cli(url: str, *args: str) -> Any:
    return CliRunner().invoke(audit_app, list(args), env={"REGISTRUM_DATABASE_URL": url})


def write_history(url: str) -> None:
    """A few hundred commands of a busy registry (promotions, aliases, archives, lineage,
    refusals), with a checkpoint in the middle and one at the end."""
    registry = build_registry(Settings(db_pool_size=2), url)
    signer = Signer(registry, url, KEY, Cadence())
    rng, models = random.Random(11), []  # type: ignore[var-annotated]
    open_to_testers(registry)
    try:
        for i in range(300):
            with contextlib.suppress(DomainError):
                step(registry, rng, models, "replayed")
            if i in (150, 299):
                asyncio.run(signer.sign_now())
    finally:
        registry.close()


async def views(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, in a stable order, by view and table name."""
    conn = await asyncpg.connect(url)
    try:
        s = await queries.schemas(conn)
        out = {}
        for view in s.active:
            schema = getattr(s, view).strip('"')
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", schema
            )
            for (table,) in tables:
                rows = await conn.fetch(f'SELECT * FROM "{schema}"."{table}"')
                out[f"{view}.{table}"] = sorted((tuple(r.values()) for r in rows), key=repr)
        return out
    finally:
        await conn.close()


@pytest.fixture
def source(database_url: str, unique: str) -> str:
    url = fresh_database(database_url, f"source_{unique}")
    write_history(url)
    asyncio.run(Projector(url).catch_up())
    return url


def test_export_verify_offline_replay_and_the_views_are_identical(
    source: str, database_url: str, unique: str, tmp_path: Path
) -> None:
    exported = tmp_path / "log.jsonl"
    done = cli(source, "export", "--output", str(exported))
    assert done.exit_code == 0, done.output

    # Offline, with only the public key the auditor was given.
    key = tmp_path / "registry.pem"
    key.write_text(public_pem(raw_public(KEY)))
    done = CliRunner().invoke(
        audit_app, ["verify", "--file", str(exported), "--public-key", str(key)], env={}
    )
    assert done.exit_code == 0, done.output
    assert "intact" in done.output and "2 checkpoints checked" in done.output

    replica = fresh_database(database_url, f"replica_{unique}")
    done = cli(replica, "replay", str(exported), "--public-key", str(key))
    assert done.exit_code == 0, done.output
    assert cli(replica, "verify", "--public-key", str(key)).exit_code == 0

    asyncio.run(Projector(replica).catch_up())
    theirs, ours = asyncio.run(views(source)), asyncio.run(views(replica))
    assert theirs.keys() == ours.keys() and len(theirs) >= 8
    for table in theirs:
        assert ours[table] == theirs[table], table
    assert sum(len(rows) for rows in ours.values()) > 500  # a real history, not an empty one


def test_a_tampered_export_is_refused_and_nothing_is_loaded(
    source: str, database_url: str, unique: str, tmp_path: Path
) -> None:
    exported = tmp_path / "log.jsonl"
    assert cli(source, "export", "--output", str(exported)).exit_code == 0
    lines = exported.read_text().splitlines(keepends=True)
    target = next(i for i, line in enumerate(lines) if "s3://models" in line)
    lines[target] = lines[target].replace("s3://models", "s3://evil")
    exported.write_text("".join(lines))

    done = CliRunner().invoke(audit_app, ["verify", "--file", str(exported)], env={})
    assert done.exit_code == 1 and "payload_altered" in done.output

    replica = fresh_database(database_url, f"refused_{unique}")
    done = cli(replica, "replay", str(exported))
    assert done.exit_code == 1 and "nothing was loaded" in done.output
    assert asyncio.run(events_in(replica)) == 0


def test_a_cut_short_export_is_refused(source: str, tmp_path: Path) -> None:
    exported = tmp_path / "log.jsonl"
    assert cli(source, "export", "--output", str(exported)).exit_code == 0
    lines = exported.read_text().splitlines(keepends=True)
    exported.write_text("".join(lines[:-5]))
    done = CliRunner().invoke(audit_app, ["verify", "--file", str(exported)], env={})
    assert done.exit_code == 2 and "cut short" in done.output


def test_replay_refuses_a_registry_that_holds_events(source: str, tmp_path: Path) -> None:
    exported = tmp_path / "log.jsonl"
    assert cli(source, "export", "--output", str(exported)).exit_code == 0
    done = cli(source, "replay", str(exported))
    assert done.exit_code == 1 and "already holds events" in done.output


async def events_in(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM registry_events"))
    except asyncpg.UndefinedTableError:
        return 0  # not even made
    finally:
        await conn.close()
