"""The embedded PostgreSQL is private to the user running registrum: another local user
cannot reach it (not even knowing the password), every connection needs the password,
nothing listens on TCP, links planted at predictable paths are not followed, and a data
directory an older registrum left trusting every local connection is locked down."""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from services.bootstrap import NotConfigured, Runtime
from services.embedded import EmbeddedError
from services.embedded_pg import EmbeddedPostgres, postgres_bin
from services.settings import Settings

AS_ROOT = os.geteuid() == 0
Completed = subprocess.CompletedProcess[str]


@contextmanager
def scratch() -> Iterator[Path]:
    # Not under pytest's tmp root: every pytest session starting on this machine resets
    # that to 0700, which would lock the server's user out of a data directory there.
    with tempfile.TemporaryDirectory(prefix="registrum-test-pg-") as folder:
        yield Path(folder)


@pytest.fixture
def tmp_dir() -> Iterator[Path]:
    with scratch() as folder:
        yield folder


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[EmbeddedPostgres, str]]:
    with scratch() as folder:
        pg = EmbeddedPostgres(folder / "data" / "postgres")
        url = pg.start()
        yield pg, url
        pg.stop()


def psql(*args: str, password: str | None = None, as_nobody: bool = False) -> Completed:
    """The wheel's psql, as this user or as `nobody` (with nobody's group only)."""
    env = {"PATH": "/usr/bin:/bin"} | ({"PGPASSWORD": password} if password else {})
    user: dict[str, Any] = {}
    if as_nobody:
        entry = pwd.getpwnam("nobody")
        user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    return subprocess.run(
        [str(postgres_bin() / "psql"), *args],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        **user,
    )


def select_one(socket_dir: Path) -> tuple[str, ...]:
    return ("-h", str(socket_dir), "-U", "postgres", "-w", "-Atc", "SELECT 1", "postgres")


def connect_refused(url: str) -> str:
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(url, connect_timeout=10).close()
    return str(refused.value)


@pytest.mark.skipif(not AS_ROOT, reason="becoming another user needs root")
def test_another_local_user_cannot_connect_even_with_the_password(
    server: tuple[EmbeddedPostgres, str],
) -> None:
    pg, url = server
    assert pg.socket_dir is not None
    password = urlsplit(url).password
    # nobody can run psql, so a refusal below comes from the server's side.
    assert psql("--version", as_nobody=True).returncode == 0
    # Without the password, and with it: the socket's directory keeps nobody out.
    for attempt in (None, password):
        done = psql(*select_one(pg.socket_dir), password=attempt, as_nobody=True)
        assert done.returncode != 0
        assert "Permission denied" in done.stderr
    # The same command as the registry's user gets in, with the password only.
    assert psql(*select_one(pg.socket_dir), password=password).stdout.strip() == "1"
    assert "no password supplied" in psql(*select_one(pg.socket_dir)).stderr


def test_every_connection_needs_the_password(server: tuple[EmbeddedPostgres, str]) -> None:
    pg, url = server
    with psycopg.connect(url) as conn:
        assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)
        rules = conn.execute("SELECT DISTINCT auth_method FROM pg_hba_file_rules").fetchall()
        assert rules == [("scram-sha-256",)]
    # Even the registry's own user gets nowhere without it, or with another.
    assert "no password supplied" in connect_refused(
        f"postgresql://postgres@/postgres?host={pg.socket_dir}"
    )
    assert "password authentication failed" in connect_refused(
        f"postgresql://postgres:guess@/postgres?host={pg.socket_dir}"
    )


def test_files_are_private_and_nothing_listens_on_tcp(
    server: tuple[EmbeddedPostgres, str],
) -> None:
    pg, url = server
    assert pg.socket_dir is not None
    server_uid = pwd.getpwnam("embedded_postgres").pw_uid if AS_ROOT else os.geteuid()
    secret = pg.secret_file.lstat()
    assert stat.S_ISREG(secret.st_mode) and stat.S_IMODE(secret.st_mode) == 0o600
    assert secret.st_uid == os.geteuid()
    assert pg.secret_file.read_text() == urlsplit(url).password
    socket_dir = pg.socket_dir.lstat()
    assert stat.S_ISDIR(socket_dir.st_mode) and stat.S_IMODE(socket_dir.st_mode) == 0o700
    assert socket_dir.st_uid == server_uid
    assert stat.S_IMODE(pg.pgdata.lstat().st_mode) == 0o700
    # No TCP address: listen_addresses is empty, and postmaster.pid names no host.
    with psycopg.connect(url) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("",)
    postmaster = (pg.pgdata / "postmaster.pid").read_text().splitlines()
    assert postmaster[4] == str(pg.socket_dir) and postmaster[5] == ""


def test_links_planted_at_predictable_paths_are_not_followed(tmp_dir: Path) -> None:
    target = tmp_dir / "target"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    before = target.lstat()
    data_dir = tmp_dir / "data"
    data_dir.mkdir()
    pgdata = (data_dir / "postgres").resolve()
    # Where the old code put its socket (and chmod-ed it 0777), and where the new one
    # notes its socket directory.
    digest = hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]
    old_socket_dir = Path(tempfile.gettempdir()) / f"registrum-pg-{digest}"
    old_socket_dir.symlink_to(target)
    (data_dir / "postgres.socket-dir").symlink_to(target / "note")
    pg = EmbeddedPostgres(pgdata)
    try:
        url = pg.start()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert pg.socket_dir is not None and pg.socket_dir.resolve() != target
    finally:
        pg.stop()
        old_socket_dir.unlink()
    after = target.lstat()
    assert (after.st_mode, after.st_uid, after.st_gid) == (
        before.st_mode,
        before.st_uid,
        before.st_gid,
    )
    assert list(target.iterdir()) == []


def test_a_linked_secret_file_is_refused(tmp_dir: Path) -> None:
    elsewhere = tmp_dir / "elsewhere"
    elsewhere.write_text("a password someone else chose")
    (tmp_dir / "data").mkdir()
    (tmp_dir / "data" / "postgres.secret").symlink_to(elsewhere)
    with pytest.raises(EmbeddedError, match="symbolic link"):
        EmbeddedPostgres(tmp_dir / "data" / "postgres").start()
    assert not (tmp_dir / "data" / "postgres" / "PG_VERSION").exists()


def test_restart_keeps_the_password_and_an_attaching_runtime_connects(tmp_dir: Path) -> None:
    settings = Settings(data_dir=tmp_dir / "data", database_url=None)
    # Nothing runs there yet: a role has nothing to attach to.
    with pytest.raises(NotConfigured, match="registrum serve"):
        _ = Runtime(settings).events_url

    pg = EmbeddedPostgres(tmp_dir / "data" / "postgres")
    first = pg.start()
    with psycopg.connect(first) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (7)")
    attached = Runtime(settings).events_url
    assert attached == first
    with psycopg.connect(attached) as conn:
        assert conn.execute("SELECT n FROM kept").fetchone() == (7,)
    socket_dir = pg.socket_dir
    pg.stop()
    # Stopped: its socket directory is gone, and roles are told to start serve.
    assert socket_dir is not None and not socket_dir.exists()
    with pytest.raises(NotConfigured, match="registrum serve"):
        _ = Runtime(settings).events_url

    again = pg.start()
    try:
        assert urlsplit(again).password == urlsplit(first).password
        assert again != first  # a new private socket directory
        with psycopg.connect(Runtime(settings).events_url) as conn:
            assert conn.execute("SELECT n FROM kept").fetchone() == (7,)
    finally:
        pg.stop()


def test_a_data_directory_that_trusted_local_connections_is_locked_down(tmp_dir: Path) -> None:
    pg = EmbeddedPostgres(tmp_dir / "data" / "postgres")
    # Make what an older registrum left: initdb --auth=trust, no password, no secret file.
    with psycopg.connect(pg.start()) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (7)")
        conn.execute("ALTER ROLE postgres PASSWORD NULL")
    pg.stop()
    hba = pg.pgdata / "pg_hba.conf"
    hba.write_text(hba.read_text().replace("scram-sha-256", "trust"))
    pg.secret_file.unlink()

    url = pg.start()
    try:
        password = urlsplit(url).password
        assert password and pg.secret_file.read_text() == password
        assert stat.S_IMODE(pg.secret_file.lstat().st_mode) == 0o600
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT n FROM kept").fetchone() == (7,)
            methods = conn.execute("SELECT DISTINCT auth_method FROM pg_hba_file_rules")
            assert methods.fetchall() == [("scram-sha-256",)]
        assert "no password supplied" in connect_refused(
            f"postgresql://postgres@/postgres?host={pg.socket_dir}"
        )
        # The password went to the server as a SCRAM verifier, so its log never saw it.
        assert password not in (pg.pgdata / "log").read_text()
    finally:
        pg.stop()


def test_a_password_file_others_can_read_is_refused(tmp_dir: Path) -> None:
    data_dir = tmp_dir / "data"
    data_dir.mkdir()
    # As if a serve ran there, but someone widened the password file's mode.
    (data_dir / "postgres.socket-dir").write_text(str(tmp_dir))
    (data_dir / "postgres.socket-dir").chmod(0o600)
    (data_dir / "postgres.secret").write_text("password")
    (data_dir / "postgres.secret").chmod(0o644)
    settings = Settings(data_dir=data_dir, database_url=None)
    with pytest.raises(NotConfigured, match="readable by others"):
        _ = Runtime(settings).events_url


@pytest.mark.skipif(not AS_ROOT, reason="only a server run as another user is shut out")
def test_stop_works_when_a_directory_above_was_closed_meanwhile(tmp_dir: Path) -> None:
    pg = EmbeddedPostgres(tmp_dir / "data" / "postgres")
    pg.start()
    # What any pytest session starting on this machine does to its own tmp root.
    tmp_dir.chmod(0o700)
    pg.stop()
    assert not (pg.pgdata / "postmaster.pid").exists()
