"""`registrum artifacts gc`: a dry run unless --apply, what it would remove (or removed) in
a table, and one summary line."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.http_registry import ScriptedRegistry, ok, refusal, run_cli, scripted

GC = "/api/v1/artifacts/gc"
OLD = {"sha256": "ab" * 32, "size": 3 * 1024 * 1024, "modified": "2026-11-20T08:30:00Z"}
SUMMARY = {"kept_young": 2, "referenced": 7, "bytes": 3 * 1024 * 1024}


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedRegistry]:
    with scripted(monkeypatch) as fake:
        yield fake


def sent(registry: ScriptedRegistry) -> object:
    (request,) = registry.requests
    assert (request.method, request.url.path) == ("POST", GC)
    return json.loads(request.content)


def test_a_dry_run_by_default_shows_what_would_go(registry: ScriptedRegistry) -> None:
    registry.on("POST", GC, ok({"applied": False, "would_remove": [OLD], **SUMMARY}))
    done = run_cli("artifacts", "gc")
    assert done.exit_code == 0, done.output
    assert sent(registry) == {"apply": False, "grace_hours": None}
    assert OLD["sha256"] in done.stdout and "3.0 MiB" in done.stdout
    assert "2026-11-20T08:30:00" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == (
        "would remove 1 object (3.0 MiB); kept 7 referenced, 2 younger than the grace "
        "period; --apply removes them"
    )


def test_apply_with_a_grace_period_removes(registry: ScriptedRegistry) -> None:
    registry.on("POST", GC, ok({"applied": True, "removed": [OLD, OLD], **SUMMARY}))
    done = run_cli("artifacts", "gc", "--apply", "--grace-hours", "1.5")
    assert done.exit_code == 0, done.output
    assert sent(registry) == {"apply": True, "grace_hours": 1.5}
    assert done.stdout.strip().splitlines()[-1] == (
        "removed 2 objects (3.0 MiB); kept 7 referenced, 2 younger than the grace period"
    )


def test_nothing_to_remove_is_one_line(registry: ScriptedRegistry) -> None:
    nothing = {"applied": False, "would_remove": [], "kept_young": 0, "referenced": 3, "bytes": 0}
    registry.on("POST", GC, ok(nothing))
    done = run_cli("artifacts", "gc")
    assert done.stdout.strip() == (
        "would remove 0 objects (0 bytes); kept 3 referenced, 0 younger than the grace period"
    )


def test_json_prints_the_registrys_answer(registry: ScriptedRegistry) -> None:
    answer = {"applied": False, "would_remove": [OLD], **SUMMARY}
    registry.on("POST", GC, ok(answer))
    done = run_cli("--json", "artifacts", "gc")
    assert json.loads(done.stdout) == answer


@pytest.mark.parametrize("hours", ["-1", "nan", "inf", "soon"])
def test_a_bad_grace_period_is_usage_and_sends_nothing(
    registry: ScriptedRegistry, hours: str
) -> None:
    done = run_cli("artifacts", "gc", "--grace-hours", hours, debug=False)
    assert done.exit_code == 2
    assert registry.requests == []


def test_a_refusal_exits_1_with_the_registrys_message(registry: ScriptedRegistry) -> None:
    registry.on("POST", GC, refusal(409, "no_artifact_store", "this registry stores no artefacts"))
    done = run_cli("artifacts", "gc", "--apply", debug=False)
    assert done.exit_code == 1
    assert "no_artifact_store" in done.stderr and "stores no artefacts" in done.stderr


def test_the_sdk_sends_the_same_body(registry: ScriptedRegistry) -> None:
    registry.on("POST", GC, lambda request: httpx.Response(200, json={"applied": True}))
    with registry.client() as client:
        assert client.collect_garbage(apply=True, grace_hours=0) == {"applied": True}
    assert sent(registry) == {"apply": True, "grace_hours": 0}
