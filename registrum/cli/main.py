"""The `registrum` command: talk to a registry over HTTP; with the server installed
(`registrum[server]`), also run one (serve, projector, relay, intake, views).

Exit codes (failures.py): 0 done, 1 refused or not found, 2 usage, 3 unreachable.
"""

from __future__ import annotations

import typer

from registrum.cli import (
    access,
    aliases,
    artifacts,
    history,
    login,
    models,
    policies,
    reviews,
    versions,
    watch,
)
from registrum.cli import cards as _cards  # noqa: F401  (adds its commands)
from registrum.cli import version_edits as _version_edits  # noqa: F401  (adds its commands)
from registrum.cli.context import Options
from registrum.cli.group import RegistrumGroup

app = typer.Typer(
    cls=RegistrumGroup,
    help="Registrum: the event-sourced model registry.\n\n"
    "The token sent is REGISTRUM_TOKEN, else the profile's (registrum login), else, for a "
    "registry on this machine, the administrator's in REGISTRUM_DATA_DIR/admin.token.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(models.app, name="models")
app.add_typer(versions.app, name="versions")
app.add_typer(aliases.app, name="alias")
app.add_typer(artifacts.app, name="artifacts")
app.command("request-approval")(reviews.request_approval)
app.command("approve")(reviews.approve)
app.command("reject")(reviews.reject)
app.command("withdraw")(reviews.withdraw)
app.command("promote")(reviews.promote)
app.command("archive")(reviews.archive)
app.command("as-of")(history.as_of)
app.command("timeline")(history.timeline)
app.command("status")(history.status)
app.command("watch")(watch.watch)
app.command("login")(login.login)
app.command("logout")(login.logout)
app.command("whoami")(login.whoami)
app.add_typer(access.tokens_app, name="tokens")
app.add_typer(access.grants_app, name="grants")
app.add_typer(policies.app, name="policies")


@app.callback()
def main_options(
    ctx: typer.Context,
    url: str = typer.Option(
        None,
        envvar="REGISTRUM_URL",
        help="The registry's address (default: the profile's, else http://127.0.0.1:8000).",
    ),
    profile: str = typer.Option(
        None,
        envvar="REGISTRUM_PROFILE",
        help="The saved profile (registrum login) whose URL and token to use (default: default).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    ctx.obj = Options(url=url, profile=profile, json=as_json)


def main() -> None:
    """The console script."""
    app()
