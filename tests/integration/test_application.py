"""The application against real PostgreSQL: concurrency, idempotency, optimistic locking."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from services.registry.application import CommandIdReused, Registry
from services.registry.domain.errors import DuplicateName, NotApproved, NotFound
from services.registry.domain.values import Context, Stage

ALICE, BOB, CAROL = Context("alice"), Context("bob"), Context("carol")


def facts(uri: str = "s3://models/m") -> dict[str, Any]:
    return {"artifact_uri": uri}


def test_eight_writers_get_numbers_one_to_1600(
    registry: Registry, unique: str, catch_up: Callable[[], int], sql: Callable[..., list]
) -> None:
    name = f"contended-{unique}"
    registry.create_model(name, ALICE)
    start = threading.Barrier(8)

    def writer(worker: int) -> list[int]:
        start.wait()
        ctx = Context(f"pipeline-{worker}")
        return [
            registry.register_version(name, ctx, **facts(f"s3://m/{worker}/{i}")).result["number"]
            for i in range(200)
        ]

    with ThreadPoolExecutor(8) as pool:
        numbers = [n for batch in pool.map(writer, range(8)) for n in batch]

    # No gaps and no duplicates, in the responses and in what is stored.
    assert sorted(numbers) == list(range(1, 1601))
    assert registry.get_model(name)["latest_version"] == 1600
    catch_up()
    rows = sql(
        "SELECT v.number FROM {catalogue}.versions v JOIN {catalogue}.models m"
        " USING (model_id) WHERE m.name = $1 ORDER BY v.number",
        name,
    )
    assert [r["number"] for r in rows] == list(range(1, 1601))


def test_the_same_command_id_returns_the_first_outcome_and_appends_nothing(
    registry: Registry, unique: str
) -> None:
    name = f"idem-{unique}"
    ctx = Context("alice", command_id=f"create-{unique}")
    first = registry.create_model(name, ctx, description="fraud")
    events_after_first = registry.registry_recorder.count_events()
    again = registry.create_model(name, ctx, description="fraud")
    assert again.result == first.result
    assert again.position == first.position
    assert again.replayed
    assert registry.registry_recorder.count_events() == events_after_first


def test_a_command_id_reused_for_another_command_is_refused(
    registry: Registry, unique: str
) -> None:
    ctx = Context("alice", command_id=f"cmd-{unique}")
    registry.create_model(f"first-{unique}", ctx)
    before = registry.registry_recorder.count_events()
    with pytest.raises(CommandIdReused):
        registry.create_model(f"second-{unique}", ctx)
    assert registry.registry_recorder.count_events() == before


def test_concurrent_retries_of_one_command_append_once(registry: Registry, unique: str) -> None:
    name = f"retry-{unique}"
    registry.create_model(name, ALICE)
    ctx = Context("alice", command_id=f"register-{unique}")
    start = threading.Barrier(6)

    def send(_: int) -> tuple[int, int | None]:
        start.wait()
        outcome = registry.register_version(name, ctx, **facts())
        return outcome.result["number"], outcome.position

    with ThreadPoolExecutor(6) as pool:
        outcomes = set(pool.map(send, range(6)))
    assert len(outcomes) == 1
    assert registry.get_model(name)["latest_version"] == 1


def test_one_of_many_concurrent_creates_of_a_name_wins(registry: Registry, unique: str) -> None:
    name = f"race-{unique}"
    start = threading.Barrier(6)

    def create(worker: int) -> str:
        start.wait()
        try:
            registry.create_model(name, Context(f"user-{worker}"))
            return "created"
        except DuplicateName:
            return "duplicate"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(create, range(6)))
    assert sorted(results) == ["created"] + ["duplicate"] * 5


def test_a_stale_aggregate_cannot_be_saved(registry: Registry, unique: str) -> None:
    # Optimistic concurrency at the event store: two copies of one aggregate, both
    # changed; the second save conflicts instead of overwriting.
    name = f"occ-{unique}"
    registry.create_model(name, ALICE)
    model_id = registry.get_model(name)["id"]
    from uuid import UUID

    first = registry.repository.get(UUID(model_id))
    second = registry.repository.get(UUID(model_id))
    first.describe("one", ALICE)
    second.describe("two", BOB)
    registry.save(first)
    with pytest.raises(IntegrityError):
        registry.save(second)
    assert registry.get_model(name)["description"] == "one"


def test_concurrent_promotions_leave_one_production_version(
    registry: Registry, unique: str
) -> None:
    name = f"prod-{unique}"
    registry.create_model(name, ALICE)
    for number in range(1, 5):
        registry.register_version(name, ALICE, **facts())
        request = registry.request_approval(name, number, Stage.PRODUCTION, ALICE)
        request_id = request.result["approval_requests"][-1]["id"]
        registry.approve(name, number, request_id, BOB)
    start = threading.Barrier(4)

    def promote(number: int) -> None:
        start.wait()
        registry.promote(name, number, Stage.PRODUCTION, CAROL)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(promote, range(1, 5)))
    model = registry.get_model(name)
    assert len(model["production"]) == 1
    stages = sorted(registry.get_version(name, n)["stage"] for n in range(1, 5))
    assert stages == ["archived"] * 3 + ["production"]


def test_the_full_review_flow_and_rename(registry: Registry, unique: str) -> None:
    name = f"flow-{unique}"
    registry.create_model(name, ALICE)
    registry.register_version(name, ALICE, **facts(), metrics={"auc": 0.9})
    with pytest.raises(NotApproved):
        registry.promote(name, 1, Stage.STAGING, CAROL)
    request = registry.request_approval(name, 1, Stage.STAGING, ALICE).result
    registry.approve(name, 1, request["approval_requests"][0]["id"], BOB)
    promoted = registry.promote(name, 1, Stage.STAGING, CAROL)
    assert promoted.result["stage"] == "staging"
    registry.set_alias(name, "challenger", 1, CAROL)
    registry.rename_model(name, f"{name}-renamed", ALICE)
    with pytest.raises(NotFound):
        registry.get_model(name)
    renamed = registry.resolve_alias(f"{name}-renamed", "challenger")
    assert (renamed["number"], renamed["stage"], renamed["model"]) == (
        1,
        "staging",
        f"{name}-renamed",
    )
    # The old name is free again.
    registry.create_model(name, ALICE)
    assert registry.get_model(name)["latest_version"] == 0


def test_writers_in_separate_application_instances_still_get_gapless_numbers(
    database_url: str, unique: str
) -> None:
    # Separate instances share no in-process lock: only the event store's optimistic
    # concurrency keeps the numbers right, as with several API processes.
    from services.bootstrap import build_registry
    from services.settings import Settings

    apps = [build_registry(Settings(db_pool_size=3), database_url) for _ in range(4)]
    name = f"multi-{unique}"
    apps[0].create_model(name, ALICE)
    start = threading.Barrier(8)

    def writer(worker: int) -> list[int]:
        app = apps[worker % 4]
        start.wait()
        return [
            app.register_version(name, Context(f"p{worker}"), **facts()).result["number"]
            for _ in range(40)
        ]

    try:
        with ThreadPoolExecutor(8) as pool:
            numbers = [n for batch in pool.map(writer, range(8)) for n in batch]
    finally:
        for app in apps:
            app.close()
    assert sorted(numbers) == list(range(1, 321))
