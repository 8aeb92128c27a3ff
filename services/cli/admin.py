"""`registrum admin init`: the first administrator of a registry that runs as separate
roles (`registrum serve` makes it by itself at its first start)."""

from __future__ import annotations

from pathlib import Path

import typer

from registrum.cli import output
from services.cli.signals import runtime

admin_app = typer.Typer(help="The registry's first administrator.", no_args_is_help=True)


@admin_app.command("init")
def init(
    out: Path = typer.Option(
        None,
        "--out",
        help="Where to write the administrator's token (mode 0600); default: admin.token "
        "in the data directory (REGISTRUM_DATA_DIR).",
    ),
) -> None:
    """On a registry where nobody holds any role yet: issue a token for `admin`, owner of
    the registry, into a file only its owner may read. Does nothing on a registry that has
    an administrator (exit 0), so a deployment may run it at every start."""
    with runtime() as running:
        made = running.first_administrator(out)
    if made is None:
        output.console.print("the registry already has an administrator; nothing done")
        return
    output.console.print(
        f"the administrator's token is in {made} (mode 0600): give it to the person who will "
        "run `registrum tokens create` and `registrum grants add`, then remove the file"
    )
