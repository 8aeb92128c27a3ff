"""The hash chain's verifier, over rows made in memory: every kind of edit is named at its
position, and an untouched log verifies clean."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.chain import GENESIS, head_digest, link, payload_digest
from services.audit.signing import Checkpoint, key_id, raw_public, sign
from services.audit.verify import EventRow, LinkRow, Verifier, verify

TOPIC = "services.registry.domain.model:RegisteredModel.VersionAdded"
Rows = list[tuple[EventRow | None, LinkRow | None]]


def log(count: int, start: int = 1, gap: int = 0) -> Rows:
    """count events with their links, as the writer makes them (positions may have gaps,
    as failed inserts use up sequence values)."""
    rows: Rows = []
    previous = GENESIS
    stream = uuid.uuid4()
    for i in range(count):
        position = start + i * (1 + gap)
        event = EventRow(position, stream, i + 1, TOPIC, b'{"number": %d}' % (i + 1))
        head = head_digest(event.stream_id, event.stream_version, event.topic)
        payload = payload_digest(event.state)
        previous = link(previous, position, head, payload)
        rows.append((event, LinkRow(position, head, payload, previous)))
    return rows


def kinds(rows: Rows, **kwargs: object) -> list[tuple[str, int | None]]:
    report = verify(rows, **kwargs)  # type: ignore[arg-type]
    found = [(f.kind, f.position) for f in report.findings]
    # The batch path (what verify against the database takes) finds the same, however
    # the log is cut into spans.
    for size in (1, 3, 1000):
        assert batched(rows, size, **kwargs) == (found, report.events, report.links, report.head)
    return found


def batched(rows: Rows, size: int, **kwargs: object) -> tuple[Any, int, int, int]:
    verifier = Verifier(kwargs.get("checkpoints", ()), kwargs.get("keys") or {})  # type: ignore[arg-type]
    for start in range(0, len(rows), size):
        span = rows[start : start + size]
        verifier.feed_batch([e for e, _ in span if e], [c for _, c in span if c])
    report = verifier.finish()
    return [(f.kind, f.position) for f in report.findings], report.events, report.links, report.head


def test_an_untouched_log_verifies_clean_gaps_and_all() -> None:
    assert kinds(log(50, gap=2)) == []
    report = verify(log(50, gap=2))
    assert report.clean
    assert (report.events, report.links, report.head) == (50, 50, 1 + 49 * 3)


def test_an_altered_payload_is_named() -> None:
    rows = log(10)
    event, chained = rows[4]
    rows[4] = (event._replace(state=b'{"number": 500}'), chained)
    assert kinds(rows) == [("payload_altered", 5)]


@pytest.mark.parametrize(
    "change",
    [
        {"topic": TOPIC + "x"},
        {"stream_version": 42},
        {"stream_id": uuid.uuid4()},
    ],
)
def test_altered_metadata_is_named(change: dict[str, object]) -> None:
    rows = log(10)
    event, chained = rows[6]
    rows[6] = (event._replace(**change), chained)  # type: ignore[arg-type]
    assert kinds(rows) == [("metadata_altered", 7)]


def test_a_deleted_row_is_named() -> None:
    rows = log(10)
    rows[3] = (None, rows[3][1])
    assert kinds(rows) == [("deleted", 4)]


def test_an_inserted_row_is_named() -> None:
    rows = log(10, gap=1)  # positions 1, 3, 5...: a forger fills a gap
    forged = EventRow(4, uuid.uuid4(), 1, TOPIC, b"{}")
    rows.insert(2, (forged, None))
    assert kinds(rows) == [("inserted", 4)]


def test_swapped_rows_are_named_as_reordered() -> None:
    rows = log(10)
    (a, la), (b, lb) = rows[2], rows[7]
    rows[2] = (b._replace(position=3), la)
    rows[7] = (a._replace(position=8), lb)
    assert kinds(rows) == [("reordered", 3), ("reordered", 8)]


def test_a_truncated_tail_is_named_once() -> None:
    rows = log(10)
    rows[7:] = [(None, chained) for _, chained in rows[7:]]
    report = verify(rows)
    assert [(f.kind, f.position) for f in report.findings] == [("truncated", 8)]
    assert "ends at 7" in report.findings[0].detail


def test_a_link_edited_in_the_chain_table_is_one_finding() -> None:
    rows = log(10)
    event, chained = rows[5]
    rows[5] = (event, chained._replace(link=bytes(32)))
    assert kinds(rows) == [("link_broken", 6)]


def test_rows_removed_from_both_tables_break_the_next_link() -> None:
    rows = log(10)
    del rows[4]
    assert kinds(rows) == [("link_broken", 6)]


KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(raw_public(KEY)): raw_public(KEY)}


def test_a_checkpoint_holds_over_an_untouched_log() -> None:
    rows = log(10)
    checkpoint = sign(KEY, 8, rows[7][1].link)  # type: ignore[union-attr]
    report = verify(rows, [checkpoint], KEYS)
    assert report.clean and report.checkpoints == 1


def test_a_log_rewritten_with_recomputed_links_is_caught_by_a_checkpoint() -> None:
    rows = log(10)
    checkpoint = sign(KEY, 8, rows[7][1].link)  # type: ignore[union-attr]
    # The forger edits event 3 and recomputes every link after it: the chain alone holds.
    forged: Rows = []
    previous = GENESIS
    for event, _ in rows:
        assert event is not None
        if event.position == 3:
            event = event._replace(state=b'{"number": 300}')
        head = head_digest(event.stream_id, event.stream_version, event.topic)
        payload = payload_digest(event.state)
        previous = link(previous, event.position, head, payload)
        forged.append((event, LinkRow(event.position, head, payload, previous)))
    assert verify(forged).clean
    assert kinds(forged, checkpoints=[checkpoint], keys=KEYS) == [("checkpoint_mismatch", 8)]


def test_a_truncation_of_both_tables_is_caught_by_a_checkpoint() -> None:
    rows = log(10)
    checkpoint = sign(KEY, 9, rows[8][1].link)  # type: ignore[union-attr]
    assert kinds(rows[:6], checkpoints=[checkpoint], keys=KEYS) == [("truncated", 9)]


def test_a_forged_checkpoint_and_a_strangers_key_are_named() -> None:
    rows = log(10)
    good = sign(KEY, 5, rows[4][1].link)  # type: ignore[union-attr]
    forged = Checkpoint(5, bytes(32), good.key_id, good.signature)
    stranger = sign(Ed25519PrivateKey.generate(), 6, rows[5][1].link)  # type: ignore[union-attr]
    assert kinds(rows, checkpoints=[forged, stranger], keys=KEYS) == [
        ("checkpoint_forged", 5),
        ("checkpoint_unknown_key", 6),
    ]


def test_checkpoints_round_trip_as_json() -> None:
    checkpoint = sign(KEY, 7, bytes(range(32)))
    assert Checkpoint.from_json(checkpoint.as_json()) == checkpoint
    with pytest.raises(ValueError, match="not a checkpoint"):
        Checkpoint.from_json({"position": 1, "link": "zz", "key_id": "k", "signature": ""})
