"""What a follower process shows on its operations endpoint (services/observability/ops.py):
ready when its databases answer; and, measured when /metrics is scraped, how far each
view (projector) and relay lag behind the log, the intake's consumer lag, and the webhook
deliveries pending and failed.

Each role process serves REGISTRUM_OPS_PORT (0: none); `registrum serve`'s followers'
process serves it only when it is set, so two `serve`s on one machine never contend for
the default port (the API's own /metrics is on REGISTRUM_PORT)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from services.bootstrap import Runner, Runtime
from services.bus.probe import TopicProbe
from services.bus.security import server_security
from services.bus.topics import COMMANDS, INTAKE_GROUP
from services.catalogue import lag
from services.eventlog import reading
from services.observability import metrics
from services.observability.ops import ops_app, serve_ops
from services.settings import Settings
from services.webhooks import queue

log = logging.getLogger(__name__)

Measure = Callable[[], Awaitable[None]]


async def _connect(url: str) -> asyncpg.Connection:
    settings = {"application_name": "registrum-ops"}
    return await asyncpg.connect(url, server_settings=settings, timeout=3)


async def views_lag(read_url: str, events_url: str) -> None:
    """Sets the projector's lag gauges, per view (as /health reports them)."""
    for view, behind in (await _lags(read_url, events_url, lag.views)).items():
        metrics.PROJECTOR_LAG_EVENTS.labels(view).set(behind["events"])
        metrics.PROJECTOR_LAG_SECONDS.labels(view).set(behind["seconds"])


async def relays_lag(read_url: str, events_url: str) -> None:
    """Sets the relay's lag gauges, per relay (its row in relay_positions)."""
    for name, behind in (await _lags(read_url, events_url, lag.relays)).items():
        metrics.RELAY_LAG_EVENTS.labels(name).set(behind["events"])
        metrics.RELAY_LAG_SECONDS.labels(name).set(behind["seconds"])


async def _lags(
    read_url: str,
    events_url: str,
    measure: Callable[[asyncpg.Connection, int], Awaitable[dict[str, dict[str, Any]]]],
) -> dict[str, dict[str, Any]]:
    head = await _head(events_url)
    conn = await _connect(read_url)
    try:
        return await measure(conn, head)
    finally:
        await conn.close()


async def _head(events_url: str) -> int:
    conn = await _connect(events_url)
    try:
        return await reading.head(conn)
    finally:
        await conn.close()


async def webhook_deliveries(read_url: str) -> None:
    """Sets the webhook deliveries gauge: how many are pending and failed."""
    conn = await _connect(read_url)
    try:
        found = await queue.counts(conn)
    finally:
        await conn.close()
    for status, count in found.items():
        metrics.WEBHOOK_DELIVERIES.labels(status).set(count)


class IntakeLag:
    """Sets the intake's consumer lag gauge, per partition of registry.commands."""

    def __init__(self, probe: TopicProbe) -> None:
        self.probe = probe

    async def __call__(self) -> None:
        for partition, behind in (await self.probe.lag(INTAKE_GROUP)).items():
            metrics.INTAKE_LAG.labels(str(partition)).set(behind)


def measures(runtime: Runtime, roles: list[str]) -> tuple[list[Measure], list[TopicProbe]]:
    """What /metrics measures for these roles, and the probes to close afterwards."""
    read, events = runtime.read_url, runtime.events_url
    found: list[Measure] = []
    probes: list[TopicProbe] = []
    if "projector" in roles:
        found.append(lambda: views_lag(read, events))
    if "relay" in roles or "webhooks" in roles:
        found.append(lambda: relays_lag(read, events))  # webhooks keep a relay's position
    if "webhooks" in roles:
        found.append(lambda: webhook_deliveries(read))
    if "intake" in roles and runtime.kafka_bootstrap is not None:
        probe = TopicProbe(
            runtime.kafka_bootstrap, COMMANDS, security=server_security(runtime.settings)
        )
        probes.append(probe)
        found.append(IntakeLag(probe))
    return found, probes


def ops_port(settings: Settings, *, in_serve: bool) -> int:
    """The port to serve, 0 for none (see the module's docstring)."""
    if in_serve and "ops_port" not in settings.model_fields_set:
        return 0
    return settings.ops_port


def with_ops(
    runtime: Runtime, main: Runner, roles: list[str], port: int, started: Callable[[int], None]
) -> Runner:
    """main, with the operations endpoint on port beside it (just main when port is 0)."""
    if port == 0:
        return main
    found, probes = measures(runtime, roles)
    urls = {runtime.read_url, runtime.events_url}

    async def ready() -> tuple[bool, dict[str, Any]]:
        for url in urls:
            conn = await _connect(url)
            await conn.close()
        return True, {"roles": roles}

    async def refresh() -> None:
        outcomes = await asyncio.gather(*(m() for m in found), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                log.warning("a lag measure failed: %s", outcome)

    app = ops_app(ready, refresh)

    async def run(stop: asyncio.Event) -> None:
        serving = asyncio.ensure_future(serve_ops(runtime.settings.host, port, app, stop, started))
        try:
            await main(stop)
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await serving
            for probe in probes:
                with contextlib.suppress(Exception):
                    await probe.close()

    return run


def announce(role: str) -> Callable[[int], None]:
    def started(port: int) -> None:
        log.info("%s: operations endpoint on port %d (/health/ready, /metrics)", role, port)

    return started


def run_role(running: Runtime, role: str, main: Runner) -> None:
    """One follower role until SIGINT/SIGTERM, its operations endpoint beside it."""
    from services.cli.signals import until_signal

    port = ops_port(running.settings, in_serve=False)
    until_signal(with_ops(running, main, [role], port, announce(role)))
