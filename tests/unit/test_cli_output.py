"""What the CLI prints is inert: stored text is shown as typed (markup not interpreted,
control characters escaped), and nothing ever shows as None."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from registrum.cli.output import escape_controls
from registrum.cli.watch import show
from tests.http_registry import ScriptedRegistry, ok, refusal, run_cli, scripted

HOSTILE = (
    "[bold red]owned[/bold red] \x1b[2J\x1b]0;title\x07 \r\nnext \u202etxt.exe [link=x]y[/link]"
)
SHOWN = (
    "[bold red]owned[/bold red] \\x1b[2J\\x1b]0;title\\x07 \\r\\nnext \\u202etxt.exe "
    "[link=x]y[/link]"
)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedRegistry]:
    with scripted(monkeypatch) as fake:
        yield fake


def assert_inert(text: str) -> None:
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    assert "None" not in text


def test_escape_controls_names_each_control_character() -> None:
    assert escape_controls(HOSTILE) == SHOWN
    assert escape_controls("plain café 模型 ✓") == "plain café 模型 ✓"


def a_model(**fields: object) -> dict[str, object]:
    base = {
        "name": "m",
        "description": HOSTILE,
        "latest_version": None,
        "production": [],
        "staging": None,
        "aliases": {"champ": 1},
        "tags": {"team": HOSTILE},
        "created_by": None,
        "created_at": None,
        "updated_at": None,
    }
    return {**base, **fields}


def a_version(**fields: object) -> dict[str, object]:
    base = {
        "model": "m",
        "number": 1,
        "stage": "production",
        "aliases": [],
        "artifact_uri": HOSTILE,
        "sha256": None,
        "size": None,
        "run_id": None,
        "dataset_version": None,
        "metrics": {},
        "hyperparameters": {},
        "lineage": [],
        "tags": {},
        "description": HOSTILE,
        "model_card": None,
        "created_by": "[red]bob[/red]",
        "created_at": None,
        "approval_requests": [
            {
                "id": "r1",
                "stage": "production",
                "status": "pending",
                "requested_by": HOSTILE,
                "required_approvals": 1,
                "approvals": [],
            }
        ],
    }
    return {**base, **fields}


def test_model_list_and_detail(registry: ScriptedRegistry) -> None:
    registry.on("GET", "/api/v1/models", ok({"models": [a_model()], "next_page_token": None}))
    registry.on("GET", "/api/v1/models/m", ok({"model": a_model()}))
    for args in (("models", "list"), ("models", "show", "m")):
        done = run_cli(*args)
        assert done.exit_code == 0
        assert_inert(done.stdout)
        assert "[bold red]owned[/bold red]" in done.stdout  # shown as typed
        assert "\\x1b[2J" in done.stdout


def test_version_list_and_detail(registry: ScriptedRegistry) -> None:
    page = {"versions": [a_version()], "next_page_token": None}
    registry.on("GET", "/api/v1/models/m/versions", ok(page))
    registry.on("GET", "/api/v1/models/m/versions/1", ok({"version": a_version()}))
    for args in (("versions", "list", "m"), ("versions", "show", "m", "1")):
        done = run_cli(*args)
        assert done.exit_code == 0
        assert_inert(done.stdout)
        assert "[red]bob[/red]" in done.stdout or "[link=x]" in done.stdout


def test_history_and_status(registry: ScriptedRegistry) -> None:
    holder = {
        "number": 1,
        "valid_from": "2026-11-01T12:00:00+00:00",
        "valid_to": None,
        "promoted_by": None,
        "approved_by": [],
        "reason": HOSTILE,
    }
    registry.on(
        "GET",
        "/api/v1/models/m/stages/production",
        ok({"model": "m", "stage": "production", "as_of": "now", "versions": [holder]}),
    )
    event = {"position": 3, "at": None, "actor": None, "event": HOSTILE, "version": None}
    registry.on(
        "GET",
        "/api/v1/models/m/timeline",
        ok({"model": "m", "events": [event], "next_page_token": None}),
    )
    health = {
        "status": "ok",
        "position": 9,
        "views": {"catalogue": {"position": 9, "events": 0, "seconds": None}},
        "relays": {"kafka": {"position": None, "events": None}},
    }
    registry.on("GET", "/health", ok(health))
    for args in (("as-of", "m", "production"), ("timeline", "m"), ("status",)):
        done = run_cli(*args)
        assert done.exit_code == 0, done.stderr
        assert_inert(done.stdout)


def test_an_error_message_is_inert_and_one_line(registry: ScriptedRegistry) -> None:
    registry.on("GET", "/api/v1/models/m", refusal(404, "not_found", HOSTILE))
    done = run_cli("models", "show", "m")
    assert done.exit_code == 1
    assert done.stderr.strip() == f"error (not_found): {SHOWN}"


def test_command_confirmations_are_inert(registry: ScriptedRegistry) -> None:
    registry.on("POST", "/api/v1/models", ok({"model": {"name": HOSTILE}, "position": 1}))
    done = run_cli("models", "create", "m")
    assert done.exit_code == 0
    assert done.stdout.strip() == f"created model {SHOWN}"


def test_json_output_escapes_control_characters(registry: ScriptedRegistry) -> None:
    registry.on("GET", "/api/v1/models/m", ok({"model": a_model()}))
    done = run_cli("--json", "models", "show", "m")
    assert "\x1b" not in done.stdout and "\\u001b" in done.stdout
    assert json.loads(done.stdout)["description"] == HOSTILE


def test_watch_lines_are_inert(capsys: pytest.CaptureFixture[str]) -> None:
    data = {
        "model": HOSTILE,
        "version": 2,
        "from_stage": "staging",
        "to_stage": "production",
        "actor": None,
        "approvals": [{"actor": "\x1b[31mbob"}],
        "time": "2026-11-01T12:00:00Z",
    }
    headers = {"ce_type": "io.registrum.VersionPromoted", "ce_id": "registry:7"}
    show(headers, json.dumps(data).encode(), as_json=False)
    show(headers, b"not json", as_json=False)
    printed = capsys.readouterr().out
    assert_inert(printed)
    assert "\\x1b[31mbob" in printed and "staging -> production" in printed
    assert len(printed.splitlines()) == 2


def test_status_shows_followers_that_are_starting_again(registry: ScriptedRegistry) -> None:
    health = {"status": "restarting", "position": 3, "views": {}, "relays": {}}
    registry.on("GET", "/health", ok({**health, "followers": "restarting"}, status=503))
    done = run_cli("status")
    assert done.exit_code == 0, done.stderr
    assert "status restarting" in done.stdout
    assert "followers restarting" in done.stdout
