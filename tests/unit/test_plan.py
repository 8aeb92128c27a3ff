"""Planning a batch: like statements are grouped only where that cannot change the result."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.catalogue.apply import plan
from services.catalogue.views.catalogue import view as catalogue
from services.eventlog.record import StoredEvent
from tests.factories import version_facts

MODEL = "00000000-0000-0000-0000-00000000000a"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
BASE = {"timestamp": NOW, "actor": "alice", "reason": None, "command_id": None}


def event(position: int, originator: str, aggregate: str, kind: str, **data: Any) -> StoredEvent:
    return StoredEvent(position, originator, position, aggregate, kind, {**BASE, **data})


def registration(number: int, position: int) -> list[StoredEvent]:
    version = f"00000000-0000-0000-0000-{number:012d}"
    return [
        event(
            position, MODEL, "RegisteredModel", "VersionAdded", number=number, version_id=version
        ),
        event(
            position + 1,
            version,
            "ModelVersion",
            "VersionRegistered",
            model_id=MODEL,
            model_name="m",
            number=number,
            **version_facts(),
        ),
    ]


def test_interleaved_registrations_become_two_batches() -> None:
    events = [e for n in range(1, 6) for e in registration(n, 2 * n)]
    runs = plan(catalogue, '"c"', events)
    # The model's five "latest version" updates collapse into the last; five inserts.
    assert [len(rows) for _, rows in runs] == [1, 5]
    assert runs[0][1][0][1] == 5
    # Within a run the log order is kept.
    assert [rows[1] for rows in runs[1][1]] == [MODEL] * 5
    assert [row[2] for row in runs[1][1]] == [1, 2, 3, 4, 5]


def test_a_statement_touching_both_tables_is_a_barrier() -> None:
    promoted = event(
        100,
        MODEL,
        "RegisteredModel",
        "VersionPromoted",
        number=1,
        version_id="00000000-0000-0000-0000-000000000001",
        from_stage="development",
        to_stage="staging",
        request_id="r",
        approvals=[],
    )
    events = [*registration(1, 10), promoted, *registration(2, 20)]
    runs = plan(catalogue, '"c"', events)
    assert [len(rows) for _, rows in runs] == [1, 1, 1, 1, 1]


def test_a_run_of_overwrites_keeps_the_last() -> None:
    added = [
        event(
            n,
            MODEL,
            "RegisteredModel",
            "VersionAdded",
            number=n,
            version_id=f"00000000-0000-0000-0000-{n:012d}",
        )
        for n in range(1, 4)
    ]
    runs = plan(catalogue, '"c"', added)
    assert len(runs) == 1 and len(runs[0][1]) == 1
    assert runs[0][1][0][1] == 3  # latest_version = 3
