"""List commands say when more rows exist, and page through every row with --all."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.http_registry import ScriptedRegistry, ok, run_cli, scripted


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedRegistry]:
    with scripted(monkeypatch) as fake:
        yield fake


def model(i: int) -> dict[str, object]:
    return {"name": f"model-{i:04}", "latest_version": i, "aliases": {}, "description": ""}


def paged(key: str, rows: list[dict[str, object]], token_of: object = str) -> object:
    """Answers page_token/limit like the registry: next_page_token while rows remain."""

    def answer(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("page_token") or 0)
        limit = int(request.url.params["limit"])
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        token = token_of(start + limit) if more else None  # type: ignore[operator]
        return httpx.Response(200, json={key: page, "next_page_token": token})

    return answer


def test_a_page_that_is_not_the_last_says_so(registry: ScriptedRegistry) -> None:
    registry.on("GET", "/api/v1/models", paged("models", [model(i) for i in range(5)]))
    done = run_cli("models", "list", "--limit", "2")
    assert done.exit_code == 0
    assert "model-0000" in done.stdout and "model-0001" in done.stdout
    assert "model-0002" not in done.stdout
    assert done.stderr.strip() == "showing 2 of more; use --all to list every one"

    # Scripts get one JSON document on stdout; the note stays on stderr.
    as_json = run_cli("--json", "models", "list", "--limit", "2")
    assert [m["name"] for m in json.loads(as_json.stdout)] == ["model-0000", "model-0001"]
    assert "use --all" in as_json.stderr


def test_the_last_page_says_nothing_more(registry: ScriptedRegistry) -> None:
    registry.on("GET", "/api/v1/models", paged("models", [model(i) for i in range(2)]))
    done = run_cli("models", "list", "--limit", "2")
    assert done.exit_code == 0 and done.stderr == ""


def test_all_pages_through_every_row(registry: ScriptedRegistry) -> None:
    rows = [model(i) for i in range(2500)]
    registry.on("GET", "/api/v1/models", paged("models", rows))
    done = run_cli("--json", "models", "list", "--all")
    assert done.exit_code == 0 and done.stderr == ""
    assert [m["name"] for m in json.loads(done.stdout)] == [m["name"] for m in rows]
    # In the largest pages the registry sends: three requests for 2,500 rows.
    assert [r.url.params["limit"] for r in registry.requests] == ["1000"] * 3


def test_versions_list_and_search_page_with_their_filters(registry: ScriptedRegistry) -> None:
    versions = [{"model": "m", "number": i, "stage": "staging"} for i in range(1, 1502)]
    registry.on("GET", "/api/v1/models/m/versions", paged("versions", versions))
    registry.on("GET", "/api/v1/versions", paged("versions", versions))

    listed = run_cli("--json", "versions", "list", "m", "--stage", "Staging", "--all")
    assert len(json.loads(listed.stdout)) == 1501
    assert {r.url.params["stage"] for r in registry.requests} == {"staging"}

    registry.requests.clear()
    found = run_cli("--json", "versions", "search", "metrics.auc > 0.9", "--all")
    assert len(json.loads(found.stdout)) == 1501
    assert {r.url.params["filter"] for r in registry.requests} == {"metrics.auc > 0.9"}

    one_page = run_cli("versions", "search", "metrics.auc > 0.9", "--limit", "10")
    assert "showing 10 of more; use --all" in one_page.stderr


def test_timeline_pages_by_position(registry: ScriptedRegistry) -> None:
    events = [{"position": 100 - i, "event": "VersionTagged", "at": None} for i in range(60)]
    registry.on("GET", "/api/v1/models/m/timeline", paged("events", events, token_of=int))
    first = run_cli("timeline", "m")  # 50 by default
    assert "showing 50 of more; use --all" in first.stderr
    every = run_cli("--json", "timeline", "m", "--all")
    payload = json.loads(every.stdout)
    assert [e["position"] for e in payload["events"]] == [e["position"] for e in events]
    assert payload["model"] == "m" and payload["next_page_token"] is None


def test_a_registry_repeating_its_page_token_does_not_loop_forever(
    registry: ScriptedRegistry,
) -> None:
    registry.on("GET", "/api/v1/models", ok({"models": [model(1)], "next_page_token": "same"}))
    done = run_cli("models", "list", "--all")
    assert done.exit_code == 1
    assert "the registry sent the same page token twice" in done.stderr


def test_limit_beyond_a_page_is_usage(registry: ScriptedRegistry) -> None:
    done = run_cli("models", "list", "--limit", "5000")
    assert done.exit_code == 2
    assert registry.requests == []
