"""Handler of the promotion policy: publish a new version of it."""

from __future__ import annotations

from schemas import commands as c
from services.registry.domain.policies import PromotionPolicy
from services.registry.domain.values import Context
from services.registry.execution import Decide, Decision
from services.registry.handlers.base import handles
from services.registry.scope import Scope


@handles(c.PublishPolicy)
def publish_policy(command: c.PublishPolicy, ctx: Context, scope: Scope) -> Decide:
    def decide() -> Decision:
        policy = scope.policy() or PromotionPolicy.open(ctx)
        published = policy.publish(command.document, ctx)
        return Decision([policy], lambda: dict(published))

    return decide
