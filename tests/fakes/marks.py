"""The relay's Marks port in memory: the mark it stored last, and every one it stored."""

from __future__ import annotations

from services.relay.positions import Mark


class MemoryMarks:
    def __init__(self, mark: Mark | None = None) -> None:
        self.stored: list[Mark] = [] if mark is None else [mark]

    async def load(self) -> Mark:
        return self.stored[-1] if self.stored else Mark(0, 0)

    async def store(self, mark: Mark) -> None:
        self.stored.append(mark)
