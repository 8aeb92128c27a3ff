"""Artefact garbage collection over HTTP, in-process: references read from a real
PostgreSQL event log, objects in a local folder aged by their modification times."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.artifacts.filesystem import FilesystemStore
from services.bootstrap import build_registry
from services.registry.application import Registry
from services.settings import Settings
from tests.people import READERS, Badges

BADGES = Badges()
WHO = BADGES.headers("pipeline")  # a tester: owner of the registry, so an administrator
GC = "/api/v1/artifacts/gc"


@pytest.fixture
def store(tmp_path: Path) -> FilesystemStore:
    return FilesystemStore(tmp_path / "artifacts")


@pytest.fixture
def http(store: FilesystemStore, database_url: str, registry: Registry) -> Iterator[TestClient]:
    # (registry: its fixture gives the testers group its roles in this database.)
    with_store: Registry = build_registry(Settings(db_pool_size=2), database_url, store)
    app = create_app(
        with_store,
        database_url,
        artifacts=store,
        artifact_gc_grace_hours=24,
        authenticator=BADGES.authenticator(),
    )
    with TestClient(app) as client:
        client.headers.update(WHO)
        yield client
    with_store.close()


def uploaded(http: TestClient, data: bytes) -> dict[str, object]:
    answer = http.post("/api/v1/artifacts", content=data, headers=WHO)
    assert answer.status_code == 201, answer.text
    stored: dict[str, object] = answer.json()
    return stored


def age(store: FilesystemStore, sha256: object, hours: float) -> float:
    """Makes the object look written `hours` ago; returns that time."""
    when = time.time() - hours * 3600
    os.utime(store.objects_dir / str(sha256)[:2] / str(sha256), (when, when))
    return when


def test_gc_removes_only_old_objects_that_no_version_references(
    http: TestClient, store: FilesystemStore, unique: str
) -> None:
    name = f"gc-{unique}"
    assert http.post("/api/v1/models", json={"name": name}, headers=WHO).status_code == 201
    # Version 1 is made of two uploaded files; version 2 of one, and is then deleted.
    files = {path: uploaded(http, os.urandom(1000)) for path in ("MLmodel", "model.bin")}
    gone = uploaded(http, os.urandom(2000))
    for manifest in (
        [{"path": p, "sha256": f["sha256"], "size": f["size"]} for p, f in files.items()],
        [{"path": "model.bin", "sha256": gone["sha256"], "size": gone["size"]}],
    ):
        made = http.post(
            f"/api/v1/models/{name}/versions", json={"manifest": manifest}, headers=WHO
        )
        assert made.status_code == 201, made.text
    assert http.delete(f"/api/v1/models/{name}/versions/2", headers=WHO).status_code == 200
    # Version 3 refers to bytes elsewhere by a digest that is also an object of ours.
    referred = uploaded(http, os.urandom(3000))
    by_reference = {"artifact_uri": "s3://elsewhere/model.bin", "sha256": referred["sha256"]}
    made = http.post(f"/api/v1/models/{name}/versions", json=by_reference, headers=WHO)
    assert made.status_code == 201, made.text
    # Two uploads no version references: one two days old, one an hour old.
    old, young = uploaded(http, os.urandom(4000)), uploaded(http, os.urandom(5000))
    kept = [*(f["sha256"] for f in files.values()), gone["sha256"], referred["sha256"]]
    for digest in kept:
        age(store, digest, 72)
    old_time = age(store, old["sha256"], 48)
    age(store, young["sha256"], 1)
    everything = {*kept, old["sha256"], young["sha256"]}

    def stored() -> set[str]:
        return {o.sha256 for o in store.objects()}

    # A dry run names exactly the old orphan, and removes nothing.
    dry = http.post(GC, json={"apply": False, "grace_hours": None})
    assert dry.status_code == 200, dry.text
    report = dry.json()
    (orphan,) = report.pop("would_remove")
    assert report == {"applied": False, "kept_young": 1, "referenced": 4, "bytes": 4000}
    assert (orphan["sha256"], orphan["size"]) == (old["sha256"], 4000)
    assert abs(datetime.fromisoformat(orphan["modified"]).timestamp() - old_time) < 1
    assert stored() == everything
    # No body is a dry run too; a shorter grace period would take the young one as well.
    assert http.post(GC).json()["would_remove"] == [orphan]
    shorter = http.post(GC, json={"grace_hours": 0.5}).json()
    assert [o["sha256"] for o in shorter["would_remove"]] == [old["sha256"], young["sha256"]]
    assert stored() == everything

    # Applied: the old orphan goes; referenced objects (a deleted version's too) and the
    # young orphan stay, and still download.
    applied = http.post(GC, json={"apply": True}).json()
    assert applied["applied"] is True and "would_remove" not in applied
    assert [o["sha256"] for o in applied["removed"]] == [old["sha256"]]
    assert (applied["kept_young"], applied["referenced"], applied["bytes"]) == (1, 4, 4000)
    assert stored() == everything - {old["sha256"]}
    assert http.get(f"/api/v1/artifacts/{old['sha256']}").status_code == 404
    assert http.get(f"/api/v1/artifacts/{gone['sha256']}").status_code == 200
    # Nothing is left to collect.
    assert http.post(GC, json={"apply": True}).json()["removed"] == []


def test_gc_takes_a_strict_body(http: TestClient) -> None:
    for body in (
        {"apply": "yes"},
        {"apply": 1},
        {"grace_hours": -1},
        {"grace_hours": "24"},
        {"apply": True, "force": True},
    ):
        refused = http.post(GC, json=body)
        assert refused.status_code == 422, body
        assert refused.json()["error"]["code"] == "invalid_input"
    # The path is gc's alone, not a malformed digest of the download route beside it.
    for method in ("GET", "PUT", "OPTIONS"):
        wrong = http.request(method, GC)
        assert (wrong.status_code, wrong.headers["Allow"]) == (405, "POST"), method
    # Uploads below /api/v1/artifacts stream past the JSON body limit; this JSON does not.
    padded = b'{"apply": true' + b" " * (3 * 1024 * 1024) + b"}"
    headers = {"Content-Type": "application/json"}
    too_large = http.post(GC, content=padded, headers=headers)
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "payload_too_large"


def test_only_an_administrator_collects_garbage(http: TestClient) -> None:
    refused = http.post(GC, json={}, headers=BADGES.headers("reader", READERS))
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["permission"] == "administer"


def test_gc_keeps_what_an_mlflow_artefact_path_holds_until_it_is_deleted(
    http: TestClient, store: FilesystemStore, unique: str
) -> None:
    path = f"/api/2.0/mlflow-artifacts/artifacts/experiments/{unique}/model/model.pkl"
    data = os.urandom(1500)
    assert http.put(path, content=data, headers=WHO).status_code == 200
    assert http.get(path, headers=WHO).content == data
    digest = hashlib.sha256(data).hexdigest()
    age(store, digest, 72)
    planned = http.post(GC, json={"grace_hours": 1}).json()["would_remove"]
    assert digest not in {o["sha256"] for o in planned}
    assert http.delete(path, headers=WHO).status_code == 200
    planned = http.post(GC, json={"grace_hours": 1}).json()["would_remove"]
    assert digest in {o["sha256"] for o in planned}
