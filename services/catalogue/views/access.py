"""Access: every grant with the time it came into force and, once revoked, left it.

Current grants (valid_to IS NULL) filter every read inside its SQL (services/catalogue/
visibility.py); the whole table answers "who held which role on what, at time T".
"""

from __future__ import annotations

from services.catalogue.views import Statement, View
from services.eventlog.record import StoredEvent

view = View(
    name="access",
    ddl=[
        """CREATE TABLE {s}.grants (
            principal text NOT NULL, role text NOT NULL, scope_kind text NOT NULL,
            scope_value text NOT NULL, scope text NOT NULL, granted_by text NOT NULL,
            valid_from timestamptz NOT NULL, valid_to timestamptz, revoked_by text,
            position bigint NOT NULL,
            PRIMARY KEY (principal, role, scope_kind, scope_value, valid_from))""",
        "CREATE INDEX ON {s}.grants (principal) WHERE valid_to IS NULL",
    ],
)


@view.on("RoleGranted")
def _granted(e: StoredEvent) -> list[Statement]:
    d = e.data
    return [
        (
            "INSERT INTO {s}.grants (principal, role, scope_kind, scope_value, scope,"
            " granted_by, valid_from, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT DO NOTHING",
            (
                d["principal"],
                d["role"],
                d["scope_kind"],
                d["scope_value"],
                d["scope_label"],
                d["actor"],
                e.timestamp,
                e.position,
            ),
        )
    ]


@view.on("RoleRevoked")
def _revoked(e: StoredEvent) -> list[Statement]:
    d = e.data
    return [
        (
            "UPDATE {s}.grants SET valid_to = $5, revoked_by = $6 WHERE principal = $1"
            " AND role = $2 AND scope_kind = $3 AND scope_value = $4 AND valid_to IS NULL",
            (d["principal"], d["role"], d["scope_kind"], d["scope_value"], e.timestamp, d["actor"]),
        )
    ]
