"""One contract for every ArtifactStore adapter: a local folder and a real S3 server, and
the in-memory fake that unit tests use."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from minio import Minio

from services.artifacts.filesystem import FilesystemStore
from services.artifacts.port import (
    ArtifactNotFound,
    ArtifactStore,
    DigestMismatch,
    ReferenceMissing,
    ReferenceUnreadable,
    rehash,
    verified,
)
from services.artifacts.s3 import S3Store
from tests.fakes.artifacts import MemoryStore
from tests.services import S3Endpoint, s3_endpoint


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Endpoint]:
    with s3_endpoint() as endpoint:
        yield endpoint


def s3_client(s3: S3Endpoint) -> Minio:
    return Minio(
        s3.endpoint,
        access_key=s3.access_key,
        secret_key=s3.secret_key,
        secure=s3.secure,
        region="us-east-1",
    )


@pytest.fixture(params=["filesystem", "s3", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path, unique: str) -> ArtifactStore:
    if request.param == "filesystem":
        return FilesystemStore(tmp_path / "artifacts")
    if request.param == "memory":
        return MemoryStore()
    s3: S3Endpoint = request.getfixturevalue("s3")
    return S3Store(s3_client(s3), f"registrum-test-{unique}")


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_put_streams_and_names_the_object_by_its_digest(store: ArtifactStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # several chunks, not a round number
    stored = store.put(chunks(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert (stored.size, stored.created) == (len(data), True)
    assert store.exists(stored.sha256) and store.size(stored.sha256) == len(data)
    assert b"".join(store.get(stored.sha256)) == data


def test_the_same_bytes_twice_keep_the_first_object(store: ArtifactStore) -> None:
    data = b"weights" * 1000
    first, second = store.put(chunks(data)), store.put(chunks(data))
    assert first.sha256 == second.sha256
    assert (first.created, second.created) == (True, False)
    assert b"".join(store.get(first.sha256)) == data


def test_a_wrong_declared_digest_stores_nothing(store: ArtifactStore) -> None:
    data = b"model bytes"
    wrong = "0" * 64
    with pytest.raises(DigestMismatch):
        store.put(chunks(data), expected_sha256=wrong)
    assert not store.exists(hashlib.sha256(data).hexdigest())
    assert not store.exists(wrong)


def test_an_interrupted_upload_leaves_nothing_visible(store: ArtifactStore) -> None:
    # 20 MiB, cut after 18: past the first 16 MiB multipart part on S3.
    data = os.urandom(1024 * 1024) * 20

    def dying() -> Iterator[bytes]:
        yield from chunks(data[: 18 * 1024 * 1024], 1024 * 1024)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.put(dying())
    assert not store.exists(hashlib.sha256(data).hexdigest())
    assert not store.exists(hashlib.sha256(data[: 18 * 1024 * 1024]).hexdigest())
    if isinstance(store, S3Store):  # not even a temporary object or an open multipart upload
        assert list(store.client.list_objects(store.bucket, prefix="incoming/")) == []
        uploads = store.client._list_multipart_uploads(store.bucket)
        assert not list(uploads.uploads)
    if isinstance(store, FilesystemStore):
        assert list(store.incoming.iterdir()) == []
    # The retry succeeds.
    assert store.put(chunks(data)).created


def test_objects_are_listed_with_their_size_and_when_they_were_written(
    store: ArtifactStore,
) -> None:
    assert list(store.objects()) == []
    # S3 keeps whole seconds; the S3 server runs on this machine's clock.
    before = datetime.now(UTC) - timedelta(seconds=2)
    small, large = store.put(chunks(b"config")), store.put(chunks(os.urandom(300_000)))
    store.put(chunks(b"config"))  # the same bytes again: still one object
    after = datetime.now(UTC) + timedelta(seconds=2)
    listed = {o.sha256: o for o in store.objects()}
    assert {d: o.size for d, o in listed.items()} == {small.sha256: 6, large.sha256: 300_000}
    assert all(before <= o.modified <= after for o in listed.values())


def test_uploads_under_way_or_cut_short_are_not_listed(store: ArtifactStore) -> None:
    listed_mid_upload = []

    def watched() -> Iterator[bytes]:
        yield b"first half "
        listed_mid_upload.append(list(store.objects()))
        yield b"second half"

    stored = store.put(watched())
    assert listed_mid_upload == [[]]

    def dying() -> Iterator[bytes]:
        yield b"never finished"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.put(dying())
    # Leftovers of an upload that died with its process, and names that are not digests.
    stray = hashlib.sha256(b"leftover").hexdigest()
    if isinstance(store, FilesystemStore):
        (store.incoming / stray).write_bytes(b"leftover")
        (store.objects_dir / stray[:2]).mkdir(exist_ok=True)
        (store.objects_dir / stray[:2] / f"{stray}.tmp").write_bytes(b"leftover")
    if isinstance(store, S3Store):
        import io

        for key in (f"incoming/{stray}", f"sha256/{stray}.part"):
            store.client.put_object(store.bucket, key, io.BytesIO(b"leftover"), 8)
    assert [o.sha256 for o in store.objects()] == [stored.sha256]


def test_remove_deletes_one_object_and_ignores_absent_ones(store: ArtifactStore) -> None:
    keep, drop = store.put(chunks(b"keep me")), store.put(chunks(b"drop me"))
    store.remove(drop.sha256)
    assert not store.exists(drop.sha256)
    with pytest.raises(ArtifactNotFound):
        b"".join(store.get(drop.sha256))
    assert [o.sha256 for o in store.objects()] == [keep.sha256]
    # Removing again, or a name that is not a digest, does nothing.
    store.remove(drop.sha256)
    store.remove("../../etc")
    assert store.exists(keep.sha256)
    # The same bytes can be stored again.
    assert store.put(chunks(b"drop me")).created


def test_missing_objects_are_reported(store: ArtifactStore) -> None:
    absent = "a" * 64
    assert not store.exists(absent)
    with pytest.raises(ArtifactNotFound):
        b"".join(store.get(absent))
    with pytest.raises(ArtifactNotFound):
        store.size(absent)


def test_verified_downloads_catch_altered_bytes(store: ArtifactStore) -> None:
    stored = store.put(chunks(b"original"))
    assert b"".join(verified(store.get(stored.sha256), stored.sha256)) == b"original"
    assert rehash(store, stored.sha256) == stored.sha256
    with pytest.raises(DigestMismatch):
        b"".join(verified(iter([b"tampered"]), stored.sha256))


def test_presigned_urls_serve_the_bytes_without_credentials(store: ArtifactStore) -> None:
    stored = store.put(chunks(b"deploy me"))
    url = store.presigned_url(stored.sha256, timedelta(minutes=5))
    if not isinstance(store, S3Store):
        assert url is None  # the API streams local objects itself
        return
    assert url is not None
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"deploy me"


def test_a_reference_the_store_cannot_reach_is_unreadable_not_an_error(
    store: ArtifactStore, unique: str
) -> None:
    # Other schemes, and keys that are not there, are "cannot read", whatever the store.
    for uri in ("https://example.invalid/model.bin", f"s3://nowhere-{unique}/model.bin"):
        with pytest.raises(ReferenceUnreadable):
            b"".join(store.read_reference(uri))


def test_s3_reads_a_reference_on_its_own_endpoint(s3: S3Endpoint, unique: str) -> None:
    import io

    store = S3Store(s3_client(s3), f"registrum-test-{unique}")
    data = b"weights kept elsewhere"
    store.client.put_object(store.bucket, "external/model.bin", io.BytesIO(data), len(data))
    uri = f"s3://{store.bucket}/external/model.bin"
    assert b"".join(store.read_reference(uri)) == data
    # Nothing at a key (or no such bucket) is missing, not merely unreadable.
    for absent in (f"s3://{store.bucket}/external/absent.bin", f"s3://none-{unique}/x.bin"):
        with pytest.raises(ReferenceMissing):
            b"".join(store.read_reference(absent))
