"""The search filter language, compiled to parameterised SQL.

    name LIKE 'fraud%' AND (metrics.auc >= 0.9 OR tags.team = 'risk') AND stage = 'production'
    run_id IN ('r1', 'r2') AND tags.team NOT IN ('sandbox')

Fields are looked up in a whitelist; every value, tag key and metric name becomes a
bind parameter, so nothing the user writes is ever spliced into SQL. Errors say what
was wrong and at which character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.registry.domain.errors import InvalidInput
from services.registry.domain.values import Stage

MAX_FILTER = 4096
MAX_DEPTH = 32  # nested parentheses; deeper would exhaust the parser's recursion
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<paren>[()])
    | (?P<comma>,)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:`[^`]+`|[A-Za-z0-9_\-]+))?)
    )""",
    re.VERBOSE,
)
KEYWORDS = {"AND", "OR", "LIKE", "ILIKE", "IN", "NOT", "ASC", "DESC"}


class FilterError(InvalidInput):
    code = "invalid_filter"


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    at: int


def tokenize(text: str, what: str) -> list[Token]:
    if len(text) > MAX_FILTER:
        raise FilterError(f"{what} is longer than {MAX_FILTER} characters", parameter=what)
    tokens, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = _TOKEN.match(text, at)
        if not match or match.end() == at:
            where = at + len(text[at:]) - len(text[at:].lstrip())
            raise FilterError(
                f"{what}: unexpected character {text[where]!r} at {where + 1}",
                parameter=what,
                position=where + 1,
            )
        kind = match.lastgroup or ""
        value = match.group(kind)
        start = match.start(kind)
        if kind == "word" and value.upper() in KEYWORDS:
            kind, value = "keyword", value.upper()
        tokens.append(Token(kind, value, start))
        at = match.end()
    return tokens


@dataclass(frozen=True)
class Field:
    sql: str  # with {k} for a bound key (tags.x, metrics.x)
    type: str  # text, number, time, stage, alias


@dataclass
class Compiled:
    where: str
    order: str
    params: list[Any] = field(default_factory=list)


class Scope:
    """The fields one kind of search knows (models or versions)."""

    def __init__(
        self,
        fields: dict[str, Field],
        keyed: dict[str, Field],
        default_order: str,
        *,
        synonyms: dict[str, str] | None = None,
        absent_differs: bool = False,
    ) -> None:
        """synonyms: other names of keyed prefixes (MLflow writes `tag.x` and `tags.x`).
        absent_differs: `tags.x != 'v'` holds where there is no tag x (MLflow's meaning;
        ours compares only what is there)."""
        self.fields, self.keyed, self.default_order = fields, keyed, default_order
        self.synonyms = synonyms or {}
        self.absent_differs = absent_differs

    def lookup(self, token: Token, what: str) -> tuple[Field, str | None]:
        prefix, dot, key = token.text.partition(".")
        if dot:
            keyed = self.keyed.get(self.synonyms.get(prefix, prefix))
            if keyed is None:
                raise FilterError(
                    f"{what}: unknown field {token.text!r} at {token.at + 1}; "
                    f"keyed fields are {', '.join(f'{k}.<name>' for k in self.keyed)}",
                    parameter=what,
                    position=token.at + 1,
                )
            return keyed, key.strip("`")
        known = self.fields.get(token.text)
        if known is None:
            raise FilterError(
                f"{what}: unknown field {token.text!r} at {token.at + 1}; "
                f"known: {', '.join(sorted(self.fields))}",
                parameter=what,
                position=token.at + 1,
            )
        return known, None


class _Parser:
    def __init__(self, tokens: list[Token], scope: Scope, params: list[Any], what: str):
        self.tokens, self.scope, self.params, self.what, self.i = tokens, scope, params, what, 0
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise FilterError(f"{self.what}: unexpected end", parameter=self.what)
        self.i += 1
        return token

    def fail(self, token: Token, expected: str) -> FilterError:
        return FilterError(
            f"{self.what}: expected {expected} at {token.at + 1}, found {token.text!r}",
            parameter=self.what,
            position=token.at + 1,
        )

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def expression(self) -> str:
        parts = [self.conjunction()]
        while (t := self.peek()) and t.kind == "keyword" and t.text == "OR":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def conjunction(self) -> str:
        parts = [self.factor()]
        while (t := self.peek()) and t.kind == "keyword" and t.text == "AND":
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def factor(self) -> str:
        token = self.take()
        if token.kind == "paren" and token.text == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise FilterError(
                    f"{self.what}: parentheses nest deeper than {MAX_DEPTH} at {token.at + 1}",
                    parameter=self.what,
                    position=token.at + 1,
                    depth=MAX_DEPTH,
                )
            inner = self.expression()
            self.depth -= 1
            close = self.take()
            if close.text != ")":
                raise self.fail(close, "')'")
            return f"({inner})"
        if token.kind != "word":
            raise self.fail(token, "a field name or '('")
        return self.comparison(token)

    def comparison(self, name: Token) -> str:
        fld, key = self.scope.lookup(name, self.what)
        op = self.take()
        if op.kind == "keyword" and op.text in ("IN", "NOT"):
            return self.membership(fld, key, op)
        if not (op.kind == "op" or (op.kind == "keyword" and op.text in ("LIKE", "ILIKE"))):
            raise self.fail(op, "an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN)")
        value_token = self.take()
        value = self.value(value_token, fld, op)
        operator = "<>" if op.text == "!=" else op.text
        target = fld.sql.format(k=self.bind(key)) if key is not None else fld.sql
        if fld.type == "alias":
            return target.format(op=operator, v=self.bind(value))
        if operator == "<>" and self.scope.absent_differs:
            operator = "IS DISTINCT FROM"
        return f"{target} {operator} {self.bind(value)}"

    def membership(self, fld: Field, key: str | None, op: Token) -> str:
        """field [NOT] IN (value, ...), as MLflow's search writes `run_id IN ('a', 'b')`."""
        negated = op.text == "NOT"
        if negated:
            after = self.take()
            if not (after.kind == "keyword" and after.text == "IN"):
                raise self.fail(after, "IN after NOT")
            op = after
        if fld.type == "alias":
            raise self.fail(op, "=, != or LIKE for an alias")
        opening = self.take()
        if opening.text != "(":
            raise self.fail(opening, "'(' and a list of values")
        values = [self.value(self.take(), fld, op)]
        while (t := self.take()).kind == "comma":
            values.append(self.value(self.take(), fld, op))
        if t.text != ")":
            raise self.fail(t, "',' or ')'")
        target = fld.sql.format(k=self.bind(key)) if key is not None else fld.sql
        test = f"{target} = ANY({self.bind(values)})"
        return f"NOT ({test})" if negated else test

    def value(self, token: Token, fld: Field, op: Token) -> Any:
        if op.text in ("LIKE", "ILIKE") and fld.type not in ("text", "stage", "alias"):
            raise FilterError(
                f"{self.what}: {op.text} works on text fields, not at {op.at + 1}",
                parameter=self.what,
                position=op.at + 1,
            )
        if fld.type == "number":
            if token.kind != "number":
                raise self.fail(token, "a number")
            return float(token.text)
        if token.kind != "string":
            raise self.fail(token, "a quoted string")
        text = token.text[1:-1].replace(token.text[0] * 2, token.text[0])
        stages = {s.value for s in Stage}
        if fld.type == "stage" and op.text not in ("LIKE", "ILIKE") and text not in stages:
            raise FilterError(
                f"{self.what}: unknown stage {text!r} at {token.at + 1}",
                parameter=self.what,
                position=token.at + 1,
                allowed=sorted(stages),
            )
        if fld.type == "time":
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise self.fail(token, "an ISO 8601 time") from None
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return text


def compile_search(scope: Scope, filter_text: str | None, order_by: str | None) -> Compiled:
    params: list[Any] = []
    where = "true"
    if filter_text and filter_text.strip():
        parser = _Parser(tokenize(filter_text, "filter"), scope, params, "filter")
        where = parser.expression()
        extra = parser.peek()
        if extra is not None:
            raise parser.fail(extra, "AND, OR or the end")
    order = _order(scope, order_by, params)
    return Compiled(where, order, params)


def _order(scope: Scope, order_by: str | None, params: list[Any]) -> str:
    if not order_by or not order_by.strip():
        return scope.default_order
    tokens = tokenize(order_by, "order_by")
    parser = _Parser(tokens, scope, params, "order_by")
    terms = []
    while True:
        name = parser.take()
        if name.kind != "word":
            raise parser.fail(name, "a field name")
        fld, key = scope.lookup(name, "order_by")
        if fld.type == "alias":
            raise parser.fail(name, "a sortable field")
        target = fld.sql.format(k=parser.bind(key)) if key is not None else fld.sql
        direction = "ASC"
        nxt = parser.peek()
        if nxt and nxt.kind == "keyword" and nxt.text in ("ASC", "DESC"):
            direction = parser.take().text
        terms.append(f"{target} {direction} NULLS LAST")
        nxt = parser.peek()
        if nxt is None:
            break
        if nxt.kind != "comma":
            raise parser.fail(nxt, "',' or the end")
        parser.take()
    return ", ".join(terms) + ", " + scope.default_order
