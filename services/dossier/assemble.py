"""A version's dossier, shaped like EU AI Act Annex IV technical documentation: what the
model is for and how risky, where its data came from, how it was trained and measured,
its fairness and robustness results, how it is monitored, who owns it, who approved what
and when, every gate evaluation, its stage history, its artefact digests, and the proof
that none of it was edited afterwards. Pure: the facts in, a JSON document out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

FORMAT = "registrum.dossier.v1"

# Each section, the Annex IV point it answers, and the NIST AI RMF 1.0 subcategories and
# ISO/IEC 42001:2023 Annex A controls it gives evidence for (an indicative mapping).
SECTIONS: list[tuple[str, str, str, str, str]] = [
    (
        "general",
        "General description and intended purpose",
        "Annex IV 1(a), 1(c)",
        "MAP 1.1, MAP 3.3",
        "A.6.2.2, A.9.4",
    ),
    (
        "risk",
        "Risk classification",
        "Art. 6, Annex IV 5",
        "MAP 1.5, MAP 4.1, MANAGE 1.2",
        "A.5.2, A.5.4",
    ),
    (
        "data",
        "Data provenance and lineage",
        "Annex IV 2(d)",
        "MAP 2.3, MEASURE 2.1",
        "A.7.2, A.7.5, A.7.6",
    ),
    (
        "training",
        "Training details",
        "Annex IV 2(a), 2(b), 2(c)",
        "MAP 2.2, MEASURE 2.3",
        "A.6.2.3, A.6.2.7",
    ),
    (
        "metrics",
        "Metrics, with results per slice",
        "Annex IV 2(g), 4",
        "MEASURE 1.1, MEASURE 2.3",
        "A.6.2.4",
    ),
    (
        "fairness_robustness",
        "Fairness and robustness results",
        "Annex IV 2(g), 3",
        "MEASURE 2.5, MEASURE 2.6, MEASURE 2.11",
        "A.6.2.4, A.5.4",
    ),
    ("monitoring", "Monitoring plan", "Annex IV 9, Art. 72", "MANAGE 4.1, MEASURE 3.1", "A.6.2.6"),
    ("owners", "Responsible owners", "Annex IV 1(a)", "GOVERN 2.1, GOVERN 2.3", "A.3.2"),
    (
        "approvals",
        "Approvals, by authenticated identity and time",
        "Annex IV 3, Art. 14",
        "GOVERN 1.4, MANAGE 1.1",
        "A.6.2.5",
    ),
    (
        "evaluations",
        "Promotion gate evaluations",
        "Annex IV 2(g), 7",
        "MEASURE 2.1, MANAGE 1.1",
        "A.6.2.4, A.6.2.5",
    ),
    ("stage_history", "Stage history", "Annex IV 6", "MANAGE 2.4, GOVERN 1.6", "A.6.2.5, A.6.2.8"),
    (
        "artifacts",
        "Artefact digests and their last verification",
        "Annex IV 2(a)",
        "MEASURE 2.1",
        "A.6.2.7",
    ),
    (
        "proof",
        "Proof: the signed checkpoint covering this version",
        "Art. 12, Annex IV 6",
        "GOVERN 1.6, MEASURE 2.8",
        "A.6.2.8",
    ),
]


@dataclass(frozen=True)
class Evidence:
    """What the dossier is made of, gathered from the registry."""

    version: dict[str, Any]  # the version's summary (write side)
    model: dict[str, Any]  # the model's summary
    stage_history: list[dict[str, Any]]  # {event, at, actor, from, to, request_id, approvals}
    evaluations: list[dict[str, Any]]  # each VersionPromoted's evaluation, with its time
    owners_by_grant: list[str]  # principals holding owner on the model (or registry)
    artifact_check: dict[str, Any]  # a re-hash made now (or why none could be)
    proof: dict[str, Any]  # the checkpoint covering the version, and its verification
    generated_at: datetime


def dossier(e: Evidence) -> dict[str, Any]:
    v, card = e.version, e.version.get("model_card") or {}
    lineage = v.get("lineage") or []
    sections = {
        "general": {
            "model": v["model"],
            "version": v["number"],
            "description": v.get("description") or e.model.get("description"),
            "intended_purpose": card.get("intended_purpose"),
            "intended_use": card.get("intended_use"),
            "model_details": card.get("model_details"),
            "stage": v.get("stage"),
            "registered_by": v.get("created_by"),
            "registered_at": v.get("created_at"),
        },
        "risk": card.get("risk"),
        "data": {
            "dataset_version": v.get("dataset_version"),
            "datasets": [r for r in lineage if r.get("kind") == "dataset"],
            "training_data": card.get("training_data"),
            "evaluation_data": card.get("evaluation_data"),
            "lineage": lineage,
        },
        "training": {
            "run_id": v.get("run_id"),
            "dataset_version": v.get("dataset_version"),
            "hyperparameters": v.get("hyperparameters") or {},
            "code": [r for r in lineage if r.get("kind") == "code"],
            "format": v.get("format"),
            "flavor": v.get("flavor"),
        },
        "metrics": {
            "recorded": v.get("metrics") or {},
            "slices": (card.get("quantitative_analyses") or {}).get("slices", []),
            "measures": card.get("metrics"),
        },
        "fairness_robustness": {
            "fairness_tests": card.get("fairness_tests") or [],
            "robustness_tests": card.get("robustness_tests") or [],
        },
        "monitoring": card.get("monitoring_plan"),
        "owners": {"stated": card.get("owners") or [], "holding_owner_role": e.owners_by_grant},
        "approvals": [
            {
                "request_id": r["id"],
                "for": r["stage"],
                "status": r["status"],
                "requested_by": r["requested_by"],
                "requested_at": r["requested_at"],
                "required_approvals": r["required_approvals"],
                "approvals": r["approvals"],
            }
            for r in v.get("approval_requests") or []
        ],
        "evaluations": e.evaluations,
        "stage_history": e.stage_history,
        "artifacts": {
            "artifact_uri": v.get("artifact_uri"),
            "sha256": v.get("sha256"),
            "size": v.get("size"),
            "files": v.get("manifest") or [],
            "verification": e.artifact_check,
        },
        "proof": e.proof,
    }
    return {
        "format": FORMAT,
        "generated_at": e.generated_at.isoformat(),
        "sections": sections,
        "mapping": [
            {
                "section": key,
                "title": title,
                "eu_ai_act": act,
                "nist_ai_rmf": nist,
                "iso_42001": iso,
            }
            for key, title, act, nist, iso in SECTIONS
        ],
    }
