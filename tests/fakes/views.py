"""The read side's ViewStore port in memory: views' positions and the statements they
ran, with transactions that undo everything on an exception, and scripted trouble (a
statement that fails, another instance that moves a position meanwhile)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

from services.catalogue.store import schema_name


class MemoryViewStore:
    """Each view starts at generation 1, position 0. `statements(view)` is what its
    committed transactions ran, in order: (sql, args) per argument row."""

    def __init__(self, views: Iterable[str]) -> None:
        self.positions: dict[str, tuple[int, int]] = {name: (1, 0) for name in views}
        self.committed: list[tuple[str, tuple[Any, ...]]] = []
        self._failing: dict[str, BaseException] = {}
        self._after_read: list[Callable[[], Awaitable[object]]] = []

    # -- scripting ------------------------------------------------------------------------

    def fail_next_run(self, view: str, error: BaseException | None = None) -> None:
        """The view's next statement fails (a constraint, a lost connection)."""
        self._failing[view] = error or ConnectionError("the read database went away")

    def after_next_read(self, elsewhere: Callable[[], Awaitable[object]]) -> None:
        """Runs `elsewhere` (another instance's work) right after the next read of the
        positions, before the reader acts on them."""
        self._after_read.append(elsewhere)

    def statements(self, view: str) -> list[tuple[str, tuple[Any, ...]]]:
        generation = self.positions[view][0]
        schema = f'"{schema_name(view, generation)}".'
        return [(sql, args) for sql, args in self.committed if schema in sql]

    # -- the port -------------------------------------------------------------------------

    async def active(self) -> dict[str, tuple[int, int]]:
        positions = dict(self.positions)
        while self._after_read:
            await self._after_read.pop(0)()
        return positions

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        positions, committed = dict(self.positions), len(self.committed)
        try:
            yield
        except BaseException:
            self.positions = positions
            del self.committed[committed:]
            raise

    async def move_position(self, view: str, generation: int, expected: int, new: int) -> bool:
        if self.positions.get(view) != (generation, expected):
            return False
        self.positions[view] = (generation, new)
        return True

    async def run(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        for view in list(self._failing):
            if f'"{schema_name(view, self.positions[view][0])}".' in sql:
                raise self._failing.pop(view)
        self.committed += [(sql, tuple(args)) for args in rows]
