"""The process's log lines as JSON into a buffer for the length of a block, as a process
configured by services/observability/logs.py writes them; afterwards logging is as it
was (handlers, levels, structlog's configuration)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import structlog

from services.observability import logs


@contextmanager
def json_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffer = io.StringIO()
    logs.configure("json", "info", stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()


def parsed(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in buffer.getvalue().splitlines()]
