"""Searching models and versions in the catalogue view, with filters and page tokens."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import asyncpg

from services.catalogue.filters import Field, FilterError, Scope, compile_search
from services.catalogue.rows import model_row, version_row
from services.catalogue.visibility import visible

MAX_PAGE = 1000


def _millis(column: str) -> Field:
    return Field(f"(extract(epoch FROM {column}) * 1000)::float8", "number")


# MLflow's names for the same columns (its search syntax: services/mlflow).
MLFLOW_VERSION_FIELDS = {
    "version_number": Field("v.number::float8", "number"),
    "source_path": Field("v.artifact_uri", "text"),
    "creation_timestamp": _millis("v.created_at"),
    "last_updated_timestamp": _millis("v.updated_at"),
}
MLFLOW_MODEL_FIELDS = {
    "creation_timestamp": _millis("m.created_at"),
    "last_updated_timestamp": _millis("m.updated_at"),
    "timestamp": _millis("m.updated_at"),
}


def _mlflow_reading(mlflow: bool) -> dict[str, Any]:
    return {"synonyms": {"tag": "tags"}, "absent_differs": True} if mlflow else {}


def version_scope(c: str, mlflow: bool = False) -> Scope:
    text = {
        k: Field(f"v.{k}", "text")
        for k in (
            "run_id",
            "dataset_version",
            "created_by",
            "sha256",
            "format",
            "flavor",
            "description",
            "artifact_uri",
        )
    }
    alias = (
        f"EXISTS (SELECT 1 FROM {c}.aliases a WHERE a.model_id = v.model_id"
        " AND a.number = v.number AND a.alias {op} {v})"
    )
    return Scope(
        fields={
            **text,
            "name": Field("m.name", "text"),
            "model": Field("m.name", "text"),
            "number": Field("v.number::float8", "number"),
            "version": Field("v.number::float8", "number"),
            "size": Field("v.size::float8", "number"),
            "stage": Field("v.stage", "stage"),
            "alias": Field(alias, "alias"),
            "created_at": Field("v.created_at", "time"),
            "updated_at": Field("v.updated_at", "time"),
            **(MLFLOW_VERSION_FIELDS if mlflow else {}),
        },
        keyed={
            "tags": Field("(v.tags ->> {k})", "text"),
            "metrics": Field("((v.metrics ->> {k})::float8)", "number"),
            "hyperparameters": Field("(v.hyperparameters ->> {k})", "text"),
        },
        default_order="m.name ASC, v.number ASC",
        **_mlflow_reading(mlflow),
    )


def model_scope(mlflow: bool = False) -> Scope:
    return Scope(
        fields={
            "name": Field("m.name", "text"),
            "description": Field("m.description", "text"),
            "created_by": Field("m.created_by", "text"),
            "latest_version": Field("m.latest_version::float8", "number"),
            "created_at": Field("m.created_at", "time"),
            "updated_at": Field("m.updated_at", "time"),
            **(MLFLOW_MODEL_FIELDS if mlflow else {}),
        },
        keyed={"tags": Field("(m.tags ->> {k})", "text")},
        default_order="m.name ASC",
        **_mlflow_reading(mlflow),
    )


def _dialect(mlflow: bool) -> tuple[str, ...]:
    # A token of one dialect's search is refused by the other's (a token from before
    # there were two keeps its fingerprint).
    return ("mlflow",) if mlflow else ()


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def encode_token(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "f": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, fingerprint: str) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        offset = int(data["o"])
        same = data["f"] == fingerprint
    except (ValueError, KeyError, TypeError):
        raise FilterError("page_token is malformed", parameter="page_token") from None
    if not same or offset < 0:
        raise FilterError(
            "page_token belongs to another search; keep filter and order_by unchanged",
            parameter="page_token",
        )
    return offset


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise FilterError(f"limit is between 1 and {MAX_PAGE}", parameter="limit")


async def search_versions(
    conn: asyncpg.Connection,
    c: str,
    *,
    model: str | None,
    filter_text: str | None,
    order_by: str | None,
    limit: int,
    page_token: str | None,
    access: str,
    who: list[str],
    stage: str | None = None,
    mlflow: bool = False,
) -> dict[str, Any]:
    """A page of the versions who may read that match (filtered before paging). mlflow:
    MLflow's field names are known too."""
    _check_limit(limit)
    compiled = compile_search(version_scope(c, mlflow), filter_text, order_by)
    fingerprint = _fingerprint("versions", model, stage, filter_text, order_by, *_dialect(mlflow))
    offset = decode_token(page_token, fingerprint)
    params = [*compiled.params, who]
    scope_sql = f" AND {visible(access, 'm', f'${len(params)}')}"
    for column, value in (("m.name", model), ("v.stage", stage)):
        if value is not None:
            params.append(value)
            scope_sql += f" AND {column} = ${len(params)}"
    params += [limit + 1, offset]
    sql = (
        f"SELECT v.*, m.name AS model_name"
        f" FROM {c}.versions v JOIN {c}.models m ON m.model_id = v.model_id"
        f" WHERE NOT v.deleted AND NOT m.deleted{scope_sql} AND ({compiled.where})"
        f" ORDER BY {compiled.order} LIMIT ${len(params) - 1} OFFSET ${len(params)}"
    )
    rows = await _fetch(conn, sql, params)
    page = await with_reviews(conn, c, rows[:limit])
    more = len(rows) > limit
    return {
        "versions": page,
        "next_page_token": encode_token(offset + limit, fingerprint) if more else None,
    }


async def search_models(
    conn: asyncpg.Connection,
    c: str,
    *,
    filter_text: str | None,
    order_by: str | None,
    limit: int,
    page_token: str | None,
    access: str,
    who: list[str],
    mlflow: bool = False,
) -> dict[str, Any]:
    """A page of the models who may read that match (filtered before paging). mlflow:
    MLflow's field names are known too."""
    _check_limit(limit)
    compiled = compile_search(model_scope(mlflow), filter_text, order_by)
    fingerprint = _fingerprint("models", filter_text, order_by, *_dialect(mlflow))
    offset = decode_token(page_token, fingerprint)
    params = [*compiled.params, who, limit + 1, offset]
    sql = (
        f"SELECT m.*, {MODEL_EXTRAS.format(c=c)} FROM {c}.models m"
        f" WHERE NOT m.deleted AND {visible(access, 'm', f'${len(params) - 2}')}"
        f" AND ({compiled.where})"
        f" ORDER BY {compiled.order} LIMIT ${len(params) - 1} OFFSET ${len(params)}"
    )
    rows = await _fetch(conn, sql, params)
    page = [model_row(r) for r in rows[:limit]]
    more = len(rows) > limit
    return {
        "models": page,
        "next_page_token": encode_token(offset + limit, fingerprint) if more else None,
    }


async def with_reviews(
    conn: asyncpg.Connection, c: str, rows: list[asyncpg.Record]
) -> list[dict[str, Any]]:
    """Version rows with their aliases and approval requests: two queries for a whole
    page rather than two subqueries per row."""
    if not rows:
        return []
    ids = [r["version_id"] for r in rows]
    aliases: dict[Any, list[str]] = {}
    for a in await conn.fetch(
        f"SELECT v.version_id, a.alias FROM {c}.aliases a JOIN {c}.versions v"
        " ON v.model_id = a.model_id AND v.number = a.number"
        " WHERE v.version_id = ANY($1::uuid[]) ORDER BY a.alias",
        ids,
    ):
        aliases.setdefault(a["version_id"], []).append(a["alias"])
    reviews: dict[Any, list[Any]] = {}
    for r in await conn.fetch(
        f"SELECT * FROM {c}.approvals WHERE version_id = ANY($1::uuid[]) ORDER BY requested_at",
        ids,
    ):
        reviews.setdefault(r["version_id"], []).append(dict(r))
    return [
        version_row(
            {
                **dict(r),
                "aliases": aliases.get(r["version_id"], []),
                "approval_requests": reviews.get(r["version_id"], []),
            }
        )
        for r in rows
    ]


async def _fetch(conn: asyncpg.Connection, sql: str, params: list[Any]) -> list[asyncpg.Record]:
    try:
        return await conn.fetch(sql, *params)
    except (
        asyncpg.DataError,
        asyncpg.exceptions.InvalidTextRepresentationError,
        asyncpg.exceptions.NumericValueOutOfRangeError,
    ) as exc:
        # e.g. a metric compared as a number that some version stored otherwise
        raise FilterError(f"the filter does not fit the data: {exc}") from None


ALIASES = (
    "COALESCE((SELECT array_agg(a.alias ORDER BY a.alias) FROM {c}.aliases a"
    " WHERE a.model_id = v.model_id AND a.number = v.number), '{{}}')"
)
APPROVALS = (
    "COALESCE((SELECT jsonb_agg(to_jsonb(r) ORDER BY r.requested_at) FROM {c}.approvals r"
    " WHERE r.version_id = v.version_id), '[]')"
)
MODEL_EXTRAS = (
    "COALESCE((SELECT jsonb_object_agg(a.alias, a.number) FROM {c}.aliases a"
    " WHERE a.model_id = m.model_id), '{{}}') AS aliases,"
    " COALESCE((SELECT array_agg(v.number ORDER BY v.number) FROM {c}.versions v"
    " WHERE v.model_id = m.model_id AND v.stage = 'staging' AND NOT v.deleted), '{{}}')"
    " AS staging,"
    " COALESCE((SELECT array_agg(v.number ORDER BY v.number) FROM {c}.versions v"
    " WHERE v.model_id = m.model_id AND v.stage = 'production' AND NOT v.deleted), '{{}}')"
    " AS production"
)
