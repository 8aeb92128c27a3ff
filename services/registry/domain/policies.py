"""The promotion policy in force: CEL gates per stage, published into the log.

One aggregate holds the registry's policy. Each publication is an event carrying the
YAML text as written, so the policy that applied to any promotion is replayable: its
version is the publication's number (1, 2, 3...), and every VersionPromoted records the
version it was evaluated under. A registry without a published policy promotes on
approvals alone.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from services.policy.document import Policy, parse_policy
from services.policy.errors import PolicyInvalid
from services.registry.domain.errors import InvalidInput
from services.registry.domain.values import Context

POLICY_ID = uuid5(NAMESPACE_URL, "registrum:promotion-policy")


class PromotionPolicy(Aggregate):
    class Event(Aggregate.Event):
        actor: str
        reason: str | None
        command_id: str | None

    class PolicyOpened(Aggregate.Created, Event):
        def apply(self, policy: PromotionPolicy) -> None:
            policy.published = []

    class PolicyPublished(Event):
        number: int
        name: str
        document: str  # the YAML as written
        sha256: str

        def apply(self, policy: PromotionPolicy) -> None:
            policy.published.append(
                {
                    "version": self.number,
                    "name": self.name,
                    "document": self.document,
                    "sha256": self.sha256,
                    "published_by": self.actor,
                    "published_at": self.timestamp.isoformat(),
                    "reason": self.reason,
                }
            )

    if TYPE_CHECKING:
        published: list[dict[str, Any]]

    @classmethod
    def open(cls, ctx: Context) -> PromotionPolicy:
        return cls._create(cls.PolicyOpened, id=POLICY_ID, **ctx.fields())

    def publish(self, document: str, ctx: Context) -> dict[str, Any]:
        """Makes document the policy in force (a new version), once it parses and every
        rule compiles; InvalidInput saying where otherwise. Publishing the text in force
        again changes nothing."""
        policy = check(document)
        digest = hashlib.sha256(document.encode()).hexdigest()
        current = self.current()
        if current is not None and current["sha256"] == digest:
            return current
        self.trigger_event(
            self.PolicyPublished,
            number=len(self.published) + 1,
            name=policy.name,
            document=document,
            sha256=digest,
            **ctx.fields(),
        )
        return self.published[-1]

    def current(self) -> dict[str, Any] | None:
        return self.published[-1] if self.published else None


def check(document: str) -> Policy:
    try:
        return parse_policy(document)
    except PolicyInvalid as exc:
        raise InvalidInput(
            str(exc), field="document", rule=exc.rule, line=exc.line, column=exc.column
        ) from None
