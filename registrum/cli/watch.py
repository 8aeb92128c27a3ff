"""`registrum watch`: tail registry.promotions, one line per promotion, archive or alias
change. Kafka at REGISTRUM_KAFKA_BOOTSTRAP, else where `registrum serve` puts its
embedded broker (127.0.0.1:REGISTRUM_EMBEDDED_KAFKA_PORT); a secured cluster with the
server's REGISTRUM_KAFKA_SECURITY_PROTOCOL, _SASL_* and _SSL_* variables (registrum/kafka.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from typing import Any

import typer

from registrum.cli.output import escape_controls
from registrum.errors import Unreachable
from registrum.kafka import KafkaSecurity, from_environ
from registrum.kafka_handshake import diagnose

PROMOTIONS = "registry.promotions"
DEFAULT_EMBEDDED_PORT = "9092"


def bootstrap_servers() -> str:
    """The configured Kafka, else where `registrum serve` puts its embedded broker."""
    configured = os.environ.get("REGISTRUM_KAFKA_BOOTSTRAP")
    port = os.environ.get("REGISTRUM_EMBEDDED_KAFKA_PORT") or DEFAULT_EMBEDDED_PORT
    return configured or f"127.0.0.1:{port}"


def watch(
    model: str = typer.Option(None, "--model", "-m", help="Only this model's changes."),
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="Start with the oldest change kept by the broker."
    ),
    limit: int = typer.Option(0, min=0, help="Stop after this many changes (0: until Ctrl-C)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Tail registry.promotions: one line per promotion, archive or alias change."""
    # aiokafka logs each failed connection attempt; a failure that matters ends the command
    # with one line of its own (failures.py), so its log records are not shown.
    logging.getLogger("aiokafka").addHandler(logging.NullHandler())
    logging.getLogger("aiokafka").propagate = False
    # Checked before connecting: a wrong setting is a usage error (exit 2) naming its variable.
    security = from_environ()
    tail = _tail(bootstrap_servers(), security, model, from_beginning, limit, as_json)
    asyncio.run(_until_signal(tail))


async def _until_signal(main: Any) -> None:
    """Runs main until it ends or SIGINT/SIGTERM arrives."""
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _tail(
    bootstrap: str,
    security: KafkaSecurity,
    model: str | None,
    from_beginning: bool,
    limit: int,
    as_json: bool,
) -> None:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.errors import KafkaError

    consumer = AIOKafkaConsumer(
        PROMOTIONS,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        **security.client_options(),
    )
    try:
        await consumer.start()
    except Exception as error:  # aiokafka's SCRAM client raises KeyError on a refusal
        await consumer.stop()
        # A certificate not trusted or credentials refused (exit 1) rather than "unreachable".
        await diagnose(bootstrap, security)
        if not isinstance(error, KafkaError | OSError):
            raise
        raise Unreachable(f"Kafka at {bootstrap}: {error}") from None
    seen: set[str] = set()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=200)
            for record in (r for records in batches.values() for r in records):
                headers = {k: v.decode(errors="replace") for k, v in record.headers}
                if model and record.key != model.encode():
                    continue
                if headers.get("ce_id") in seen:  # a redelivery: shown already
                    continue
                seen.add(headers.get("ce_id", ""))
                show(headers, record.value, as_json)
                if limit and len(seen) >= limit:
                    return
    finally:
        await consumer.stop()


def show(headers: dict[str, str], value: bytes | None, as_json: bool) -> None:
    """One line for one message; every value from the broker printed inert."""
    kind = headers.get("ce_type", "").removeprefix("io.registrum.")
    try:
        data: dict[str, Any] = json.loads(value or b"")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if as_json:
        line = {"id": headers.get("ce_id"), "type": kind, **data}
        print(json.dumps(line, separators=(",", ":")), flush=True)
        return
    where = f"{_text(data.get('model'))} v{_text(data.get('version'))}"
    if "alias" in data:
        change = f"@{_text(data['alias'])} -> v{_text(data.get('version'))}"
    else:
        change = f"{_text(data.get('from_stage'))} -> {_text(data.get('to_stage'))}"
    approvers = ",".join(_text(a.get("actor")) for a in data.get("approvals") or [])
    digest = _text(data.get("sha256"))[:12]
    text = (
        f"{_text(data.get('time'))}  {kind:<16} {where:<28} {change:<26}"
        f" by {_text(data.get('actor'))}"
        + (f" approved by {approvers}" if approvers else "")
        + f"  {_text(data.get('artifact_uri'))} {digest}  [{_text(headers.get('ce_id'))}]"
    )
    print(escape_controls(text), flush=True)


def _text(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)
