"""An operator's view of the schema, through real processes: a role refuses a database
nobody migrated and says what to run; `registrum db status` and `registrum db migrate`
bring it to the version this Registrum needs; then the role runs. `serve` refuses a
database a newer Registrum migrated."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import psycopg

from tests.e2e.conftest import REGISTRUM, clean_env
from tests.services import fresh_database

BEHIND = "the database is at schema version 0, this Registrum needs 6: run `registrum db migrate`"


def registrum(url: str, *args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env.update(
        REGISTRUM_DATABASE_URL=url,
        REGISTRUM_DATA_DIR=str(data_dir),
        REGISTRUM_KAFKA="false",
        COLUMNS="200",
    )
    return subprocess.run(
        [REGISTRUM, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_role_refuses_until_db_migrate_has_run(
    database_url: str, unique: str, tmp_path: Path
) -> None:
    url = fresh_database(database_url, f"ops_{unique}", migrate=False)

    # A projector or an API on a database nobody migrated: one line saying what to run,
    # exit 1.
    for role in ("projector", "api"):
        refused = registrum(url, role, data_dir=tmp_path)
        assert refused.returncode == 1, role
        assert BEHIND in refused.stderr and "Traceback" not in refused.stderr, refused.stderr

    status = registrum(url, "db", "status", data_dir=tmp_path)
    assert status.returncode == 1
    assert "version 0, this Registrum needs 6: behind (lacks 1, 2, 3, 4, 5, 6)" in status.stdout

    # The previous release's schema, then the rest.
    first = registrum(url, "db", "migrate", "--to", "1", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("applied version 1 to the database") == 2
    assert registrum(url, "db", "status", data_dir=tmp_path).returncode == 1
    rest = registrum(url, "db", "migrate", data_dir=tmp_path)
    assert rest.returncode == 0, rest.stderr
    assert "applied version 2 to the database (read): registrum_leases" in rest.stdout
    again = registrum(url, "db", "migrate", data_dir=tmp_path)
    assert "nothing to apply" in again.stdout

    status = registrum(url, "db", "status", data_dir=tmp_path)
    assert status.returncode == 0, status.stdout
    assert "version 6, this Registrum needs 6: current" in status.stdout

    # Now the projector runs: it makes its views, and stops cleanly when told to.
    env = clean_env()
    env.update(REGISTRUM_DATABASE_URL=url, REGISTRUM_DATA_DIR=str(tmp_path))
    projector = subprocess.Popen(
        [REGISTRUM, "projector"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert _views_appear(url, projector)
    finally:
        projector.send_signal(signal.SIGTERM)
        projector.wait(timeout=60)
    assert projector.returncode == 0


def _views_appear(url: str, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        with psycopg.connect(url) as conn:
            count = conn.execute("SELECT count(*) FROM catalogue_meta.views").fetchone()
        if count is not None and count[0] > 0:
            return True
        time.sleep(0.2)
    return False


def test_serve_refuses_a_database_a_newer_registrum_migrated(
    database_url: str, unique: str, tmp_path: Path
) -> None:
    url = fresh_database(database_url, f"future_{unique}")
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO registrum_schema (database, version, description, checksum,"
            " applied_by, registrum) VALUES ('read', 99, 'from the future', '', 'x', '99')"
        )
    refused = registrum(url, "serve", "--port", "1", data_dir=tmp_path / "data")
    assert refused.returncode == 1
    assert (
        "the database is at schema version 99, newer than this Registrum knows (6): "
        "upgrade Registrum"
    ) in refused.stderr
    assert "Traceback" not in refused.stderr
