"""`registrum tokens ...` (API tokens) and `registrum grants ...` (who may do what where).

A new token's secret is printed once: with -q alone on stdout, so a script can keep it
(`TOKEN=$(registrum tokens create alice -q)`), with --json inside the registry's answer.
"""

from __future__ import annotations

from typing import Any

import typer

from registrum.cli import tables
from registrum.cli.context import options, run
from registrum.cli.failures import Usage
from registrum.cli.output import escape_controls, inert, note, say
from registrum.errors import BadReply

# What a grant may give (held equal to schemas.rules.ROLES by tests/unit/test_cli_access.py).
ROLES = (
    "reader",
    "contributor",
    "reviewer",
    "releaser:staging",
    "releaser:production",
    "owner",
)
SCOPE_HELP = "registry, model:NAME or prefix:NAME-PREFIX (a team's models)."

tokens_app = typer.Typer(help="API tokens for people and pipelines.", no_args_is_help=True)
grants_app = typer.Typer(
    help="Grants: roles on the registry, a model or a prefix.", no_args_is_help=True
)


# -- reading the command line -------------------------------------------------------------


def principal(value: str) -> str:
    kind, colon, name = value.partition(":")
    if not colon or kind not in ("user", "group") or not name.strip():
        raise Usage(f"a principal is user:ID or group:NAME, not {value!r}")
    return value


def role(value: str) -> str:
    wanted = value.strip().lower()
    if wanted not in ROLES:
        raise Usage(f"no role {value!r}: use one of {', '.join(ROLES)}")
    return wanted


def scope(value: str) -> str:
    kind, colon, name = value.partition(":")
    if value == "registry" or (colon and kind in ("model", "prefix") and name):
        return value
    raise Usage(f"a scope is registry, model:NAME or prefix:NAME-PREFIX, not {value!r}")


Principal = typer.Argument(
    ..., metavar="PRINCIPAL", help="user:ID (a person or a service account) or group:NAME."
)
Role = typer.Argument(..., metavar="ROLE", help=f"One of {', '.join(ROLES)}.")

# -- tokens ------------------------------------------------------------------------------


def _secret(answer: dict[str, Any]) -> str:
    token = answer.get("token")
    if not isinstance(token, str):
        raise BadReply(201, "the registry answered without the new token")
    return token


def _issued(answer: dict[str, Any]) -> None:
    say(
        "token ",
        inert(answer.get("id"), "bold"),
        " for ",
        inert(answer.get("subject")),
        " (",
        inert(answer.get("kind")),
        "), expires ",
        inert(str(answer.get("expires_at") or "")[:19] or None),
        ":",
    )
    say(inert(_secret(answer)))
    note(
        "shown once: keep it now (`registrum login` reads it from stdin); "
        "the registry cannot show it again"
    )


def _alone(answer: dict[str, Any]) -> None:
    # Plain print: rich could wrap it, and a script reads exactly one line.
    print(escape_controls(_secret(answer)))


@tokens_app.command("create")
def tokens_create(
    ctx: typer.Context,
    subject: str = typer.Argument(..., help="Who the token stands for (case-folded)."),
    name: str = typer.Option(None, "--name", help="Display name, shown in listings."),
    service: bool = typer.Option(
        False, "--service", help="A pipeline's account: it may never approve."
    ),
    group: list[str] = typer.Option(None, "--group", help="A group grants may name; repeatable."),
    expires_in_days: int = typer.Option(90, min=1, max=732, help="Lifetime in days."),
    description: str = typer.Option("", help="What the token is for."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the token."),
) -> None:
    """Issue an API token (administrators). Its secret is printed once."""
    if quiet and options(ctx).json:
        raise Usage("--quiet prints the token alone, --json the whole answer: choose one")
    run(
        ctx,
        lambda c: c.create_token(
            subject,
            display_name=name,
            kind="service" if service else "user",
            groups=group or [],
            expires_in_days=expires_in_days,
            description=description,
        ),
        _alone if quiet else _issued,
    )


@tokens_app.command("list")
def tokens_list(
    ctx: typer.Context,
    subject: str = typer.Option(None, "--subject", help="Only this subject's (administrators)."),
) -> None:
    """List tokens (never their secrets): every one for administrators, else your own."""
    run(ctx, lambda c: c.list_tokens(subject), lambda r: tables.tokens_table(r["tokens"]))


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context,
    token_id: str = typer.Argument(..., metavar="ID", help="The token's id, rgm_..."),
) -> None:
    """Revoke a token: refused from its next use on."""
    run(
        ctx,
        lambda c: c.revoke_token(token_id),
        lambda r: say(
            "revoked token ", inert(r.get("id"), "bold"), " of ", inert(r.get("subject"))
        ),
    )


# -- grants ------------------------------------------------------------------------------


def _held(answer: dict[str, Any]) -> None:
    g = answer.get("grant") or {}
    say(
        inert(g.get("principal"), "bold"),
        " holds " if g.get("held") else " no longer holds ",
        inert(g.get("role")),
        " on ",
        inert(g.get("scope")),
    )


@grants_app.command("add")
def grants_add(
    ctx: typer.Context,
    who: str = Principal,
    role_name: str = Role,
    on: str = typer.Option("registry", "--on", help=SCOPE_HELP),
    reason: str = typer.Option(None, help="Why: recorded with the grant."),
) -> None:
    """Give ROLE to PRINCIPAL on a scope (owners of that scope)."""
    body = (principal(who), role(role_name), scope(on))
    run(ctx, lambda c: c.grant(*body, reason=reason), _held)


@grants_app.command("remove")
def grants_remove(
    ctx: typer.Context,
    who: str = Principal,
    role_name: str = Role,
    on: str = typer.Option("registry", "--on", help=SCOPE_HELP),
    reason: str = typer.Option(None, help="Why: recorded with the revocation."),
) -> None:
    """Take ROLE on a scope back from PRINCIPAL."""
    body = (principal(who), role(role_name), scope(on))
    run(ctx, lambda c: c.revoke_grant(*body, reason=reason), _held)


@grants_app.command("list")
def grants_list(
    ctx: typer.Context,
    who: str = typer.Option(None, "--principal", help="Only this principal's."),
    as_of: str = typer.Option(None, "--as-of", help="In force at this ISO 8601 time."),
) -> None:
    """List grants in force (now, or --as-of): all for owners, else your own."""
    wanted = principal(who) if who is not None else None
    run(ctx, lambda c: c.list_grants(wanted, as_of), lambda r: tables.grants_table(r["grants"]))
