"""GET /api/v1/audit/checkpoints: the signed checkpoints of the log's hash chain, with the
public keys that signed them, for auditors to keep outside the registry (any
authenticated caller: they hold digests and positions, nothing of the models)."""

from __future__ import annotations

import base64
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Query, Request
from pydantic import BeforeValidator

from schemas.audit import CheckpointOut, CheckpointPage, SigningKeyOut
from services.api.caller import CALLER
from services.api.params import PageOffset, digits, errors
from services.audit import reading
from services.audit.signing import public_pem

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], dependencies=[CALLER])

MAX_KEYS = 1000
Count = Annotated[int, BeforeValidator(digits)]


@router.get("/checkpoints", responses=errors(401, 422))
async def checkpoints(
    request: Request,
    limit: Count = Query(100, ge=1, le=1000),
    page_token: PageOffset | None = None,
) -> CheckpointPage:
    """The checkpoints recorded after the page token's position, oldest first, and every
    signing key."""
    after = page_token or 0
    conn = await asyncpg.connect(
        request.app.state.events_dsn, server_settings={"application_name": "registrum-audit"}
    )
    try:
        found = await reading.recorded_page(conn, reading.CHECKPOINT_TOPIC, after, limit + 1)
        keys = await reading.recorded_page(conn, reading.KEY_TOPIC, 0, MAX_KEYS)
    finally:
        await conn.close()
    more = len(found) > limit
    found = found[:limit]
    return CheckpointPage(
        keys=[
            SigningKeyOut(
                key_id=k.data["key_id"],
                public_key=k.data["public_key"],
                public_key_pem=public_pem(base64.b64decode(k.data["public_key"])),
                replaces=k.data.get("replaces"),
                added_at=k.time,
                recorded_at=k.position,
            )
            for k in keys
        ],
        checkpoints=[
            CheckpointOut(
                position=c.data["position"],
                link=c.data["link"],
                key_id=c.data["key_id"],
                signature=c.data["signature"],
                time=c.time,
                recorded_at=c.position,
            )
            for c in found
        ],
        next_page_token=str(found[-1].position) if more else None,
    )
