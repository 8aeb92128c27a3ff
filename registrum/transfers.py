"""The Client's file methods: uploads, verified downloads, and models:/ URIs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from registrum.errors import InvalidInput, RegistrumError
from registrum.files import Progress, download_to, local_files, read_chunks, safe_target

if TYPE_CHECKING:
    from registrum.transport import Transport


def seg(value: Any) -> str:
    """value as one path segment ('/' and '?' quoted)."""
    return quote(str(value), safe="")


def is_number(text: str) -> bool:
    """Only ASCII digits: str.isdigit() also accepts "²", which int() refuses."""
    return text.isascii() and text.isdigit()


class FileMethods:
    """Mixed into Client; relies on its transport and version reads."""

    if TYPE_CHECKING:
        _t: Transport

        def _call(
            self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any
        ) -> Any: ...

        def _version(self, name: str, number: int) -> str: ...

        def get_version(self, name: str, number: int) -> dict[str, Any]: ...

        def resolve(self, name: str, alias: str) -> dict[str, Any]: ...

        def register_version(
            self, name: str, artifact_uri: str, **fields: Any
        ) -> dict[str, Any]: ...

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
        return self._call("POST", f"/api/v1/artifacts/{seg(sha256)}/verify")

    def verify_version(self, name: str, number: int) -> dict[str, Any]:
        """Has the registry re-hash a version's files (or its s3:// reference)."""
        return self._call("POST", f"{self._version(name, number)}/verify")

    def resolve_uri(self, uri: str) -> dict[str, Any]:
        """The version that models:/NAME/VERSION or models:/NAME@ALIAS names."""
        if not uri.startswith("models:/"):
            raise InvalidInput(f"{uri!r} is not a models:/ URI", "invalid_uri")
        rest = uri[len("models:/") :]
        name, slash, number = rest.rpartition("/")
        if slash and is_number(number):  # not "²"
            return self.get_version(name, int(number))
        name, at, alias = rest.rpartition("@")
        if at:
            return self.resolve(name, alias)
        raise InvalidInput(f"{uri!r}: use models:/NAME/N or models:/NAME@ALIAS", "invalid_uri")

    def download(
        self, version: dict[str, Any], dest: str | Path, progress: Progress | None = None
    ) -> list[Path]:
        """Writes the version's files under dest, each checked against its digest."""
        if not version.get("manifest"):
            raise RegistrumError(
                0,
                "no_files",
                f"this version was registered by reference: {version.get('artifact_uri')}",
            )
        written = []
        for entry in version["manifest"]:
            target = safe_target(Path(dest), entry["path"])
            path = f"/api/v1/artifacts/{seg(entry['sha256'])}"
            with self._t.stream(path, entry["path"]) as chunks:
                download_to(chunks, target, entry["sha256"], progress)
            written.append(target)
        return written
