"""A folder artefact store is one machine's: the registry's database records which folder
it uses, and a process whose folder is not that one refuses to start (against a real
PostgreSQL, with folders standing for two machines)."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from services.artifacts.filesystem import FilesystemStore
from services.artifacts.identity import MARKER, TABLE, FolderNotShared, claim_folder
from services.artifacts.s3 import S3Store
from services.bootstrap import NotConfigured, build_artifact_store
from services.settings import Settings
from tests.services import fresh_database


@pytest.fixture
def empty_registry(database_url: str, unique: str) -> str:
    return fresh_database(database_url, f"folder_identity_{unique}")


def test_the_first_folder_claims_the_registry_and_others_are_refused(
    empty_registry: str, tmp_path: Path
) -> None:
    first, second = tmp_path / "machine-1" / "artifacts", tmp_path / "machine-2" / "artifacts"
    identity = claim_folder(first, empty_registry)
    # The folder carries the identity, and the database records it.
    assert (first / MARKER).read_text().strip() == identity
    with psycopg.connect(empty_registry) as conn:
        assert conn.execute(f"SELECT kind, identity FROM {TABLE}").fetchall() == [
            ("folder", identity)
        ]

    # A second process with a folder of its own (another machine) refuses, saying why...
    with pytest.raises(FolderNotShared) as refused:
        claim_folder(second, empty_registry)
    message = str(refused.value)
    assert "share the directory" in message and "REGISTRUM_S3_ENDPOINT" in message
    assert identity in message and str(second / MARKER) in message
    # ...and leaves that folder unmarked: nothing claims it behind the registry's back.
    assert not (second / MARKER).exists()

    # A second process on the same folder (the same machine, or a shared mount) is fine.
    assert claim_folder(first, empty_registry) == identity


def test_a_folder_of_another_registry_is_refused(
    database_url: str, empty_registry: str, tmp_path: Path, unique: str
) -> None:
    other_registry = fresh_database(database_url, f"folder_identity_other_{unique}")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    claim_folder(ours, empty_registry)
    their_identity = claim_folder(theirs, other_registry)
    with pytest.raises(FolderNotShared, match=f"belongs to another store \\({their_identity}\\)"):
        claim_folder(theirs, empty_registry)


def test_a_folder_that_lost_its_marker_is_refused_until_it_is_restored(
    empty_registry: str, tmp_path: Path
) -> None:
    folder = tmp_path / "artifacts"
    identity = claim_folder(folder, empty_registry)
    (folder / MARKER).unlink()
    with pytest.raises(FolderNotShared, match="is missing"):
        claim_folder(folder, empty_registry)
    # The message's own remedy works.
    (folder / MARKER).write_text(identity + "\n")
    assert claim_folder(folder, empty_registry) == identity


def test_two_folders_claiming_an_empty_registry_at_once_one_wins(
    empty_registry: str, tmp_path: Path
) -> None:
    folders = [tmp_path / f"machine-{i}" for i in range(4)]
    claimed: list[Path] = []
    refused: list[Path] = []
    start = threading.Barrier(len(folders))

    def claim(folder: Path) -> None:
        start.wait()
        try:
            claim_folder(folder, empty_registry)
            claimed.append(folder)
        except FolderNotShared:
            refused.append(folder)

    threads = [threading.Thread(target=claim, args=(f,)) for f in folders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(claimed) == 1 and len(refused) == len(folders) - 1


def test_the_runtime_refuses_a_folder_store_the_registry_does_not_use(
    empty_registry: str, tmp_path: Path
) -> None:
    # As the composition root builds the store for every role: a typed NotConfigured,
    # which the CLI prints as a one-line error (exit 1).
    first = build_artifact_store(Settings(data_dir=tmp_path / "one"), empty_registry)
    again = build_artifact_store(Settings(data_dir=tmp_path / "one"), empty_registry)
    assert isinstance(first, FilesystemStore) and isinstance(again, FilesystemStore)
    assert first.root == again.root and (first.root / MARKER).exists()
    with pytest.raises(NotConfigured, match="REGISTRUM_S3_ENDPOINT"):
        build_artifact_store(Settings(data_dir=tmp_path / "two"), empty_registry)
    # An S3 store is the same wherever it is reached from: no folder to check.
    s3 = Settings(data_dir=tmp_path / "two", s3_endpoint="127.0.0.1:9", s3_create_bucket=False)
    assert isinstance(build_artifact_store(s3, empty_registry), S3Store)
