"""Lineage: a graph of datasets, features, code, runs and model versions.

Edges point from what was used to what was made: dataset -> version, run -> version,
parent version -> child version. A version's node id is its version id.
"""

from __future__ import annotations

from services.catalogue.views import Statement, View
from services.eventlog.record import StoredEvent

view = View(
    name="lineage",
    ddl=[
        """CREATE TABLE {s}.edges (
            src_kind text NOT NULL, src_id text NOT NULL, dst_kind text NOT NULL,
            dst_id text NOT NULL, relation text NOT NULL, created_at timestamptz NOT NULL,
            position bigint NOT NULL,
            PRIMARY KEY (src_kind, src_id, dst_kind, dst_id, relation))""",
        "CREATE INDEX ON {s}.edges (dst_kind, dst_id)",
    ],
)

_EDGE = (
    "INSERT INTO {s}.edges (src_kind, src_id, dst_kind, dst_id, relation, created_at, position)"
    " VALUES ($1, $2, 'model_version', $3, $4, $5, $6) ON CONFLICT DO NOTHING"
)


def _edges(e: StoredEvent, version_id: str, refs: list[dict[str, str]]) -> list[Statement]:
    return [
        (
            _EDGE,
            (
                ref["kind"],
                ref["id"],
                version_id,
                ref.get("relation") or "input",
                e.timestamp,
                e.position,
            ),
        )
        for ref in refs
    ]


@view.on("VersionRegistered")
def _registered(e: StoredEvent) -> list[Statement]:
    d = e.data
    refs = list(d["lineage"])
    if d.get("run_id"):
        refs.append({"kind": "run", "id": d["run_id"], "relation": "produced_by"})
    if d.get("dataset_version"):
        refs.append({"kind": "dataset", "id": d["dataset_version"], "relation": "trained_on"})
    return _edges(e, e.originator_id, refs)


@view.on("LineageLinked")
def _linked(e: StoredEvent) -> list[Statement]:
    return _edges(e, e.originator_id, e.data["references"])
