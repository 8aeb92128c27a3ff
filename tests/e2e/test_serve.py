"""The registry as a user runs it: `registrum serve`, the CLI and plain HTTP."""

from __future__ import annotations

import stat
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import REGISTRUM, Server, bearer, cli, cli_json, start_server, token
from tests.services import alive, free_port, fresh_database


def test_create_register_review_promote_show(server: Server, unique: str) -> None:
    url, name = server.url, f"fraud-{unique}"
    assert cli(url, "models", "create", name, "--description", "card fraud").returncode == 0
    registered = cli_json(
        url,
        "versions",
        "register",
        name,
        "s3://models/fraud/1",
        "--sha256",
        "cd" * 32,
        "--metric",
        "auc=0.91",
        "--run-id",
        "run-7",
    )
    assert registered["version"]["number"] == 1

    requested = cli_json(url, "request-approval", name, "1", "production", "--reason", "better")
    request_id = requested["version"]["approval_requests"][0]["id"]

    # The requester may not sign off their own request: refused, exit 1, server's message.
    refused = cli(url, "approve", name, "1", actor="alice")
    assert refused.returncode == 1
    assert "requester" in refused.stderr

    # Promotion before sign-off is refused too.
    early = cli(url, "promote", name, "1", "production", actor="carol")
    assert early.returncode == 1 and "approved" in early.stderr

    assert cli(url, "approve", name, "1", "--comment", "lgtm", actor="bob").returncode == 0
    promoted = cli(url, "promote", name, "1", "production", actor="carol")
    assert promoted.returncode == 0, promoted.stderr
    assert "production" in promoted.stdout

    shown = cli_json(url, "versions", "show", name, "1")
    assert shown["stage"] == "production"
    assert shown["approval_requests"][0]["id"] == request_id
    assert [a["actor"] for a in shown["approval_requests"][0]["approvals"]] == ["bob"]

    # The same truth over plain HTTP, and in the human table.
    over_http = httpx.get(
        f"{url}/api/v1/models/{name}/versions/1", headers=bearer(token(url, "alice"))
    ).json()["version"]
    assert over_http["stage"] == "production" and over_http["metrics"] == {"auc": 0.91}
    table = cli(url, "versions", "list", name)
    assert table.returncode == 0 and "production" in table.stdout

    assert cli(url, "alias", "set", name, "champion", "1", actor="carol").returncode == 0
    assert cli_json(url, "versions", "show", name, "@champion")["number"] == 1
    assert cli(url, "alias", "rm", name, "champion", actor="carol").returncode == 0
    assert cli(url, "versions", "show", name, "@champion").returncode == 1


def test_cli_exit_codes(server: Server) -> None:
    missing = cli(server.url, "models", "show", "no-such-model")
    assert missing.returncode == 1 and "no model named" in missing.stderr
    assert cli(server.url, "versions", "show").returncode == 2
    assert cli(server.url, "versions", "show", "m", "not-a-number").returncode == 2
    bad_metric = cli(server.url, "versions", "register", "m", "s3://x", "--metric", "auc")
    assert bad_metric.returncode == 2
    unreachable = cli(f"http://127.0.0.1:{free_port()}", "models", "list")
    assert unreachable.returncode == 3 and "cannot reach" in unreachable.stderr


def test_a_second_serve_on_the_same_data_directory_refuses(server: Server) -> None:
    second = subprocess.run(
        [REGISTRUM, "serve", "--port", str(free_port()), "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode == 1
    assert "in use" in second.stderr
    # The first one is unharmed.
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"


def test_sigterm_stops_the_registry_and_its_database_and_data_survives(
    tmp_path: Path, unique: str
) -> None:
    data_dir = tmp_path / "data"
    first = start_server(data_dir)
    # The first start made the administrator's token, for the local user alone.
    admin = data_dir / "admin.token"
    assert stat.S_IMODE(admin.stat().st_mode) == 0o600
    made = admin.read_text()
    assert cli(first.url, "models", "create", f"kept-{unique}").returncode == 0
    assert first.stop() == 0
    # The embedded PostgreSQL stopped with it.
    assert not (data_dir / "postgres" / "postmaster.pid").exists()

    again = start_server(data_dir)
    try:
        assert cli_json(again.url, "models", "show", f"kept-{unique}")["name"] == f"kept-{unique}"
        # A registry that has an administrator makes no second one.
        assert admin.read_text() == made
    finally:
        assert again.stop() == 0


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is pid, with their command lines."""
    found = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rpartition(")")[2].split()
            command = (stat_file.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue  # it ended while we looked
        if int(fields[1]) == pid:
            found[int(stat_file.parent.name)] = command.decode()
    return found


def test_the_followers_run_in_a_process_of_their_own_that_ends_with_serve(
    tmp_path: Path, database_url: str, unique: str
) -> None:
    url = fresh_database(database_url, f"followers_{unique}")
    serve = start_server(tmp_path / "data", database_url=url, kafka="false")
    try:
        children = _children(serve.process.pid)
        followers = [pid for pid, cmd in children.items() if "services.cli.followers" in cmd]
        assert len(followers) == 1
        # serve answered /health with 200 only once they said they run.
        assert httpx.get(f"{serve.url}/health").json()["followers"] == "running"
        # They work from there: a write is read back from the projected views.
        assert cli(serve.url, "models", "create", f"seen-{unique}").returncode == 0
        assert cli_json(serve.url, "models", "show", f"seen-{unique}")["name"] == f"seen-{unique}"
    finally:
        serve.process.kill()
        serve.process.wait(timeout=30)
    # Killed outright, serve told them nothing: they find out by themselves and stop.
    deadline = time.monotonic() + 30
    while alive(followers[0]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(followers[0])
