"""The top `registrum` command group: adds the commands found through entry points, and
turns every failure of a user command into one line and an exit code (failures.py)."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from registrum.cli import failures, plugins
from registrum.cli.context import Options

_OPERATOR = "registrum.operator"  # ctx.meta key: the command came from an entry point


class RegistrumGroup(TyperGroup):
    """typer's group, with the entry points' commands listed after our own, loaded only
    when run or listed, and failures of user commands reported by failures.py."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        own = super().list_commands(ctx)
        return own + sorted(set(plugins.discovered()) - set(own))

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in plugins.discovered():
            ctx.meta[_OPERATOR] = True
            return plugins.load(cmd_name)
        return found

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # typer's own: usage errors, exits
        except Exception as error:
            # Operator commands report their own failures; anything else they raise is
            # theirs to show in full. User commands never show a traceback.
            if ctx.meta.get(_OPERATOR) and failures.exit_code(error) is None:
                raise
            opts = ctx.find_object(Options)
            code = failures.report(error, opts.source if opts else None)
            if code is None:
                raise
            raise typer.Exit(code) from None
