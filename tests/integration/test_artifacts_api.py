"""Artefacts over HTTP, in-process, against a local folder and a real S3 server."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from minio import Minio
from starlette.types import ASGIApp

from services.api.app import create_app
from services.artifacts.filesystem import FilesystemStore
from services.artifacts.port import ArtifactStore
from services.artifacts.s3 import S3Store
from services.catalogue.projector import Projector
from services.registry.application import Registry
from tests.people import READERS, Badges
from tests.services import S3Endpoint, s3_endpoint

BADGES = Badges()  # every client reads as "reader"; writes name their author

WHO = BADGES.headers("pipeline")


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Endpoint]:
    with s3_endpoint() as endpoint:
        yield endpoint


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, unique: str) -> ArtifactStore:
    if request.param == "filesystem":
        return FilesystemStore(tmp_path / "artifacts")
    s3: S3Endpoint = request.getfixturevalue("s3")
    client = Minio(
        s3.endpoint,
        access_key=s3.access_key,
        secret_key=s3.secret_key,
        secure=s3.secure,
        region="us-east-1",
    )
    return S3Store(client, f"api-{unique}")


@pytest.fixture
def http(registry: Registry, database_url: str, store: ArtifactStore) -> Iterator[TestClient]:
    app = create_app(
        registry,
        database_url,
        artifacts=store,
        max_body_bytes=64 * 1024,
        authenticator=BADGES.authenticator(),
    )
    with TestClient(app) as client:
        client.headers.update(WHO)
        yield client


def body(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_artefact_bytes_in_and_out_are_counted_on_metrics(http: TestClient) -> None:
    def counted(direction: str) -> float:
        text = http.get("/metrics").text
        line = f'registrum_artifact_bytes_total{{direction="{direction}"}} '
        found = [x for x in text.splitlines() if x.startswith(line)]
        return float(found[0].split()[-1]) if found else 0.0

    data = os.urandom(100_000)
    before = counted("in"), counted("out")
    digest = http.post("/api/v1/artifacts", content=data, headers=WHO).json()["sha256"]
    assert http.get(f"/api/v1/artifacts/{digest}").content == data
    assert (counted("in") - before[0], counted("out") - before[1]) == (len(data), len(data))


def test_upload_streams_past_the_json_limit_and_downloads_verified(http: TestClient) -> None:
    data = os.urandom(5 * 1024 * 1024)  # far above the 64 KiB JSON body limit
    digest = hashlib.sha256(data).hexdigest()
    uploaded = http.post("/api/v1/artifacts", content=body(data), headers=WHO)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json() == {"sha256": digest, "size": len(data), "created": True}
    again = http.post("/api/v1/artifacts", content=body(data), headers=WHO)
    assert again.json()["created"] is False
    downloaded = http.get(f"/api/v1/artifacts/{digest}")
    assert downloaded.content == data
    assert downloaded.headers["X-Registrum-Sha256"] == digest
    assert http.post(f"/api/v1/artifacts/{digest}/verify").json()["ok"] is True


def test_a_declared_digest_that_does_not_match_is_refused(http: TestClient) -> None:
    headers = {**WHO, "X-Registrum-Sha256": "0" * 64}
    refused = http.post("/api/v1/artifacts", content=b"abc", headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "digest_mismatch"
    actual = hashlib.sha256(b"abc").hexdigest()
    assert http.get(f"/api/v1/artifacts/{actual}").status_code == 404


# Above S3's first multipart part (8 MiB): a refused upload has begun a multipart upload.
LIMIT = 9 * 1024 * 1024


def nothing_kept(store: ArtifactStore) -> bool:
    """No object, and no temporary file, key or multipart upload left behind."""
    if isinstance(store, FilesystemStore) and list(store.incoming.iterdir()):
        return False
    if isinstance(store, S3Store):
        if list(store.client.list_objects(store.bucket, prefix="incoming/")):
            return False
        if list(store.client._list_multipart_uploads(store.bucket).uploads):
            return False
    return list(store.objects()) == []


def upload(app: ASGIApp, content: AsyncIterator[bytes], **headers: str) -> httpx.Response:
    """One upload through the in-process ASGI transport, which hands the app the body
    chunk by chunk as the app reads it (TestClient reads it all first)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
            return await http.post("/api/v1/artifacts", content=content, headers=headers)

    return asyncio.run(send())


class Counted:
    """An upload body of `total` bytes in 256 KiB chunks that counts what was read."""

    def __init__(self, total: int) -> None:
        self.total, self.read = total, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = 256 * 1024
        while self.read < self.total:
            size = min(chunk, self.total - self.read)
            self.read += size
            yield os.urandom(size)


def test_an_upload_declared_over_the_limit_is_refused_unread(
    registry: Registry, database_url: str, store: ArtifactStore
) -> None:
    app = create_app(
        registry,
        database_url,
        artifacts=store,
        max_artifact_bytes=LIMIT,
        authenticator=BADGES.authenticator(),
    )
    body = Counted(LIMIT + 1)
    refused = upload(app, body.__aiter__(), **WHO, **{"Content-Length": str(LIMIT + 1)})
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "payload_too_large"
    assert refused.json()["error"]["details"] == {"limit": LIMIT}
    assert body.read <= 256 * 1024  # at most what the transport had in hand: not read
    assert nothing_kept(store)


def test_an_upload_that_streams_past_the_limit_is_cut_off_and_nothing_kept(
    registry: Registry, database_url: str, store: ArtifactStore
) -> None:
    app = create_app(
        registry,
        database_url,
        artifacts=store,
        max_artifact_bytes=LIMIT,
        authenticator=BADGES.authenticator(),
    )
    body = Counted(3 * LIMIT)  # chunked: no Content-Length to refuse it by
    refused = upload(app, body.__aiter__(), **WHO)
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"]["details"] == {"limit": LIMIT}
    assert body.read < LIMIT + 1024 * 1024  # it stopped reading at the limit
    assert nothing_kept(store)


def test_an_upload_of_exactly_the_limit_is_stored(
    registry: Registry, database_url: str, store: ArtifactStore
) -> None:
    app = create_app(
        registry,
        database_url,
        artifacts=store,
        max_artifact_bytes=1000,
        authenticator=BADGES.authenticator(),
    )
    with TestClient(app) as http:
        assert http.post("/api/v1/artifacts", content=b"x" * 1001, headers=WHO).status_code == 413
        streamed = http.post("/api/v1/artifacts", content=iter([b"x" * 1001]), headers=WHO)
        assert streamed.status_code == 413
        assert nothing_kept(store)
        stored = http.post("/api/v1/artifacts", content=b"x" * 1000, headers=WHO)
        assert stored.status_code == 201 and stored.json()["size"] == 1000
    assert [o.size for o in store.objects()] == [1000]


def test_bad_digests_and_missing_objects(http: TestClient) -> None:
    assert http.get("/api/v1/artifacts/not-a-digest").status_code == 422
    assert http.get(f"/api/v1/artifacts/{'a' * 64}").status_code == 404
    assert http.post(f"/api/v1/artifacts/{'a' * 64}/verify").status_code == 404
    # Uploading needs a credential, and one that may contribute somewhere.
    anonymous = {"Authorization": "Bearer rgm_aaaaaaaaaaaa_unknown"}
    assert http.post("/api/v1/artifacts", content=b"x", headers=anonymous).status_code == 401
    reader = BADGES.headers("reader", READERS)
    refused = http.post("/api/v1/artifacts", content=b"x", headers=reader)
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["permission"] == "contribute"
    # What a contributor uploaded but no version refers to yet, a reader cannot fetch.
    digest = http.post("/api/v1/artifacts", content=b"unreferenced").json()["sha256"]
    assert http.get(f"/api/v1/artifacts/{digest}").status_code == 200
    assert http.get(f"/api/v1/artifacts/{digest}", headers=reader).status_code == 403


def test_presigned_urls_where_the_store_has_them(http: TestClient, store: ArtifactStore) -> None:
    digest = http.post("/api/v1/artifacts", content=b"weights", headers=WHO).json()["sha256"]
    answer = http.get(f"/api/v1/artifacts/{digest}/url")
    if isinstance(store, S3Store):
        assert answer.status_code == 200 and answer.json()["url"].startswith("http")
    else:
        assert answer.status_code == 409
        assert answer.json()["error"]["details"]["download"].endswith(digest)


def test_bytes_altered_behind_the_registrys_back_are_caught(
    http: TestClient, store: ArtifactStore
) -> None:
    data = os.urandom(1024 * 1024)
    digest = http.post("/api/v1/artifacts", content=data, headers=WHO).json()["sha256"]
    tampered = b"X" + data[1:]
    if isinstance(store, FilesystemStore):
        path = store.objects_dir / digest[:2] / digest
        path.chmod(0o644)
        path.write_bytes(tampered)
    else:
        assert isinstance(store, S3Store)
        import io

        store.client.put_object(
            store.bucket, store.key(digest), io.BytesIO(tampered), len(tampered)
        )
    report = http.post(f"/api/v1/artifacts/{digest}/verify").json()
    assert report["ok"] is False and report["actual"] == hashlib.sha256(tampered).hexdigest()
    assert report["status"] == "altered"
    # The download does not complete: the stream ends when the digest fails to match.
    with pytest.raises(Exception, match="expected sha256"):
        http.get(f"/api/v1/artifacts/{digest}")


@pytest.fixture
def registry_with(store: ArtifactStore, database_url: str) -> Iterator[Registry]:
    from services.bootstrap import build_registry
    from services.settings import Settings

    registry = build_registry(Settings(db_pool_size=2), database_url, store)
    yield registry
    registry.close()


def test_a_version_made_of_uploaded_files(
    registry_with: Registry, database_url: str, store: ArtifactStore, unique: str
) -> None:
    app = create_app(
        registry_with,
        database_url,
        artifacts=store,
        background=[Projector(database_url).run],
        authenticator=BADGES.authenticator(),
    )
    with TestClient(app) as http:
        http.headers.update(WHO)
        files = {"MLmodel": b"flavors: {}", "weights/model.bin": os.urandom(300_000)}
        manifest = []
        for path, data in files.items():
            stored = http.post("/api/v1/artifacts", content=data, headers=WHO).json()
            manifest.append({"path": path, "sha256": stored["sha256"], "size": stored["size"]})
        name = f"files-{unique}"
        http.post("/api/v1/models", json={"name": name}, headers=WHO)
        made = http.post(
            f"/api/v1/models/{name}/versions", headers=WHO, json={"manifest": manifest}
        )
        assert made.status_code == 201, made.text
        version = made.json()["version"]
        assert version["artifact_uri"] == f"models:/{name}/1"
        assert version["size"] == sum(len(d) for d in files.values())
        assert [e["path"] for e in version["manifest"]] == ["MLmodel", "weights/model.bin"]
        shown = http.get(
            f"/api/v1/models/{name}/versions/1", headers={"X-Registrum-Min-Position": "head"}
        ).json()["version"]
        assert shown["manifest"] == version["manifest"] and shown["sha256"] == version["sha256"]
        # One file of the version, by its path.
        one = http.get(f"/api/v1/models/{name}/versions/1/files/weights/model.bin")
        assert one.status_code == 200 and one.content == files["weights/model.bin"]
        assert http.get(f"/api/v1/models/{name}/versions/1/files/nope").status_code == 404
        link = http.get(f"/api/v1/models/{name}/versions/1/files/MLmodel", params={"url": "true"})
        assert link.status_code == (200 if isinstance(store, S3Store) else 409)

        def refused(entries: list[dict], **extra: object) -> int:
            answer = http.post(
                f"/api/v1/models/{name}/versions", headers=WHO, json={"manifest": entries, **extra}
            )
            return answer.status_code

        first = manifest[0]
        assert refused([{**first, "sha256": "b" * 64}]) == 404  # never uploaded
        assert refused([{**first, "size": first["size"] + 1}]) == 422
        for bad in ("../etc/passwd", "/abs", "a/../b", "a\\\\b", "nul\x00", "a//b", "./x"):
            assert refused([{**first, "path": bad}]) == 422, bad
        assert refused([first, first]) == 422  # the same path twice
        assert refused([first], sha256="c" * 64) == 422  # declared digest differs
        assert http.get(f"/api/v1/models/{name}").json()["model"]["latest_version"] == 1


def test_a_file_the_store_lacks_is_reported_missing_never_altered(
    registry_with: Registry, database_url: str, store: ArtifactStore, unique: str
) -> None:
    app = create_app(
        registry_with,
        database_url,
        artifacts=store,
        background=[Projector(database_url).run],
        authenticator=BADGES.authenticator(),
    )
    with TestClient(app) as http:
        http.headers.update(WHO)
        http.headers["X-Registrum-Min-Position"] = "head"
        name = f"gone-{unique}"
        manifest = []
        for path, data in {"MLmodel": b"flavors: {}", "model.bin": os.urandom(4096)}.items():
            stored = http.post("/api/v1/artifacts", content=data, headers=WHO).json()
            manifest.append({"path": path, "sha256": stored["sha256"], "size": stored["size"]})
        http.post("/api/v1/models", json={"name": name}, headers=WHO)
        made = http.post(
            f"/api/v1/models/{name}/versions", headers=WHO, json={"manifest": manifest}
        )
        assert made.status_code == 201, made.text
        assert http.post(f"/api/v1/models/{name}/versions/1/verify").json()["status"] == "ok"

        # The store loses one object (as a store on another machine never had it).
        store.remove(manifest[1]["sha256"])
        report = http.post(f"/api/v1/models/{name}/versions/1/verify").json()
        assert report["ok"] is False and report["status"] == "missing"
        assert [(f["path"], f["status"], f["actual"]) for f in report["files"]] == [
            ("MLmodel", "ok", manifest[0]["sha256"]),
            ("model.bin", "missing", None),
        ]
        # The object's own check says it is not there: 404, not a digest mismatch.
        assert http.post(f"/api/v1/artifacts/{manifest[1]['sha256']}/verify").status_code == 404


def test_a_version_registered_by_reference_is_verifiable_on_demand(
    registry_with: Registry, database_url: str, store: ArtifactStore, unique: str
) -> None:
    import io

    app = create_app(
        registry_with,
        database_url,
        artifacts=store,
        background=[Projector(database_url).run],
        authenticator=BADGES.authenticator(),
    )
    with TestClient(app) as http:
        http.headers.update(WHO)
        http.headers["X-Registrum-Min-Position"] = "head"
        name = f"byref-{unique}"
        http.post("/api/v1/models", json={"name": name}, headers=WHO)
        data = b"weights kept elsewhere"
        if isinstance(store, S3Store):
            store.client.put_object(store.bucket, "external/model.bin", io.BytesIO(data), len(data))
        uri = f"s3://{getattr(store, 'bucket', 'elsewhere')}/external/model.bin"
        made = http.post(
            f"/api/v1/models/{name}/versions",
            headers=WHO,
            json={
                "artifact_uri": uri,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
            },
        )
        assert made.status_code == 201
        no_digest = http.post(
            f"/api/v1/models/{name}/versions", headers=WHO, json={"artifact_uri": uri}
        )
        assert no_digest.status_code == 201
        assert http.post(f"/api/v1/models/{name}/versions/2/verify").status_code == 409

        report = http.post(f"/api/v1/models/{name}/versions/1/verify")
        if not isinstance(store, S3Store):
            assert report.status_code == 409  # a folder store cannot read s3:// URIs
            return
        assert report.status_code == 200 and report.json()["ok"] is True
        store.client.put_object(store.bucket, "external/model.bin", io.BytesIO(b"swapped"), 7)
        swapped = http.post(f"/api/v1/models/{name}/versions/1/verify").json()
        assert swapped["ok"] is False and swapped["status"] == "altered"
        # Gone from the bucket: missing, not altered (and not "cannot verify").
        store.client.remove_object(store.bucket, "external/model.bin")
        gone = http.post(f"/api/v1/models/{name}/versions/1/verify")
        assert gone.status_code == 200, gone.text
        assert gone.json()["ok"] is False and gone.json()["status"] == "missing"
