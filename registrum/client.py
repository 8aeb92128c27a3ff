"""A thin client over the REST API (/api/v1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import httpx

from registrum.files import (
    CHUNK,
    FileError,
    Progress,
    download_to,
    local_files,
    read_chunks,
    safe_target,
)


class RegistrumError(Exception):
    """The registry refused a request (4xx) or could not be reached (status 0)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details


def _present(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _seg(value: Any) -> str:
    return quote(str(value), safe="")


class Client:
    """A client of one registry.

    consistency: how reads relate to writes. "session" (default) reads at least what
    this client wrote; "head" reads at least everything written before the read
    (what a fresh CLI process wants); "none" reads whatever the views show now.
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        actor: str | None = None,
        timeout: float = 30.0,
        consistency: str = "session",
    ) -> None:
        if consistency not in ("session", "head", "none"):
            raise ValueError("consistency is session, head or none")
        headers = {"X-Registrum-Actor": actor} if actor else {}
        self.url = url.rstrip("/")
        self.consistency = consistency
        self.position = 0  # of the last command this client ran
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        content: Iterator[bytes] | None = None,
    ) -> dict[str, Any]:
        headers = {}
        if method == "GET":
            if self.consistency == "head":
                headers["X-Registrum-Min-Position"] = "head"
            elif self.consistency == "session" and self.position:
                headers["X-Registrum-Min-Position"] = str(self.position)
        if content is not None:
            headers["Content-Type"] = "application/octet-stream"
        try:
            response = self._http.request(
                method, path, json=body, params=params, headers=headers, content=content
            )
        except httpx.HTTPError as exc:
            raise RegistrumError(0, "unreachable", f"cannot reach {self.url}: {exc}") from None
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.is_success:
            if method != "GET" and isinstance(payload, dict):
                self.position = max(self.position, int(payload.get("position") or 0))
            return payload
        self._raise(response)

    @staticmethod
    def _raise(response: httpx.Response) -> NoReturn:
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        raise RegistrumError(
            response.status_code,
            error.get("code", "http_error"),
            error.get("message", response.reason_phrase),
            error.get("details"),
        )

    @staticmethod
    def _model(name: str) -> str:
        return f"/api/v1/models/{_seg(name)}"

    def _version(self, name: str, number: int) -> str:
        return f"{self._model(name)}/versions/{_seg(number)}"

    # -- operations ------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def create_model(self, name: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/api/v1/models", {"name": name, **fields})

    def get_model(self, name: str) -> dict[str, Any]:
        return self._call("GET", self._model(name))["model"]

    def list_models(
        self, limit: int = 100, page_token: str | None = None, filter: str | None = None
    ) -> dict[str, Any]:
        params = {"limit": limit, "page_token": page_token, "filter": filter}
        return self._call("GET", "/api/v1/models", params=_present(params))

    # -- files -----------------------------------------------------------------------

    def upload_file(self, path: str | Path, progress: Progress | None = None) -> dict[str, Any]:
        """Streams one file to the registry; returns {sha256, size, created}."""
        return self._call("POST", "/api/v1/artifacts", content=read_chunks(Path(path), progress))

    def register_files(
        self, name: str, path: str | Path, progress: Progress | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Uploads a file, or every file under a folder, and registers them as the next
        version of model name (its artifact_uri becomes models:/NAME/NUMBER)."""
        manifest = []
        for relative, file in local_files(Path(path)):
            stored = self.upload_file(file, progress)
            manifest.append({"path": relative, "sha256": stored["sha256"], "size": stored["size"]})
        return self.register_version(name, "", manifest=manifest, **fields)

    def verify_artifact(self, sha256: str) -> dict[str, Any]:
        """Has the registry re-hash what it stores under sha256: {sha256, ok, actual}."""
        return self._call("POST", f"/api/v1/artifacts/{_seg(sha256)}/verify")

    def verify_version(self, name: str, number: int) -> dict[str, Any]:
        """Has the registry re-hash a version's files (or its s3:// reference)."""
        return self._call("POST", f"{self._version(name, number)}/verify")

    def resolve_uri(self, uri: str) -> dict[str, Any]:
        """The version that models:/NAME/VERSION or models:/NAME@ALIAS names."""
        if not uri.startswith("models:/"):
            raise RegistrumError(0, "invalid_uri", f"{uri!r} is not a models:/ URI")
        rest = uri[len("models:/") :]
        name, slash, number = rest.rpartition("/")
        if slash and number.isascii() and number.isdigit():  # not "²"
            return self.get_version(name, int(number))
        name, at, alias = rest.rpartition("@")
        if at:
            return self.resolve(name, alias)
        raise RegistrumError(0, "invalid_uri", f"{uri!r}: use models:/NAME/N or models:/NAME@ALIAS")

    def download(
        self, version: dict[str, Any], dest: str | Path, progress: Progress | None = None
    ) -> list[Path]:
        """Writes the version's files under dest, each checked against its digest."""
        if not version.get("manifest"):
            raise RegistrumError(
                0,
                "no_files",
                f"this version was registered by reference: {version['artifact_uri']}",
            )
        written = []
        for entry in version["manifest"]:
            target = safe_target(Path(dest), entry["path"])
            path = f"/api/v1/artifacts/{_seg(entry['sha256'])}"
            try:
                with self._http.stream("GET", path) as response:
                    if not response.is_success:
                        response.read()
                        self._raise(response)
                    download_to(response.iter_bytes(CHUNK), target, entry["sha256"], progress)
            except httpx.HTTPError as exc:
                raise RegistrumError(0, "download_failed", f"{entry['path']}: {exc}") from None
            except FileError as exc:
                raise RegistrumError(0, "digest_mismatch", str(exc)) from None
            written.append(target)
        return written

    def register_version(self, name: str, artifact_uri: str, **fields: Any) -> dict[str, Any]:
        body = {"artifact_uri": artifact_uri, **fields}
        return self._call("POST", f"{self._model(name)}/versions", body)

    def get_version(self, name: str, number: int) -> dict[str, Any]:
        return self._call("GET", self._version(name, number))["version"]

    def resolve(self, name: str, alias: str) -> dict[str, Any]:
        return self._call("GET", f"{self._model(name)}/aliases/{_seg(alias)}")["version"]

    def list_versions(
        self,
        name: str,
        stage: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
        filter: str | None = None,
        order_by: str | None = None,
    ) -> dict[str, Any]:
        params = {
            "limit": limit,
            "page_token": page_token,
            "stage": stage,
            "filter": filter,
            "order_by": order_by,
        }
        return self._call("GET", f"{self._model(name)}/versions", params=_present(params))

    def search_versions(
        self,
        filter: str | None = None,
        order_by: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        params = {"limit": limit, "page_token": page_token, "filter": filter, "order_by": order_by}
        return self._call("GET", "/api/v1/versions", params=_present(params))

    def stage_as_of(self, name: str, stage: str, as_of: str | None = None) -> dict[str, Any]:
        """Which version(s) held stage at as_of (now if None), who promoted and approved."""
        params = _present({"as_of": as_of})
        return self._call("GET", f"{self._model(name)}/stages/{_seg(stage)}", params=params)

    def timeline(self, name: str, limit: int = 100) -> dict[str, Any]:
        return self._call("GET", f"{self._model(name)}/timeline", params={"limit": limit})

    def request_approval(self, name: str, number: int, stage: str, **fields: Any) -> dict:
        return self._call(
            "POST", f"{self._version(name, number)}/approvals", {"stage": stage, **fields}
        )

    def review(
        self, name: str, number: int, request_id: str, decision: str, **fields: Any
    ) -> dict[str, Any]:
        path = f"{self._version(name, number)}/approvals/{_seg(request_id)}/{decision}"
        return self._call("POST", path, fields)

    def promote(self, name: str, number: int, stage: str, **fields: Any) -> dict[str, Any]:
        return self._call(
            "POST", f"{self._version(name, number)}/promote", {"stage": stage, **fields}
        )

    def archive(self, name: str, number: int, **fields: Any) -> dict[str, Any]:
        return self._call("POST", f"{self._version(name, number)}/archive", fields)

    def set_alias(self, name: str, alias: str, number: int, **fields: Any) -> dict[str, Any]:
        return self._call(
            "PUT", f"{self._model(name)}/aliases/{_seg(alias)}", {"version": number, **fields}
        )

    def remove_alias(self, name: str, alias: str) -> dict[str, Any]:
        return self._call("DELETE", f"{self._model(name)}/aliases/{_seg(alias)}")
