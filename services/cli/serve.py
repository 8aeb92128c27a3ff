"""`registrum serve`: the registry on one machine, with an embedded default database."""

from __future__ import annotations

import functools
import logging
import signal
from pathlib import Path

import uvicorn

from services.api.app import create_app
from services.bootstrap import build_artifact_store, build_registry
from services.cli.runtime import BusConfig, run_bus
from services.embedded import DataDirLock, EmbeddedKafka, EmbeddedPostgres
from services.settings import Settings

log = logging.getLogger("registrum")


def _noted(signum: int, _frame: object) -> None:
    log.info("received signal %s; shutting down", signum)


def serve(settings: Settings, announce: bool = True) -> None:
    """Runs until SIGINT/SIGTERM, then stops the API and any embedded database cleanly."""
    data_dir = Path(settings.data_dir).resolve()
    lock = DataDirLock(data_dir)
    lock.acquire()
    embedded: EmbeddedPostgres | None = None
    kafka: EmbeddedKafka | None = None
    registry = None
    try:
        database_url = settings.database_url
        if not database_url:
            embedded = EmbeddedPostgres(data_dir / "postgres")
            database_url = embedded.start()
        read_url = settings.read_database_url or database_url
        bootstrap = settings.kafka_bootstrap
        if settings.kafka and not bootstrap:
            kafka = EmbeddedKafka(port=settings.embedded_kafka_port)
            bootstrap = kafka.start()
        artifacts = build_artifact_store(settings)
        registry = build_registry(settings, database_url, artifacts)
        background = []
        if settings.kafka and bootstrap:
            bus = BusConfig(bootstrap, settings.store_id, read_url, database_url, registry)
            background.append(functools.partial(run_bus, bus))
        app = create_app(
            registry,
            read_url,
            events_dsn=database_url,
            artifacts=artifacts,
            run_projector=True,
            background=background,
            max_body_bytes=settings.max_body_bytes,
        )
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            access_log=False,
            lifespan="on",
        )
        if announce:
            where = "embedded PostgreSQL" if embedded else "PostgreSQL at REGISTRUM_DATABASE_URL"
            broker = (
                f"; Kafka at {bootstrap}" + (" (embedded)" if kafka else "") if bootstrap else ""
            )
            print(
                f"Registrum on http://{settings.host}:{settings.port} "
                f"(data {data_dir}, events in {where}{broker})",
                flush=True,
            )
        # uvicorn handles SIGINT/SIGTERM, then re-raises the signal once it has shut down;
        # with the default action that would kill us before the database is stopped.
        # A no-op handler receives the re-raised signal instead, and cleanup runs.
        previous = {sig: signal.signal(sig, _noted) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            uvicorn.Server(config).run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        if registry is not None:
            registry.close()
        if kafka is not None:
            kafka.stop()
        if embedded is not None:
            embedded.stop()
        lock.release()
