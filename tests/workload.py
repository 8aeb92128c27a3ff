"""A random but valid-looking stream of registry commands, for load and crash tests."""

from __future__ import annotations

import contextlib
import random
from typing import Any

from services.registry.application import Registry
from services.registry.domain.errors import DomainError
from services.registry.domain.values import Context, Stage

ALICE, BOB, CAROL = Context("alice"), Context("bob"), Context("carol")


def step(registry: Registry, rng: random.Random, models: list[str], prefix: str) -> str:
    """Runs one command chosen at random; returns its name. Refusals are part of life."""
    if not models or rng.random() < 0.05:
        name = f"{prefix}-{len(models)}"
        registry.create_model(name, ALICE, tags={"team": rng.choice(["risk", "growth"])})
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
    if choice == "register":
        registry.register_version(
            name,
            ALICE,
            artifact_uri=f"s3://models/{name}/{rng.random()}",
            metrics={"auc": round(rng.random(), 3)},
            run_id=f"run-{rng.randint(1, 50)}",
            dataset_version=f"data-{rng.randint(1, 5)}",
        )
    elif choice == "tag":
        registry.tag_version(name, number, rng.choice(["owner", "tier"]), str(rng.random()), BOB)
    elif choice == "metrics":
        registry.record_metrics(name, number, {"f1": round(rng.random(), 3)}, ALICE)
    elif choice == "promote":
        stage = rng.choice([Stage.STAGING, Stage.PRODUCTION])
        request = registry.request_approval(name, number, stage, ALICE).result
        pending = [r for r in request["approval_requests"] if r["status"] == "pending"]
        registry.approve(name, number, pending[-1]["id"], BOB)
        registry.promote(name, number, stage, CAROL)
    elif choice == "alias":
        registry.set_alias(name, rng.choice(["champion", "challenger"]), number, CAROL)
    elif choice == "archive":
        registry.archive(name, number, CAROL)
    elif choice == "describe":
        registry.describe_model(name, f"revision {rng.random()}", ALICE)
    elif choice == "lineage":
        refs: list[dict[str, Any]] = [{"kind": "feature", "id": f"feat-{rng.randint(1, 9)}"}]
        registry.link_lineage(name, number, refs, ALICE)
