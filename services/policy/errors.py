"""Policy errors: a refused policy document, refused facts.

One small hierarchy. The caller maps each branch once (a published policy that does not
parse is bad input; facts that break the limits are a fault of whoever built them). A
rule that fails or errors while evaluating is not an error here: it is a failed rule in
the Evaluation.
"""

from __future__ import annotations

from typing import Any


class PolicyError(Exception):
    """Base class of everything this package refuses."""

    code = "policy_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class PolicyInvalid(PolicyError):
    """The policy document is refused: bad YAML, a wrong shape, a limit broken, or an
    expression that does not compile. `rule`, `line` and `column` say where, when known;
    line and column count from 1 inside the rule's expression (or the YAML text when no
    rule is named)."""

    code = "policy_invalid"

    def __init__(
        self,
        message: str,
        *,
        rule: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        where = []
        if rule is not None:
            where.append(f"rule {rule!r}")
        if line is not None and column is not None:
            where.append(f"line {line}, column {column}")
        text = f"{', '.join(where)}: {message}" if where else message
        super().__init__(text, rule=rule, line=line, column=column)
        self.rule = rule
        self.line = line
        self.column = column


class FactsInvalid(PolicyError):
    """The facts cannot be evaluated: a wrong type or a size over the limits. `field`
    names the fact."""

    code = "facts_invalid"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.field = field
