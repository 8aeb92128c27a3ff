"""The latest version in each stage of some models (MLflow's latest_versions and
get-latest-versions): one query for a whole page of models."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.catalogue.queries import Schemas
from services.catalogue.search import with_reviews
from services.catalogue.visibility import visible


async def latest_per_stage(
    conn: asyncpg.Connection,
    s: Schemas,
    names: list[str],
    who: list[str],
    stages: list[str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """model name -> its newest version in each stage (or in each of stages), oldest
    stage first as MLflow lists them."""
    if not names:
        return {}
    c = s.catalogue
    rows = await conn.fetch(
        f"SELECT DISTINCT ON (v.model_id, v.stage) v.*, m.name AS model_name"
        f" FROM {c}.versions v JOIN {c}.models m ON m.model_id = v.model_id"
        f" WHERE m.name = ANY($1::text[]) AND NOT m.deleted AND NOT v.deleted"
        f" AND {visible(s.access, 'm', '$2')}"
        f" AND ($3::text[] IS NULL OR v.stage = ANY($3::text[]))"
        f" ORDER BY v.model_id, v.stage, v.number DESC",
        names,
        who,
        stages,
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for version in await with_reviews(conn, c, list(rows)):
        found.setdefault(version["model"], []).append(version)
    for versions in found.values():
        versions.sort(key=lambda v: v["number"])
    return found
