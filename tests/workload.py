"""A random but valid-looking stream of registry commands, for load and crash tests."""

from __future__ import annotations

import contextlib
import random

from schemas import commands as c
from schemas.bodies import LineageReference
from services.registry.application import Registry
from services.registry.domain.errors import DomainError
from tests.people import person

ALICE, BOB, CAROL = person("alice"), person("bob"), person("carol")


def step(registry: Registry, rng: random.Random, models: list[str], prefix: str) -> str:
    """Runs one command chosen at random; returns its name. Refusals are part of life."""
    if not models or rng.random() < 0.05:
        name = f"{prefix}-{len(models)}"
        tags = {"team": rng.choice(["risk", "growth"])}
        registry.handle(c.RegisterModel(name=name, tags=tags), ALICE)
        models.append(name)
        return "create_model"
    name = rng.choice(models)
    latest = registry.get_model(name)["latest_version"]
    number = rng.randint(1, latest) if latest else 0
    choice = (
        rng.choice(
            [
                "register",
                "register",
                "tag",
                "metrics",
                "promote",
                "alias",
                "archive",
                "describe",
                "lineage",
            ]
        )
        if number
        else "register"
    )
    with contextlib.suppress(DomainError):
        _run(registry, rng, choice, name, number)
    return choice


def _run(registry: Registry, rng: random.Random, choice: str, name: str, number: int) -> None:
    on = {"model": name, "version": number}
    if choice == "register":
        registry.handle(
            c.RegisterVersion(
                model=name,
                artifact_uri=f"s3://models/{name}/{rng.random()}",
                metrics={"auc": round(rng.random(), 3)},
                run_id=f"run-{rng.randint(1, 50)}",
                dataset_version=f"data-{rng.randint(1, 5)}",
            ),
            ALICE,
        )
    elif choice == "tag":
        key = rng.choice(["owner", "tier"])
        registry.handle(c.TagVersion(**on, key=key, value=str(rng.random())), BOB)
    elif choice == "metrics":
        registry.handle(c.RecordMetrics(**on, metrics={"f1": round(rng.random(), 3)}), ALICE)
    elif choice == "promote":
        stage = rng.choice(["staging", "production"])
        request = registry.handle(c.RequestApproval(**on, stage=stage), ALICE).result
        pending = [r for r in request["approval_requests"] if r["status"] == "pending"]
        registry.handle(c.Approve(**on, request_id=pending[-1]["id"]), BOB)
        registry.handle(c.Promote(**on, stage=stage), CAROL)
    elif choice == "alias":
        alias = rng.choice(["champion", "challenger"])
        registry.handle(c.SetAlias(**on, alias=alias), CAROL)
    elif choice == "archive":
        registry.handle(c.Archive(**on), CAROL)
    elif choice == "describe":
        registry.handle(c.DescribeModel(model=name, description=f"revision {rng.random()}"), ALICE)
    elif choice == "lineage":
        references = [LineageReference(kind="feature", id=f"feat-{rng.randint(1, 9)}")]
        registry.handle(c.LinkLineage(**on, references=references), ALICE)
