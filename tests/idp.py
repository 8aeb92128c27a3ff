"""A pretend OpenID provider over real HTTP on 127.0.0.1, for the console's sign-in:
discovery, a JWKS, an authorization endpoint that signs its user in at once and sends the
browser straight back with a code, and a token endpoint that holds a client to what a
real provider does (its credentials, the redirect URI, the PKCE verifier, one use per
code) and answers with tokens minted by tests/jwts.py."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from tests.jwts import signer

CLIENT_ID = "registrum-console"
CLIENT_SECRET = "s3cret: with / odd + characters"  # RFC 6749 2.3.1 form-encoding matters


@dataclass
class Grant:
    """What the authorization endpoint was asked, kept under the code it gave."""

    client_id: str
    redirect_uri: str
    challenge: str
    method: str
    nonce: str
    scope: str


@dataclass
class Behaviour:
    """How the provider answers; tests change it, `reset` puts it back."""

    deny: str | None = None  # an OAuth error the authorization endpoint answers with
    id_claims: dict[str, Any] = field(default_factory=dict)  # overrides in the id_token
    access_claims: dict[str, Any] = field(default_factory=dict)
    access_audience: str | None = None  # None: an opaque access token


class PretendIdp:
    """Serves until stop(); `issuer` is its base URL, `token_requests` every form the
    token endpoint was sent (with how the client authenticated), newest last."""

    def __init__(self, *, client_secret: str | None = CLIENT_SECRET) -> None:
        self.client_secret = client_secret
        self.behaviour = Behaviour()
        self.grants: dict[str, Grant] = {}
        self.token_requests: list[dict[str, str]] = []
        self.issued: list[dict[str, Any]] = []
        self.signer = signer("rsa")
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query))
                if parts.path == "/.well-known/openid-configuration":
                    self._json(200, idp.discovery())
                elif parts.path == "/certs":
                    self._json(200, {"keys": [idp.signer.jwk()]})
                elif parts.path == "/authorize":
                    self._redirect(idp.authorize(query))
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                status, body = idp.token(form, self.headers.get("Authorization"))
                self._json(status, body)

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self.jwks_url = f"{self.issuer}/certs"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def reset(self) -> None:
        self.behaviour = Behaviour()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # -- the endpoints ------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": self.jwks_url,
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def authorize(self, query: dict[str, str]) -> str:
        """The Location the browser is sent back to (the user is signed in at once)."""
        back = query["redirect_uri"]
        answer: dict[str, str] = {"state": query.get("state", "")}
        if self.behaviour.deny:
            answer |= {"error": self.behaviour.deny, "error_description": "the user said no"}
        elif query.get("response_type") != "code" or query.get("client_id") != CLIENT_ID:
            answer |= {"error": "unauthorized_client"}
        else:
            code = secrets.token_urlsafe(16)
            self.grants[code] = Grant(
                client_id=query["client_id"],
                redirect_uri=back,
                challenge=query.get("code_challenge", ""),
                method=query.get("code_challenge_method", "plain"),
                nonce=query.get("nonce", ""),
                scope=query.get("scope", ""),
            )
            answer["code"] = code
        return f"{back}?{urlencode(answer)}"

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        self.token_requests.append({**form, "authorization": authorization or ""})
        client_id, secret = _client(form, authorization)
        if client_id != CLIENT_ID or (
            self.client_secret is not None and secret != self.client_secret
        ):
            return 401, {"error": "invalid_client"}
        grant = self.grants.pop(form.get("code", ""), None)  # a code serves once
        if grant is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant", "error_description": "unknown code"}
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        verifier = form.get("code_verifier", "")
        if grant.method != "S256" or _s256(verifier) != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        now = time.time()
        id_claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "nonce": grant.nonce,
            "groups": ["Testers"],
            **self.behaviour.id_claims,
        }
        tokens: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.signer.mint(now, **id_claims),
        }
        if self.behaviour.access_audience is None:
            tokens["access_token"] = secrets.token_urlsafe(24)  # opaque
        else:
            tokens["access_token"] = self.signer.mint(
                now,
                iss=self.issuer,
                aud=self.behaviour.access_audience,
                sub="Alice",
                name="Alice Liddell",
                groups=["Testers"],
                **self.behaviour.access_claims,
            )
        self.issued.append(tokens)
        return 200, tokens


def _client(form: dict[str, str], authorization: str | None) -> tuple[str | None, str | None]:
    """The client id and secret, from HTTP Basic (form-encoded parts) or the form."""
    if authorization and authorization.startswith("Basic "):
        pair = base64.b64decode(authorization[6:]).decode()
        client_id, _, secret = pair.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)
    return form.get("client_id"), form.get("client_secret")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
