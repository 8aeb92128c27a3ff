"""Approvals and stages: request-approval, approve, reject, withdraw, promote, archive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from registrum.cli.context import run
from registrum.cli.inputs import Model, Version, number, promotable
from registrum.cli.output import inert, say
from registrum.client import Client
from registrum.errors import RegistrumError

REQUEST_HELP = "The request id; default: the pending one."


def _said(verb: str) -> Callable[[dict[str, Any]], None]:
    def show(result: dict[str, Any]) -> None:
        v = result.get("version") or {}
        say(
            f"{verb}: ",
            inert(v.get("model")),
            " version ",
            inert(v.get("number")),
            " is ",
            inert(v.get("stage")),
        )

    return show


def request_approval(
    ctx: typer.Context,
    model: Model,
    version: Version,
    stage: str = typer.Argument(..., help="staging or production."),
    approvals: int = typer.Option(None, min=1, help="Distinct approvers needed."),
    reason: str = typer.Option(None, help="Why this version should be promoted."),
) -> None:
    """Ask for sign-off to promote VERSION of MODEL to STAGE."""
    n = number(version)
    wanted = promotable(stage)

    def show(result: dict[str, Any]) -> None:
        requests = [
            r
            for r in result["version"].get("approval_requests") or []
            if r.get("stage") == wanted and r.get("status") == "pending"
        ]
        say("requested approval ", inert(requests[-1].get("id") if requests else None))

    run(
        ctx,
        lambda c: c.request_approval(model, n, wanted, required_approvals=approvals, reason=reason),
        show,
    )


def _review(
    ctx: typer.Context,
    decision: str,
    model: str,
    version: str,
    request: str | None,
    comment: str | None,
    **extra: Any,
) -> None:
    n = number(version)
    # An override may also sign off a request that is approved already.
    open_to = ("pending", "approved") if extra.get("override") else ("pending",)

    def call(client: Client) -> dict[str, Any]:
        request_id = request
        if request_id is None:
            pending = [
                r["id"]
                for r in client.get_version(model, n).get("approval_requests") or []
                if r.get("status") in open_to
            ]
            if len(pending) != 1:
                raise RegistrumError(
                    404 if not pending else 409,
                    "ambiguous_request",
                    "no pending request; nothing to review"
                    if not pending
                    else "several pending requests; choose one with --request: "
                    + ", ".join(pending),
                )
            request_id = pending[0]
        return client.review(model, n, request_id, decision, reason=comment, **extra)

    verbs = {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"}
    run(ctx, call, _said(verbs[decision]))


def approve(
    ctx: typer.Context,
    model: Model,
    version: Version,
    request: str = typer.Option(None, help=REQUEST_HELP),
    comment: str = typer.Option(None, help="Recorded with the approval."),
    override: bool = typer.Option(
        False,
        "--override",
        help="Break glass (administrators): on top of the approvals needed, let the "
        "promotion past failing gates; recorded as an override. Say why in --comment.",
    ),
) -> None:
    """Sign off a pending approval request."""
    extra = {"override": True} if override else {}
    _review(ctx, "approve", model, version, request, comment, **extra)


def reject(
    ctx: typer.Context,
    model: Model,
    version: Version,
    request: str = typer.Option(None, help=REQUEST_HELP),
    comment: str = typer.Option(None, help="Why it is rejected."),
) -> None:
    """Reject a pending approval request."""
    _review(ctx, "reject", model, version, request, comment)


def withdraw(
    ctx: typer.Context,
    model: Model,
    version: Version,
    request: str = typer.Option(None, help=REQUEST_HELP),
    comment: str = typer.Option(None, help="Why it is withdrawn."),
) -> None:
    """Withdraw your own pending approval request."""
    _review(ctx, "withdraw", model, version, request, comment)


def promote(
    ctx: typer.Context,
    model: Model,
    version: Version,
    stage: str = typer.Argument(..., help="staging or production."),
    reason: str = typer.Option(None, help="Why now."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Evaluate the approval and the gates; promote nothing."
    ),
) -> None:
    """Promote VERSION of MODEL to STAGE (needs an approved request, and the gates of the
    promotion policy in force to pass)."""
    n = number(version)
    wanted = promotable(stage)
    if dry_run:
        run(ctx, lambda c: c.promote(model, n, wanted, reason=reason, dry_run=True), _dry_run)
        return
    run(ctx, lambda c: c.promote(model, n, wanted, reason=reason), _said("promoted"))


def _dry_run(result: dict[str, Any]) -> None:
    p = result.get("promotion") or {}
    verdict = "would promote" if p.get("would_promote") else "would not promote"
    say(
        verdict,
        ": ",
        inert(p.get("model")),
        " version ",
        inert(p.get("version")),
        " to ",
        inert(p.get("stage")),
    )
    say("  approved request: ", inert(p.get("approved_request")))
    evaluation = p.get("evaluation")
    if not evaluation:
        say("  gates: no policy in force")
        return
    say("  policy ", inert(evaluation.get("policy")), " v", inert(evaluation.get("policy_version")))
    for rule in evaluation.get("rules") or []:
        mark = "pass" if rule.get("passed") else "FAIL"
        say(
            f"  {mark} ",
            inert(rule.get("name")),
            ": ",
            inert(rule.get("message")),
            "  saw ",
            inert(rule.get("saw")),
        )
    if p.get("overridden_by"):
        say("  overridden by ", inert(", ".join(p["overridden_by"])))


def archive(
    ctx: typer.Context,
    model: Model,
    version: Version,
    reason: str = typer.Option(None, help="Why it is retired."),
) -> None:
    """Archive VERSION of MODEL."""
    n = number(version)
    run(ctx, lambda c: c.archive(model, n, reason=reason), _said("archived"))
