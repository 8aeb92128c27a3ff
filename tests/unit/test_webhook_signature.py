"""Webhook requests are signed as MLflow 3 signs them, so a receiver written for MLflow
verifies Registrum's deliveries with the same code."""

from __future__ import annotations

import pytest

from services.webhooks import signature

pytestmark = pytest.mark.unit

# Computed by MLflow 3.17's own mlflow.webhooks.delivery._generate_hmac_signature
# ("s3cret", "d-1", "1700000000", '{"a": 1}').
MLFLOW_SIGNED = "v1,cXba7k2h2S9JgnqN7BcpWvnFMfMoFMqAonfzn9WFZBg="


def test_the_signature_is_mlflows_for_the_same_request() -> None:
    assert signature.sign("s3cret", "d-1", 1700000000, b'{"a": 1}') == MLFLOW_SIGNED


def test_a_receiver_verifies_the_headers_it_was_sent() -> None:
    body = b'{"entity": "model_version", "action": "created"}'
    sent = signature.headers("s3cret", "d-2", 1700000001, body)
    assert sent["X-MLflow-Delivery-Id"] == "d-2"
    assert sent["X-MLflow-Timestamp"] == "1700000001"
    assert signature.verify(
        "s3cret", "d-2", sent["X-MLflow-Timestamp"], body, sent["X-MLflow-Signature"]
    )


@pytest.mark.parametrize(
    "change",
    [
        {"secret": "other"},
        {"delivery_id": "d-3"},  # a swapped delivery id would defeat deduplication
        {"timestamp": "1700000099"},  # an old request replayed with a fresh timestamp
        {"body": b'{"entity": "model_version", "action": "deleted"}'},
    ],
)
def test_any_change_to_what_is_signed_fails_verification(change: dict[str, object]) -> None:
    body = b'{"entity": "model_version", "action": "created"}'
    sent = signature.headers("s3cret", "d-2", 1700000001, body)
    checked = {
        "secret": "s3cret",
        "delivery_id": "d-2",
        "timestamp": sent["X-MLflow-Timestamp"],
        "body": body,
        **change,
    }
    assert not signature.verify(signature=sent["X-MLflow-Signature"], **checked)  # type: ignore[arg-type]


def test_without_a_secret_nothing_is_signed() -> None:
    assert "X-MLflow-Signature" not in signature.headers(None, "d-4", 1700000002, b"{}")
