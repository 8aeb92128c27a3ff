"""Domain errors: the rules of the registry, raised by aggregates and value checks.

One small hierarchy. Entry points map each branch to a status once
(services/api/errors.py for HTTP, the intake for Kafka results,
registrum/cli/failures.py for the CLI); nothing else inspects messages.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class of every rule the registry enforces."""

    code = "domain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    """A value is malformed: empty name, unknown stage, oversized text..."""

    code = "invalid_input"


class NotFound(DomainError):
    """The model, version, alias or approval request does not exist."""

    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state: a taken name, an archived version..."""

    code = "conflict"


class DuplicateName(Conflict):
    code = "duplicate_name"


class NotChangeable(Conflict):
    """The version is archived or deleted, or the model is deleted."""

    code = "not_changeable"


class RuleBroken(DomainError):
    """The actor is not allowed to do this: self-approval, promotion without approval..."""

    code = "forbidden"


class Forbidden(RuleBroken):
    """The caller holds no grant giving the permission the command needs there; details
    name the permission and where it was needed."""

    code = "forbidden"


class NotApproved(RuleBroken):
    code = "not_approved"


class PolicyFailed(RuleBroken):
    """The promotion's gates failed under the policy in force; details list the failed
    rules with the values they saw."""

    code = "policy_failed"


class SelfApproval(RuleBroken):
    code = "self_approval"
