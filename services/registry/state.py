"""The aggregates commands decide on, kept in memory per process between commands.

`Aggregates` holds each aggregate as last committed (by any process, as far as this one
has read) and brings any number of them up to date in one round trip: the events after
the versions it holds, with the records of the command ids asked about. What it holds
may be behind the log; a decision saved on a stale aggregate is refused by optimistic
concurrency (its stream version is taken) and decided again after a refresh, and an
aggregate a decision only reads is refreshed before it is read.

`Working` is what one command, or one group of commands, decides on: copies of the
held aggregates, changed in place by the decisions, so that a later command of a group
sees what an earlier one decided. A command that fails is rolled back to where it began.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import Aggregate

from services.registry.commandlog import State

# An aggregate known not to exist (yet): its stream is at version 0.
_ABSENT = None


class StateReader(Protocol):
    """The recorder's one-round-trip read (commandlog.py)."""

    def read_state(
        self, streams: Sequence[tuple[UUID, int]], command_ids: Sequence[str]
    ) -> State: ...


def version_of(aggregate: Aggregate | None) -> int:
    return 0 if aggregate is None else aggregate.version


class Aggregates:
    def __init__(self, repository: Repository, reader: StateReader, maxsize: int = 4096):
        self.repository = repository
        self.reader = reader
        self.maxsize = maxsize
        self._held: OrderedDict[UUID, Aggregate | None] = OrderedDict()
        self._lock = threading.Lock()

    def refresh(
        self,
        ids: Iterable[UUID],
        command_ids: Sequence[str] = (),
        small: Iterable[UUID] = (),
    ) -> State:
        """Brings these aggregates up to date and reads the records of command_ids, in one
        round trip. One not held yet is read whole in that same trip when it is among the
        small streams (a name's index); another is loaded through its snapshot, once."""
        wanted = list(dict.fromkeys(ids))
        short = set(small)
        with self._lock:
            held = {i: self._held[i] for i in wanted if i in self._held}
        streams = [(i, version_of(a)) for i, a in held.items()]
        streams += [(i, 0) for i in wanted if i not in held and i in short]
        state = self.reader.read_state(streams, command_ids)
        if state.events:
            self._apply(state)
        with self._lock:
            for i in wanted:
                if i in short and i not in held and i not in self._held:
                    self._put(i, _ABSENT)  # read whole just now: it has no events
        for missing in (i for i in wanted if i not in held and i not in short):
            self._load(missing)
        return state

    def peek(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate if held (never change it), else None; never reads."""
        with self._lock:
            return self._held.get(aggregate_id)

    def held(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate as held (never change it: it is shared), loaded when not held;
        None when it does not exist."""
        with self._lock:
            if aggregate_id in self._held:
                self._held.move_to_end(aggregate_id)
                return self._held[aggregate_id]
        return self._load(aggregate_id)

    def saved(self, aggregates: Iterable[Aggregate]) -> None:
        """Holds these aggregates as just committed (no pending events)."""
        with self._lock:
            for aggregate in aggregates:
                self._put(aggregate.id, aggregate)

    def forget(self, ids: Iterable[UUID]) -> None:
        with self._lock:
            for i in ids:
                self._held.pop(i, None)

    def _load(self, aggregate_id: UUID) -> Aggregate | None:
        try:
            aggregate: Aggregate | None = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            aggregate = _ABSENT
        with self._lock:
            self._put(aggregate_id, aggregate)
            return self._held[aggregate_id]

    def _apply(self, state: State) -> None:
        mapper: Any = self.repository.event_store.mapper
        by_stream: dict[Any, list[Any]] = {}
        for stored in state.events:
            by_stream.setdefault(stored.originator_id, []).append(stored)
        with self._lock:
            for stream, stored_events in by_stream.items():
                current = self._held.get(stream)
                # Copied, not changed in place: others may be reading the one held.
                aggregate = copy.deepcopy(current)
                for stored in stored_events:
                    if stored.originator_version > version_of(aggregate):
                        aggregate = mapper.to_domain_event(stored).mutate(aggregate)
                self._put(stream, aggregate)

    def _put(self, aggregate_id: UUID, aggregate: Aggregate | None) -> None:
        # Never replace a newer state with an older one (threads race to put).
        if aggregate_id in self._held and version_of(self._held[aggregate_id]) > version_of(
            aggregate
        ):
            return
        self._held[aggregate_id] = aggregate
        self._held.move_to_end(aggregate_id)
        while len(self._held) > self.maxsize:
            self._held.popitem(last=False)


class Working:
    """The copies one command or group decides on. fresh: the ids refreshed for it;
    any other is refreshed when first read, so that nothing decides on stale state."""

    def __init__(self, aggregates: Aggregates, fresh: Iterable[UUID] = ()) -> None:
        self.aggregates = aggregates
        self.fresh = set(fresh)
        self.copies: dict[UUID, Aggregate | None] = {}
        self._backups: dict[UUID, Aggregate | bool | None] | None = None

    def get(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate to decide on (a copy, changed by the decision); None when it
        does not exist."""
        if aggregate_id not in self.copies:
            if aggregate_id not in self.fresh:
                self.aggregates.refresh([aggregate_id])
                self.fresh.add(aggregate_id)
            self._back_up(aggregate_id, known=False)
            self.copies[aggregate_id] = copy.deepcopy(self.aggregates.held(aggregate_id))
        else:
            self._back_up(aggregate_id, known=True)
        return self.copies[aggregate_id]

    def read(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate for reading only: the held one itself (never change it)."""
        if aggregate_id in self.copies:
            return self.copies[aggregate_id]
        if aggregate_id not in self.fresh:
            self.aggregates.refresh([aggregate_id])
            self.fresh.add(aggregate_id)
        return self.aggregates.held(aggregate_id)

    def add(self, aggregates: Iterable[Aggregate]) -> None:
        """Aggregates a decision made (new ones): later commands of the group see them."""
        for aggregate in aggregates:
            if aggregate.id not in self.copies:
                self._back_up(aggregate.id, known=False)
                self.copies[aggregate.id] = aggregate

    # -- one command of a group at a time ----------------------------------------------

    def begin(self) -> None:
        """A command starts: what it changes can be rolled back."""
        self._backups = {}

    def roll_back(self) -> None:
        """The command failed: its aggregates are as they were when it began."""
        for aggregate_id, backup in (self._backups or {}).items():
            if backup is False:
                self.copies.pop(aggregate_id, None)
            else:
                self.copies[aggregate_id] = backup  # type: ignore[assignment]
        self._backups = None

    def _back_up(self, aggregate_id: UUID, *, known: bool) -> None:
        if self._backups is None or aggregate_id in self._backups:
            return
        # False: the copy did not exist before this command (dropped on roll back).
        self._backups[aggregate_id] = copy.deepcopy(self.copies[aggregate_id]) if known else False
