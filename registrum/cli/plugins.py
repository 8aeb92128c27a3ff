"""Commands found at run time through the `registrum.cli` entry points.

The server's package declares its operator commands (serve, projector, relay, intake,
views) there, each marked with the extra it needs (`[server]`). The client never imports
them statically: a command is loaded only when it is run or listed, and when its extra is
not installed it becomes a one-line hint to install it (exit 2).
"""

from __future__ import annotations

import re
from functools import cache
from importlib.metadata import EntryPoint, PackageNotFoundError, distribution, entry_points
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperCommand
from typer.main import get_command, get_group

from registrum.cli import output
from registrum.cli.failures import ExitCode

GROUP = "registrum.cli"
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@cache
def discovered() -> dict[str, EntryPoint]:
    """Every command offered through the entry points, by name."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def installed(name: str) -> bool:
    """Is a distribution of that name installed?"""
    try:
        distribution(name)
    except PackageNotFoundError:
        return False
    return True


def missing_extras(
    extras: list[str], requires: list[str], own_name: str, present: Any = installed
) -> list[str]:
    """The extras (of a distribution named own_name, whose Requires-Dist lines are
    requires) with a requirement that present(name) says is not installed."""
    missing = []
    for extra in extras:
        for requirement in requires:
            marker = _EXTRA.search(requirement)
            name = _NAME.match(requirement)
            if not (marker and name) or marker.group(1) != extra:
                continue
            if name.group(1).lower() == own_name.lower():
                continue  # one of our extras including another: that one is checked apart
            if re.search(r"\b(and|or)\b", requirement.partition(";")[2]):
                continue  # also for some platform only: not ours to judge without packaging
            if not present(name.group(1)):
                missing.append(extra)
                break
    return missing


def _missing(ep: EntryPoint) -> list[str]:
    """The extras ep is marked with that are not installed."""
    if not ep.extras or ep.dist is None:
        return []
    return missing_extras(list(ep.extras), ep.dist.requires or [], ep.dist.metadata["Name"])


def _hint(name: str, extras: list[str], why: str = "") -> TyperCommand:
    """A stand-in for a command whose extra is not installed: says what to install."""
    package = f"registrum[{','.join(extras)}]"

    def explain() -> None:
        reason = f" ({why})" if why else ""
        output.error(f"registrum {name} needs the server{reason}: pip install '{package}'")
        raise typer.Exit(ExitCode.USAGE)

    return TyperCommand(
        name=name,
        callback=explain,
        help=f"Needs the server: pip install '{escape(package)}'.",  # help is rich markup
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )


def _command(name: str, target: Any) -> Any:
    """A click command from what an entry point names: a Typer app or a function."""
    if isinstance(target, typer.Typer):
        group = get_group(target)
        group.name = name
        return group
    single = typer.Typer()
    single.command(name)(target)
    return get_command(single)


PANEL = "Operator commands (registrum\\[server])"  # rich markup: \\[ is a bracket


@cache
def load(name: str) -> Any:
    """The command name from its entry point, or a hint when its extra is missing."""
    ep = discovered()[name]
    missing = _missing(ep)
    if missing:
        command = _hint(name, missing)
    else:
        try:
            command = _command(name, ep.load())
        except ImportError as exc:
            why = f"no module named {exc.name!r}" if exc.name else str(exc)
            command = _hint(name, list(ep.extras) or ["server"], why)
    command.rich_help_panel = PANEL
    return command
