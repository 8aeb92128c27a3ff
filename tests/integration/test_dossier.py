"""A version's dossier, on real PostgreSQL: for a version promoted through two approvals
under a policy, `registrum audit dossier` writes JSON and HTML holding every Annex IV
section with the registry's real values, and a proof that verifies; once a stored event
is edited, the proof does not verify."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from schemas import commands as c
from schemas.bodies import LineageReference
from services.bootstrap import build_registry
from services.checkpoints.signer import Cadence, Signer
from services.cli.audit import audit_app
from services.settings import Settings
from tests.cards import HOSTILE, full_card
from tests.people import open_to_testers, person
from tests.services import fresh_database
from tests.unit.test_promotion_gates import POLICY

ALICE, BOB, DORA, CAROL = (person(n) for n in ("alice", "bob", "dora", "carol"))


@pytest.fixture
def promoted(database_url: str, unique: str) -> str:
    """fraud v1: a full card, lineage, metrics, two approvals, promoted under a policy,
    then covered by a signed checkpoint."""
    url = fresh_database(database_url, f"dossier_{unique}")
    registry = build_registry(Settings(db_pool_size=2, required_approvals=2), url)
    try:
        open_to_testers(registry)
        registry.handle(c.RegisterModel(name="fraud", description=HOSTILE), ALICE)
        registry.handle(
            c.RegisterVersion(
                model="fraud",
                artifact_uri="s3://models/fraud/1",
                run_id="run-42",
                dataset_version="tx-2026-q2",
                hyperparameters={"max_depth": 6},
                metrics={"auc": 0.91},
            ),
            ALICE,
        )
        registry.handle(c.UpdateModelCard(model="fraud", version=1, card=full_card()), ALICE)
        references = [
            LineageReference(kind="dataset", id="transactions-2026-q2"),
            LineageReference(kind="code", id="git:9f1c2ab"),
        ]
        registry.handle(c.LinkLineage(model="fraud", version=1, references=references), ALICE)
        registry.handle(c.PublishPolicy(document=POLICY), ALICE)
        asked = registry.handle(
            c.RequestApproval(model="fraud", version=1, stage="production"), ALICE
        )
        request_id = asked.result["approval_requests"][-1]["id"]
        for reviewer in (BOB, DORA):
            registry.handle(
                c.Approve(model="fraud", version=1, request_id=request_id, reason="checked"),
                reviewer,
            )
        registry.handle(c.Promote(model="fraud", version=1, stage="production"), CAROL)
        signer = Signer(registry, url, Ed25519PrivateKey.generate(), Cadence())
        assert asyncio.run(signer.sign_now())
    finally:
        registry.close()
    return url


def write_dossier(url: str, out: Path) -> tuple[int, str, dict[str, Any], str]:
    done = CliRunner().invoke(
        audit_app, ["dossier", "fraud", "1", "-o", str(out)], env={"REGISTRUM_DATABASE_URL": url}
    )
    assert (out / "fraud-v1.json").exists(), (done.output, done.exception)
    doc = json.loads((out / "fraud-v1.json").read_text())
    return done.exit_code, done.output, doc, (out / "fraud-v1.html").read_text()


def test_the_dossier_holds_every_section_and_its_proof_verifies(
    promoted: str, tmp_path: Path
) -> None:
    code, said, doc, page = write_dossier(promoted, tmp_path)
    assert code == 0, said
    s = doc["sections"]
    assert s["general"]["intended_purpose"].startswith("Reduce card fraud")
    assert s["general"]["stage"] == "production"
    assert s["risk"] == {
        "class": "high",
        "reason": "decides access to an essential private service",
    }
    assert [d["id"] for d in s["data"]["datasets"]] == ["transactions-2026-q2"]
    assert s["data"]["training_data"]["datasets"][0]["name"] == "transactions-2026-q2"
    assert (s["training"]["run_id"], s["training"]["hyperparameters"]) == (
        "run-42",
        {"max_depth": 6},
    )
    assert [r["id"] for r in s["training"]["code"]] == ["git:9f1c2ab"]
    assert s["metrics"]["recorded"] == {"auc": 0.91}
    assert {x["slice"] for x in s["metrics"]["slices"]} == {"all", "region=EU", "region=APAC"}
    assert s["fairness_robustness"]["fairness_tests"][0]["name"] == "hold-rate parity"
    assert s["fairness_robustness"]["robustness_tests"][0]["passed"] is True
    assert s["monitoring"]["frequency"] == "daily"
    assert {o["subject"] for o in s["owners"]["stated"]} == {"alice", "risk-ml"}
    assert "group:testers" in s["owners"]["holding_owner_role"]
    # Two approvals, by authenticated subject and time, with the roles held then.
    (production,) = [r for r in s["approvals"] if r["for"] == "production"]
    assert [a["actor"] for a in production["approvals"]] == ["bob", "dora"]
    assert all(a["at"] and "reviewer" in a["roles"] for a in production["approvals"])
    # The gate evaluation, and the stage history with dates.
    (evaluation,) = s["evaluations"]
    assert (evaluation["policy"], evaluation["policy_version"], evaluation["passed"]) == (
        "fraud-gates",
        1,
        True,
    )
    assert [(h["event"], h["to"]) for h in s["stage_history"]] == [
        ("VersionRegistered", "development"),
        ("VersionPromoted", "production"),
    ]
    assert s["stage_history"][1]["approved_by"] == ["bob", "dora"]
    assert s["artifacts"]["artifact_uri"] == "s3://models/fraud/1"
    assert s["artifacts"]["verification"]["checked_at"]
    # The proof: a checkpoint at or after the version's last event, verified.
    proof = s["proof"]
    assert proof["verified"] is True and proof["verification"]["clean"] is True
    assert proof["checkpoint"]["position"] >= proof["covers_position"]
    assert proof["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    # Every section, mapped to NIST AI RMF and ISO/IEC 42001.
    assert sorted(m["section"] for m in doc["mapping"]) == sorted(s)
    assert all(m["nist_ai_rmf"] and m["iso_42001"] for m in doc["mapping"])
    # The page: self-contained, the hostile description inert.
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img" not in page and "\x1b" not in page and "\u202e" not in page
    assert "\\x1b[31mred" in page  # shown escaped
    assert "the log verifies" in page and "ISO/IEC 42001" in page


def test_an_edited_event_breaks_the_proof(promoted: str, tmp_path: Path) -> None:
    async def tamper() -> None:
        conn = await asyncpg.connect(promoted)
        try:
            await conn.execute(
                "UPDATE registry_events SET state = convert_to(replace(convert_from(state,"
                " 'UTF8'), 'run-42', 'run-99'), 'UTF8') WHERE topic LIKE '%VersionRegistered'"
            )
        finally:
            await conn.close()

    asyncio.run(tamper())
    code, said, doc, _ = write_dossier(promoted, tmp_path)
    assert code == 1 and "NOT verified" in said
    kinds = {f["kind"] for f in doc["sections"]["proof"]["verification"]["findings"]}
    assert "payload_altered" in kinds
