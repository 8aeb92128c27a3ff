"""What every user command shares: the global options, and running one SDK call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer

from registrum import credentials
from registrum.cli import output
from registrum.cli.failures import Usage
from registrum.client import Client

DEFAULT_URL = credentials.DEFAULT_URL


@dataclass
class Options:
    """--url, --profile and --json, from the command line or the environment (None: not
    given). The credential is resolved when a command first needs a client."""

    url: str | None = None
    profile: str | None = None
    json: bool = False
    # Where the token of the last client came from (for messages; never the token).
    source: str | None = None

    def credential(self) -> credentials.Credential:
        found = credentials.resolve(self.url, self.profile)
        check_url(found.url)
        self.source = found.source
        return found

    def client(self) -> Client:
        found = self.credential()
        return client_for(found.url, found.token)


def client_for(url: str, token: str | None) -> Client:
    # Each CLI run is a new process: read at least what anyone wrote before it.
    return Client(url, token, consistency="head")


def check_url(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise Usage(f"the registry's URL starts with http:// or https://, not {url!r}")


def options(ctx: typer.Context) -> Options:
    found = ctx.find_object(Options)
    return found if found is not None else Options()


def run(
    ctx: typer.Context,
    call: Callable[[Client], Any],
    show: Callable[[Any], None] | None = None,
) -> Any:
    """Runs call with a client, then prints its result: JSON with --json, else show().
    Failures are raised to the group, which reports them (failures.py)."""
    opts = options(ctx)
    with opts.client() as client:
        result = call(client)
    if opts.json:
        output.emit_json(result)
    elif show is not None:
        show(result)
    return result
