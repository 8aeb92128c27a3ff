"""ModelVersion: what was registered (artefact, run, data, parameters) and its reviews.

Its stage is kept by the owning RegisteredModel; approval requests live here because
they are about this version's evidence and who vouched for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from services.registry.domain import cards
from services.registry.domain.errors import Conflict, NotFound, RuleBroken, SelfApproval
from services.registry.domain.values import Context, Stage

PENDING, APPROVED, REJECTED, WITHDRAWN = "pending", "approved", "rejected", "withdrawn"


class ModelVersion(Aggregate):
    class Event(Aggregate.Event):
        actor: str
        reason: str | None
        command_id: str | None

    class VersionRegistered(Aggregate.Created, Event):
        model_id: UUID
        model_name: str
        number: int
        artifact_uri: str
        sha256: str | None
        size: int | None
        format: str | None
        flavor: str | None
        run_id: str | None
        dataset_version: str | None
        hyperparameters: dict[str, Any]
        metrics: dict[str, float]
        lineage: list[dict[str, str]]
        tags: dict[str, str]
        description: str
        manifest: list[dict[str, Any]]  # since class_version 2: [{path, sha256, size}]

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Versions registered before artefact upload had no files of ours.
            state["manifest"] = []

        def apply(self, version: ModelVersion) -> None:
            version.manifest = [dict(entry) for entry in self.manifest]
            for key in (
                "model_id",
                "model_name",
                "number",
                "artifact_uri",
                "sha256",
                "size",
                "format",
                "flavor",
                "run_id",
                "dataset_version",
                "description",
            ):
                setattr(version, key, getattr(self, key))
            version.hyperparameters = dict(self.hyperparameters)
            version.metrics = dict(self.metrics)
            version.lineage = [dict(ref) for ref in self.lineage]
            version.tags = dict(self.tags)
            version.model_card = {}
            version.created_by = self.actor
            version.requests = {}

    class VersionDescribed(Event):
        description: str

        def apply(self, version: ModelVersion) -> None:
            version.description = self.description

    class VersionTagged(Event):
        key: str
        value: str

        def apply(self, version: ModelVersion) -> None:
            version.tags[self.key] = self.value

    class VersionUntagged(Event):
        key: str

        def apply(self, version: ModelVersion) -> None:
            version.tags.pop(self.key, None)

    class MetricsRecorded(Event):
        metrics: dict[str, float]

        def apply(self, version: ModelVersion) -> None:
            version.metrics.update(self.metrics)

    class LineageLinked(Event):
        references: list[dict[str, str]]

        def apply(self, version: ModelVersion) -> None:
            version.lineage.extend(dict(ref) for ref in self.references)

    class ModelCardUpdated(Event):
        card: dict[str, Any]  # since class_version 2 a typed card (schemas/model_card.py)

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Cards were free JSON: kept whole under `legacy` of a typed card.
            state["card"] = cards.from_untyped(state["card"])

        def apply(self, version: ModelVersion) -> None:
            version.model_card = dict(self.card)

    class ModelCardAmended(Event):
        sections: dict[str, Any]  # each replaced whole
        removed: list[str]

        def apply(self, version: ModelVersion) -> None:
            version.model_card = cards.amended(version.model_card, self.sections, self.removed)

    class ApprovalRequested(Event):
        request_id: str
        stage: str
        required_approvals: int

        def apply(self, version: ModelVersion) -> None:
            version.requests[self.request_id] = {
                "id": self.request_id,
                "stage": self.stage,
                "status": PENDING,
                "requested_by": self.actor,
                "requested_at": self.timestamp.isoformat(),
                "reason": self.reason,
                "required_approvals": self.required_approvals,
                "approvals": [],
                "decided_by": None,
            }

    class ApprovalGranted(Event):
        request_id: str
        roles: list[str]  # since class_version 2: what the approver held on the model
        override: bool  # since class_version 2: an administrator's break-glass approval

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Approvals before promotion gates: roles were not recorded, none overrode.
            state["roles"] = []
            state["override"] = False

        def apply(self, version: ModelVersion) -> None:
            request = version.requests[self.request_id]
            request["approvals"].append(
                {
                    "actor": self.actor,
                    "at": self.timestamp.isoformat(),
                    "comment": self.reason,
                    "roles": list(self.roles),
                    "override": self.override,
                }
            )
            # An override does not count towards the approvals a request needs.
            counted = [a for a in request["approvals"] if not a["override"]]
            if len(counted) >= request["required_approvals"]:
                request["status"] = APPROVED

    class ApprovalRejected(Event):
        request_id: str

        def apply(self, version: ModelVersion) -> None:
            request = version.requests[self.request_id]
            request["status"] = REJECTED
            request["decided_by"] = self.actor

    class ApprovalWithdrawn(Event):
        request_id: str

        def apply(self, version: ModelVersion) -> None:
            request = version.requests[self.request_id]
            request["status"] = WITHDRAWN
            request["decided_by"] = self.actor

    # State is set by the events' apply methods. Annotated for type checkers only: at
    # run time the library would turn annotations into constructor arguments.
    if TYPE_CHECKING:
        model_id: UUID
        model_name: str
        number: int
        artifact_uri: str
        sha256: str | None
        size: int | None
        format: str | None
        flavor: str | None
        run_id: str | None
        dataset_version: str | None
        hyperparameters: dict[str, Any]
        metrics: dict[str, float]
        lineage: list[dict[str, str]]
        tags: dict[str, str]
        description: str
        model_card: dict[str, Any]
        created_by: str
        requests: dict[str, dict[str, Any]]
        manifest: list[dict[str, Any]]

    @classmethod
    def register(
        cls, *, version_id: UUID | None = None, ctx: Context, **facts: Any
    ) -> ModelVersion:
        return cls._create(cls.VersionRegistered, id=version_id or uuid4(), **facts, **ctx.fields())

    # -- content -----------------------------------------------------------------------

    def describe(self, description: str, ctx: Context) -> None:
        if description != self.description:
            self.trigger_event(self.VersionDescribed, description=description, **ctx.fields())

    def tag(self, key: str, value: str, ctx: Context) -> None:
        if self.tags.get(key) != value:
            self.trigger_event(self.VersionTagged, key=key, value=value, **ctx.fields())

    def untag(self, key: str, ctx: Context) -> None:
        if key not in self.tags:
            raise NotFound(f"version {self.number} has no tag {key!r}", tag=key)
        self.trigger_event(self.VersionUntagged, key=key, **ctx.fields())

    def record_metrics(self, metrics: dict[str, float], ctx: Context) -> None:
        if metrics:
            self.trigger_event(self.MetricsRecorded, metrics=metrics, **ctx.fields())

    def link_lineage(self, references: list[dict[str, str]], ctx: Context) -> None:
        if references:
            self.trigger_event(self.LineageLinked, references=references, **ctx.fields())

    def update_model_card(self, card: dict[str, Any], ctx: Context) -> None:
        cards.check_card(card)
        if card != self.model_card:
            self.trigger_event(self.ModelCardUpdated, card=card, **ctx.fields())

    def amend_model_card(self, sections: dict[str, Any], removed: list[str], ctx: Context) -> None:
        """Empties the removed sections, then sets the given ones (each replaced whole);
        what would not change is left out of the event, and nothing changing records
        nothing."""
        cards.check_sections([*sections, *removed])
        current = cards.typed(self.model_card)
        changed = {k: v for k, v in sections.items() if current.get(k) != v}
        gone = [k for k in removed if k in current and k not in sections]
        if not changed and not gone:
            return
        cards.check_card(cards.amended(current, changed, gone))
        self.trigger_event(self.ModelCardAmended, sections=changed, removed=gone, **ctx.fields())

    # -- reviews -----------------------------------------------------------------------

    def request(self, request_id: str) -> dict[str, Any]:
        try:
            return self.requests[request_id]
        except KeyError:
            raise NotFound(
                f"version {self.number} has no approval request {request_id!r}",
                request=request_id,
            ) from None

    def request_approval(
        self, request_id: str, stage: Stage, current: Stage, required: int, ctx: Context
    ) -> None:
        if stage is current:
            raise Conflict(f"version {self.number} is already in {stage.value}", stage=stage.value)
        self._request(request_id, stage.value, required, ctx)

    def request_alias_approval(
        self, request_id: str, alias: str, required: int, ctx: Context
    ) -> None:
        """Asks for sign-off to point the protected alias at this version. The request's
        target is `alias:<name>` where a promotion's is its stage."""
        self._request(request_id, alias_target(alias), required, ctx)

    def _request(self, request_id: str, target: str, required: int, ctx: Context) -> None:
        pending = [
            r["id"]
            for r in self.requests.values()
            if r["stage"] == target and r["status"] == PENDING
        ]
        if pending:
            raise Conflict(
                f"an approval request for {target} is already pending", request=pending[0]
            )
        self.trigger_event(
            self.ApprovalRequested,
            request_id=request_id,
            stage=target,
            required_approvals=required,
            **ctx.fields(),
        )

    def _check_reviewer(
        self, request: dict[str, Any], ctx: Context, open_to: tuple[str, ...] = (PENDING,)
    ) -> None:
        if request["status"] not in open_to:
            raise Conflict(
                f"the request is {request['status']}, not pending", request=request["id"]
            )
        if ctx.actor == request["requested_by"]:
            raise SelfApproval("the requester cannot review their own request", actor=ctx.actor)
        if ctx.actor == self.created_by:
            raise SelfApproval("the registrant cannot review their own version", actor=ctx.actor)

    def approve(
        self,
        request_id: str,
        ctx: Context,
        roles: tuple[str, ...] = (),
        override: bool = False,
    ) -> None:
        """Signs the request off. An override (an administrator's break-glass approval,
        letting a promotion past failing gates) comes on top of the approvals the request
        needs: it may also be given once the request is approved, and does not count."""
        request = self.request(request_id)
        self._check_reviewer(request, ctx, (PENDING, APPROVED) if override else (PENDING,))
        if any(a["actor"] == ctx.actor for a in request["approvals"]):
            raise Conflict(f"{ctx.actor} has already approved this request", actor=ctx.actor)
        self.trigger_event(
            self.ApprovalGranted,
            request_id=request_id,
            roles=sorted(roles),
            override=override,
            **ctx.fields(),
        )

    def reject(self, request_id: str, ctx: Context) -> None:
        request = self.request(request_id)
        self._check_reviewer(request, ctx)
        self.trigger_event(self.ApprovalRejected, request_id=request_id, **ctx.fields())

    def withdraw(self, request_id: str, ctx: Context) -> None:
        request = self.request(request_id)
        if request["status"] != PENDING:
            raise Conflict(f"the request is {request['status']}, not pending", request=request_id)
        if ctx.actor != request["requested_by"]:
            raise RuleBroken("only the requester can withdraw a request", actor=ctx.actor)
        self.trigger_event(self.ApprovalWithdrawn, request_id=request_id, **ctx.fields())

    def approved_request(self, stage: Stage | str, used: list[str]) -> dict[str, Any] | None:
        """The latest approved, unused request for stage (or an alias_target), if any."""
        target = stage.value if isinstance(stage, Stage) else stage
        candidates = [
            r
            for r in self.requests.values()
            if r["stage"] == target and r["status"] == APPROVED and r["id"] not in used
        ]
        return max(candidates, key=lambda r: r["requested_at"], default=None)


def alias_target(alias: str) -> str:
    """What an approval request for a protected alias names in place of a stage."""
    return f"alias:{alias}"
