"""Test data shared across tiers."""

from __future__ import annotations

from typing import Any


def version_facts(**overrides: Any) -> dict[str, Any]:
    """VersionRegistered's fields for a plain version, with overrides."""
    facts: dict[str, Any] = {
        "artifact_uri": "s3://models/x",
        "sha256": None,
        "size": None,
        "format": None,
        "flavor": None,
        "run_id": None,
        "dataset_version": None,
        "hyperparameters": {},
        "metrics": {},
        "lineage": [],
        "tags": {},
        "description": "",
        "manifest": [],
    }
    return {**facts, **overrides}
