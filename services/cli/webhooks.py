"""`registrum webhooks`: the delivery role, its key, and the delivery log and test fire.

`registrum webhooks` alone runs the role: it follows the event log and delivers to
webhooks (one instance active under the lease `webhooks`; others stand by), until
SIGINT/SIGTERM. `registrum webhooks deliveries` and `registrum webhooks test ID` talk to a
registry over HTTP with the caller's token, like every user command: the log and the
test fire are the API's, so they answer the same to the CLI and to any other client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from registrum.cli.context import run
from registrum.cli.output import console, error, inert, say
from registrum.cli.tables import _table, _when
from services.cli.ops import run_role
from services.cli.roles import start_line
from services.cli.signals import runtime
from services.cli.signals import say as log_line

webhooks_app = typer.Typer(
    help="Webhooks: run the delivery role (no subcommand), read the delivery log, test-fire.",
    invoke_without_command=True,
)


@webhooks_app.callback()
def webhooks(ctx: typer.Context) -> None:
    """Without a subcommand: run the webhook delivery role until SIGINT/SIGTERM (the key
    that encrypts webhook secrets, REGISTRUM_WEBHOOK_KEY_FILE, must be the API's)."""
    if ctx.invoked_subcommand is not None:
        return
    with runtime("webhooks") as running:
        main = running.webhooks()
        log_line(start_line("webhooks", running, kafka=False, artifacts=False))
        run_role(running, "webhooks", main)


@webhooks_app.command("keygen")
def keygen(
    out: Path = typer.Option(..., "--out", help="Where to write the key (mode 0600)."),
) -> None:
    """Make the key that encrypts webhook secrets, for REGISTRUM_WEBHOOK_KEY_FILE of every
    API process and webhooks role. Refuses to replace an existing key (the secrets sealed
    with it would be lost)."""
    from services.webhooks.secrets import load_or_create

    if out.exists():
        error(f"{out} exists; a registry keeps its webhook key (move it away first)")
        raise typer.Exit(1)
    load_or_create(out)
    console.print(f"made the webhook key in {out} (mode 0600)")


@webhooks_app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    webhook: str = typer.Option(None, "--webhook", help="Only this webhook's (its id)."),
    status: str = typer.Option(
        None, "--status", help="Only pending, delivered, failed or cancelled ones."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="At most this many."),
) -> None:
    """The delivery log, newest first: each delivery, its state and its attempts."""
    run(
        ctx,
        lambda c: c.webhook_deliveries(webhook, status, limit),
        lambda r: _deliveries_table(r["deliveries"]),
    )


@webhooks_app.command("test")
def test(
    ctx: typer.Context,
    webhook_id: str = typer.Argument(..., metavar="ID", help="The webhook's id."),
    event: str = typer.Option(
        None, "--event", help="Which event to send an example of (entity.action)."
    ),
) -> None:
    """Send an example event to the webhook now, signed; say what the receiver answered.
    Exit 1 when it did not accept it."""
    answer = run(ctx, lambda c: c.test_webhook(webhook_id, event), _tested)
    if not answer.get("result", {}).get("success"):
        raise typer.Exit(1)


def _tested(answer: dict[str, Any]) -> None:
    result = answer.get("result") or {}
    status = result.get("response_status")
    if result.get("success"):
        say("delivered: the receiver answered HTTP ", inert(status, "bold"))
    else:
        say(
            "not delivered: ",
            inert(f"HTTP {status}" if status else result.get("error_message"), "bold"),
        )


def _deliveries_table(rows: list[dict[str, Any]]) -> None:
    table = _table(
        "delivery id",
        "webhook",
        "event",
        "model",
        "status",
        "attempts",
        "last",
        "next attempt",
        "created",
    )
    for d in rows:
        last = d.get("last_status_code") or d.get("last_error")
        table.add_row(
            inert(d.get("delivery_id")),
            inert(d.get("webhook")),
            inert(f"{d.get('event')}{' (test)' if d.get('test') else ''}"),
            inert(d.get("model")),
            inert(d.get("status")),
            inert(d.get("attempts")),
            inert(last),
            _when(d.get("next_attempt_at")),
            _when(d.get("created_at")),
        )
    console.print(table)
