"""The application against real PostgreSQL: concurrency, idempotency, optimistic locking."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from schemas import commands as c
from services.registry.application import CommandIdReused, Registry
from services.registry.domain.errors import DuplicateName, NotApproved, NotFound
from services.registry.domain.values import Context
from tests.people import person

ALICE, BOB, CAROL = person("alice"), person("bob"), person("carol")


def version(name: str, uri: str = "s3://models/m", **fields: Any) -> c.RegisterVersion:
    return c.RegisterVersion(model=name, artifact_uri=uri, **fields)


def test_eight_writers_get_numbers_one_to_1600(
    registry: Registry, unique: str, catch_up: Callable[[], int], sql: Callable[..., list]
) -> None:
    name = f"contended-{unique}"
    registry.handle(c.RegisterModel(name=name), ALICE)
    start = threading.Barrier(8)

    def writer(worker: int) -> list[int]:
        start.wait()
        who = person(f"pipeline-{worker}")
        return [
            registry.handle(version(name, f"s3://m/{worker}/{i}"), who).result["number"]
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
    create = c.RegisterModel(name=name, description="fraud", command_id=f"create-{unique}")
    first = registry.handle(create, ALICE)
    events_after_first = registry.command_log.count_events()
    again = registry.handle(create, ALICE)
    assert again.result == first.result
    assert again.position == first.position
    assert again.replayed
    assert registry.command_log.count_events() == events_after_first


def test_a_command_id_reused_for_another_command_is_refused(
    registry: Registry, unique: str
) -> None:
    command_id = f"cmd-{unique}"
    registry.handle(c.RegisterModel(name=f"first-{unique}", command_id=command_id), ALICE)
    before = registry.command_log.count_events()
    with pytest.raises(CommandIdReused):
        registry.handle(c.RegisterModel(name=f"second-{unique}", command_id=command_id), ALICE)
    assert registry.command_log.count_events() == before


def test_concurrent_retries_of_one_command_append_once(registry: Registry, unique: str) -> None:
    name = f"retry-{unique}"
    registry.handle(c.RegisterModel(name=name), ALICE)
    register = version(name, command_id=f"register-{unique}")
    start = threading.Barrier(6)

    def send(_: int) -> tuple[int, int | None]:
        start.wait()
        outcome = registry.handle(register, ALICE)
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
            registry.handle(c.RegisterModel(name=name), person(f"user-{worker}"))
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
    registry.handle(c.RegisterModel(name=name), ALICE)
    model_id = registry.get_model(name)["id"]
    from uuid import UUID

    first = registry.repository.get(UUID(model_id))
    second = registry.repository.get(UUID(model_id))
    first.describe("one", Context("alice"))
    second.describe("two", Context("bob"))
    registry.save(first)
    with pytest.raises(IntegrityError):
        registry.save(second)
    assert registry.get_model(name)["description"] == "one"


def test_concurrent_promotions_leave_one_production_version(
    registry: Registry, unique: str
) -> None:
    name = f"prod-{unique}"
    registry.handle(c.RegisterModel(name=name), ALICE)
    for number in range(1, 5):
        registry.handle(version(name), ALICE)
        ask = c.RequestApproval(model=name, version=number, stage="production")
        request_id = registry.handle(ask, ALICE).result["approval_requests"][-1]["id"]
        registry.handle(c.Approve(model=name, version=number, request_id=request_id), BOB)
    start = threading.Barrier(4)

    def promote(number: int) -> None:
        start.wait()
        registry.handle(c.Promote(model=name, version=number, stage="production"), CAROL)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(promote, range(1, 5)))
    model = registry.get_model(name)
    assert len(model["production"]) == 1
    stages = sorted(registry.get_version(name, n)["stage"] for n in range(1, 5))
    assert stages == ["archived"] * 3 + ["production"]


def test_the_full_review_flow_and_rename(registry: Registry, unique: str) -> None:
    name = f"flow-{unique}"
    registry.handle(c.RegisterModel(name=name), ALICE)
    registry.handle(version(name, metrics={"auc": 0.9}), ALICE)
    promote = c.Promote(model=name, version=1, stage="staging")
    with pytest.raises(NotApproved):
        registry.handle(promote, CAROL)
    ask = c.RequestApproval(model=name, version=1, stage="staging")
    request = registry.handle(ask, ALICE).result
    approval = c.Approve(model=name, version=1, request_id=request["approval_requests"][0]["id"])
    registry.handle(approval, BOB)
    promoted = registry.handle(promote, CAROL)
    assert promoted.result["stage"] == "staging"
    registry.handle(c.SetAlias(model=name, alias="challenger", version=1), CAROL)
    registry.handle(c.RenameModel(model=name, new_name=f"{name}-renamed"), ALICE)
    with pytest.raises(NotFound):
        registry.get_model(name)
    renamed = registry.resolve_alias(f"{name}-renamed", "challenger")
    assert (renamed["number"], renamed["stage"], renamed["model"]) == (
        1,
        "staging",
        f"{name}-renamed",
    )
    # The old name is free again.
    registry.handle(c.RegisterModel(name=name), ALICE)
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
    apps[0].handle(c.RegisterModel(name=name), ALICE)
    start = threading.Barrier(8)

    def writer(worker: int) -> list[int]:
        app = apps[worker % 4]
        start.wait()
        return [app.handle(version(name), person(f"p{worker}")).result["number"] for _ in range(40)]

    try:
        with ThreadPoolExecutor(8) as pool:
            numbers = [n for batch in pool.map(writer, range(8)) for n in batch]
    finally:
        for app in apps:
            app.close()
    assert sorted(numbers) == list(range(1, 321))


def test_a_group_with_one_conflicting_command_commits_the_others_and_retries_that_one(
    registry: Registry, database_url: str, unique: str
) -> None:  # registry: the testers hold every role on the shared log
    # Two processes' registries on one log. In `ours`, three registrations are decided
    # as one group; while the first is decided, `theirs` takes the next number of the
    # second's model, so the group's transaction conflicts. Each command then runs
    # alone: the other two commit as decided, the conflicting one is decided again.
    from services.bootstrap import build_registry
    from services.registry.execution import Decision, Ticket
    from services.settings import Settings

    ours, theirs = (build_registry(Settings(db_pool_size=3), database_url) for _ in range(2))
    names = [f"group-{k}-{unique}" for k in range(3)]
    try:
        for name in names:
            ours.handle(c.RegisterModel(name=name), ALICE)
            ours.handle(version(name), ALICE)  # each model at number 1, held by ours
        tickets = [ours.ticket(version(n, command_id=f"{n}:2"), ALICE) for n in names]
        first = tickets[0].decide
        raced: list[int] = []

        def decide_while_they_write() -> Decision:
            if not raced:
                raced.append(theirs.handle(version(names[1]), BOB).result["number"])
            return first()

        tickets[0] = Ticket(
            tickets[0].command, tickets[0].ctx, decide_while_they_write, context=ALICE
        )
        ours.executor.run_group(tickets)
        outcomes = [t.answer() for t in tickets]
    finally:
        ours.close()
        theirs.close()
    assert raced == [2]
    assert [o.result["number"] for o in outcomes] == [2, 3, 2]
    # Each answered with its own position, and recorded once under its command id.
    assert len({o.position for o in outcomes}) == 3
    check = build_registry(Settings(db_pool_size=1), database_url)
    try:
        for name, outcome in zip(names, outcomes, strict=True):
            record = check.command_log.find_command(f"{name}:2")
            assert record is not None and record.position == outcome.position
        numbers = [check.get_model(n)["latest_version"] for n in names]
    finally:
        check.close()
    assert numbers == [2, 3, 2]
