"""CEL through cel-python (celpy): compile, evaluate under a step budget, and say what
went wrong in short, stable words. This module and checks.py are the only ones that
know celpy.

Compiling parses and runs the static checks (checks.py), which also list the fact paths
an expression reads. The budget counts parse-tree nodes visited, so a rule's time is
bounded whatever the facts hold; celpy has no cost limit of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import lark
import lark.exceptions
from celpy.celparser import CELParseError, CELParser
from celpy.evaluation import Activation, CELEvalError, Evaluator

from services.policy.checks import MAX_DEPTH as MAX_DEPTH
from services.policy.checks import ExpressionInvalid as ExpressionInvalid
from services.policy.checks import Path as Path
from services.policy.checks import check

MAX_EXPRESSION = 2000
"""Characters in one expression."""
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class EvaluationFailed(Exception):
    """The expression raised an error for these facts, or ran out of budget."""


@dataclass(frozen=True, eq=False)
class Compiled:
    """A checked expression, ready to evaluate many times."""

    source: str
    tree: lark.Tree[Any]
    paths: tuple[Path, ...]
    """The fact paths it reads (see checks.check)."""


class Budget:
    """Parse-tree nodes an evaluation may still visit; shared by every macro's body."""

    def __init__(self, steps: int) -> None:
        self.remaining = steps

    def spend(self) -> None:
        self.remaining -= 1
        if self.remaining < 0:
            raise _Exhausted


class _Exhausted(Exception):
    pass


def compile_expression(source: str, facts: Collection[str]) -> Compiled:
    """Parses and checks `source`; `facts` are the names allowed after `facts.`.
    Raises ExpressionInvalid."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionInvalid("the expression is empty")
    if len(source) > MAX_EXPRESSION:
        raise ExpressionInvalid(f"the expression is longer than {MAX_EXPRESSION} characters")
    try:
        tree = CELParser().parse(source)
    except CELParseError as error:
        raise _syntax_error(source, error) from None
    paths = check(tree, facts)
    return Compiled(source=source, tree=tree, paths=paths)


def _syntax_error(source: str, error: CELParseError) -> ExpressionInvalid:
    cause = error.__context__  # lark's own exception, which celpy flattens to text
    if isinstance(cause, lark.exceptions.UnexpectedToken) and cause.token.type == "$END":
        lines = source.split("\n")
        return ExpressionInvalid(
            "syntax error: the expression ends too early", len(lines), len(lines[-1]) + 1
        )
    if isinstance(cause, lark.exceptions.UnexpectedToken):
        what = f"unexpected {str(cause.token)!r}"
    elif isinstance(cause, lark.exceptions.UnexpectedCharacters):
        what = f"unexpected character {cause.char!r}"
    else:
        what = "not a CEL expression"
    return ExpressionInvalid(f"syntax error: {what}", error.line, error.column)


def evaluate(compiled: Compiled, activation: Mapping[str, Any], budget: Budget) -> Any:
    """The expression's value for `activation`. Raises EvaluationFailed and nothing else."""
    evaluator = _MeteredEvaluator(compiled.tree, Activation(), budget)
    try:
        return evaluator.evaluate(dict(activation))
    except CELEvalError as error:
        raise EvaluationFailed(describe(error)) from None
    except _Exhausted:
        raise EvaluationFailed("evaluation step budget exhausted") from None
    except RecursionError:
        raise EvaluationFailed("the expression nests too deeply to evaluate") from None
    except Exception as error:
        # A rule the library cannot evaluate fails closed: the gate reports it and stays
        # shut. This is the one place that catches broadly, on purpose.
        raise EvaluationFailed(f"{type(error).__name__}: {error}"[:300]) from None


def render(path: Path) -> str:
    """`metrics.auc`, `tags["team-name"]`, `approvals[0].at`: dots for identifiers,
    brackets (JSON-quoted) for any other key, so every path reads back unambiguously."""
    out = []
    for index, segment in enumerate(path):
        if isinstance(segment, int):
            out.append(f"[{segment}]")
        elif _IDENTIFIER.fullmatch(segment):
            out.append(segment if index == 0 else f".{segment}")
        else:
            out.append(f"[{json.dumps(segment)}]")
    return "".join(out)


_CEL_TYPE = re.compile(r"<class 'celpy\.celtypes\.(\w+?)(?:Type)?'>")
_RULE = re.compile(r"Token\('RULE', '(\w+)'\)")
_OPERATORS = {
    **{"relation_lt": "<", "relation_le": "<=", "relation_gt": ">", "relation_ge": ">="},
    **{"relation_eq": "==", "relation_ne": "!=", "relation_in": "in"},
    **{"addition_add": "+", "addition_sub": "-"},
    **{"multiplication_mul": "*", "multiplication_div": "/", "multiplication_mod": "%"},
}


def _plain(text: str) -> str:
    text = _CEL_TYPE.sub(lambda m: m.group(1).lower(), text)
    return _RULE.sub(lambda m: repr(_OPERATORS.get(m.group(1), m.group(1))), text)


def describe(error: CELEvalError) -> str:
    """A short, stable text for an evaluation error (celpy's can embed the whole
    activation)."""
    text = str(error.args[0]) if error.args else type(error).__name__
    text = _plain(text.split(" (in activation", 1)[0])
    if text.startswith("found no matching overload"):
        return f"no {text[len('found no matching ') :]}"[:300]
    detail = error.args[2] if len(error.args) > 2 else None
    cause = str(detail[0]) if isinstance(detail, tuple) and detail else ""
    if cause and "CELEvalError" not in cause and cause not in text:
        text = f"{text}: {_plain(cause)}"
    return text[:300]


class _MeteredEvaluator(Evaluator):
    """celpy's tree-walking evaluator, charging the budget for every node it visits."""

    def __init__(self, ast: lark.Tree[Any], activation: Activation, budget: Budget) -> None:
        super().__init__(ast=ast, activation=activation)
        self._budget = budget

    def sub_evaluator(self, ast: lark.Tree[Any]) -> Evaluator:
        return _MeteredEvaluator(ast, self.activation, self._budget)

    def _visit_tree(self, tree: lark.Tree[Any]) -> Any:
        self._budget.spend()
        return super()._visit_tree(tree)
