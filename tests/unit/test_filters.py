"""The filter language: what it accepts, how it binds values, and how it refuses."""

from __future__ import annotations

import pytest

from services.catalogue.filters import MAX_DEPTH, FilterError, compile_search
from services.catalogue.search import decode_token, encode_token, model_scope, version_scope

SCOPE = version_scope('"cat"')


def test_values_keys_and_names_become_parameters_never_sql() -> None:
    compiled = compile_search(
        SCOPE,
        "name LIKE 'fraud%' AND (metrics.auc >= 0.9 OR tags.team = 'risk') AND stage = 'staging'",
        "metrics.auc DESC",
    )
    assert compiled.where == (
        "(m.name LIKE $1 AND ((((v.metrics ->> $2)::float8) >= $3 OR (v.tags ->> $4) = $5))"
        " AND v.stage = $6)"
    )
    assert compiled.params == ["fraud%", "auc", 0.9, "team", "risk", "staging", "auc"]
    assert compiled.order.startswith("((v.metrics ->> $7)::float8) DESC NULLS LAST")


def test_quotes_inside_strings_and_backticked_keys() -> None:
    compiled = compile_search(SCOPE, "tags.`owner team` = 'O''Brien'", None)
    assert compiled.params == ["owner team", "O'Brien"]


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("colour = 'red'", 1, "unknown field"),
        ("name = ", None, "unexpected end"),
        ("name == 'x'", 7, "expected a quoted string"),
        ("metrics.auc > 'high'", 15, "expected a number"),
        ("metrics.auc LIKE '1%'", 13, "LIKE works on text"),
        ("stage = 'gold'", 9, "unknown stage"),
        ("(name = 'x'", None, "unexpected end"),
        ("name = 'x' name = 'y'", 12, "expected AND, OR"),
        ("name = 'x' ; DROP TABLE versions", 12, "unexpected character"),
        ("tagz.team = 'x'", 1, "unknown field"),
        ("created_at > 'yesterday'", 14, "ISO 8601"),
    ],
)
def test_bad_filters_say_what_and_where(text: str, position: int | None, fragment: str) -> None:
    with pytest.raises(FilterError) as info:
        compile_search(SCOPE, text, None)
    assert fragment in info.value.message
    assert info.value.details["parameter"] == "filter"
    if position is not None:
        assert info.value.details["position"] == position


@pytest.mark.parametrize("order_by", ["number; DELETE", "alias", "number UP", "1", "number,"])
def test_bad_order_by_is_refused(order_by: str) -> None:
    with pytest.raises(FilterError) as info:
        compile_search(SCOPE, None, order_by)
    assert info.value.details["parameter"] == "order_by"


def test_injection_attempts_stay_inside_parameters() -> None:
    nasty = "x'); DROP TABLE versions; --"
    compiled = compile_search(SCOPE, f"tags.team = '{nasty.replace(chr(39), chr(39) * 2)}'", None)
    assert nasty in compiled.params
    assert "DROP" not in compiled.where
    compiled = compile_search(SCOPE, "metrics.`auc'); DROP TABLE x; --` > 1", None)
    assert "auc'); DROP TABLE x; --" in compiled.params
    assert "DROP" not in compiled.where


def test_models_have_their_own_fields() -> None:
    assert compile_search(model_scope(), "tags.team = 'risk'", "name DESC").params == [
        "team",
        "risk",
    ]
    with pytest.raises(FilterError):
        compile_search(model_scope(), "metrics.auc > 1", None)


def test_page_tokens_belong_to_one_search() -> None:
    token = encode_token(200, "abc")
    assert decode_token(token, "abc") == 200
    with pytest.raises(FilterError):
        decode_token(token, "other search")
    with pytest.raises(FilterError):
        decode_token("not-a-token!", "abc")


def test_nesting_is_bounded_and_the_refusal_names_the_depth() -> None:
    # 32 levels parse; one more is refused with the limit, however long the filter runs.
    fine = "(" * MAX_DEPTH + "name = 'x'" + ")" * MAX_DEPTH
    assert compile_search(SCOPE, fine, None).params == ["x"]
    for levels in (MAX_DEPTH + 1, 2000):
        text = "(" * levels + "name = 'x'" + ")" * levels
        with pytest.raises(FilterError) as info:
            compile_search(SCOPE, text, None)
        assert info.value.details["depth"] == MAX_DEPTH
        assert info.value.details["position"] == MAX_DEPTH + 1


def test_in_and_not_in_bind_one_list() -> None:
    compiled = compile_search(SCOPE, "run_id IN ('r1', 'r2') AND version NOT IN (3)", None)
    assert compiled.where == "(v.run_id = ANY($1) AND NOT (v.number::float8 = ANY($2)))"
    assert compiled.params == [["r1", "r2"], [3.0]]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("run_id IN 'r1'", "expected '(' and a list of values"),
        ("run_id IN ('r1' 'r2')", "expected ',' or ')'"),
        ("run_id NOT LIKE 'x'", "expected IN after NOT"),
        ("version IN ('3')", "expected a number"),
        ("alias IN ('champion')", "for an alias"),
    ],
)
def test_in_refusals_say_what_was_expected(text: str, fragment: str) -> None:
    with pytest.raises(FilterError) as refused:
        compile_search(SCOPE, text, None)
    assert fragment in refused.value.message


def test_mlflow_names_are_known_only_to_the_mlflow_dialect() -> None:
    mlflow = version_scope('"cat"', mlflow=True)
    compiled = compile_search(
        mlflow, "version_number >= 2 AND tag.`mlflow.prompt.is_prompt` != 'true'", None
    )
    assert compiled.where == ("(v.number::float8 >= $1 AND (v.tags ->> $2) IS DISTINCT FROM $3)")
    assert compiled.params == [2.0, "mlflow.prompt.is_prompt", "true"]
    for name in ("version_number >= 2", "tag.x = 'y'"):
        with pytest.raises(FilterError):
            compile_search(SCOPE, name, None)
    # Ours compares only what is there: a version without the tag is not "different".
    assert compile_search(SCOPE, "tags.k != 'v'", None).where == "(v.tags ->> $1) <> $2"
    ordered = compile_search(model_scope(mlflow=True), None, "last_updated_timestamp DESC")
    assert ordered.order.startswith("(extract(epoch FROM m.updated_at) * 1000)::float8 DESC")
