"""`registrum serve` killed outright (SIGKILL of its process group, or of serve alone): the
embedded PostgreSQL and broker it started stop by themselves within seconds, and the next
serve on the same data directory and broker port starts with no manual cleanup, with the
data written before. Also when whatever was meant to stop them was killed too.

Processes are found by their command lines (the data directory, the broker's port) or as
serve's children, never by name: other registries may run on this machine.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from services.watchdog import ProcessId
from tests.e2e.conftest import Server, cli, cli_json, start_server
from tests.services import free_port

GONE_WITHIN = 10.0  # seconds: "a few", with room for a loaded 2-core machine


def _processes() -> list[tuple[ProcessId, int, str]]:
    """Every process now: its identity, its parent's pid and its command line."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rpartition(")")[2].split()
            command = (stat_file.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue  # it ended while we looked
        pid = ProcessId.of(int(stat_file.parent.name))
        if pid is not None:
            found.append((pid, int(fields[1]), command.decode(errors="replace")))
    return found


def _embedded(data_dir: Path, kafka_port: int) -> dict[str, list[ProcessId]]:
    """What serve on data_dir started besides itself: the PostgreSQL server of
    data_dir/postgres with its sessions, the broker listening on kafka_port, and serve's
    other children (the followers' process, the watchdogs)."""
    everything = _processes()
    postmasters = [
        pid for pid, _, cmd in everything if f" -D {data_dir / 'postgres'} " in f" {cmd} "
    ]
    sessions = [pid for pid, parent, _ in everything if parent in {p.pid for p in postmasters}]
    brokers = [
        pid
        for pid, _, cmd in everything
        if f"--listener-url tcp://127.0.0.1:{kafka_port} " in cmd and " broker " in cmd
    ]
    return {"postgres": postmasters + sessions, "broker": brokers}


def _children(serve: Server) -> list[ProcessId]:
    return [pid for pid, parent, _ in _processes() if parent == serve.process.pid]


def _until_gone(processes: list[ProcessId], seconds: float) -> list[ProcessId]:
    """Waits up to seconds for processes to exit; those still running."""
    deadline = time.monotonic() + seconds
    while (alive := [p for p in processes if p.alive()]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def _start(data_dir: Path, kafka_port: int) -> Server:
    return start_server(data_dir, new_session=True, embedded_kafka_port=str(kafka_port))


def _write_then_kill(data_dir: Path, kafka_port: int, name: str, *, group: bool) -> None:
    """serve on data_dir writes a model, then is killed; its embedded servers and other
    children are gone within GONE_WITHIN seconds."""
    serve = _start(data_dir, kafka_port)
    try:
        assert cli(serve.url, "models", "create", name).returncode == 0
        started = _embedded(data_dir, kafka_port)
        assert len(started["broker"]) == 1
        assert len(started["postgres"]) > 1  # the server and its sessions
        children = _children(serve)
    finally:
        if group:
            os.killpg(serve.process.pid, signal.SIGKILL)
        else:
            serve.process.send_signal(signal.SIGKILL)
        serve.process.wait(timeout=30)
    left = _until_gone(started["postgres"] + started["broker"], GONE_WITHIN)
    assert left == [], f"still running {GONE_WITHIN} s after serve was killed: {left}"
    # Stopped in order: the server removed its pid file on the way out.
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    # Nor does any other process serve started (the followers' process noticed too).
    assert _until_gone(children, 20) == []


def _starts_again_with_the_data(data_dir: Path, kafka_port: int, name: str) -> None:
    again = _start(data_dir, kafka_port)
    try:
        assert httpx.get(f"{again.url}/health").json()["status"] == "ok"
        assert cli_json(again.url, "models", "show", name)["name"] == name
    finally:
        assert again.stop() == 0
    # A serve stopped in order leaves nothing running either.
    left = _embedded(data_dir, kafka_port)
    assert _until_gone(left["postgres"] + left["broker"], GONE_WITHIN) == []


def test_sigkill_of_serves_process_group_leaves_nothing_running(
    tmp_path: Path, unique: str
) -> None:
    data_dir, kafka_port, name = tmp_path / "data", free_port(), f"group-{unique}"
    _write_then_kill(data_dir, kafka_port, name, group=True)
    _starts_again_with_the_data(data_dir, kafka_port, name)


def test_sigkill_of_serve_alone_leaves_nothing_running(tmp_path: Path, unique: str) -> None:
    data_dir, kafka_port, name = tmp_path / "data", free_port(), f"alone-{unique}"
    _write_then_kill(data_dir, kafka_port, name, group=False)
    _starts_again_with_the_data(data_dir, kafka_port, name)


def test_servers_left_behind_are_stopped_by_the_next_serve(tmp_path: Path, unique: str) -> None:
    data_dir, kafka_port, name = tmp_path / "data", free_port(), f"left-{unique}"
    serve = _start(data_dir, kafka_port)
    try:
        assert cli(serve.url, "models", "create", name).returncode == 0
        started = _embedded(data_dir, kafka_port)
        children = [pid for pid in _children(serve) if pid not in started["broker"]]
    finally:
        # Everything that could stop the servers dies at once: serve and its other children.
        for pid in children:
            os.kill(pid.pid, signal.SIGKILL)
        serve.process.send_signal(signal.SIGKILL)
        serve.process.wait(timeout=30)
    assert _until_gone(children, 5) == []
    time.sleep(1)
    # So the database server and the broker are still there, on the same port...
    assert all(pid.alive() for pid in started["broker"] + started["postgres"][:1])

    # ...and the next serve on that data directory stops them and starts its own.
    again = _start(data_dir, kafka_port)
    try:
        assert _until_gone(started["postgres"] + started["broker"], GONE_WITHIN) == []
        assert cli_json(again.url, "models", "show", name)["name"] == name
        now = _embedded(data_dir, kafka_port)
        assert len(now["broker"]) == 1 and now["broker"] != started["broker"]
    finally:
        assert again.stop() == 0
