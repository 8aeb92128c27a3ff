"""The typed model card: what a client may send, how a stored card is read back (also one
written before cards were typed), and which sections a card fills."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import rules
from schemas.bodies import AmendModelCardBody, UpdateModelCardBody
from schemas.model_card import EXPECTED, SECTIONS, ModelCard, completeness, read_card
from services.registry.domain import cards
from tests.cards import full_card


def refused(card: dict[str, Any]) -> str:
    """The first error a client would get for card, as a loc: message line."""
    with pytest.raises(ValidationError) as caught:
        UpdateModelCardBody.model_validate_json(json.dumps({"card": card}))
    first = caught.value.errors()[0]
    return ".".join(map(str, first["loc"])) + ": " + first["msg"]


def test_a_full_card_is_accepted_and_reads_back_the_same() -> None:
    card = UpdateModelCardBody.model_validate_json(json.dumps({"card": full_card()})).card
    stored = card.stored()
    # The risk class is `class` on the wire and in the log.
    assert stored["risk"] == {"class": "high", "reason": full_card()["risk"]["reason"]}
    assert stored["schema_version"] == 1
    assert read_card(stored) == card
    assert read_card(stored).stored() == stored
    assert completeness(card).complete is True
    assert completeness(card).missing == []


def test_fields_left_empty_are_not_stored() -> None:
    card = ModelCard.model_validate({"intended_use": {"primary_uses": []}, "factors": None})
    assert card.stored() == {"schema_version": 1, "intended_use": {}}


@pytest.mark.parametrize(
    ("card", "where"),
    [
        # A misspelt section or field is refused, not silently kept.
        ({"intended_uses": {}}, "card.intended_uses: Extra inputs are not permitted"),
        ({"risk": {"class": "high", "reason": "r", "note": "x"}}, "card.risk.note: Extra"),
        ({"risk": {"class": "severe", "reason": "r"}}, "card.risk.class: Input should be"),
        ({"risk": {"class": "high", "reason": ""}}, "card.risk.reason: String should have"),
        ({"risk": {"class": "high"}}, "card.risk.reason: Field required"),
        ({"owners": [{"subject": " alice", "role": "x"}]}, "card.owners.0.subject: String"),
        ({"model_details": {"date": "1 Oct 2026"}}, "card.model_details.date: String should"),
        ({"model_details": {"license": "x" * 257}}, "card.model_details.license: String"),
        ({"intended_purpose": "a\x00b"}, "card.intended_purpose: String should match"),
        ({"factors": {"relevant": ["x"] * 101}}, "card.factors.relevant: List should have"),
        (
            {
                "fairness_tests": [
                    {"name": "t", "metric": "m", "value": "0.9", "threshold": 1, "passed": True}
                ]
            },
            "card.fairness_tests.0.value: Input should be a valid number",
        ),
        (
            {
                "fairness_tests": [
                    {"name": "t", "metric": "m", "value": 1, "threshold": 1, "passed": "yes"}
                ]
            },
            "card.fairness_tests.0.passed: Input should be a valid boolean",
        ),
        ({"schema_version": 2}, "card.schema_version: Input should be 1"),
        ({"legacy": {"_type_": 1}}, "card.legacy: Value error, the key '_type_' is reserved"),
    ],
)
def test_what_the_contract_refuses(card: dict[str, Any], where: str) -> None:
    assert refused(card).startswith(where)


def test_nothing_stored_is_an_empty_card_missing_every_section() -> None:
    for stored in (None, {}):
        card = read_card(stored)
        assert card == ModelCard()
        assert completeness(card).model_dump() == {
            "complete": False,
            "filled": [],
            "missing": list(EXPECTED),
        }


def test_a_card_written_before_cards_were_typed_is_read_under_legacy() -> None:
    old = {"intended_use": "flag card fraud", "risk_class": "high", "owners": ["risk-team"]}
    card = read_card(old)
    assert card.legacy == old
    assert card.intended_use is None and card.risk is None
    # Its content says nothing typed: every section is missing.
    assert completeness(card).filled == ["legacy"]
    assert completeness(card).missing == list(EXPECTED)
    # The domain reads it the same way.
    assert cards.typed(old) == card.stored()


def test_a_stored_card_that_no_longer_reads_typed_is_shown_whole_under_legacy() -> None:
    odd = {"schema_version": 1, "notes": "written by hand"}
    assert read_card(odd).legacy == odd


def test_blank_text_and_empty_lists_do_not_fill_a_section() -> None:
    card = ModelCard.model_validate(
        {
            "intended_use": {"primary_uses": []},
            "intended_purpose": "   ",
            "factors": {"relevant": ["region"]},
            "fairness_tests": [],
            "owners": [{"subject": "alice", "role": "accountable"}],
        }
    )
    found = completeness(card)
    assert found.filled == ["factors", "owners"]
    assert "intended_use" in found.missing and "intended_purpose" in found.missing
    assert "fairness_tests" in found.missing and not found.complete


def test_one_missing_section_makes_a_card_incomplete() -> None:
    card = ModelCard.model_validate(full_card(monitoring_plan=None))
    assert completeness(card).missing == ["monitoring_plan"]
    assert completeness(card).complete is False


def test_an_amendment_names_a_section_to_remove_once() -> None:
    risk = {"class": "limited", "reason": "chatbot"}
    ok = AmendModelCardBody.model_validate({"sections": {"risk": risk}, "remove": ["legacy"]})
    assert ok.sections.risk is not None and ok.remove == ["legacy"]
    # Nothing to do is no error (it records nothing).
    assert AmendModelCardBody.model_validate({}).remove == []
    for bad, message in (
        ({"remove": ["risk", "risk"]}, "named twice"),
        ({"remove": ["intended_uses"]}, "Input should be"),
        ({"sections": {"owner": []}}, "Extra inputs are not permitted"),
        ({"sections": {"risk": {"class_": "high", "reason": "r"}}}, "risk.class\n"),
    ):
        with pytest.raises(ValidationError, match=message):
            AmendModelCardBody.model_validate(bad)


def test_the_domain_knows_the_contracts_sections_and_limit() -> None:
    assert cards.SECTIONS == SECTIONS
    assert cards.MAX_CARD_BYTES == rules.MAX_CARD_BYTES
    assert ModelCard().schema_version == cards.SCHEMA_VERSION
