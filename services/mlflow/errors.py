"""Refusals in MLflow's shape: `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}`
with the HTTP status MLflow gives each code, so MlflowClient raises the same
RestException it would against an MLflow server (and mlflow.register_model, which
creates the registered model and carries on when it exists, works unchanged)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

PREFIXES = (
    "/api/2.0/mlflow/",
    "/ajax-api/2.0/mlflow/",
    "/api/2.0/mlflow-artifacts/",
    "/ajax-api/2.0/mlflow-artifacts/",
)

STATUS = {
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "RESOURCE_CONFLICT": 409,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "TEMPORARILY_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}

# Our codes (services/registry/domain/errors.py, services/api) -> MLflow's.
BY_CODE = {
    "not_found": "RESOURCE_DOES_NOT_EXIST",
    "duplicate_name": "RESOURCE_ALREADY_EXISTS",
    "invalid_input": "INVALID_PARAMETER_VALUE",
    "invalid_filter": "INVALID_PARAMETER_VALUE",
    "malformed_json": "INVALID_PARAMETER_VALUE",
    "unauthenticated": "UNAUTHENTICATED",
}
BY_STATUS = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "BAD_REQUEST",  # MLflow has no code of its own for a method a path does not take
    409: "RESOURCE_CONFLICT",
    413: "INVALID_PARAMETER_VALUE",
    422: "INVALID_PARAMETER_VALUE",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: "TEMPORARILY_UNAVAILABLE",
}


def speaks_mlflow(request: Request) -> bool:
    return request.url.path.startswith(PREFIXES)


class MlflowError(Exception):
    """A refusal only the MLflow API makes, in MLflow's terms."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code, self.message = error_code, message


def translated(code: str, status: int) -> str:
    """The MLflow error code for one of our refusals."""
    if status == 403:
        return "PERMISSION_DENIED"
    return BY_CODE.get(code) or BY_STATUS.get(status, "INTERNAL_ERROR")


def body(error_code: str, message: str, details: Any = None) -> tuple[dict[str, Any], int]:
    """MLflow's error body and status. Our details go along under `details` (MLflow's
    client ignores what it does not know)."""
    shaped: dict[str, Any] = {"error_code": error_code, "message": message}
    if details:
        shaped["details"] = details
    return shaped, STATUS.get(error_code, 500)
