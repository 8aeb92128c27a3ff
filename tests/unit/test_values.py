"""Value rules: what a name, stage, alias, tag, metric or digest may be."""

import pytest

from services.registry.domain import values
from services.registry.domain.errors import InvalidInput
from services.registry.domain.values import Context, Stage, is_number


@pytest.mark.parametrize(
    "bad",
    [
        "",
        " fraud",
        "fraud ",
        "a/b",
        "a@b",
        "tab\there",
        "nul\x00",
        "bell\x07",
        "x" * 257,
        "zero\u200bwidth",
        42,
        None,
    ],
)
def test_bad_model_names_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput) as info:
        values.check_name(bad)
    assert info.value.details["field"] == "name"


@pytest.mark.parametrize("good", ["fraud", "Fraud Detector v2", "churn-model_3", "模型", "x" * 256])
def test_good_model_names_pass_unchanged(good: str) -> None:
    assert values.check_name(good) == good


def test_stages_accept_mlflow_names_and_refuse_unknown_ones() -> None:
    assert values.parse_stage("Production") is Stage.PRODUCTION
    assert values.parse_stage("None") is Stage.DEVELOPMENT
    with pytest.raises(InvalidInput) as info:
        values.parse_stage("prod")
    assert "production" in info.value.details["allowed"]
    # Only staging and production are reached by promotion.
    with pytest.raises(InvalidInput):
        values.promotable_stage("archived")


@pytest.mark.parametrize("bad", ["", "1st", "latest", "v3", "has space", "a" * 65, "a/b"])
def test_bad_aliases_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        values.check_alias(bad)


def test_metrics_must_be_finite_numbers() -> None:
    assert values.check_metrics({"auc": 1}) == {"auc": 1.0}
    for bad in (
        {"auc": "high"},
        {"auc": float("nan")},
        {"auc": float("inf")},
        {"": 1.0},
        {"auc": True},
    ):
        with pytest.raises(InvalidInput):
            values.check_metrics(bad)


def test_digests_sizes_and_texts() -> None:
    assert values.check_sha256("a" * 64) == "a" * 64
    for bad in ("A" * 64, "a" * 63, "z" * 64):
        with pytest.raises(InvalidInput):
            values.check_sha256(bad)
    with pytest.raises(InvalidInput):
        values.check_size(-1)
    with pytest.raises(InvalidInput):
        values.check_text("x" * (values.MAX_TEXT + 1), "description")


def test_context_requires_a_named_actor() -> None:
    with pytest.raises(InvalidInput):
        Context(actor="")
    with pytest.raises(InvalidInput):
        Context(actor="bob", command_id="x" * 201)
    assert Context("bob", "why", "cmd-1").fields() == {
        "actor": "bob",
        "reason": "why",
        "command_id": "cmd-1",
    }


def test_the_event_stores_type_marker_is_refused_at_any_depth() -> None:
    # Stored, such an object would read back as a typed value (or fail to), breaking
    # the aggregate's stream for good.
    poisoned = {"_type_": "uuid_hex", "_data_": "zz"}
    with pytest.raises(InvalidInput):
        values.check_json_object({"layers": [{"config": poisoned}]}, "hyperparameters")
    with pytest.raises(InvalidInput):
        values.check_tags({"_type_": "x", "_data_": "y"})
    with pytest.raises(InvalidInput):
        values.check_metrics({"_type_": 1.0, "_data_": 2.0})
    with pytest.raises(InvalidInput):
        values.check_tag("_type_", "x")
    assert values.check_json_object({"type": "dense"}, "card") == {"type": "dense"}


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", True), ("0", True), ("²", False), ("١٢", False), ("", False), ("1a", False)],
)
def test_a_number_is_ascii_digits_only(text: str, number: bool) -> None:
    # str.isdigit() accepts "²" and Arabic-Indic digits; int() refuses the first.
    assert is_number(text) is number
