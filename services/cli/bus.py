"""`registrum relay` and `registrum intake`: the Kafka side alone (`registrum watch` is a
user command, in registrum/cli/watch.py)."""

from __future__ import annotations

from services.cli.ops import run_role
from services.cli.roles import start_line
from services.cli.signals import runtime, say


def relay() -> None:
    """Run the relay alone: publish the event log to Kafka (REGISTRUM_KAFKA_BOOTSTRAP)."""
    with runtime("relay") as running:
        main = running.relay()
        say(start_line("relay", running, artifacts=False))
        run_role(running, "relay", main)


def intake() -> None:
    """Run the intake alone: execute commands from registry.commands."""
    with runtime("intake") as running:
        main = running.intake()
        say(start_line("intake", running))
        run_role(running, "intake", main)
