"""A version's recorded files, by its id, for the pinned download paths (paths.PINNED)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.catalogue.queries import Schemas
from services.catalogue.rows import json_value
from services.catalogue.visibility import visible
from services.registry.domain.errors import NotFound


async def manifest_of(
    conn: asyncpg.Connection, s: Schemas, version_id: str, who: list[str]
) -> list[dict[str, Any]]:
    """The manifest of the live version version_id that who may read; else NotFound."""
    try:
        key = uuid.UUID(version_id)
    except ValueError:
        raise NotFound(f"no version {version_id}", version_id=version_id) from None
    c = s.catalogue
    found = await conn.fetchval(
        f"SELECT v.manifest FROM {c}.versions v JOIN {c}.models m ON m.model_id = v.model_id"
        f" WHERE v.version_id = $1 AND NOT v.deleted AND NOT m.deleted"
        f" AND {visible(s.access, 'm', '$2')}",
        key,
        who,
    )
    if found is None:
        raise NotFound(f"no version {version_id}", version_id=version_id)
    return list(json_value(found) or [])
