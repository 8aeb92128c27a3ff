"""One valid command of every type, shared by the tests that must cover them all."""

from __future__ import annotations

from schemas import commands as c
from schemas.bodies import LineageReference

ON_MODEL = {"model": "fraud"}
POLICY = """\
name: fraud-gates
stages:
  production:
    rules:
      - name: auc-floor
        expression: facts.metrics.auc >= 0.85
        message: AUC must be at least 0.85.
"""
ON_VERSION = {"model": "fraud", "version": 3}

EXAMPLES: dict[str, c.Command] = {
    command.type: command  # type: ignore[attr-defined]
    for command in (
        c.RegisterModel(name="fraud", description="flags fraud", tags={"team": "risk"}),
        c.RenameModel(**ON_MODEL, new_name="fraud-v2"),
        c.DescribeModel(**ON_MODEL, description="flags card fraud"),
        c.TagModel(**ON_MODEL, key="team", value="risk"),
        c.UntagModel(**ON_MODEL, key="team"),
        c.DeleteModel(**ON_MODEL),
        c.RegisterVersion(
            **ON_MODEL, artifact_uri="s3://models/fraud/3", sha256="ab" * 32, metrics={"auc": 0.9}
        ),
        c.DescribeVersion(**ON_VERSION, description="retrained"),
        c.TagVersion(**ON_VERSION, key="team", value="risk"),
        c.UntagVersion(**ON_VERSION, key="team"),
        c.RecordMetrics(**ON_VERSION, metrics={"auc": 0.91}),
        c.LinkLineage(**ON_VERSION, references=[LineageReference(kind="dataset", id="txns")]),
        c.UpdateModelCard(
            **ON_VERSION,
            card={
                "intended_use": {"primary_uses": ["flag card fraud"]},
                "risk": {"class": "high", "reason": "decides on people's payments"},
                "owners": [{"subject": "risk-team", "role": "accountable"}],
            },
        ),
        c.AmendModelCard(
            **ON_VERSION,
            sections={"monitoring_plan": {"signals": ["auc"], "frequency": "daily"}},
            remove=["legacy"],
        ),
        c.DeleteVersion(**ON_VERSION),
        c.RequestApproval(**ON_VERSION, stage="production", required_approvals=2),
        c.RequestAliasApproval(**ON_VERSION, alias="champion"),
        c.Approve(**ON_VERSION, request_id="r1", reason="lgtm"),
        c.Reject(**ON_VERSION, request_id="r1"),
        c.Withdraw(**ON_VERSION, request_id="r1"),
        c.Promote(**ON_VERSION, stage="production"),
        c.Archive(**ON_VERSION),
        c.SetAlias(**ON_MODEL, alias="champion", version=3),
        c.RemoveAlias(**ON_MODEL, alias="champion"),
        c.ProtectAlias(**ON_MODEL, alias="champion", protected=True),
        c.GrantRole(principal="user:bob", role="reviewer", scope="model:fraud"),
        c.RevokeRole(principal="group:fraud-team", role="contributor", scope="prefix:fraud-"),
        c.PublishPolicy(document=POLICY),
    )
}
