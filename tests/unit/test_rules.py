"""The contract's value rules (schemas/rules.py) say exactly what the domain accepts:
for any text, the published pattern matches if and only if the domain's check passes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import rules
from services.registry import inputs
from services.registry.domain import values
from services.registry.domain.errors import InvalidInput

# Text that visits every class the rules tell apart: letters, digits, spaces of several
# kinds, separators, dots, controls, format and private-use characters, astral planes.
tricky = st.sampled_from(
    [
        *"aZ09 _-./@\\\t\n\x00\x7f\x85\xa0\xad\u200b\u202e\u3000\ue000\ufeff",
        *("\U0001f600", "\U000e0041", "\U000f0000", "\u4e2d"),
    ]
)
# (Surrogates are left out: no pattern engine matches one alone in UTF-8 text, and the
# contract's strict text types refuse them, as test_lone_surrogates_are_refused shows.)
texts = st.lists(tricky | st.characters(exclude_categories=["Cs"]), max_size=12).map("".join)


def accepted(check: Callable[[str], Any], value: str) -> bool:
    try:
        check(value)
    except InvalidInput:
        return False
    return True


def matches(pattern: str, value: str, lo: int = 0, hi: int = 10**9) -> bool:
    return lo <= len(value) <= hi and re.fullmatch(pattern, value) is not None


# (the published pattern, its length bounds, the domain's check)
TEXT_RULES: dict[str, tuple[str, int, int, Callable[[str], Any]]] = {
    "model name": (rules.NAME, 1, rules.MAX_NAME, values.check_name),
    "tag key": (rules.PRINTABLE, 1, rules.MAX_TAG_KEY, lambda v: values.check_tag(v, "")),
    "uri": (rules.URI, 1, rules.MAX_URI, values.check_uri),
    "actor": (rules.ACTOR, 1, rules.MAX_NAME, values.check_actor),
}


@pytest.mark.parametrize("rule", sorted(TEXT_RULES))
@settings(max_examples=800)
@given(value=texts)
def test_text_rules(rule: str, value: str) -> None:
    pattern, lo, hi, check = TEXT_RULES[rule]
    # The reserved key "_type_" is refused apart from the pattern (schema: "not").
    expected = matches(pattern, value, lo, hi) and not (rule == "tag key" and value == "_type_")
    assert expected == accepted(check, value)


def test_the_limits_are_the_domains() -> None:
    names = ("MAX_NAME", "MAX_TEXT", "MAX_TAG_KEY", "MAX_TAG_VALUE", "MAX_TAGS", "MAX_METRICS")
    names += ("MAX_URI", "MAX_REASON", "MAX_PATH", "MAX_FILES", "RESERVED_KEY")
    assert {n: getattr(rules, n) for n in names} == {n: getattr(values, n) for n in names}
    assert rules.LINEAGE_KINDS == inputs.LINEAGE_KINDS


@settings(max_examples=800)
@given(st.lists(st.sampled_from(["a", ".", "..", "/", "\\", "b.c", "\x01", "é", " "]), max_size=6))
def test_file_paths(parts: list[str]) -> None:
    value = "".join(parts)
    expected = matches(rules.FILE_PATH, value, 1, rules.MAX_PATH)
    assert expected == accepted(values.check_artifact_path, value)


@settings(max_examples=800)
@given(st.one_of(texts, st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,3}", fullmatch=True)))
def test_aliases(value: str) -> None:
    expected = matches(rules.ALIAS, value) and not re.fullmatch(rules.RESERVED_ALIAS, value)
    assert expected == accepted(values.check_alias, value)


def test_reserved_aliases_are_refused_in_any_case() -> None:
    for alias in ("latest", "LATEST", "Latest", "v1", "V12"):
        assert re.fullmatch(rules.RESERVED_ALIAS, alias)
        assert not accepted(values.check_alias, alias)
    for alias in ("v", "vx1", "latest2", "champion"):
        assert not re.fullmatch(rules.RESERVED_ALIAS, alias)
        assert accepted(values.check_alias, alias)


def test_lone_surrogates_are_refused_as_text() -> None:
    from pydantic import ValidationError

    from schemas.commands import TagModel

    with pytest.raises(ValidationError):
        TagModel.model_validate({"model": "m", "key": "\ud800", "value": "v"})


def test_a_trailing_newline_is_not_part_of_a_valid_value() -> None:
    # Python's `$` also matches before a final newline; the domain checks whole strings.
    assert not accepted(values.check_alias, "champion\n")
    assert not accepted(values.check_sha256, "ab" * 32 + "\n")


def test_the_written_out_character_classes_are_this_unicode_tables() -> None:
    assert rules.controls_class() == rules.CONTROLS
    assert rules.spaces_class() == rules.SPACES
