"""A thin client over the REST API (/api/v1)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx


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
    ) -> dict[str, Any]:
        headers = {}
        if method == "GET":
            if self.consistency == "head":
                headers["X-Registrum-Min-Position"] = "head"
            elif self.consistency == "session" and self.position:
                headers["X-Registrum-Min-Position"] = str(self.position)
        try:
            response = self._http.request(method, path, json=body, params=params, headers=headers)
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
