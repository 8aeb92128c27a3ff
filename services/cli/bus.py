"""`registrum relay`, `registrum intake` and `registrum watch`: the Kafka side alone."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
import typer

from services.cli import output
from services.cli.operations import dsns
from services.settings import Settings


def _bootstrap() -> tuple[str, Settings]:
    """The configured Kafka, else where `registrum serve` puts its embedded broker."""
    settings = Settings()
    return settings.kafka_bootstrap or f"127.0.0.1:{settings.embedded_kafka_port}", settings


def until_signal(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Runs main(stop) until SIGINT/SIGTERM sets stop."""

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(run())


def relay() -> None:
    """Run the relay alone: publish the event log to Kafka (REGISTRUM_KAFKA_BOOTSTRAP)."""
    from services.cli.runtime import BusConfig, run_bus

    bootstrap, settings = _bootstrap()
    events, read = dsns()
    until_signal(lambda stop: run_bus(BusConfig(bootstrap, settings.store_id, read, events), stop))


def intake() -> None:
    """Run the intake alone: execute commands from registry.commands."""
    from services.bootstrap import build_registry
    from services.cli.runtime import BusConfig, run_bus

    bootstrap, settings = _bootstrap()
    events, _ = dsns()
    registry = build_registry(settings, events)
    try:
        config = BusConfig(bootstrap, settings.store_id, registry=registry)
        until_signal(lambda stop: run_bus(config, stop))
    finally:
        registry.close()


def watch(
    model: str = typer.Option(None, "--model", "-m", help="Only this model's changes."),
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="Start with the oldest change kept by the broker."
    ),
    limit: int = typer.Option(0, help="Stop after this many changes (0: run until Ctrl-C)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Tail registry.promotions: one line per promotion, archive or alias change."""
    from aiokafka import AIOKafkaConsumer

    from services.bus.topics import PROMOTIONS

    bootstrap, _ = _bootstrap()

    async def main(stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            PROMOTIONS,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest" if from_beginning else "latest",
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
        )
        try:
            await consumer.start()
        except Exception as error:
            output.errors.print(f"[red]error[/red]: Kafka at {bootstrap}: {error}")
            raise typer.Exit(1) from None
        seen: set[str] = set()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                for record in (r for records in batches.values() for r in records):
                    headers = {k: v.decode() for k, v in record.headers}
                    if model and record.key != model.encode():
                        continue
                    if headers.get("ce_id") in seen:  # a redelivery: shown already
                        continue
                    seen.add(headers.get("ce_id", ""))
                    _show(headers, orjson.loads(record.value), as_json)
                    if limit and len(seen) >= limit:
                        return
        finally:
            await consumer.stop()

    until_signal(main)


def _show(headers: dict[str, str], data: dict[str, Any], as_json: bool) -> None:
    kind = headers.get("ce_type", "").removeprefix("io.registrum.")
    if as_json:
        line = {"id": headers.get("ce_id"), "type": kind, **data}
        print(orjson.dumps(line).decode(), flush=True)
        return
    where = f"{data['model']} v{data['version']}"
    if "alias" in data:
        change = f"@{data['alias']} -> v{data['version']}"
    else:
        change = f"{data['from_stage']} -> {data['to_stage']}"
    approvers = ",".join(a["actor"] for a in data.get("approvals", []))
    digest = (data.get("sha256") or "")[:12]
    print(
        f"{data['time']}  {kind:<16} {where:<28} {change:<26} by {data['actor']}"
        + (f" approved by {approvers}" if approvers else "")
        + f"  {data.get('artifact_uri') or ''} {digest}  [{headers.get('ce_id')}]",
        flush=True,
    )
