"""Where the views keep their rows and positions, as a port: what applying a batch needs
(services/catalogue/store.py has the PostgreSQL adapter; tests/fakes/views.py the
in-memory one, held to the same contract test)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class ViewStore(Protocol):
    """The views' tables and their positions, changed in transactions."""

    async def active(self) -> dict[str, tuple[int, int]]:
        """view -> (its active generation, that generation's position)."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """Everything done inside takes effect together on leaving it, or not at all
        when it is left by an exception."""
        ...

    async def move_position(self, view: str, generation: int, expected: int, new: int) -> bool:
        """Compare-and-set: sets the position to `new` and returns True only when it was
        `expected`; otherwise changes nothing and returns False."""
        ...

    async def run(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Runs one statement of a view (its schema filled in) once per argument row,
        in order."""
        ...
