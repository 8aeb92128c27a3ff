"""Artefact garbage collection over REST: POST /api/v1/artifacts/gc takes a GcRequest and
answers a GcDryRun (nothing removed) or a GcApplied (what was removed)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from schemas import rules as r
from schemas.bodies import Strict

MAX_GRACE_HOURS = 100 * 365 * 24  # a century: beyond it, nothing would ever be collected


class GcRequest(Strict):
    apply: bool = Field(False, description="Remove the objects; false reports only.")
    grace_hours: float | None = Field(
        None,
        ge=0,
        le=MAX_GRACE_HOURS,
        allow_inf_nan=False,
        description="Keep unreferenced objects younger than this; null: the registry's "
        "setting (REGISTRUM_ARTIFACT_GC_GRACE_HOURS).",
    )


class GcObject(Strict):
    """A stored object that no version references."""

    sha256: r.Sha256
    size: r.Size
    modified: datetime = Field(description="When the object was written")


class _GcSummary(Strict):
    kept_young: int = Field(
        ge=0,
        description="Unreferenced objects kept because they are younger than the grace "
        "period (an upload whose version may not be registered yet).",
    )
    referenced: int = Field(
        ge=0,
        description="Stored objects kept because a version references them: a file of its "
        "manifest, or its own digest. Deleted versions still count.",
    )
    bytes: int = Field(ge=0, description="The size of the objects listed, in total")


class GcDryRun(_GcSummary):
    applied: Literal[False]
    would_remove: list[GcObject] = Field(description="Oldest first")


class GcApplied(_GcSummary):
    applied: Literal[True]
    removed: list[GcObject] = Field(description="Oldest first")


GcReport = GcDryRun | GcApplied
