"""`registrum login`, `logout` and `whoami`: the credential the CLI sends, and who it is.

A token is never an option on the command line (shell history and `ps` would show it):
login reads it from stdin when piped, else asks for it without echoing.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from registrum import credentials
from registrum.access import token_id
from registrum.cli import output, tables
from registrum.cli.context import check_url, client_for, options, run
from registrum.cli.failures import Usage
from registrum.cli.output import inert, note, say
from registrum.errors import RegistrumError, Unauthenticated

MAX_TOKEN = 16_384  # an OIDC JWT with many groups is a few kilobytes

PROFILE_HELP = "The profile to save in (default: REGISTRUM_PROFILE, else 'default')."
URL_HELP = "The registry (default: REGISTRUM_URL, else the profile's, else the local one)."


def _read_token() -> str:
    """The token piped in, or typed at a prompt that does not echo it."""
    if sys.stdin is not None and not sys.stdin.isatty():
        token = sys.stdin.read(MAX_TOKEN + 1)
        if len(token) > MAX_TOKEN:
            raise Usage(f"stdin holds more than {MAX_TOKEN} characters: not a token")
    else:
        token = typer.prompt("API token", hide_input=True, err=True)
    token = token.strip()
    if not token:
        raise Usage("no token given: pipe one in (registrum login < FILE) or type it when asked")
    return token


def _check(url: str, token: str) -> dict[str, Any]:
    """whoami with token; the registry's refusal of the token says nothing was saved."""
    with client_for(url, token) as client:
        try:
            me: dict[str, Any] = client.whoami()
        except Unauthenticated as refused:
            raise RegistrumError(
                refused.status,
                refused.code,
                f"the registry refused this token: {refused.message}; nothing was saved",
                refused.details,
            ) from None
    if not isinstance(me.get("subject"), str):
        raise RegistrumError(0, "bad_reply", f"{url} answered whoami without a subject")
    return me


def login(
    ctx: typer.Context,
    profile: str = typer.Option(None, "--profile", help=PROFILE_HELP),
    url: str = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Save an API token (read from stdin, or asked for) in a profile, once the registry
    has accepted it, and say who it stands for."""
    opts = options(ctx)
    name = profile or opts.profile or credentials.DEFAULT_PROFILE
    path = credentials.credentials_path()
    saved = credentials.load(path)  # an unsafe file is refused before a secret is asked for
    known = saved.get(name)
    target = url or opts.url or (known.url if known else credentials.DEFAULT_URL)
    check_url(target)
    token = _read_token()
    me = _check(target, token)
    saved[name] = credentials.Profile(target, token)
    credentials.save(path, saved)
    if opts.json:
        output.emit_json({"profile": name, "url": target, "path": str(path), "whoami": me})
        return
    say(
        "logged in to ",
        inert(target),
        " as ",
        inert(me.get("subject"), "bold"),
        " (",
        inert(me.get("display_name")),
        ", ",
        inert(me.get("kind")),
        ")",
    )
    note(f"saved as profile {name!r} in {path}")
    if target.startswith("http://") and not credentials.is_loopback(target):
        note(f"warning: {target} is plain HTTP: the token crosses the network unencrypted")


def logout(
    ctx: typer.Context,
    profile: str = typer.Option(None, "--profile", help="The profile to forget."),
) -> None:
    """Forget the token saved in a profile (the token itself stays valid until it expires
    or is revoked)."""
    opts = options(ctx)
    name = profile or opts.profile or credentials.DEFAULT_PROFILE
    path = credentials.credentials_path()
    saved = credentials.load(path)
    gone = saved.pop(name, None)
    if gone is not None:
        credentials.save(path, saved)
    if opts.json:
        output.emit_json({"profile": name, "removed": gone is not None})
        return
    if gone is None:
        say(f"no profile {name!r} saved; nothing to forget")
        return
    say(f"forgot profile {name!r} (", inert(gone.url), ")")
    shown = token_id(gone.token)
    if shown != gone.token:  # an API token: its id, never its secret
        note(
            "the token stays valid until it expires or `registrum tokens revoke ", inert(shown), "`"
        )


def whoami(ctx: typer.Context) -> None:
    """Who the registry takes you for: subject, name, kind, groups, and your grants."""
    run(ctx, lambda c: c.whoami(), tables.whoami_detail)
