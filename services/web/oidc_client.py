"""The console's client at the organisation's identity provider: its configuration from
the settings, the provider's discovery document (cached), and the exchange of an
authorization code for tokens. Every failure is an IdpError saying what went wrong,
for the sign-in page to show; no secret is ever in one."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlsplit

import httpx

if TYPE_CHECKING:
    from services.settings import Settings

DISCOVERY_SECONDS = 3600.0  # providers change endpoints rarely; keys are fetched apart
TIMEOUT_SECONDS = 5.0
_MAX_DESCRIPTION = 200


class IdpError(Exception):
    """The identity provider could not be reached or refused (refused=True: it answered
    and said no, e.g. invalid_grant; False: unreachable or not making sense)."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.refused = refused


@dataclass(frozen=True)
class LoginConfig:
    """The console as a client of the issuer: its client id (and secret, when the
    provider holds it as a confidential client), the scopes it asks for, the audience
    the registry's Authenticator accepts, and the public URL its callback is at (None:
    derived from each request)."""

    issuer: str
    client_id: str
    audience: str
    scopes: str = "openid profile email"
    client_secret: str | None = field(default=None, repr=False)
    public_url: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginConfig | None:
        """None unless REGISTRUM_OIDC_CLIENT_ID is set; ValueError naming the key when
        what it needs is missing or malformed."""
        if not settings.oidc_client_id:
            return None
        if not settings.oidc_issuer or not settings.oidc_audience:
            raise ValueError(
                "REGISTRUM_OIDC_CLIENT_ID needs REGISTRUM_OIDC_ISSUER and "
                "REGISTRUM_OIDC_AUDIENCE: the console signs people in with tokens the API "
                "accepts"
            )
        if "openid" not in settings.oidc_scopes.split():
            raise ValueError("REGISTRUM_OIDC_SCOPES must include openid")
        public_url = settings.public_url
        if public_url is not None:
            parts = urlsplit(public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
                raise ValueError(
                    "REGISTRUM_PUBLIC_URL is the console's address as browsers reach it, "
                    "e.g. https://registry.example.com"
                )
            public_url = public_url.rstrip("/")
        secret = settings.oidc_client_secret
        return cls(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            audience=settings.oidc_audience,
            scopes=settings.oidc_scopes,
            client_secret=secret.get_secret_value() if secret else None,
            public_url=public_url,
        )


@dataclass(frozen=True)
class Endpoints:
    """What the console needs of a provider's discovery document."""

    authorization: str
    token: str
    auth_methods: tuple[str, ...]


class IdentityProvider:
    """The issuer's endpoints (discovery cached for DISCOVERY_SECONDS; a failure is not
    cached, so the next sign-in tries again) and the code exchange. A new HTTP client per
    call: sign-ins are rare, and none outlives the event loop that made it."""

    def __init__(
        self,
        config: LoginConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._transport = transport
        self._endpoints: Endpoints | None = None
        self._until = 0.0

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=self._transport)

    async def endpoints(self) -> Endpoints:
        if self._endpoints is not None and self._clock() < self._until:
            return self._endpoints
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            async with self._client() as http:
                answer = await http.get(url, headers={"Accept": "application/json"})
            answer.raise_for_status()
            document = answer.json()
        except httpx.HTTPError as error:
            raise IdpError(
                f"the identity provider's configuration could not be fetched ({_what(error)})"
            ) from None
        except ValueError:
            raise IdpError("the identity provider's configuration is not JSON") from None
        self._endpoints = self._read(document)
        self._until = self._clock() + DISCOVERY_SECONDS
        return self._endpoints

    def _read(self, document: Any) -> Endpoints:
        if not isinstance(document, dict):
            raise IdpError("the identity provider's configuration is not a JSON object")
        # OIDC Discovery 4.3: the document must name the very issuer it was fetched for.
        if document.get("issuer") != self.config.issuer:
            raise IdpError(
                "the identity provider's configuration names another issuer than "
                "REGISTRUM_OIDC_ISSUER"
            )
        endpoints = []
        for key in ("authorization_endpoint", "token_endpoint"):
            value = document.get(key)
            if not isinstance(value, str) or not _same_security(value, self.config.issuer):
                raise IdpError(f"the identity provider's {key} is missing or not a URL")
            endpoints.append(value)
        methods = document.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise IdpError("the identity provider does not support PKCE with S256")
        auth = document.get("token_endpoint_auth_methods_supported")
        return Endpoints(
            authorization=endpoints[0],
            token=endpoints[1],
            auth_methods=tuple(a for a in auth if isinstance(a, str))
            if isinstance(auth, list)
            else ("client_secret_basic",),  # the default, per OIDC Discovery
        )

    async def exchange(self, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """The token response for code (RFC 6749 4.1.3, with RFC 7636's verifier)."""
        endpoints = await self.endpoints()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json"}
        secret = self.config.client_secret
        if secret is not None and "client_secret_basic" in endpoints.auth_methods:
            # RFC 6749 2.3.1: each part form-encoded before base64.
            pair = f"{quote_plus(self.config.client_id)}:{quote_plus(secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_id"] = self.config.client_id
            if secret is not None:
                form["client_secret"] = secret
        try:
            async with self._client() as http:
                answer = await http.post(endpoints.token, data=form, headers=headers)
        except httpx.HTTPError as error:
            raise IdpError(
                f"the identity provider's token endpoint could not be reached ({_what(error)})"
            ) from None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise IdpError(f"the identity provider's token endpoint answered {answer.status_code}")
        if answer.status_code != 200 or "error" in body:
            raise IdpError(
                "the identity provider refused the sign-in: " + describe(body), refused=True
            )
        return body


def describe(answer: Any) -> str:
    """An OAuth error (error, error_description) as one short line."""
    error = str(answer.get("error") or "unknown error")[:64]
    description = answer.get("error_description")
    if isinstance(description, str) and description.strip():
        return f"{error} ({description.strip()[:_MAX_DESCRIPTION]})"
    return error


def _same_security(url: str, issuer: str) -> bool:
    # An https issuer's endpoints are https too; a plain-http issuer (a laptop's test
    # provider) was the operator's choice, and its endpoints may be http.
    parts = urlsplit(url)
    allowed = ("https",) if urlsplit(issuer).scheme == "https" else ("https", "http")
    return parts.scheme in allowed and bool(parts.netloc)


def _what(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    return type(error).__name__
