"""Verifying a version's artefacts tells a missing object (the store lacks the bytes) from
an altered one (bytes that hash to another digest): only altered ones are a tamper alarm."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from services.artifacts.verify import CannotVerify, verify_version
from tests.fakes.artifacts import MemoryStore


def version_of(store: MemoryStore, files: dict[str, bytes]) -> dict[str, Any]:
    """A version made of files, each stored in store first."""
    manifest = [
        {"path": path, "sha256": store.put(iter([data])).sha256, "size": len(data)}
        for path, data in files.items()
    ]
    return {"artifact_uri": "models:/m/1", "manifest": manifest}


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {f["path"]: f["status"] for f in report["files"]}


def test_intact_files_verify() -> None:
    store = MemoryStore()
    report = verify_version(version_of(store, {"MLmodel": b"m", "model.bin": b"w"}), store)
    assert report["ok"] is True and report["status"] == "ok"
    assert statuses(report) == {"MLmodel": "ok", "model.bin": "ok"}


def test_a_file_the_store_does_not_have_is_missing_not_altered() -> None:
    # As on a second API machine whose own folder never received the upload.
    here, elsewhere = MemoryStore(), MemoryStore()
    version = version_of(here, {"MLmodel": b"m", "model.bin": b"weights"})
    elsewhere.put(iter([b"m"]))  # only one of the two files reached this store
    report = verify_version(version, elsewhere)
    assert report["ok"] is False and report["status"] == "missing"
    assert statuses(report) == {"MLmodel": "ok", "model.bin": "missing"}
    missing = report["files"][1]
    assert missing["actual"] is None and missing["ok"] is False


def test_bytes_that_hash_to_another_digest_are_altered() -> None:
    store = MemoryStore()
    version = version_of(store, {"MLmodel": b"m", "model.bin": b"weights"})
    weights = version["manifest"][1]["sha256"]
    store.tamper(weights, b"poisoned weights")
    report = verify_version(version, store)
    assert report["ok"] is False and report["status"] == "altered"
    assert statuses(report) == {"MLmodel": "ok", "model.bin": "altered"}
    assert report["files"][1]["actual"] == hashlib.sha256(b"poisoned weights").hexdigest()


def test_altered_outranks_missing_in_the_report() -> None:
    store = MemoryStore()
    version = version_of(store, {"a": b"1", "b": b"2"})
    store.tamper(version["manifest"][0]["sha256"], b"changed")
    store.remove(version["manifest"][1]["sha256"])
    report = verify_version(version, store)
    assert report["status"] == "altered"
    assert statuses(report) == {"a": "altered", "b": "missing"}


def by_reference(data: bytes, uri: str = "s3://models/fraud/1.bin") -> dict[str, Any]:
    return {"artifact_uri": uri, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_a_reference_is_ok_altered_or_missing() -> None:
    store = MemoryStore()
    version = by_reference(b"weights")
    store.references[version["artifact_uri"]] = b"weights"
    assert verify_version(version, store)["status"] == "ok"

    store.references[version["artifact_uri"]] = b"swapped"
    altered = verify_version(version, store)
    assert altered["ok"] is False and altered["status"] == "altered"
    assert altered["reference"]["actual"] == hashlib.sha256(b"swapped").hexdigest()

    del store.references[version["artifact_uri"]]
    missing = verify_version(version, store)
    assert missing["ok"] is False and missing["status"] == "missing"
    assert missing["reference"]["actual"] is None


def test_a_reference_of_another_size_than_declared_is_altered() -> None:
    store = MemoryStore()
    version = {**by_reference(b"weights"), "size": 999}
    store.references[version["artifact_uri"]] = b"weights"
    assert verify_version(version, store)["status"] == "altered"


def test_a_reference_the_store_cannot_read_cannot_be_verified() -> None:
    store = MemoryStore()
    with pytest.raises(CannotVerify, match="only s3://"):
        verify_version(by_reference(b"w", "https://example.invalid/w.bin"), store)
    with pytest.raises(CannotVerify, match="without a digest"):
        verify_version({"artifact_uri": "s3://m/w.bin"}, store)
