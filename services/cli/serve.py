"""`registrum serve`: the registry on one machine, with an embedded default database."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn

from services.api.app import create_app
from services.bootstrap import build_registry
from services.embedded import DataDirLock, EmbeddedPostgres
from services.settings import Settings

log = logging.getLogger("registrum")


def serve(settings: Settings, announce: bool = True) -> None:
    """Runs until SIGINT/SIGTERM, then stops the API and any embedded database cleanly."""
    data_dir = Path(settings.data_dir).resolve()
    lock = DataDirLock(data_dir)
    lock.acquire()
    embedded: EmbeddedPostgres | None = None
    registry = None
    try:
        database_url = settings.database_url
        if not database_url:
            embedded = EmbeddedPostgres(data_dir / "postgres")
            database_url = embedded.start()
        registry = build_registry(settings, database_url)
        app = create_app(registry, max_body_bytes=settings.max_body_bytes)
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level=settings.log_level,
            access_log=False, lifespan="off",
        )
        if announce:
            where = "embedded PostgreSQL" if embedded else "PostgreSQL at REGISTRUM_DATABASE_URL"
            print(
                f"Registrum on http://{settings.host}:{settings.port} "
                f"(data {data_dir}, events in {where})",
                flush=True,
            )
        uvicorn.Server(config).run()
    finally:
        if registry is not None:
            registry.close()
        if embedded is not None:
            embedded.stop()
        lock.release()
