"""The MLflow API's pieces without a server: our rows in MLflow's shapes, MLflow's request
fields read and refused in its terms, our refusals translated to its error codes, and
the basic-auth credentials MLflow clients send."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from services.api.caller import presented
from services.auth.identity import Unauthenticated
from services.mlflow import errors, requests, shapes
from services.mlflow.errors import MlflowError

VERSION: dict[str, Any] = {
    "model": "fraud",
    "number": 3,
    "created_at": "2026-11-28T06:00:00+00:00",
    "updated_at": "2026-11-28T06:00:01.500000+00:00",
    "created_by": "alice",
    "stage": "development",
    "description": None,
    "artifact_uri": "s3://b/m",
    "tags": {"b": 2, "a": "x"},
    "aliases": ["champion"],
    "run_id": "r1",
}


def test_a_version_in_mlflow_shape() -> None:
    shaped = shapes.model_version(VERSION)
    assert shaped == {
        "name": "fraud",
        "version": "3",
        "creation_timestamp": 1795845600000,
        "last_updated_timestamp": 1795845601500,
        "user_id": "alice",
        "current_stage": "None",
        "source": "s3://b/m",
        "status": "READY",
        "tags": [{"key": "a", "value": "x"}, {"key": "b", "value": "2"}],
        "aliases": ["champion"],
        "run_id": "r1",
    }


def test_a_model_in_mlflow_shape_with_its_latest_versions() -> None:
    model = {
        "name": "fraud",
        "created_at": "2026-11-28T06:00:00+00:00",
        "updated_at": None,
        "created_by": "alice",
        "description": "d",
        "tags": {},
        "aliases": {"champion": 3},
    }
    shaped = shapes.registered_model(model, [VERSION])
    assert shaped["aliases"] == [{"alias": "champion", "version": "3"}]
    assert shaped["last_updated_timestamp"] == shaped["creation_timestamp"] == 1795845600000
    assert [v["version"] for v in shaped["latest_versions"]] == ["3"]
    assert "latest_versions" not in shapes.registered_model(model)
    # What is unset is left out, as MLflow's server does (its client reads no description
    # as None, and an empty list as no field).
    assert "tags" not in shaped and shaped["description"] == "d"
    bare = shapes.registered_model({**model, "description": "", "aliases": {}})
    assert not {"description", "tags", "aliases"} & bare.keys()
    assert not {"description", "run_id"} & shapes.model_version({**VERSION, "run_id": None}).keys()


@pytest.mark.parametrize(
    ("mlflow", "ours"),
    [
        ("None", "development"),
        ("staging", "staging"),
        ("PRODUCTION", "production"),
        ("Archived", "archived"),
        ("Gold", None),
    ],
)
def test_stages_map_both_ways(mlflow: str, ours: str | None) -> None:
    assert shapes.stage_of(mlflow) == ours


def test_fields_are_read_and_refused_in_mlflow_terms() -> None:
    assert requests.version({"version": "12"}) == 12
    assert requests.version({"version": 4}) == 4
    for bad in ({"version": "x"}, {"version": "0"}, {}, {"version": True}):
        with pytest.raises(MlflowError) as refused:
            requests.version(bad)
        assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert requests.tag_list({"tags": [{"key": "k", "value": "v"}, {"key": "e"}]}) == {
        "k": "v",
        "e": "",
    }
    with pytest.raises(MlflowError):
        requests.tag_list({"tags": [{"value": "no key"}]})
    assert requests.flag({"archive_existing_versions": "true"}, "archive_existing_versions") is True
    with pytest.raises(MlflowError):
        requests.flag({"archive_existing_versions": "yes"}, "archive_existing_versions")
    assert requests.count({"max_results": "5"}, "max_results", 100) == 5
    with pytest.raises(MlflowError):
        requests.count({"max_results": -1}, "max_results", 100)
    with pytest.raises(MlflowError) as missing:
        requests.text({}, "name")
    assert "'name'" in missing.value.message


@pytest.mark.parametrize(
    ("code", "status", "mlflow", "mlflow_status"),
    [
        ("not_found", 404, "RESOURCE_DOES_NOT_EXIST", 404),
        ("duplicate_name", 409, "RESOURCE_ALREADY_EXISTS", 400),
        ("invalid_filter", 422, "INVALID_PARAMETER_VALUE", 400),
        ("not_approved", 403, "PERMISSION_DENIED", 403),
        ("self_approval", 403, "PERMISSION_DENIED", 403),
        ("unauthenticated", 401, "UNAUTHENTICATED", 401),
        ("conflict", 409, "RESOURCE_CONFLICT", 409),
        ("views_lagging", 503, "TEMPORARILY_UNAVAILABLE", 503),
        ("internal", 500, "INTERNAL_ERROR", 500),
    ],
)
def test_our_refusals_in_mlflow_codes(
    code: str, status: int, mlflow: str, mlflow_status: int
) -> None:
    translated = errors.translated(code, status)
    assert translated == mlflow
    assert errors.body(translated, "m")[1] == mlflow_status


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_basic_auth_carries_the_token_as_its_password() -> None:
    assert presented(basic("alice:rgm_abc_def")) == ("rgm_abc_def", "alice")
    assert presented("Bearer rgm_abc_def") == ("rgm_abc_def", None)
    assert presented(None) == (None, None)
    for bad in (basic("alice"), basic("alice:"), "Basic !!!"):
        with pytest.raises(Unauthenticated):
            presented(bad)


def test_artifact_paths_stay_inside_and_sources_name_ours() -> None:
    from services.mlflow import paths

    assert paths.checked("/experiments/1/model/MLmodel") == "experiments/1/model/MLmodel"
    for bad in ("", "/", "a/../b", "a//b", "./a", "a/\x00"):
        with pytest.raises(MlflowError):
            paths.checked(bad)
    ours = "https://r.example/api/2.0/mlflow-artifacts/artifacts/experiments/7/model"
    assert paths.source_path(ours) == "experiments/7/model"
    assert paths.source_path("mlflow-artifacts:/experiments/7/model") == "experiments/7/model"
    assert paths.source_path("mlflow-artifacts://host:5000/exp/7") == "exp/7"
    assert paths.source_path("s3://bucket/model") is None
    assert paths.LOGGED_MODEL.match("models:/m-" + "a" * 32)
    assert not paths.LOGGED_MODEL.match("models:/fraud/1")


def test_listings_and_manifests_from_uploaded_paths() -> None:
    from services.mlflow import paths

    entries = [
        paths.Entry("e/model/MLmodel", "a" * 64, 10),
        paths.Entry("e/model/code/x.py", "b" * 64, 20),
        paths.Entry("e/model/conda.yaml", "c" * 64, 30),
    ]
    assert paths.listed(entries, "e/model") == [
        {"path": "MLmodel", "is_dir": False, "file_size": 10},
        {"path": "code", "is_dir": True},
        {"path": "conda.yaml", "is_dir": False, "file_size": 30},
    ]
    assert paths.listed(entries[:1], "e/model/MLmodel") == [
        {"path": "MLmodel", "is_dir": False, "file_size": 10}
    ]
    assert paths.manifest(entries, "e/model") == [
        {"path": "MLmodel", "sha256": "a" * 64, "size": 10},
        {"path": "code/x.py", "sha256": "b" * 64, "size": 20},
        {"path": "conda.yaml", "sha256": "c" * 64, "size": 30},
    ]
    pinned = paths.pinned_entries("v1", [{"path": "MLmodel", "sha256": "a" * 64, "size": 10}])
    assert pinned == [paths.Entry("registrum-versions/v1/MLmodel", "a" * 64, 10)]
    assert paths.pinned_version("registrum-versions/v1/MLmodel") == "v1"
    assert paths.pinned_version("experiments/v1") is None
