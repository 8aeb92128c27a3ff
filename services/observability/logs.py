"""Logging, configured once per process (serve, api, the followers' process, each
follower role): every standard-library `logging` call goes through structlog's
ProcessorFormatter, so it comes out as one JSON object per line (or coloured for a
terminal), with what is bound to the current context (request id, command id) merged in.

`auto` (the default) writes JSON unless stderr is a terminal: a container or a service
manager collects lines that a log pipeline parses, a person at a terminal reads them."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
import structlog

from services.observability.requests import request_fields

LogFormat = Literal["auto", "json", "console"]

# Loggers that configure handlers of their own elsewhere: theirs go to the root's instead.
_OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def chosen(fmt: LogFormat, stream: Any = None) -> Literal["json", "console"]:
    """What `auto` means for this stream."""
    if fmt != "auto":
        return fmt
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


def formatter(fmt: Literal["json", "console"]) -> structlog.stdlib.ProcessorFormatter:
    """The formatter that renders standard-library records (and structlog's own)."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        request_fields,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _timestamp,
    ]
    renderer: Any
    if fmt == "json":
        final: list[Any] = [structlog.processors.format_exc_info]
        renderer = structlog.processors.JSONRenderer(serializer=_dumps)
    else:
        final = []
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *final,
            renderer,
        ],
    )


def _timestamp(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # The record's own creation time (structlog's TimeStamper reads the clock again and
    # formats it at twice the cost).
    record = event.get("_record")
    when = record.created if record is not None else time.time()
    event["timestamp"] = datetime.fromtimestamp(when, UTC).isoformat(timespec="microseconds")
    return event


def _dumps(event: dict[str, Any], **_: Any) -> str:
    return orjson.dumps(event, default=repr).decode()


def configure(fmt: LogFormat = "auto", level: str = "info", stream: Any = None) -> None:
    """Sends every log record of this process to stream (stderr) in fmt. Called by each
    process's entry point, never at import time; calling it again replaces the handler."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(chosen(fmt, stream)))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_registrum", False)]:
        root.removeHandler(old)
    handler._registrum = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Neither format shows the caller's file and line, nor the multiprocessing process
    # name: not finding them is the logging module's documented optimisation, a fifth of
    # a line's cost (an access line per request adds up).
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logMultiprocessing = False
    for name in _OWN_HANDLERS:
        own = logging.getLogger(name)
        own.handlers.clear()
        own.propagate = True
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            request_fields,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
