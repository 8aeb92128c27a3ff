"""What every user command shares: the global options, and running one SDK call."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer

from registrum.cli import output
from registrum.cli.failures import Usage
from registrum.client import Client

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass
class Options:
    """--url, --as and --json, from the command line or the environment."""

    url: str
    actor: str | None
    json: bool

    def client(self) -> Client:
        if not self.url.startswith(("http://", "https://")):
            raise Usage(f"the registry's URL starts with http:// or https://, not {self.url!r}")
        # Each CLI run is a new process: read at least what anyone wrote before it.
        return Client(self.url, self.actor, consistency="head")


def who_am_i() -> str | None:
    """The login name, or None where the system has none (a container's bare uid)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def options(ctx: typer.Context) -> Options:
    found = ctx.find_object(Options)
    return found if found is not None else Options(DEFAULT_URL, who_am_i(), False)


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
