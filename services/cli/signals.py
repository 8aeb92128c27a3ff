"""What the single-role commands share: their runtime, and running until a signal."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from registrum.cli import output
from services.bootstrap import NotConfigured, Runner, Runtime
from services.cli.observe import observe
from services.settings import Settings

log = logging.getLogger("registrum")


@contextmanager
def runtime(role: str | None = None, **overrides: Any) -> Iterator[Runtime]:
    """The runtime of one role, from REGISTRUM_* settings (and overrides); a missing
    service is a one-line error, exit 1. A long-running role (named) has its logs (JSON or
    console) and traces set up first; other commands log as the standard library does."""
    settings = Settings(**overrides)
    if role is not None:
        observe(settings, role)
    else:
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    with Runtime(settings) as running:
        try:
            yield running
        except NotConfigured as exc:
            output.error(str(exc))
            raise typer.Exit(1) from None


def say(line: str) -> None:
    """A role's start-up line, in its log."""
    log.info("%s", line)


def until_signal(main: Runner) -> None:
    """Runs main(stop) until SIGINT/SIGTERM sets stop."""

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(run())
