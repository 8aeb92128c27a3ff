"""The OIDC verifier against a real JWKS endpoint: an HTTP server on 127.0.0.1, reached by
the verifier's own httpx client. Time is still a fake clock, so the ten-second refetch
limit and the five-minute refresh need no waiting."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from services.auth.identity import Unauthenticated
from services.auth.oidc import OidcConfig, OidcVerifier
from tests.jwts import AUDIENCE, ISSUER, signer

T0 = 1_750_000_000.0


class JwksServer:
    """Serves {"keys": [...]} for the named signers at /certs until stopped."""

    def __init__(self, *names: str) -> None:
        self.names = list(names)
        self.requests = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.requests += 1
                body = json.dumps({"keys": [signer(n).jwk() for n in jwks.names]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/certs"
        # A short poll so stopping takes milliseconds, not the default half second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        self.running = True

    def stop(self) -> None:
        """Down for good: the port refuses connections from now on."""
        if self.running:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self.running = False


@pytest.fixture
def server() -> Iterator[JwksServer]:
    jwks = JwksServer("rsa")
    yield jwks
    jwks.stop()


class Clock:
    now = T0

    def __call__(self) -> float:
        return self.now


def verifier(url: str, clock: Clock) -> OidcVerifier:
    config = OidcConfig(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_url=url,
        public_key_pem=None,
        algorithms=("RS256", "ES256"),
    )
    return OidcVerifier(config, clock=clock)  # its own httpx client: the real path


def test_a_rotated_key_is_picked_up_without_a_restart(server: JwksServer) -> None:
    clock = Clock()
    check = verifier(server.url, clock)

    async def scenario() -> None:
        assert (await check.verify(signer("rsa").mint(clock.now))).subject == "alice"
        # The provider rotates to a new key under a new kid.
        server.names = ["rsa-next"]
        clock.now += 15
        assert (await check.verify(signer("rsa-next").mint(clock.now))).subject == "alice"
        await check.aclose()

    asyncio.run(scenario())
    assert server.requests == 2


def test_with_the_server_down_the_cached_key_still_verifies(server: JwksServer) -> None:
    clock = Clock()
    check = verifier(server.url, clock)

    async def scenario() -> None:
        await check.verify(signer("rsa").mint(clock.now))
        server.stop()
        # Past the refresh period: the fetch fails, the keys already held still serve.
        clock.now += 600
        assert (await check.verify(signer("rsa").mint(clock.now, sub="Bob"))).subject == "bob"
        await check.aclose()

    asyncio.run(scenario())


def test_with_the_server_down_and_nothing_cached_keys_are_unavailable(
    server: JwksServer,
) -> None:
    server.stop()
    check = verifier(server.url, Clock())

    async def scenario() -> str:
        try:
            with pytest.raises(Unauthenticated) as refusal:
                await check.verify(signer("rsa").mint(T0))
            return refusal.value.reason
        finally:
            await check.aclose()

    assert asyncio.run(scenario()) == "keys_unavailable"
