"""A scripted registry behind httpx.MockTransport, for unit tests of the SDK and the CLI
(no server, no network): each route answers what the test says, and every request is kept
so a test can show what was sent, or that nothing was."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from registrum import Client
from registrum.cli import context
from registrum.cli.main import app

URL = "http://registry.test"
TOKEN = "rgm_abcdefghijkl_s3cr3t-for-tests"
Answer = Callable[[httpx.Request], httpx.Response]


def refusal(status: int, code: str, message: str) -> Answer:
    """The registry's typed error."""
    body = {"error": {"code": code, "message": message, "details": {}}}
    return lambda request: httpx.Response(status, json=body)


def ok(payload: Any, status: int = 200) -> Answer:
    return lambda request: httpx.Response(status, json=payload)


def raw(status: int, content: bytes, content_type: str) -> Answer:
    return lambda request: httpx.Response(
        status, content=content, headers={"Content-Type": content_type}
    )


def fails(error: type[httpx.TransportError], message: str) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        raise error(message, request=request)

    return answer


class ScriptedRegistry:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Answer] = {}

    def on(self, method: str, path: str, answer: Answer) -> None:
        self.routes[(method, path)] = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.routes.get((request.method, request.url.path))
        if answer is None:
            return refusal(404, "not_found", f"no route {request.url.path}")(request)
        return answer(request)

    def client(self, **kwargs: Any) -> Client:
        return Client(URL, transport=httpx.MockTransport(self), **kwargs)


@contextmanager
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedRegistry]:
    """The CLI's clients talk to a fresh ScriptedRegistry."""
    fake = ScriptedRegistry()
    monkeypatch.setattr(context, "Client", partial(Client, transport=httpx.MockTransport(fake)))
    yield fake


def run_cli(
    *args: str,
    debug: bool = True,
    stdin: str | None = None,
    token: str | None = TOKEN,
    url: str | None = URL,
    env: dict[str, str | None] | None = None,
) -> Result:
    """`REGISTRUM_TOKEN=TOKEN registrum --url URL ARGS...`; with debug, an unexpected
    exception is raised in the test instead of being reported as an internal error.
    token=None sends none from the environment; url=None gives no --url."""
    settings: dict[str, str | None] = {
        "COLUMNS": "200",
        "REGISTRUM_DEBUG": "1" if debug else None,
        "REGISTRUM_TOKEN": token,
        "REGISTRUM_URL": None,
        "REGISTRUM_PROFILE": None,
        **(env or {}),
    }
    argv: Sequence[str] = [*(["--url", url] if url else []), *args]
    return CliRunner().invoke(app, argv, env=settings, input=stdin, catch_exceptions=not debug)
