"""Property: for any sequence of commands, the views say what a fold of the events says.

The fold is the write side's own aggregates, rebuilt from the event store; the views are
what the projector made of the same events.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.catalogue import queries
from services.registry.application import Registry
from services.registry.domain.errors import DomainError
from services.registry.domain.values import Context, Stage

PEOPLE = [Context(n) for n in ("alice", "bob", "carol")]
numbers = st.integers(min_value=1, max_value=3)
who = st.sampled_from(PEOPLE)
commands = st.one_of(
    st.tuples(st.just("register"), who, st.floats(0, 1)),
    st.tuples(st.just("describe_model"), who, st.text(max_size=20)),
    st.tuples(st.just("tag_model"), who, st.sampled_from(["team", "tier"]), st.text(max_size=8)),
    st.tuples(st.just("untag_model"), who, st.sampled_from(["team", "tier"])),
    st.tuples(st.just("tag_version"), who, numbers, st.just("a"), st.text(max_size=8)),
    st.tuples(st.just("untag_version"), who, numbers, st.just("a")),
    st.tuples(st.just("metrics"), who, numbers, st.floats(0, 1)),
    st.tuples(st.just("request"), who, numbers, st.sampled_from([Stage.STAGING, Stage.PRODUCTION])),
    st.tuples(st.just("approve"), who, numbers),
    st.tuples(st.just("reject"), who, numbers),
    st.tuples(st.just("promote"), who, numbers, st.sampled_from([Stage.STAGING, Stage.PRODUCTION])),
    st.tuples(st.just("archive"), who, numbers),
    st.tuples(st.just("alias"), who, numbers, st.sampled_from(["champion", "challenger"])),
    st.tuples(st.just("unalias"), who, st.sampled_from(["champion", "challenger"])),
    st.tuples(st.just("delete_version"), who, numbers),
    st.tuples(st.just("lineage"), who, numbers, st.sampled_from(["d1", "d2"])),
)


def pending(registry: Registry, name: str, number: int) -> str:
    requests = registry.get_version(name, number)["approval_requests"]
    return next((r["id"] for r in reversed(requests) if r["status"] == "pending"), "none")


def run(registry: Registry, name: str, command: tuple[Any, ...]) -> None:
    kind, ctx, *args = command
    match kind:
        case "register":
            registry.register_version(name, ctx, artifact_uri="s3://m", metrics={"auc": args[0]})
        case "describe_model":
            registry.describe_model(name, args[0], ctx)
        case "tag_model":
            registry.tag_model(name, args[0], args[1], ctx)
        case "untag_model":
            registry.untag_model(name, args[0], ctx)
        case "tag_version":
            registry.tag_version(name, args[0], args[1], args[2], ctx)
        case "untag_version":
            registry.untag_version(name, args[0], args[1], ctx)
        case "metrics":
            registry.record_metrics(name, args[0], {"f1": args[1]}, ctx)
        case "request":
            registry.request_approval(name, args[0], args[1], ctx)
        case "approve" | "reject":
            method = registry.approve if kind == "approve" else registry.reject
            method(name, args[0], pending(registry, name, args[0]), ctx)
        case "promote":
            registry.promote(name, args[0], args[1], ctx)
        case "archive":
            registry.archive(name, args[0], ctx)
        case "alias":
            registry.set_alias(name, args[1], args[0], ctx)
        case "unalias":
            registry.remove_alias(name, args[0], ctx)
        case "delete_version":
            registry.delete_version(name, args[0], ctx)
        case "lineage":
            registry.link_lineage(name, args[0], [{"kind": "dataset", "id": args[1]}], ctx)


MODEL_KEYS = (
    "name",
    "description",
    "tags",
    "latest_version",
    "aliases",
    "staging",
    "production",
    "created_by",
)
VERSION_KEYS = (
    "number",
    "stage",
    "aliases",
    "tags",
    "metrics",
    "lineage",
    "description",
    "artifact_uri",
    "created_by",
    "model_card",
)


def requests_of(version: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            r["id"],
            r["stage"],
            r["status"],
            r["requested_by"],
            tuple(a["actor"] for a in r["approvals"]),
        )
        for r in version["approval_requests"]
    )


async def view_of(database_url: str, name: str, numbers: list[int]) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        s = await queries.schemas(conn)
        model = await queries.get_model(conn, s, name)
        versions = {n: await queries.get_version(conn, s, name, n) for n in numbers}
        return {"model": model, "versions": versions}
    finally:
        await conn.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(commands, min_size=10, max_size=40))
def test_views_equal_the_fold_of_the_events(
    registry: Registry,
    database_url: str,
    catch_up: Callable[[], int],
    script: list[tuple[Any, ...]],
) -> None:
    name = f"prop-{uuid.uuid4().hex[:10]}"
    registry.create_model(name, PEOPLE[0], tags={"team": "risk"})
    # Three versions to start with, so most generated commands have something to act on.
    for _ in range(3):
        registry.register_version(name, PEOPLE[0], artifact_uri="s3://m")
    for command in script:
        # Refused commands append nothing; the views must agree with that too.
        with contextlib.suppress(DomainError):
            run(registry, name, command)
    catch_up()

    folded = registry.get_model(name)
    live = []
    for n in range(1, folded["latest_version"] + 1):
        with contextlib.suppress(DomainError):  # deleted versions are not shown
            live.append(registry.get_version(name, n))
    seen = asyncio.run(view_of(database_url, name, [v["number"] for v in live]))

    assert {k: seen["model"][k] for k in MODEL_KEYS} == {k: folded[k] for k in MODEL_KEYS}
    for version in live:
        viewed = seen["versions"][version["number"]]
        assert {k: viewed[k] for k in VERSION_KEYS} == {k: version[k] for k in VERSION_KEYS}
        assert requests_of(viewed) == requests_of(version)
