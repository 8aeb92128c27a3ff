"""Artefact garbage collection decides without IO: a memory store aged by its clock, and
the references a memory event log holds."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from services.api import gc as gc_api
from services.artifacts import gc
from tests.fakes.artifacts import MemoryStore
from tests.fakes.eventlog import MemoryEventLog, RegistryEvents

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
GRACE = timedelta(hours=24)


def stored_at(store: MemoryStore, data: bytes, hours_ago: float) -> str:
    """Puts data as if `hours_ago` hours before NOW; returns its digest."""
    store.clock = lambda: NOW - timedelta(hours=hours_ago)
    return store.put(iter([data])).sha256


def test_the_plan_takes_old_unreferenced_objects_oldest_first() -> None:
    store = MemoryStore()
    used = stored_at(store, b"a version's file", 100)
    older = stored_at(store, b"an abandoned upload", 72)
    old = stored_at(store, b"another abandoned upload!", 25)
    at_the_edge = stored_at(store, b"exactly as old as the grace", 24)
    young = stored_at(store, b"uploaded, not registered yet", 1)

    planned = gc.plan(store, {used, "f" * 64}, GRACE, NOW)

    assert [o.sha256 for o in planned.remove] == [older, old]
    assert [o.modified for o in planned.remove] == [NOW - timedelta(hours=h) for h in (72, 25)]
    assert planned.bytes == len(b"an abandoned upload") + len(b"another abandoned upload!")
    # Kept: the referenced one (a digest with no object counts for nothing), the young
    # one, and one exactly as old as the grace period.
    assert (planned.referenced, planned.kept_young) == (1, 2)
    assert young not in {o.sha256 for o in planned.remove}
    assert at_the_edge not in {o.sha256 for o in planned.remove}
    # Planning removes nothing.
    assert len(list(store.objects())) == 5


def test_a_grace_of_zero_takes_every_unreferenced_object() -> None:
    store = MemoryStore()
    used = stored_at(store, b"used", 0.01)
    stray = stored_at(store, b"stray", 0.01)
    planned = gc.plan(store, {used}, timedelta(0), NOW)
    assert [o.sha256 for o in planned.remove] == [stray]
    assert (planned.referenced, planned.kept_young) == (1, 0)


def test_the_sweep_removes_the_plan_but_spares_what_became_referenced() -> None:
    store = MemoryStore()
    stale = stored_at(store, b"stale", 48)
    claimed = stored_at(store, b"registered while gc listed the store", 48)
    planned = gc.plan(store, set(), GRACE, NOW)
    assert {o.sha256 for o in planned.remove} == {stale, claimed}

    removed = gc.sweep(store, planned, spare={claimed})

    assert [o.sha256 for o in removed] == [stale]
    assert [o.sha256 for o in store.objects()] == [claimed]


def test_a_registration_references_its_files_and_its_own_digest() -> None:
    files = [
        {"path": "a", "sha256": "a" * 64, "size": 1},
        {"path": "b", "sha256": "b" * 64, "size": 2},
    ]
    assert list(gc.references({"manifest": files, "sha256": "c" * 64})) == [
        "a" * 64,
        "b" * 64,
        "c" * 64,
    ]
    # By reference without a digest; and an event stored before manifests existed.
    assert list(gc.references({"manifest": [], "sha256": None})) == []
    assert list(gc.references({"sha256": "d" * 64})) == ["d" * 64]


def test_the_log_is_read_a_page_of_registrations_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gc_api, "PAGE", 2)
    log = MemoryEventLog()
    write = RegistryEvents(log.append)
    model = write.register_model("fraud")
    digests = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(5)]
    for number, digest in enumerate(digests, start=1):
        files = [{"path": "model.bin", "sha256": digest, "size": 1}]
        write.register_version(model, number, sha256=digest, manifest=files)
        write.tag_model(model, "n", str(number))  # events that are not registrations

    found, position = asyncio.run(gc_api.referenced_digests(log))
    assert found == set(digests)
    # From that position on, only what was registered since.
    late = "e" * 64
    write.register_version(model, 6, sha256=late)
    since, after = asyncio.run(gc_api.referenced_digests(log, after=position))
    assert since == {late} and after > position
    assert asyncio.run(gc_api.referenced_digests(log, after=after)) == (set(), after)
