"""The operations endpoint of a follower process (projector, relay, intake, serve's
followers' process): GET /health/live, /health/ready and /metrics on a port of its own
(REGISTRUM_OPS_PORT), served by uvicorn in the process's own event loop beside the work.

Readiness and the lag gauges are asked for when probed or scraped, so a process nobody
watches does no extra work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.observability import metrics

log = logging.getLogger(__name__)

# What the process says about itself: (ready, details for the body).
Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
Refresh = Callable[[], Awaitable[None]]

# A probe or scrape that waits longer than this is answered without what it waited for.
CHECK_SECONDS = 5.0


def ops_app(ready: Readiness, refresh: Refresh | None = None) -> Starlette:
    async def live(_: Request) -> Response:
        return _json({"status": "ok"}, 200)

    async def readiness(_: Request) -> Response:
        try:
            ok, details = await asyncio.wait_for(ready(), CHECK_SECONDS)
        except Exception as exc:  # a check that fails or hangs: not ready, and why
            ok, details = False, {"error": f"{type(exc).__name__}: {exc}"[:500]}
        return _json({"status": "ready" if ok else "not_ready", **details}, 200 if ok else 503)

    async def scrape(_: Request) -> Response:
        if refresh is not None:
            try:
                await asyncio.wait_for(refresh(), CHECK_SECONDS)
            except Exception:
                # The counters are still worth having; the gauges keep their last values.
                log.warning("could not measure lag for /metrics", exc_info=True)
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    return Starlette(
        routes=[
            Route("/health/live", live),
            Route("/health/ready", readiness),
            Route("/metrics", scrape),
        ]
    )


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


class _Server(uvicorn.Server):
    """uvicorn inside a process that handles its own signals: it must not take SIGINT and
    SIGTERM from the process's loop (uvicorn would, and raise them again on exit)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve_ops(
    host: str, port: int, app: Starlette, stop: asyncio.Event, started: Callable[[int], None]
) -> None:
    """Serves app on host:port until stop is set; started(port) once it listens (the
    port bound, when 0 asked the system for any). A port it cannot listen on is logged
    and the process goes on without the endpoint: its work matters more than its probes
    (which then fail, and say so)."""
    try:
        sock = socket.create_server((host, port), family=_family(host))
    except OSError as exc:
        log.error(
            "the operations endpoint cannot listen on %s:%s (%s); running without it",
            host,
            port,
            exc,
        )
        return
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server = _Server(config)
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if not serving.done():
            started(sock.getsockname()[1])
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
        server.should_exit = True
        await serving
    finally:
        sock.close()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
