"""Static checks of a parsed CEL expression, and the fact paths it reads.

One walk over celpy's parse tree (lark), without recursion: size and depth limits, names
(only `facts` and macro variables in their scope), facts that exist, functions CEL has,
regular expression literals that compile. What it refuses would otherwise fail every
promotion, so it is refused when the policy is published.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any, cast

import lark
import re2
from celpy import celtypes
from celpy.evaluation import Activation, CELEvalError, Evaluator

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


class ExpressionInvalid(Exception):
    """The expression is refused; line and column count from 1 within it."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def check(tree: lark.Tree[Any], facts: Collection[str]) -> tuple[Path, ...]:
    """The fact paths `tree` reads, in source order, without duplicates: each as far as it
    is static (`facts.metrics[k]` reads `metrics`), never its prefixes as well. `facts`
    are the names allowed after `facts.`. Raises ExpressionInvalid."""
    return _Checker(facts).check(tree)


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
