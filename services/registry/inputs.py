"""Turns loosely typed command input into checked domain values."""

from __future__ import annotations

import hashlib
from typing import Any

from services.registry.domain import values
from services.registry.domain.errors import InvalidInput

LINEAGE_KINDS = ("dataset", "feature", "code", "run", "model_version", "deployment")


def lineage(references: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    checked = []
    for ref in references or []:
        kind = ref.get("kind")
        if kind not in LINEAGE_KINDS:
            raise InvalidInput(
                f"lineage kind must be one of {', '.join(LINEAGE_KINDS)}", field="lineage.kind"
            )
        ref_id = values.check_text(ref.get("id"), "lineage.id", values.MAX_URI)
        if not ref_id:
            raise InvalidInput("lineage id must not be empty", field="lineage.id")
        relation = values.check_text(ref.get("relation") or "input", "lineage.relation", 64)
        checked.append({"kind": kind, "id": ref_id, "relation": relation})
    if len(checked) > 1000:
        raise InvalidInput("at most 1000 lineage references at once", field="lineage")
    return checked


def version_facts(body: dict[str, Any]) -> dict[str, Any]:
    """The checked fields of VersionRegistered from a register-version body."""

    def short(key: str) -> str | None:
        value = body.get(key)
        return values.check_text(value, key, values.MAX_NAME) or None if value else None

    manifest = values.check_manifest(body.get("manifest"))
    uri = body.get("artifact_uri")
    return {
        # With files of ours, the URI may be left out: it becomes models:/NAME/NUMBER.
        "artifact_uri": values.check_uri(uri) if uri or not manifest else "",
        "manifest": manifest,
        "sha256": values.check_sha256(body.get("sha256")),
        "size": values.check_size(body.get("size")),
        "format": short("format"),
        "flavor": short("flavor"),
        "run_id": short("run_id"),
        "dataset_version": short("dataset_version"),
        "hyperparameters": values.check_json_object(body.get("hyperparameters"), "hyperparameters"),
        "metrics": values.check_metrics(body.get("metrics")),
        "lineage": lineage(body.get("lineage")),
        "tags": values.check_tags(body.get("tags")),
        "description": values.check_text(body.get("description"), "description"),
    }


def tree_digest(manifest: list[dict[str, Any]]) -> tuple[str, int]:
    """One digest and size for a version's files: the sha256 of its sorted manifest
    (one "path<TAB>sha256<TAB>size" line per file); a single file is its own digest."""
    if len(manifest) == 1:
        return manifest[0]["sha256"], manifest[0]["size"]
    lines = "".join(f"{e['path']}\t{e['sha256']}\t{e['size']}\n" for e in manifest)
    return hashlib.sha256(lines.encode()).hexdigest(), sum(e["size"] for e in manifest)
