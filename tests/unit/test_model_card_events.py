"""A version's model card on the write side: every change one event, amendments merge
sections, nothing changing records nothing, and a card event written before cards were
typed (class_version 1, free JSON) is read under `legacy` by the domain, the catalogue
view and the relay alike."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent as LibraryStoredEvent

from schemas.model_card import ModelCard
from services.catalogue.apply import plan
from services.catalogue.views.catalogue import view as catalogue
from services.eventlog.record import decode
from services.registry.domain import cards
from services.registry.domain.errors import InvalidInput
from services.registry.domain.values import Context
from services.registry.domain.version import ModelVersion
from tests.cards import full_card
from tests.factories import version_facts
from tests.unit.test_event_versions import mapper

ALICE = Context("alice", reason="reviewed")
RISK = {"class": "high", "reason": "credit"}


def version() -> ModelVersion:
    made = ModelVersion.register(
        ctx=ALICE, model_id=uuid4(), model_name="m", number=1, **version_facts()
    )
    made.collect_events()
    return made


def kinds(v: ModelVersion) -> list[str]:
    return [type(e).__name__ for e in v.collect_events()]


def test_setting_a_card_records_it_and_the_same_card_again_records_nothing() -> None:
    v = version()
    card = ModelCard.model_validate(full_card()).stored()
    v.update_model_card(card, ALICE)
    assert kinds(v) == ["ModelCardUpdated"] and v.model_card == card
    v.update_model_card(dict(card), ALICE)
    assert kinds(v) == []


def test_an_amendment_replaces_its_sections_and_keeps_the_others() -> None:
    v = version()
    v.update_model_card({"schema_version": 1, "intended_purpose": "fraud", "risk": RISK}, ALICE)
    v.collect_events()
    owners = [{"subject": "alice", "role": "accountable"}]
    v.amend_model_card({"owners": owners, "risk": RISK}, ["intended_purpose", "factors"], ALICE)
    (event,) = v.collect_events()
    # Only what changes is in the event: the risk was already so, factors never set.
    assert (type(event).__name__, event.sections, event.removed) == (
        "ModelCardAmended",
        {"owners": owners},
        ["intended_purpose"],
    )
    assert v.model_card == {"schema_version": 1, "risk": RISK, "owners": owners}
    # Nothing to change: nothing recorded. A section removed and set is set.
    v.amend_model_card({"risk": RISK}, ["factors", "risk"], ALICE)
    assert kinds(v) == []
    assert v.model_card["risk"] == RISK


def test_an_amendment_begins_a_typed_card() -> None:
    v = version()
    v.amend_model_card({"risk": RISK}, [], ALICE)
    assert v.model_card == {"schema_version": 1, "risk": RISK}


def test_the_domain_refuses_unknown_sections_and_oversized_cards() -> None:
    v = version()
    with pytest.raises(InvalidInput, match="unknown card sections: risks"):
        v.amend_model_card({"risks": RISK}, [], ALICE)
    with pytest.raises(InvalidInput, match="schema_version"):
        v.update_model_card({"intended_purpose": "untyped"}, ALICE)
    big = "x" * cards.MAX_CARD_BYTES
    with pytest.raises(InvalidInput, match="larger than"):
        v.update_model_card({"schema_version": 1, "intended_purpose": big}, ALICE)
    # An amendment is measured by the card it would make.
    half = "x" * (cards.MAX_CARD_BYTES // 2)
    v.amend_model_card({"intended_purpose": half}, [], ALICE)
    with pytest.raises(InvalidInput, match="larger than"):
        v.amend_model_card({"legacy": {"notes": half}}, [], ALICE)
    assert kinds(v) == ["ModelCardAmended"]


def old_card_event(card: dict[str, Any]) -> tuple[Any, LibraryStoredEvent]:
    """A ModelCardUpdated as class_version 1 stored it: free JSON, no class_version."""
    v = version()
    v.update_model_card({"schema_version": 1}, ALICE)
    codec = mapper()
    new = codec.to_stored_event(v.collect_events()[0])
    state = codec.transcoder.decode(new.state)
    assert state.pop("class_version") == 2
    state["card"] = card
    old = LibraryStoredEvent(
        originator_id=new.originator_id,
        originator_version=new.originator_version,
        topic=new.topic,
        state=codec.transcoder.encode(state),
    )
    return codec, old


def test_the_domain_reads_an_untyped_card_event_under_legacy() -> None:
    untyped = {"intended_use": "flag card fraud", "risk_class": "high"}
    codec, old = old_card_event(untyped)
    event = codec.to_domain_event(old)
    assert event.card == {"schema_version": 1, "legacy": untyped}
    # An empty untyped card was no card.
    codec, empty = old_card_event({})
    assert codec.to_domain_event(empty).card == {}


def test_the_catalogue_view_reads_an_untyped_card_event_under_legacy() -> None:
    untyped = {"owners": ["risk-team"]}
    _, old = old_card_event(untyped)
    stored = decode(7, old.originator_id, old.originator_version, old.topic, old.state)
    ((sql, args),) = catalogue.statements(stored)
    assert sql.startswith("UPDATE {s}.versions SET model_card = $2::jsonb")
    assert args[1] == '{"schema_version":1,"legacy":{"owners":["risk-team"]}}'


def test_the_catalogue_view_merges_an_amendment_in_sql() -> None:
    v = version()
    v.amend_model_card({"risk": RISK}, [], ALICE)
    codec = mapper()
    new = codec.to_stored_event(v.collect_events()[0])
    stored = decode(8, new.originator_id, new.originator_version, new.topic, new.state)
    ((sql, rows),) = plan(catalogue, '"g1"', [stored])
    assert "model_card = jsonb_build_object('schema_version', 1)" in sql
    assert "WHEN model_card = '{}' OR model_card ? 'schema_version'" in sql
    ((_, sections, removed, *_),) = rows
    assert (sections, removed) == ('{"risk":{"class":"high","reason":"credit"}}', [])
