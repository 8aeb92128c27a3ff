"""Model cards for tests: a complete one, and text that tries to be markup."""

from __future__ import annotations

from typing import Any

HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3))"
    " ![i](http://evil.example/t.png) **bold** `code` | cell | # heading\n\n- item\n"
    "\x1b[31mred\x1b[0m \u202egnp.exe \r\n<!-- c --> &amp; &lt;b&gt; <a href='x'>a</a>"
)


def full_card(**changes: Any) -> dict[str, Any]:
    """A card with every expected section filled, as a client sends it."""
    card: dict[str, Any] = {
        "model_details": {
            "overview": "Gradient-boosted trees that flag card transactions as fraud.",
            "developers": ["risk-ml team"],
            "date": "2026-10-01",
            "model_type": "gradient-boosted trees",
            "license": "proprietary",
            "contact": "risk-ml@example.com",
        },
        "intended_use": {
            "primary_uses": ["hold a card payment for review"],
            "primary_users": ["fraud analysts"],
            "out_of_scope": ["credit decisions"],
        },
        "intended_purpose": "Reduce card fraud losses by routing risky payments to analysts.",
        "factors": {"relevant": ["merchant country", "card type"], "evaluation": ["region"]},
        "metrics": {
            "performance_measures": ["AUC", "precision at 1% FPR"],
            "decision_thresholds": ["score >= 0.8 holds the payment"],
            "variation_approaches": "95% bootstrap intervals over 1,000 resamples",
        },
        "evaluation_data": {
            "datasets": [{"name": "transactions-2026-09", "uri": "s3://data/tx/2026-09"}],
            "motivation": "the month after training",
        },
        "training_data": {
            "datasets": [{"name": "transactions-2026-q2", "uri": "s3://data/tx/2026-q2"}],
            "preprocessing": "deduplicated; amounts in EUR",
        },
        "quantitative_analyses": {
            "slices": [
                {"slice": "all", "metric": "auc", "value": 0.91, "lower": 0.9, "upper": 0.92},
                {"slice": "region=EU", "metric": "auc", "value": 0.93},
                {"slice": "region=APAC", "metric": "auc", "value": 0.86},
            ],
            "summary": "weaker in APAC, where training data is thin",
        },
        "ethical_considerations": {
            "risks_and_harms": "legitimate payments held",
            "mitigations": "an analyst reviews every hold within 10 minutes",
        },
        "caveats_and_recommendations": {
            "caveats": ["not evaluated on corporate cards"],
            "recommendations": ["retrain monthly"],
        },
        "risk": {"class": "high", "reason": "decides access to an essential private service"},
        "owners": [
            {"subject": "alice", "role": "accountable"},
            {"subject": "risk-ml", "role": "technical"},
        ],
        "monitoring_plan": {
            "signals": ["auc on labelled payments", "hold rate"],
            "frequency": "daily",
            "alerts": [{"metric": "auc", "condition": "< 0.85 over 7 days", "action": "page"}],
        },
        "fairness_tests": [
            {
                "name": "hold-rate parity",
                "metric": "hold rate ratio",
                "slice": "age>=65",
                "value": 0.92,
                "threshold": 0.8,
                "passed": True,
            }
        ],
        "robustness_tests": [
            {
                "name": "amount noise",
                "metric": "auc drop",
                "value": 0.01,
                "threshold": 0.02,
                "passed": True,
            }
        ],
    }
    card.update(changes)
    return card
