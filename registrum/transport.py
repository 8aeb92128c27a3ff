"""HTTP to one registry: JSON in and out, typed errors, read-your-writes headers.

Every way a call can fail ends as a RegistrumError subclass (errors.py); no httpx
exception and no JSON decoding error reaches the caller.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import httpx

from registrum.errors import (
    BadReply,
    Forbidden,
    InvalidInput,
    RegistrumError,
    Unauthenticated,
    Unreachable,
)

# What a proxy or load balancer answers when the registry behind it is down.
GATEWAY_STATUSES = (502, 503, 504)
CONSISTENCIES = ("session", "head", "none")


def reply_object(response: httpx.Response) -> dict[str, Any] | None:
    """The reply's JSON object, or None when it is not one."""
    try:
        payload = response.json()
    except ValueError:  # not JSON, or not UTF-8
        return None
    return payload if isinstance(payload, dict) else None


def refusal(response: httpx.Response) -> RegistrumError:
    """The typed error in a registry's error reply; else what the reply says it is."""
    payload = reply_object(response) or {}
    error = payload.get("error")
    status = response.status_code
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        message = error.get("message")
        kind = (
            Unauthenticated
            if status == 401
            else Forbidden
            if error["code"] == "forbidden"
            else RegistrumError
        )
        return kind(
            status,
            error["code"],
            message if isinstance(message, str) else response.reason_phrase,
            error.get("details"),
        )
    mlflow_code, mlflow_message = payload.get("error_code"), payload.get("message")
    if isinstance(mlflow_code, str) and isinstance(mlflow_message, str):
        # The MLflow-compatible API's shape (/api/2.0/mlflow: webhooks, the test fire).
        if status == 401:
            return Unauthenticated(status, "unauthenticated", mlflow_message)
        if status == 403:
            return Forbidden(status, "forbidden", mlflow_message)
        return RegistrumError(status, mlflow_code.lower(), mlflow_message)
    where = str(response.request.url.copy_with(query=None))
    if status in GATEWAY_STATUSES:
        return Unreachable(
            f"{where} answered HTTP {status} {response.reason_phrase} in the registry's place "
            "(a proxy or gateway): the registry behind it is down or unreachable",
            status=status,
        )
    return BadReply(status, f"{where} answered HTTP {status} {_kind(response)}: is it a registry?")


def _kind(response: httpx.Response) -> str:
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    return f"with {kind}, not a registry's JSON" if kind else "without a registry's JSON"


def member(payload: dict[str, Any], key: str, url: str) -> Any:
    """payload[key], or BadReply naming what is missing."""
    if key not in payload:
        raise BadReply(200, f"{url} answered without {key!r}: is it a registry?")
    return payload[key]


def bearer(token: str | None) -> dict[str, str]:
    """The Authorization header for token (none without one). A token is one word of
    visible ASCII; anything else is refused without being echoed (it may be a secret)."""
    if token is None:
        return {}
    if not token or not all("!" <= ch <= "~" for ch in token):
        raise InvalidInput(
            "the token is empty or holds spaces, control or non-ASCII characters: "
            "an API token is one word (rgm_...)",
            "invalid_token",
        )
    return {"Authorization": f"Bearer {token}"}


class Transport:
    """One HTTP connection pool to one registry.

    token: the credential sent as `Authorization: Bearer <token>` (an API token or an
    OIDC JWT); None sends none.

    consistency: how reads relate to writes. "session" reads at least what this
    transport wrote; "head" reads at least everything written before the read;
    "none" reads whatever the views show now.
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        timeout: float,
        consistency: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if consistency not in CONSISTENCIES:
            raise ValueError("consistency is session, head or none")
        self.url = url.rstrip("/")
        self.consistency = consistency
        self.position = 0  # of the last command sent through this transport
        headers = bearer(token)
        try:
            self._http = httpx.Client(
                base_url=self.url, headers=headers, timeout=timeout, transport=transport
            )
        except httpx.InvalidURL as exc:
            raise InvalidInput(f"{url!r} is not a URL: {exc}", "invalid_url") from None

    def close(self) -> None:
        """Closes the connections to the registry."""
        self._http.close()

    def _read_headers(self) -> dict[str, str]:
        if self.consistency == "head":
            return {"X-Registrum-Min-Position": "head"}
        if self.consistency == "session" and self.position:
            return {"X-Registrum-Min-Position": str(self.position)}
        return {}

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        content: Iterator[bytes] | None = None,
        accept: Collection[int] = (),
    ) -> dict[str, Any]:
        """One request; the reply's JSON object, or a RegistrumError (unless its status is
        a success or in accept)."""
        headers = self._read_headers() if method == "GET" else {}
        if content is not None:
            headers["Content-Type"] = "application/octet-stream"
        try:
            response = self._http.request(
                method, path, json=body, params=params, headers=headers, content=content
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            self._failed(exc)
        if not response.is_success and response.status_code not in accept:
            raise refusal(response)
        payload = reply_object(response)
        if payload is None:
            raise BadReply(
                response.status_code,
                f"{self.url}{path} answered HTTP {response.status_code} {_kind(response)}: "
                "is it a registry?",
            )
        position = payload.get("position")
        if method != "GET" and isinstance(position, int):
            self.position = max(self.position, position)
        return payload

    def text(self, path: str, params: dict[str, Any], media_type: str) -> str:
        """GET path as a document (Markdown, HTML) of media_type; a RegistrumError else."""
        try:
            response = self._http.get(path, params=params, headers=self._read_headers())
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            self._failed(exc)
        if not response.is_success:
            raise refusal(response)
        if response.headers.get("content-type", "").split(";")[0].strip() != media_type:
            raise BadReply(
                response.status_code,
                f"{self.url}{path} answered {_kind(response)}, not {media_type}: is it a registry?",
            )
        return response.text

    @contextmanager
    def stream(self, path: str, what: str) -> Iterator[Iterator[bytes]]:
        """The body of GET path, streamed; `what` names it in errors."""
        try:
            with self._http.stream("GET", path) as response:
                if not response.is_success:
                    response.read()
                    raise refusal(response)
                yield response.iter_bytes()
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            self._failed(exc, what)

    def _failed(self, exc: Exception, what: str = "") -> NoReturn:
        prefix = f"{what}: " if what else ""
        if isinstance(exc, httpx.UnsupportedProtocol):
            raise InvalidInput(f"{self.url}: a registry's URL starts with http:// or https://")
        if isinstance(exc, httpx.InvalidURL):
            raise InvalidInput(f"{prefix}the request's URL is too long or malformed: {exc}")
        if isinstance(exc, httpx.TimeoutException):
            raise Unreachable(f"{prefix}{self.url} did not answer in time ({type(exc).__name__})")
        raise Unreachable(f"{prefix}cannot reach {self.url}: {exc or type(exc).__name__}")
