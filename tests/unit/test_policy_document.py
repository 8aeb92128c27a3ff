"""Policy documents: YAML in, compiled rules out, and one PolicyInvalid that says where
a bad document is wrong."""

from __future__ import annotations

import json
import textwrap

import pytest

from services.policy import cel
from services.policy.document import MAX_DOCUMENT, MAX_RULES, parse_policy
from services.policy.errors import PolicyInvalid


def doc(rules: str, *, stage: str = "production", extra: str = "") -> str:
    """A document with `rules` (YAML list items) as the stage's rules."""
    return (
        "name: gates\n"
        f"stages:\n  {stage}:\n    rules:\n"
        + textwrap.indent(textwrap.dedent(rules), "      ")
        + extra
    )


def rule(name: str, expression: str) -> str:
    return f"- name: {name}\n  expression: {json.dumps(expression)}\n  message: says why\n"


def refused(text: str) -> PolicyInvalid:
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(text)
    return caught.value


def test_a_document_parses_into_rules_per_stage_and_risk_class() -> None:
    policy = parse_policy(
        textwrap.dedent(
            """\
            name: fraud-gates
            description: What a fraud model needs.
            stages:
              staging:
                rules:
                  - name: auc-floor
                    expression: facts.metrics.auc >= 0.75
                    message: AUC must be at least 0.75.
              production:
                rules:
                  - name: auc-floor
                    expression: facts.metrics.auc >= 0.85
                    message: AUC must be at least 0.85.
                risk_classes:
                  high:
                    - name: lead-approved
                      expression: facts.approvals.exists(a, 'ml-lead' in a.roles)
                      message: A high-risk model needs an ML lead's approval.
            """
        )
    )
    assert policy.name == "fraud-gates"
    assert policy.description == "What a fraud model needs."
    # The stage's rules for every version; a risk class adds its own after them.
    assert [r.expression for r in policy.rules_for("staging", "high")] == [
        "facts.metrics.auc >= 0.75"
    ]
    assert [r.name for r in policy.rules_for("production", "minimal")] == ["auc-floor"]
    assert [r.name for r in policy.rules_for("production", None)] == ["auc-floor"]
    assert [r.name for r in policy.rules_for("production", "high")] == [
        "auc-floor",
        "lead-approved",
    ]
    # The canonical JSON form parses back to the same policy.
    again = parse_policy(json.dumps(policy.to_json()))
    assert again == policy


def test_a_syntax_error_names_the_rule_and_the_position_in_its_expression() -> None:
    error = refused(doc(rule("auc-floor", "facts.metrics.auc >= 0.8 &&& true")))
    assert (error.rule, error.line, error.column) == ("auc-floor", 1, 28)
    assert "syntax error: unexpected character '&'" in str(error)
    assert "rule 'auc-floor', line 1, column 28" in str(error)

    # An expression that stops early points just past its end.
    error = refused(doc(rule("f1-floor", "facts.metrics.f1 >= ")))
    assert (error.rule, error.line, error.column) == ("f1-floor", 1, 21)
    assert "ends too early" in error.message


def test_positions_count_lines_inside_a_multi_line_expression() -> None:
    text = doc(
        """\
        - name: two-lines
          expression: |
            facts.metrics.auc >= 0.8 &&
              facts.metrics.f1 >= )
          message: both metrics
        """
    )
    error = refused(text)
    assert (error.rule, error.line, error.column) == ("two-lines", 2, 23)


@pytest.mark.parametrize(
    ("expression", "column", "says"),
    [
        ("facts.metric.auc > 0.5", 1, "unknown fact 'metric'"),
        ("metrics.auc > 0.5", 1, "unknown name 'metrics'"),
        ("facts.metrics.auc > 0.5 && facts", 28, "not facts itself"),
        ("facts.tags.team.lowerAscii() == 'x'", 17, "unknown function 'lowerAscii'"),
        ("facts.lineage.runs.reduce(r, x, 0, r + 1) > 0", 20, "unknown function 'reduce'"),
        ("facts.artifact.digest.matches('[a-f')", 31, "bad regular expression '[a-f'"),
        ("facts.approvals.exists(a, b.roles == [])", 27, "unknown name 'b'"),
        ("facts.approvals.exists('a', true)", 17, "takes a variable name"),
        ("has(facts)", 1, "has() takes one field selection"),
        ("google.Thing{a: 1} == 1", 1, "message construction"),
    ],
)
def test_static_checks_refuse_what_would_fail_every_promotion(
    expression: str, column: int, says: str
) -> None:
    error = refused(doc(rule("checked", expression)))
    assert error.rule == "checked"
    assert says in error.message
    assert (error.line, error.column) == (1, column)


def test_macro_variables_are_in_scope_only_inside_their_macro() -> None:
    # Inside: fine. After the macro closes, `a` is an unknown name again.
    parse_policy(doc(rule("ok", "facts.approvals.all(a, a.subject != '')")))
    error = refused(doc(rule("leaks", "facts.approvals.all(a, true) && a.subject == ''")))
    assert "unknown name 'a'" in error.message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("name: gates\nstages: [1, 2]\n", "stages: a mapping"),
        ("name: Gates!\n", "name: 1-64 of a-z"),
        ("name: gates\nstages:\n  prod: {}\n", "unknown key 'prod'"),
        ("name: gates\nstages:\n  production:\n    rule: []\n", "unknown key 'rule'"),
        (
            "name: gates\nstages:\n  production:\n    risk_classes:\n      extreme: []\n",
            "unknown key 'extreme'",
        ),
        (
            "name: gates\nstages:\n  production:\n    rules:\n"
            "      - {name: a, expression: 'true', message: m, severity: high}\n",
            "unknown key 'severity'",
        ),
        (
            "name: gates\nstages:\n  production:\n    rules:\n"
            "      - {name: a, expression: true, message: m}\n",
            "expression: a string (quote it in YAML)",
        ),
        (
            "name: gates\nstages:\n  production:\n    rules:\n"
            "      - {name: a, expression: 'true'}\n",
            "message: 1-500 characters",
        ),
        (
            "name: gates\nstages:\n  production:\n    rules:\n"
            "      - {name: Bad Name, expression: 'true', message: m}\n",
            "name: 1-64 of a-z",
        ),
    ],
)
def test_a_wrong_shape_is_refused_with_what_is_wrong(text: str, says: str) -> None:
    assert says in refused(text).message


def test_rule_names_are_unique_within_a_stage_across_its_risk_classes() -> None:
    # The same name in two stages is fine: each stage has its own threshold.
    staging = "  staging:\n    rules:\n" + textwrap.indent(rule("auc", "true"), "      ")
    parse_policy(doc(rule("auc", "true")) + staging)
    text = doc(
        rule("auc", "true"),
        extra="    risk_classes:\n      high:\n"
        + textwrap.indent(rule("auc", "false"), "        "),
    )
    error = refused(text)
    assert error.rule == "auc"
    assert "used twice" in error.message


def test_yaml_errors_carry_the_line_and_column_of_the_document() -> None:
    error = refused("name: gates\nstages:\n  production: [\n")
    assert error.rule is None
    assert error.line == 4
    assert (
        str(error) == "line 4, column 1: YAML: expected the node content, but found '<stream end>'"
    )


def test_duplicate_keys_are_refused_not_silently_replaced() -> None:
    text = "name: gates\nstages:\n  production:\n    rules: []\n  production:\n    rules: []\n"
    error = refused(text)
    assert "repeated" in error.message
    assert (error.line, error.column) == (5, 3)


def test_yaml_aliases_are_refused() -> None:
    # The "billion laughs" shape: each level names the one before ten times.
    lines = ["a0: &a0 [x]"] + [
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)
    ]
    error = refused("\n".join(lines) + "\n")
    assert "aliases are not allowed" in error.message
    assert error.line == 2


def test_hostile_sizes_are_refused_cheaply() -> None:
    # Too long a document.
    assert "longer than" in refused("#" * (MAX_DOCUMENT + 1)).message
    # YAML nested past what a policy needs (the composer would otherwise recurse).
    assert "nests deeper" in refused("a: " + "[" * 5000 + "]" * 5000).message
    # Too many rules in a stage.
    many = "".join(rule(f"r{i}", "true") for i in range(MAX_RULES + 1))
    assert f"more than {MAX_RULES} rules" in refused(doc(many)).message
    # Too long an expression, and one nested past the evaluator's depth.
    long = " || ".join(["true"] * 500)
    assert "longer than" in refused(doc(rule("long", long))).message
    deep = "(" * 40 + "true" + ")" * 40
    error = refused(doc(rule("deep", deep)))
    assert error.rule == "deep"
    assert f"nests deeper than {cel.MAX_DEPTH}" in error.message


def test_a_stage_may_be_left_out_and_then_has_no_rules() -> None:
    policy = parse_policy(doc(rule("auc", "facts.metrics.auc > 0.5"), stage="staging"))
    assert policy.rules_for("production", "high") == ()
    assert [r.name for r in policy.rules_for("staging", None)] == ["auc"]
