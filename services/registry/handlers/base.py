"""One handler per command: it checks the command's values once, then returns the
`decide` function the executor runs (again on fresh state after a conflict).

A handler is registered with `@handles(CommandClass)`; the dispatcher finds it by the
command's class, and a unit test fails when a command in schemas/commands.py has none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from schemas.commands import Command
from services.registry.domain.model import RegisteredModel
from services.registry.domain.values import Context
from services.registry.domain.version import ModelVersion
from services.registry.execution import Decide, Decision
from services.registry.scope import Scope
from services.registry.summaries import model_summary, version_summary

Handler = Callable[[Any, Context, Scope], Decide]


class AtVersion(Protocol):
    """A command addressed to one version (SetAlias too, whose version is a field)."""

    @property
    def model(self) -> str: ...

    @property
    def version(self) -> int: ...


HANDLERS: dict[type[Command], Handler] = {}

C = TypeVar("C", bound=Command)


def handles(command: type[C]) -> Callable[[Callable[[C, Context, Scope], Decide]], Handler]:
    def register(handler: Callable[[C, Context, Scope], Decide]) -> Handler:
        if command in HANDLERS:
            raise TypeError(f"{command.__name__} has two handlers")
        HANDLERS[command] = handler
        return handler

    return register


def on_model(scope: Scope, name: str, change: Callable[[RegisteredModel], object]) -> Decide:
    """A command that changes the model alone."""

    def decide() -> Decision:
        model = scope.model(name)
        change(model)
        return Decision([model], lambda: model_summary(model))

    return decide


def on_version(
    scope: Scope,
    command: AtVersion,
    change: Callable[[RegisteredModel, ModelVersion], object],
    *,
    check_live: bool = True,
    saves_model: bool = False,
) -> Decide:
    """A command on one version: content changes save the version; stage and alias
    changes (saves_model) save the model, which owns them."""

    def decide() -> Decision:
        model = scope.model(command.model)
        version = scope.version(model, command.version)
        if check_live:
            model.check_version_changeable(version.number)
        change(model, version)
        saved = model if saves_model else version
        return Decision([saved], lambda: version_summary(model, version))

    return decide


def on_stage(
    scope: Scope, command: AtVersion, change: Callable[[RegisteredModel, ModelVersion], object]
) -> Decide:
    """A change to a version's stage, aliases or existence: the model owns those, and
    the version may be archived (promotion brings it back, deletion ends it)."""
    return on_version(scope, command, change, check_live=False, saves_model=True)
