"""The commands that changed only over REST before: each sends the one request the REST
API documents, and says what it did."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.http_registry import ScriptedRegistry, run_cli, scripted

M = "/api/v1/models/fraud"
V = f"{M}/versions/3"
MODEL = {"name": "fraud", "description": "d", "tags": {}}
VERSION = {"model": "fraud", "number": 3, "stage": "development"}


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedRegistry]:
    with scripted(monkeypatch) as fake:
        yield fake


def echo(key: str, result: dict[str, object]) -> object:
    return lambda request: httpx.Response(200, json={key: result, "position": 7})


def sent(registry: ScriptedRegistry) -> tuple[str, str, object]:
    (request,) = registry.requests
    body = json.loads(request.content) if request.content else None
    return request.method, request.url.path, body


@pytest.mark.parametrize(
    ("args", "method", "path", "body", "said"),
    [
        (
            ("models", "rename", "fraud", "fraud-v2", "--reason", "clearer"),
            "POST",
            f"{M}/rename",
            {"new_name": "fraud-v2", "reason": "clearer"},
            "renamed model fraud to fraud",
        ),
        (
            ("models", "describe", "fraud", "Flags card fraud"),
            "PATCH",
            M,
            {"description": "Flags card fraud", "reason": None},
            "described model fraud",
        ),
        (
            ("models", "tag", "fraud", "team", "risk"),
            "PUT",
            f"{M}/tags/team",
            {"value": "risk", "reason": None},
            "tagged model fraud: team=risk",
        ),
        (("models", "untag", "fraud", "team"), "DELETE", f"{M}/tags/team", None, "removed tag"),
        (("models", "delete", "fraud"), "DELETE", M, None, "deleted model fraud"),
    ],
)
def test_model_commands(
    registry: ScriptedRegistry,
    args: tuple[str, ...],
    method: str,
    path: str,
    body: object,
    said: str,
) -> None:
    registry.on(method, path, echo("model", MODEL))  # type: ignore[arg-type]
    done = run_cli(*args)
    assert done.exit_code == 0, done.stderr
    assert sent(registry) == (method, path, body)
    assert said in done.stdout


@pytest.mark.parametrize(
    ("args", "method", "path", "body", "said"),
    [
        (
            ("versions", "describe", "fraud", "3", "retrained on October"),
            "PATCH",
            V,
            {"description": "retrained on October", "reason": None},
            "described fraud version 3",
        ),
        (
            ("versions", "tag", "fraud", "3", "reviewed", "yes"),
            "PUT",
            f"{V}/tags/reviewed",
            {"value": "yes", "reason": None},
            "tagged fraud version 3",
        ),
        (
            ("versions", "untag", "fraud", "3", "reviewed"),
            "DELETE",
            f"{V}/tags/reviewed",
            None,
            "removed tag 'reviewed' from fraud version 3",
        ),
        (
            ("versions", "record-metrics", "fraud", "3", "auc=0.93", "f1=0.8"),
            "POST",
            f"{V}/metrics",
            {"metrics": {"auc": 0.93, "f1": 0.8}, "reason": None},
            "recorded 2 metrics of fraud version 3",
        ),
        (
            (
                "versions",
                "link-lineage",
                "fraud",
                "3",
                "dataset=s3://data/2026-10",
                "dataset=s3://data/2026-11",
                "code=git:abc=def",
            ),
            "POST",
            f"{V}/lineage",
            {
                "references": [
                    {"kind": "dataset", "id": "s3://data/2026-10", "relation": "input"},
                    {"kind": "dataset", "id": "s3://data/2026-11", "relation": "input"},
                    {"kind": "code", "id": "git:abc=def", "relation": "input"},
                ],
                "reason": None,
            },
            "linked 3 references to fraud version 3",
        ),
        (("versions", "delete", "fraud", "3"), "DELETE", V, None, "deleted fraud version 3"),
    ],
)
def test_version_commands(
    registry: ScriptedRegistry,
    args: tuple[str, ...],
    method: str,
    path: str,
    body: object,
    said: str,
) -> None:
    registry.on(method, path, echo("version", VERSION))  # type: ignore[arg-type]
    done = run_cli(*args)
    assert done.exit_code == 0, done.stderr
    assert sent(registry) == (method, path, body)
    assert said in done.stdout


def test_set_card_from_a_file_and_from_stdin(registry: ScriptedRegistry, tmp_path: Path) -> None:
    card = {"intended_purpose": "flag card fraud", "risk": {"class": "high", "reason": "credit"}}
    (tmp_path / "card.json").write_text(json.dumps(card))
    registry.on("PUT", f"{V}/model-card", echo("version", VERSION))  # type: ignore[arg-type]

    done = run_cli("versions", "set-card", "fraud", "3", str(tmp_path / "card.json"))
    assert done.exit_code == 0, done.stderr
    assert sent(registry) == ("PUT", f"{V}/model-card", {"card": card, "reason": None})
    assert "set the model card of fraud version 3" in done.stdout

    registry.requests.clear()
    piped = run_cli("versions", "set-card", "fraud", "3", "-", stdin=json.dumps(card))
    assert piped.exit_code == 0, piped.stderr
    assert sent(registry)[2] == {"card": card, "reason": None}


def test_json_prints_the_servers_answer(registry: ScriptedRegistry) -> None:
    registry.on("POST", f"{M}/rename", echo("model", {"name": "fraud-v2"}))  # type: ignore[arg-type]
    done = run_cli("--json", "models", "rename", "fraud", "fraud-v2")
    assert json.loads(done.stdout) == {"model": {"name": "fraud-v2"}, "position": 7}


def test_a_path_segment_is_quoted(registry: ScriptedRegistry) -> None:
    # A tag key with '/' or '?' stays one path segment.
    registry.on("PUT", f"{M}/tags/a/b?c", echo("model", MODEL))  # type: ignore[arg-type]
    run_cli("models", "tag", "fraud", "a/b?c", "x")
    (request,) = registry.requests
    assert request.url.raw_path == b"/api/v1/models/fraud/tags/a%2Fb%3Fc"
