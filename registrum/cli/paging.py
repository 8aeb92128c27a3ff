"""List commands: one page, saying when more rows exist, or every row with --all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import typer

from registrum.cli import output
from registrum.cli.context import options
from registrum.client import MAX_PAGE, Client

LIMIT_HELP = f"At most this many (1-{MAX_PAGE})."
ALL_HELP = "Every one, page after page."


def limit_option(default: int = 100) -> Any:
    return typer.Option(default, min=1, max=MAX_PAGE, help=LIMIT_HELP)


def all_option() -> Any:
    return typer.Option(False, "--all", help=ALL_HELP)


Rows = list[dict[str, Any]]


def listing(
    ctx: typer.Context,
    key: str,
    page: Callable[[Client], dict[str, Any]],
    every: Callable[[Client], Iterator[dict[str, Any]]] | None,
    show: Callable[[Rows], None],
    as_json: Callable[[Rows, Any], Any] = lambda rows, _token: rows,
) -> None:
    """Prints page(client)[key] (or every row when `every` is given); when the page is
    not the last, says so on stderr, so --json output stays one JSON document."""
    opts = options(ctx)
    with opts.client() as client:
        if every is not None:
            rows, token = list(every(client)), None
        else:
            first = page(client)
            rows, token = first[key], first.get("next_page_token")
    if opts.json:
        output.emit_json(as_json(rows, token))
    else:
        show(rows)
    if token is not None:
        output.note(f"showing {len(rows)} of more; use --all to list every one")
