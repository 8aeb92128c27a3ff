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
        # What each copy was made from (held, never changed; None for a new aggregate).
        self._bases: dict[UUID, Aggregate | None] = {}
        # While a command of a group runs: how many pending events each copy it touched
        # had when it began (None: the copy did not exist yet).
        self._marks: dict[UUID, int | None] | None = None

    def get(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate to decide on (a copy, changed by the decision); None when it
        does not exist."""
        if aggregate_id not in self.copies:
            if aggregate_id not in self.fresh:
                self.aggregates.refresh([aggregate_id])
                self.fresh.add(aggregate_id)
            self._mark(aggregate_id, existed=False)
            base = self.aggregates.held(aggregate_id)
            self._bases[aggregate_id] = base
            self.copies[aggregate_id] = copy.deepcopy(base)
        else:
            self._mark(aggregate_id, existed=True)
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
            if self.copies.get(aggregate.id) is None:  # new, or where none existed
                existed = aggregate.id in self.copies
                self._mark(aggregate.id, existed=existed)
                self._bases.setdefault(aggregate.id, None)
                self.copies[aggregate.id] = aggregate

    # -- one command of a group at a time ----------------------------------------------

    def begin(self) -> None:
        """A command starts: what it changes can be rolled back."""
        self._marks = {}

    def roll_back(self) -> None:
        """The command failed: its aggregates are as they were when it began, rebuilt
        from what they were copied from and the earlier commands' pending events (no
        copy is made while commands succeed)."""
        for aggregate_id, mark in (self._marks or {}).items():
            if mark is None:
                self.copies.pop(aggregate_id, None)
                self._bases.pop(aggregate_id, None)
                continue
            current = self.copies[aggregate_id]
            kept = list(current.pending_events[:mark]) if current is not None else []
            rebuilt: Any = copy.deepcopy(self._bases[aggregate_id])
            for event in kept:
                rebuilt = event.mutate(rebuilt)
            if rebuilt is not None:
                rebuilt.pending_events[:] = kept
            self.copies[aggregate_id] = rebuilt
        self._marks = None

    def _mark(self, aggregate_id: UUID, *, existed: bool) -> None:
        if self._marks is None or aggregate_id in self._marks:
            return
        current = self.copies.get(aggregate_id) if existed else None
        self._marks[aggregate_id] = (
            len(current.pending_events) if current is not None else (0 if existed else None)
        )
