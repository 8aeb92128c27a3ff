"""Garbage collection of artefacts: stored objects that no version references.

What is referenced is the event log's to say: every VersionRegistered names the digests
of its files and its own (`references`), and the log keeps them after a version or its
model is deleted, so those objects stay. The caller reads the log and hands over the
digests (services/api/gc.py); this module decides and removes. An object nothing
references is removed only once it is older than a grace period, because an upload
comes before the registration that references it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.artifacts.port import ArtifactStore, ObjectInfo


def references(registration: Mapping[str, Any]) -> Iterator[str]:
    """The digests a VersionRegistered event's fields name: each file of its manifest,
    and the version's own sha256 (its single file's; or an object of this store that it
    refers to by URI; else a digest no object has, which keeps nothing)."""
    for entry in registration.get("manifest") or ():  # absent before class_version 2
        yield entry["sha256"]
    if registration.get("sha256"):
        yield registration["sha256"]


@dataclass(frozen=True)
class Plan:
    """What a collection would do: remove the unreferenced objects older than the grace
    period (oldest first), and keep the others."""

    remove: tuple[ObjectInfo, ...]
    kept_young: int  # unreferenced, but within the grace period
    referenced: int  # stored objects some version references

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.remove)


def plan(
    store: ArtifactStore, referenced: Collection[str], grace: timedelta, now: datetime
) -> Plan:
    """Walks the store's listing once; only the objects to remove are kept in memory."""
    remove: list[ObjectInfo] = []
    young = kept = 0
    for stored in store.objects():
        if stored.sha256 in referenced:
            kept += 1
        elif now - stored.modified > grace:
            remove.append(stored)
        else:
            young += 1
    remove.sort(key=lambda o: (o.modified, o.sha256))
    return Plan(tuple(remove), kept_young=young, referenced=kept)


def sweep(
    store: ArtifactStore, planned: Plan, spare: Collection[str] = frozenset()
) -> list[ObjectInfo]:
    """Removes what was planned, except the digests in spare (referenced since the plan
    was made); returns what it removed."""
    removed = []
    for stored in planned.remove:
        if stored.sha256 not in spare:
            store.remove(stored.sha256)
            removed.append(stored)
    return removed
