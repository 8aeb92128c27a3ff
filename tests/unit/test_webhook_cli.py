"""The SDK and CLI read the MLflow-compatible API's refusals (the webhook test fire is one
of its endpoints) as the registry's typed errors, not as a reply from something else."""

from __future__ import annotations

import httpx
import pytest

from registrum.errors import BadReply, Forbidden, RegistrumError
from registrum.transport import refusal

pytestmark = pytest.mark.unit

REQUEST = httpx.Request("POST", "http://127.0.0.1:8000/api/2.0/mlflow/webhooks/nope/test")


def test_an_mlflow_refusal_is_a_typed_error() -> None:
    missing = refusal(
        httpx.Response(
            404,
            json={
                "error_code": "RESOURCE_DOES_NOT_EXIST",
                "message": "webhook 'nope' does not exist",
            },
            request=REQUEST,
        )
    )
    assert type(missing) is RegistrumError
    assert (missing.status, missing.code) == (404, "resource_does_not_exist")
    assert "does not exist" in missing.message
    denied = refusal(
        httpx.Response(
            403, json={"error_code": "PERMISSION_DENIED", "message": "no"}, request=REQUEST
        )
    )
    assert isinstance(denied, Forbidden)


def test_json_of_another_shape_is_still_not_a_registry() -> None:
    other = refusal(httpx.Response(404, json={"detail": "Not Found"}, request=REQUEST))
    assert isinstance(other, BadReply)
