"""`registrum artifacts verify`: a file the registry's store lacks is reported missing,
never altered; only bytes that hash to another digest are called altered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.http_registry import ScriptedRegistry, ok, run_cli, scripted

V = "/api/v1/models/fraud/versions/3"
VERSION = {"version": {"model": "fraud", "number": 3, "stage": "development"}}


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedRegistry]:
    with scripted(monkeypatch) as fake:
        fake.on("GET", V, ok(VERSION))
        yield fake


def entry(path: str, status: str, *, said: bool = True) -> dict[str, Any]:
    """A file of a report in status; said: the server states the status (newer ones do)."""
    actual = {"ok": "ab" * 32, "altered": "cd" * 32, "missing": None}[status]
    found = {"path": path, "sha256": "ab" * 32, "actual": actual, "ok": status == "ok"}
    return found | ({"status": status} if said else {})


def report(*files: dict[str, Any], status: str) -> dict[str, Any]:
    return {"model": "fraud", "version": 3, "ok": status == "ok", "status": status, "files": files}


def test_intact_files_pass(registry: ScriptedRegistry) -> None:
    registry.on("POST", f"{V}/verify", ok(report(entry("MLmodel", "ok"), status="ok")))
    done = run_cli("artifacts", "verify", "fraud", "3")
    assert done.exit_code == 0, done.output
    assert "MLmodel" in done.stdout and "ALTERED" not in done.stdout


def test_a_missing_file_is_missing_not_altered(registry: ScriptedRegistry) -> None:
    files = (entry("MLmodel", "ok"), entry("model.bin", "missing"))
    registry.on("POST", f"{V}/verify", ok(report(*files, status="missing")))
    done = run_cli("artifacts", "verify", "fraud", "3")
    assert done.exit_code == 1
    assert "missing from the registry's artefact store (not altered): model.bin" in done.stderr
    assert "altered (" not in done.stderr
    assert "MISSING" in done.stdout and "ALTERED" not in done.stdout


def test_altered_and_missing_files_are_named_apart(registry: ScriptedRegistry) -> None:
    files = (
        entry("a.bin", "altered"),
        entry("b.bin", "missing"),
    )
    registry.on("POST", f"{V}/verify", ok(report(*files, status="altered")))
    done = run_cli("artifacts", "verify", "fraud", "3")
    assert done.exit_code == 1
    assert "altered (the stored bytes hash to another digest): a.bin" in done.stderr
    assert "(not altered): b.bin" in done.stderr
    assert "ALTERED" in done.stdout and "MISSING" in done.stdout


def test_a_server_without_statuses_is_read_by_the_digest_it_found(
    registry: ScriptedRegistry,
) -> None:
    # An older registry said only ok, and no digest for bytes it did not find.
    files = (entry("gone.bin", "missing", said=False), entry("changed.bin", "altered", said=False))
    registry.on("POST", f"{V}/verify", ok({"ok": False, "files": list(files)}))
    done = run_cli("artifacts", "verify", "fraud", "3")
    assert done.exit_code == 1
    assert "(not altered): gone.bin" in done.stderr
    assert "another digest): changed.bin" in done.stderr


def test_a_missing_reference_is_missing(registry: ScriptedRegistry) -> None:
    uri = "s3://models/fraud/3.bin"
    reference = {"uri": uri, "sha256": "ab" * 32, "actual": None, "size": None}
    registry.on(
        "POST", f"{V}/verify", ok({"ok": False, "status": "missing", "reference": reference})
    )
    done = run_cli("artifacts", "verify", "fraud", "3")
    assert done.exit_code == 1
    assert f"(not altered): {uri}" in done.stderr and "MISSING" in done.stdout
