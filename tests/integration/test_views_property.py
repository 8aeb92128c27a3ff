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
from pydantic import ValidationError

from schemas import commands as c
from schemas.bodies import LineageReference
from services.catalogue import queries
from services.registry.application import Registry
from services.registry.domain.errors import DomainError
from tests.people import TESTERS, person

PEOPLE = [person(n) for n in ("alice", "bob", "carol")]
STAGES = ["staging", "production"]
numbers = st.integers(min_value=1, max_value=3)
who = st.sampled_from(PEOPLE)
# Model card sections and a few values of each.
CARD_VALUES: dict[str, list[Any]] = {
    "intended_purpose": ["flag fraud", "rank leads"],
    "risk": [{"class": "high", "reason": "credit"}, {"class": "minimal", "reason": "spam"}],
    "owners": [[{"subject": "alice", "role": "accountable"}], []],
    "legacy": [{"notes": "old wiki"}],
}
card_sections = st.lists(
    st.tuples(st.sampled_from(sorted(CARD_VALUES)), st.integers(0, 1)), max_size=3
).map(lambda picks: {k: CARD_VALUES[k][i % len(CARD_VALUES[k])] for k, i in picks})
commands = st.one_of(
    st.tuples(st.just("register"), who, st.floats(0, 1)),
    st.tuples(st.just("describe_model"), who, st.text(max_size=20)),
    st.tuples(st.just("tag_model"), who, st.sampled_from(["team", "tier"]), st.text(max_size=8)),
    st.tuples(st.just("untag_model"), who, st.sampled_from(["team", "tier"])),
    st.tuples(st.just("tag_version"), who, numbers, st.just("a"), st.text(max_size=8)),
    st.tuples(st.just("untag_version"), who, numbers, st.just("a")),
    st.tuples(st.just("metrics"), who, numbers, st.floats(0, 1)),
    st.tuples(st.just("request"), who, numbers, st.sampled_from(STAGES)),
    st.tuples(st.just("approve"), who, numbers),
    st.tuples(st.just("reject"), who, numbers),
    st.tuples(st.just("promote"), who, numbers, st.sampled_from(STAGES)),
    st.tuples(st.just("archive"), who, numbers),
    st.tuples(st.just("alias"), who, numbers, st.sampled_from(["champion", "challenger"])),
    st.tuples(st.just("unalias"), who, st.sampled_from(["champion", "challenger"])),
    st.tuples(st.just("delete_version"), who, numbers),
    st.tuples(st.just("lineage"), who, numbers, st.sampled_from(["d1", "d2"])),
    st.tuples(st.just("card"), who, numbers, card_sections),
    st.tuples(
        st.just("amend_card"),
        who,
        numbers,
        card_sections,
        st.lists(st.sampled_from(sorted(CARD_VALUES)), max_size=2, unique=True),
    ),
)


def pending(registry: Registry, name: str, number: int) -> str:
    requests = registry.get_version(name, number)["approval_requests"]
    return next((r["id"] for r in reversed(requests) if r["status"] == "pending"), "none")


def run(registry: Registry, name: str, step: tuple[Any, ...]) -> None:
    kind, who, *args = step
    on = {"model": name}
    match kind:
        case "register":
            command: c.Command = c.RegisterVersion(
                **on, artifact_uri="s3://m", metrics={"auc": args[0]}
            )
        case "describe_model":
            command = c.DescribeModel(**on, description=args[0])
        case "tag_model":
            command = c.TagModel(**on, key=args[0], value=args[1])
        case "untag_model":
            command = c.UntagModel(**on, key=args[0])
        case "tag_version":
            command = c.TagVersion(**on, version=args[0], key=args[1], value=args[2])
        case "untag_version":
            command = c.UntagVersion(**on, version=args[0], key=args[1])
        case "metrics":
            command = c.RecordMetrics(**on, version=args[0], metrics={"f1": args[1]})
        case "request":
            command = c.RequestApproval(**on, version=args[0], stage=args[1])
        case "approve":
            request_id = pending(registry, name, args[0])
            command = c.Approve(**on, version=args[0], request_id=request_id)
        case "reject":
            request_id = pending(registry, name, args[0])
            command = c.Reject(**on, version=args[0], request_id=request_id)
        case "promote":
            command = c.Promote(**on, version=args[0], stage=args[1])
        case "archive":
            command = c.Archive(**on, version=args[0])
        case "alias":
            command = c.SetAlias(**on, version=args[0], alias=args[1])
        case "unalias":
            command = c.RemoveAlias(**on, alias=args[0])
        case "delete_version":
            command = c.DeleteVersion(**on, version=args[0])
        case "lineage":
            references = [LineageReference(kind="dataset", id=args[1])]
            command = c.LinkLineage(**on, version=args[0], references=references)
        case "card":
            command = c.UpdateModelCard(**on, version=args[0], card=args[1])
        case "amend_card":
            command = c.AmendModelCard(**on, version=args[0], sections=args[1], remove=args[2])
    registry.handle(command, who)


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
        # Read as a member of the testers group, who may read every model.
        who = [f"group:{TESTERS}"]
        model = await queries.get_model(conn, s, name, who)
        versions = {n: await queries.get_version(conn, s, name, n, who) for n in numbers}
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
    registry.handle(c.RegisterModel(name=name, tags={"team": "risk"}), PEOPLE[0])
    # Three versions to start with, so most generated commands have something to act on.
    for _ in range(3):
        registry.handle(c.RegisterVersion(model=name, artifact_uri="s3://m"), PEOPLE[0])
    for command in script:
        # Refused commands append nothing; the views must agree with that too.
        with contextlib.suppress(DomainError, ValidationError):  # refused: nothing appended
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
