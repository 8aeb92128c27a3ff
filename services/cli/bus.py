"""`registrum relay` and `registrum intake`: the Kafka side alone (`registrum watch` is a
user command, in registrum/cli/watch.py)."""

from __future__ import annotations

from services.cli.roles import start_line
from services.cli.signals import runtime, say, until_signal


def relay() -> None:
    """Run the relay alone: publish the event log to Kafka (REGISTRUM_KAFKA_BOOTSTRAP)."""
    with runtime() as running:
        main = running.relay()
        say(start_line("relay", running, artifacts=False))
        until_signal(main)


def intake() -> None:
    """Run the intake alone: execute commands from registry.commands."""
    with runtime() as running:
        main = running.intake()
        say(start_line("intake", running))
        until_signal(main)
