"""CEL through cel-python (celpy): compile with static checks, list the fact paths an
expression reads, evaluate under a step budget. The only module that knows celpy.

Static checks refuse at publish time what would otherwise fail every promotion: a name
that is neither `facts` nor a macro variable, a fact that does not exist, a function CEL
does not have, a regular expression literal that does not compile, and sizes over the
limits. The budget counts parse-tree nodes visited, so a rule's time is bounded whatever
the facts hold; celpy has no cost limit of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import lark
import lark.exceptions
import re2
from celpy import celtypes
from celpy.celparser import CELParseError, CELParser
from celpy.evaluation import Activation, CELEvalError, Evaluator

MAX_EXPRESSION = 2000
"""Characters in one expression."""
MAX_NODES = 2000
"""Parse-tree nodes in one expression."""
MAX_DEPTH = 96
"""Parse-tree depth. celpy evaluates by recursion, about six frames per level: at this cap
the worst shapes measured need under 600 frames, inside Python's default limit of 1000."""

ROOT = "facts"
"""The one variable an expression sees."""
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
# Standard CEL functions celpy implements. Its extensions (`reduce`, `min`) are left out
# so that a policy stays portable to other CEL implementations.
FUNCTIONS = frozenset(
    {
        *("has", "dyn", "size", "type", "matches", "contains", "startsWith", "endsWith"),
        *("bool", "bytes", "double", "duration", "int", "string", "timestamp", "uint"),
    }
)
METHODS = frozenset(
    {
        *("size", "contains", "startsWith", "endsWith", "matches"),
        *("getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getFullYear"),
        *("getMonth", "getHours", "getMilliseconds", "getMinutes", "getSeconds"),
    }
)
TYPE_NAMES = frozenset(
    {"bool", "bytes", "double", "int", "list", "map", "null_type", "string", "type", "uint"}
)

Segment = str | int
Path = tuple[Segment, ...]
"""A path below `facts`: ("metrics", "auc"), ("approvals", 0, "at")."""

# Parse-tree nodes that only wrap their one child (precedence levels, parentheses).
_WRAPPERS = frozenset(
    {
        "expr",
        "conditionalor",
        "conditionaland",
        "relation",
        "addition",
        "multiplication",
        "unary",
        "member",
        "primary",
        "paren_expr",
    }
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ExpressionInvalid(Exception):
    """The expression is refused; line and column count from 1 within it."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class EvaluationFailed(Exception):
    """The expression raised an error for these facts, or ran out of budget."""


@dataclass(frozen=True, eq=False)
class Compiled:
    """A checked expression, ready to evaluate many times."""

    source: str
    tree: lark.Tree[Any]
    paths: tuple[Path, ...]
    """The fact paths it reads, longest first-seen, in source order, no duplicates."""


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
    paths = _Checker(facts).check(tree)
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


def _measure(tree: lark.Tree[Any]) -> None:
    """Refuses a tree over the size or depth limits (walked without recursion)."""
    count = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _refuse(f"the expression has more than {MAX_NODES} parts", tree)
        if depth > MAX_DEPTH:
            raise _refuse(f"the expression nests deeper than {MAX_DEPTH} levels", node)
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, lark.Tree))


def _unwrap(node: lark.Tree[Any]) -> lark.Tree[Any]:
    while node.data in _WRAPPERS and len(node.children) == 1:
        child = node.children[0]
        if not isinstance(child, lark.Tree):
            break
        node = child
    return node


def _position(node: lark.Tree[Any] | lark.Token) -> tuple[int | None, int | None]:
    if isinstance(node, lark.Token):
        return node.line, node.column
    meta = node.meta
    return getattr(meta, "line", None), getattr(meta, "column", None)


def _refuse(message: str, node: lark.Tree[Any] | lark.Token) -> ExpressionInvalid:
    return ExpressionInvalid(message, *_position(node))


def _arguments(node: lark.Tree[Any], index: int) -> list[lark.Tree[Any]]:
    if len(node.children) <= index:
        return []
    exprlist = cast(lark.Tree[Any], node.children[index])
    return [c for c in exprlist.children if isinstance(c, lark.Tree)]


def _constant(node: lark.Tree[Any]) -> Segment | None:
    """The value of a string or integer literal index, else None."""
    inner = _unwrap(node)
    if inner.data != "literal":
        return None
    try:
        value = Evaluator(ast=inner, activation=Activation()).evaluate({})
    except CELEvalError:
        return None
    if isinstance(value, celtypes.BoolType):
        return None
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.IntType | celtypes.UintType):
        return int(value)
    return None


def _chain(node: lark.Tree[Any]) -> tuple[lark.Token, Path] | None:
    """`root.a["b"][0]` as (root token, ("a", "b", 0)); None when not a static chain."""
    segments: list[Segment] = []
    node = _unwrap(node)
    while True:
        if node.data == "member_dot":
            segments.append(str(node.children[1]))
        elif node.data == "member_index":
            key = _constant(cast(lark.Tree[Any], node.children[1]))
            if key is None:
                return None
            segments.append(key)
        elif node.data == "ident":
            return cast(lark.Token, node.children[0]), tuple(reversed(segments))
        else:
            return None
        node = _unwrap(cast(lark.Tree[Any], node.children[0]))


class _Checker:
    """Walks a parse tree once: limits, names, functions, macros, and the fact paths."""

    def __init__(self, facts: Collection[str]) -> None:
        self.facts = facts
        self.paths: dict[Path, None] = {}

    def check(self, tree: lark.Tree[Any]) -> tuple[Path, ...]:
        _measure(tree)
        stack: list[tuple[lark.Tree[Any], frozenset[str]]] = [(tree, frozenset())]
        while stack:
            node, bound = stack.pop()
            # Reversed, so that paths are met in source order.
            stack.extend(reversed(list(self._visit(node, bound))))
        return tuple(self.paths)

    def _visit(self, node: lark.Tree[Any], bound: frozenset[str]) -> Iterator[Any]:
        """Checks one node; yields the children to walk, as (child, names bound there)."""
        kind = node.data
        if kind in ("member_dot", "member_index", "ident"):
            found = _chain(node)
            if found is not None:
                self._root(*found, bound)
                return
        if kind in ("dot_ident", "dot_ident_arg", "member_object"):
            raise _refuse("qualified names and message construction are not supported", node)
        if kind == "ident_arg":
            yield from self._function(node, bound)
            return
        if kind == "member_dot_arg":
            yield from self._method(node, bound)
            return
        for child in node.children:
            if isinstance(child, lark.Tree):
                yield child, bound

    def _root(self, token: lark.Token, path: Path, bound: frozenset[str]) -> None:
        name = str(token)
        if name in bound:
            return
        if name == ROOT:
            if not path:
                raise _refuse(f"use a fact, such as {ROOT}.metrics, not {ROOT} itself", token)
            if not isinstance(path[0], str) or path[0] not in self.facts:
                known = ", ".join(sorted(self.facts))
                raise _refuse(f"unknown fact {path[0]!r}; the facts are {known}", token)
            self.paths.setdefault(path)
            return
        if name in TYPE_NAMES and not path:
            return
        raise _refuse(f"unknown name {name!r}; facts are read as {ROOT}.<fact>", token)

    def _function(self, node: lark.Tree[Any], bound: frozenset[str]) -> Iterator[Any]:
        name_token = cast(lark.Token, node.children[0])
        name = str(name_token)
        args = _arguments(node, 1)
        if name not in FUNCTIONS:
            raise _refuse(f"unknown function {name!r}", name_token)
        if name == "has" and (len(args) != 1 or _unwrap(args[0]).data != "member_dot"):
            raise _refuse("has() takes one field selection, such as has(facts.a.b)", node)
        if name == "matches" and len(args) == 2:
            self._pattern(args[1])
        for arg in args:
            yield arg, bound

    def _method(self, node: lark.Tree[Any], bound: frozenset[str]) -> Iterator[Any]:
        target, name_token = node.children[0], cast(lark.Token, node.children[1])
        name = str(name_token)
        args = _arguments(node, 2)
        yield target, bound
        if name in MACROS:
            variable = _unwrap(args[0]) if len(args) == 2 else None
            if variable is None or variable.data != "ident":
                raise _refuse(f"{name}() takes a variable name and an expression", name_token)
            var = str(variable.children[0])
            if var == ROOT:
                raise _refuse(f"a macro variable must not be called {ROOT}", variable)
            yield args[1], bound | {var}
            return
        if name not in METHODS:
            raise _refuse(f"unknown function {name!r}", name_token)
        if name == "matches" and len(args) == 1:
            self._pattern(args[0])
        for arg in args:
            yield arg, bound

    @staticmethod
    def _pattern(node: lark.Tree[Any]) -> None:
        pattern = _constant(node)
        if not isinstance(pattern, str):
            return
        try:
            re2.compile(pattern)
        except re2.error as error:
            reason = (
                error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else error
            )
            raise _refuse(f"bad regular expression {pattern!r}: {reason}", node) from None
