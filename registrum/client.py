"""A thin client over the REST API (/api/v1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx

from registrum.access import AccessMethods
from registrum.cards import CardMethods
from registrum.errors import BadReply, RegistrumError
from registrum.transfers import FileMethods, is_number, seg
from registrum.transport import Transport, member
from registrum.webhooks import WebhookMethods

__all__ = ["MAX_PAGE", "Client", "RegistrumError", "is_number"]

MAX_PAGE = 1000  # the most rows the registry sends in one page


def _present(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class Client(FileMethods, AccessMethods, CardMethods, WebhookMethods):
    """A client of one registry.

    consistency: how reads relate to writes. "session" (default) reads at least what
    this client wrote; "head" reads at least everything written before the read
    (what a fresh CLI process wants); "none" reads whatever the views show now.

    token: the credential sent with every request as `Authorization: Bearer <token>`: an
    API token (rgm_..., from `registrum tokens create`) or an OIDC JWT.

    transport: an httpx transport to send requests through instead of the network's
    (a proxy setup, or httpx.MockTransport in tests).

    Every failure is a RegistrumError (see registrum.errors for the subclasses).
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        token: str | None = None,
        timeout: float = 30.0,
        consistency: str = "session",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._t = Transport(url, token, timeout, consistency, transport)
        self.url = self._t.url
        self.consistency = consistency

    @property
    def position(self) -> int:
        """The log position of the last command this client ran (0 before any)."""
        return self._t.position

    def close(self) -> None:
        """Closes the connections to the registry."""
        self._t.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self._t.call(method, path, body, **kw)

    def _one(self, key: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return member(self._call(method, path, body), key, self.url + path)

    def _rows(self, key: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """A page of a list: its payload, checked to hold a list of rows under key."""
        payload = self._call("GET", path, params=_present(params))
        if not isinstance(payload.get(key), list):
            raise BadReply(200, f"{self.url}{path} answered without a list of {key}")
        return payload

    @staticmethod
    def _model(name: str) -> str:
        return f"/api/v1/models/{seg(name)}"

    def _version(self, name: str, number: int) -> str:
        return f"{self._model(name)}/versions/{seg(number)}"

    # -- models ----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The registry's head position, how far each view and relay lags, and whether its
        followers run (status "starting" or "restarting", answered with HTTP 503, when not)."""
        return self._call("GET", "/health", accept=(503,))

    def create_model(self, name: str, **fields: Any) -> dict[str, Any]:
        """Registers a model name (fields: description, tags, allow_multiple_production)."""
        return self._call("POST", "/api/v1/models", {"name": name, **fields})

    def get_model(self, name: str) -> dict[str, Any]:
        """The model name (the catalogue's view: versions, stages, aliases, tags)."""
        return self._one("model", "GET", self._model(name))

    def list_models(
        self, limit: int = 100, page_token: str | None = None, filter: str | None = None
    ) -> dict[str, Any]:
        """One page: {"models": [...], "next_page_token": str or None}."""
        params = {"limit": limit, "page_token": page_token, "filter": filter}
        return self._rows("models", "/api/v1/models", params)

    def iter_models(self, filter: str | None = None) -> Iterator[dict[str, Any]]:
        """Every model (matching filter), page after page."""
        return _every("models", lambda token: self.list_models(MAX_PAGE, token, filter))

    def rename_model(self, name: str, new_name: str, **fields: Any) -> dict[str, Any]:
        """Renames a model; the old name is free again."""
        return self._call("POST", f"{self._model(name)}/rename", {"new_name": new_name, **fields})

    def describe_model(self, name: str, description: str, **fields: Any) -> dict[str, Any]:
        """Sets a model's description."""
        return self._call("PATCH", self._model(name), {"description": description, **fields})

    def tag_model(self, name: str, key: str, value: str, **fields: Any) -> dict[str, Any]:
        """Sets tag key of a model to value."""
        path = f"{self._model(name)}/tags/{seg(key)}"
        return self._call("PUT", path, {"value": value, **fields})

    def untag_model(self, name: str, key: str) -> dict[str, Any]:
        """Removes tag key from a model."""
        return self._call("DELETE", f"{self._model(name)}/tags/{seg(key)}")

    def delete_model(self, name: str) -> dict[str, Any]:
        """Deletes a model and frees its name; its history stays in the log."""
        return self._call("DELETE", self._model(name))

    # -- versions ----------------------------------------------------------------------

    def register_version(self, name: str, artifact_uri: str, **fields: Any) -> dict[str, Any]:
        """Registers the next version of model name, referring to artifact_uri."""
        body = {"artifact_uri": artifact_uri, **fields}
        return self._call("POST", f"{self._model(name)}/versions", body)

    def get_version(self, name: str, number: int) -> dict[str, Any]:
        """Version number of model name."""
        return self._one("version", "GET", self._version(name, number))

    def resolve(self, name: str, alias: str) -> dict[str, Any]:
        """The version alias points at."""
        return self._one("version", "GET", f"{self._model(name)}/aliases/{seg(alias)}")

    def list_versions(
        self,
        name: str,
        stage: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
        filter: str | None = None,
        order_by: str | None = None,
    ) -> dict[str, Any]:
        """One page of a model's versions: {"versions": [...], "next_page_token": ...}."""
        params = {
            "limit": limit,
            "page_token": page_token,
            "stage": stage,
            "filter": filter,
            "order_by": order_by,
        }
        return self._rows("versions", f"{self._model(name)}/versions", params)

    def iter_versions(
        self,
        name: str,
        stage: str | None = None,
        filter: str | None = None,
        order_by: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every version of a model (in stage, matching filter), page after page."""
        return _every(
            "versions",
            lambda token: self.list_versions(name, stage, MAX_PAGE, token, filter, order_by),
        )

    def search_versions(
        self,
        filter: str | None = None,
        order_by: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """One page of versions of every model: {"versions": [...], "next_page_token": ...}."""
        params = {"limit": limit, "page_token": page_token, "filter": filter, "order_by": order_by}
        return self._rows("versions", "/api/v1/versions", params)

    def iter_search_versions(
        self, filter: str | None = None, order_by: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every version of every model matching filter, page after page."""
        return _every(
            "versions", lambda token: self.search_versions(filter, order_by, MAX_PAGE, token)
        )

    def describe_version(
        self, name: str, number: int, description: str, **fields: Any
    ) -> dict[str, Any]:
        """Sets a version's description."""
        body = {"description": description, **fields}
        return self._call("PATCH", self._version(name, number), body)

    def tag_version(
        self, name: str, number: int, key: str, value: str, **fields: Any
    ) -> dict[str, Any]:
        """Sets tag key of a version to value."""
        path = f"{self._version(name, number)}/tags/{seg(key)}"
        return self._call("PUT", path, {"value": value, **fields})

    def untag_version(self, name: str, number: int, key: str) -> dict[str, Any]:
        """Removes tag key from a version."""
        return self._call("DELETE", f"{self._version(name, number)}/tags/{seg(key)}")

    def delete_version(self, name: str, number: int) -> dict[str, Any]:
        """Deletes a version; its number is never reused and its history stays."""
        return self._call("DELETE", self._version(name, number))

    def record_metrics(
        self, name: str, number: int, metrics: dict[str, float], **fields: Any
    ) -> dict[str, Any]:
        """Adds or overwrites metrics of a version."""
        path = f"{self._version(name, number)}/metrics"
        return self._call("POST", path, {"metrics": metrics, **fields})

    def link_lineage(
        self, name: str, number: int, references: list[dict[str, str]], **fields: Any
    ) -> dict[str, Any]:
        """Links a version to what it came from: [{"kind", "id", "relation"}, ...]."""
        path = f"{self._version(name, number)}/lineage"
        return self._call("POST", path, {"references": references, **fields})

    # -- history -----------------------------------------------------------------------

    def stage_as_of(self, name: str, stage: str, as_of: str | None = None) -> dict[str, Any]:
        """Which version(s) held stage at as_of (now if None), who promoted and approved."""
        params = _present({"as_of": as_of})
        return self._call("GET", f"{self._model(name)}/stages/{seg(stage)}", params=params)

    def timeline(
        self, name: str, limit: int = 100, page_token: int | None = None
    ) -> dict[str, Any]:
        """One page of what happened to a model, newest first: {"events", "next_page_token"}."""
        params = {"limit": limit, "page_token": page_token}
        return self._rows("events", f"{self._model(name)}/timeline", params)

    def iter_timeline(self, name: str) -> Iterator[dict[str, Any]]:
        """Everything that happened to a model, newest first, page after page."""
        return _every("events", lambda token: self.timeline(name, MAX_PAGE, token))

    # -- reviews, stages and aliases -----------------------------------------------------

    def request_approval(self, name: str, number: int, stage: str, **fields: Any) -> dict:
        """Asks for sign-off to promote a version to stage (staging or production)."""
        return self._call(
            "POST", f"{self._version(name, number)}/approvals", {"stage": stage, **fields}
        )

    def review(
        self, name: str, number: int, request_id: str, decision: str, **fields: Any
    ) -> dict[str, Any]:
        """decision is approve, reject or withdraw."""
        path = f"{self._version(name, number)}/approvals/{seg(request_id)}/{decision}"
        return self._call("POST", path, fields)

    def promote(self, name: str, number: int, stage: str, **fields: Any) -> dict[str, Any]:
        """Promotes a version to stage; needs an approved request for that stage."""
        return self._call(
            "POST", f"{self._version(name, number)}/promote", {"stage": stage, **fields}
        )

    def publish_policy(self, document: str, **fields: Any) -> dict[str, Any]:
        """Makes document (YAML: CEL gates per stage) the promotion policy in force."""
        return self._call("POST", "/api/v1/policies", {"document": document, **fields})

    def policies(self, as_of: str | None = None) -> dict[str, Any]:
        """Every promotion policy version, newest first, and the one in force (at as_of)."""
        return self._call("GET", "/api/v1/policies", params=_present({"as_of": as_of}))

    def archive(self, name: str, number: int, **fields: Any) -> dict[str, Any]:
        """Retires a version; its aliases are removed."""
        return self._call("POST", f"{self._version(name, number)}/archive", fields)

    def set_alias(self, name: str, alias: str, number: int, **fields: Any) -> dict[str, Any]:
        """Points alias of model name at version number."""
        return self._call(
            "PUT", f"{self._model(name)}/aliases/{seg(alias)}", {"version": number, **fields}
        )

    def protect_alias(self, name: str, alias: str, protected: bool = True) -> dict[str, Any]:
        """Marks alias of model name protected (moves only through an approved request)."""
        path = f"{self._model(name)}/aliases/{seg(alias)}/protection"
        return self._call("PUT", path, {"protected": protected})

    def request_alias_approval(
        self, name: str, number: int, alias: str, **fields: Any
    ) -> dict[str, Any]:
        """Asks for sign-off to point a protected alias at version number."""
        path = f"{self._version(name, number)}/alias-approvals"
        return self._call("POST", path, {"alias": alias, **_present(fields)})

    def remove_alias(self, name: str, alias: str) -> dict[str, Any]:
        """Removes alias from model name."""
        return self._call("DELETE", f"{self._model(name)}/aliases/{seg(alias)}")

    # -- artefacts ---------------------------------------------------------------------

    def collect_garbage(
        self, apply: bool = False, grace_hours: float | None = None
    ) -> dict[str, Any]:
        """The stored objects that no version references (deleted versions still do) and
        that are older than grace_hours (None: the registry's setting); removed only with
        apply. Answers {applied, would_remove or removed: [{sha256, size, modified}],
        kept_young, referenced, bytes}."""
        body = {"apply": apply, "grace_hours": grace_hours}
        return self._call("POST", "/api/v1/artifacts/gc", body)


def _every(key: str, fetch: Callable[[Any], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The rows under key of every page, fetch(token) after fetch(token)."""
    token = None
    while True:
        page = fetch(token)
        yield from page[key]
        following = page.get("next_page_token")
        if following is None:
            return
        if following == token:  # would never end
            raise BadReply(200, f"the registry sent the same page token twice: {token!r}")
        token = following
