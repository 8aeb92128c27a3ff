"""The one error body every refusal carries, over REST: {"error": {code, message, details}}."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        description="Stable and typed: not_found, invalid_input, not_approved, "
        "self_approval, duplicate_name, actor_required, payload_too_large, ..."
    )
    message: str = Field(description="For a human")
    details: dict[str, Any] = Field(
        default_factory=dict, description="What the code needs: the field, the limit, ..."
    )


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail
