"""MLflow's own client against a real `registrum serve`: MlflowClient with the registry URI
at Registrum and an API token in MLFLOW_TRACKING_TOKEN (or basic auth), changed in
nothing else. Models, versions, tags, aliases, searches with filters, ordering and pages,
renames, latest versions, deletes; a transition to Production refused without an
approved request and done with one; a pyfunc model logged to a local MLflow tracking
store, registered through Registrum, loaded back by models:/NAME@champion."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

from tests.e2e.conftest import Server, admin_token, bearer, start_server, token

# MLflow's own dependencies warn inside MLflow (SQLAlchemy deprecations in its tracking
# store, pydantic and setuptools notices): not ours to mend, and not what is tested.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("mlflow") / "data")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A local MLflow tracking store, as a data scientist's machine would have."""
    return f"sqlite:///{tmp_path_factory.mktemp('tracking') / 'mlflow.db'}"


@pytest.fixture
def client(registry: Server, tracking: str, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token(registry.url, "alice"))
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    return MlflowClient(tracking_uri=tracking, registry_uri=registry.url)


def error_code(raised: pytest.ExceptionInfo[MlflowException]) -> str:
    return str(raised.value.error_code)


def test_models_versions_tags_aliases_and_searches(client: MlflowClient, unique: str) -> None:
    name = f"mlf-{unique}"
    made = client.create_registered_model(name, tags={"team": "risk"}, description="fraud")
    assert (made.name, made.tags, made.description) == (name, {"team": "risk"}, "fraud")
    with pytest.raises(MlflowException) as again:
        client.create_registered_model(name)
    assert error_code(again) == "RESOURCE_ALREADY_EXISTS"

    versions = [
        client.create_model_version(
            name, f"s3://models/{name}/{i}", tags={"k": "v" if i != 2 else "w"}
        )
        for i in (1, 2, 3)
    ]
    assert [v.version for v in versions] == ["1", "2", "3"]
    assert {v.status for v in versions} == {"READY"}
    assert versions[0].tags == {"k": "v"} and versions[0].current_stage == "None"
    client.set_model_version_tag(name, "1", "checked", "yes")
    assert client.get_model_version(name, "1").tags == {"k": "v", "checked": "yes"}
    client.delete_model_version_tag(name, "1", "checked")
    assert client.get_model_version(name, "1").tags == {"k": "v"}
    client.set_registered_model_tag(name, "owner", "ana")
    client.delete_registered_model_tag(name, "team")
    client.update_registered_model(name, description="fraud, v2")
    client.update_model_version(name, "3", description="third")
    model = client.get_registered_model(name)
    assert model.tags == {"owner": "ana"} and model.description == "fraud, v2"
    assert client.get_model_version(name, "3").description == "third"
    assert client.get_model_version_download_uri(name, "2") == f"s3://models/{name}/2"

    client.set_registered_model_alias(name, "champion", "2")
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert client.get_registered_model(name).aliases == {"champion": "2"}
    with pytest.raises(MlflowException) as reserved:
        client.set_registered_model_alias(name, "latest", "1")
    assert error_code(reserved) == "INVALID_PARAMETER_VALUE"
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(MlflowException) as gone:
        client.get_model_version_by_alias(name, "champion")
    assert error_code(gone) == "RESOURCE_DOES_NOT_EXIST"

    # Filters, ordering and pages, as MLflow writes them.
    wanted = f"name = '{name}' AND tags.k = 'v'"
    first = client.search_model_versions(wanted, max_results=1, order_by=["version_number DESC"])
    assert [v.version for v in first] == ["3"] and first.token
    rest = client.search_model_versions(
        wanted, max_results=1, order_by=["version_number DESC"], page_token=first.token
    )
    assert [v.version for v in rest] == ["1"] and not rest.token
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["1", "2", "3"]
    assert [
        v.version
        for v in client.search_model_versions(
            f"name = '{name}' AND version_number IN (1, 3)", order_by=["version_number DESC"]
        )
    ] == ["3", "1"]
    client.create_registered_model(f"{name}-b")
    page = client.search_registered_models(
        f"name LIKE '{name}%'", max_results=1, order_by=["name DESC"]
    )
    assert [m.name for m in page] == [f"{name}-b"] and page.token
    following = client.search_registered_models(
        f"name LIKE '{name}%'", max_results=1, order_by=["name DESC"], page_token=page.token
    )
    assert [m.name for m in following] == [name]
    with pytest.raises(MlflowException) as bad:
        client.search_model_versions("name = ")
    assert error_code(bad) == "INVALID_PARAMETER_VALUE"

    # Renames, latest versions, deletes.
    client.rename_registered_model(name, f"{name}-renamed")
    renamed = client.get_registered_model(f"{name}-renamed")
    assert renamed.name == f"{name}-renamed" and renamed.tags == {"owner": "ana"}
    with pytest.raises(RestException) as old:
        client.get_registered_model(name)
    assert error_code(old) == "RESOURCE_DOES_NOT_EXIST"
    latest = client.get_latest_versions(f"{name}-renamed", stages=["None"])
    assert [(v.version, v.current_stage) for v in latest] == [("3", "None")]
    client.delete_model_version(f"{name}-renamed", "1")
    with pytest.raises(MlflowException) as deleted:
        client.get_model_version(f"{name}-renamed", "1")
    assert error_code(deleted) == "RESOURCE_DOES_NOT_EXIST"
    client.delete_registered_model(f"{name}-b")
    assert [m.name for m in client.search_registered_models(f"name LIKE '{name}%'")] == [
        f"{name}-renamed"
    ]


def test_a_transition_to_production_needs_an_approved_request(
    client: MlflowClient, registry: Server, unique: str
) -> None:
    name = f"gov-{unique}"
    client.create_registered_model(name)
    client.create_model_version(name, "s3://models/gov/1")
    with pytest.raises(MlflowException) as refused:
        client.transition_model_version_stage(name, "1", "Production")
    assert error_code(refused) == "PERMISSION_DENIED"
    assert "request-approval" in refused.value.message
    assert client.get_model_version(name, "1").current_stage == "None"

    # The approval is asked and signed off through Registrum's own API, by other people.
    approve(registry, name, "1", "production")

    promoted = client.transition_model_version_stage(name, "1", "Production")
    assert promoted.current_stage == "Production"
    assert [v.version for v in client.get_latest_versions(name, stages=["Production"])] == ["1"]
    archived = client.transition_model_version_stage(name, "1", "Archived")
    assert archived.current_stage == "Archived"

    # archive_existing_versions: the stage's other holders are archived.
    for number in ("2", "3"):
        client.create_model_version(name, f"s3://models/gov/{number}")
        approve(registry, name, number, "staging")
    client.transition_model_version_stage(name, "2", "Staging")
    client.transition_model_version_stage(name, "3", "Staging", archive_existing_versions=True)
    assert client.get_model_version(name, "2").current_stage == "Archived"
    assert client.get_model_version(name, "3").current_stage == "Staging"


def approve(registry: Server, name: str, number: str, stage: str) -> None:
    """Alice asks for stage, bob signs off, through Registrum's own API."""
    asked = httpx.post(
        f"{registry.url}/api/v1/models/{name}/versions/{number}/approvals",
        json={"stage": stage},
        headers=bearer(token(registry.url, "alice")),
    )
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["version"]["approval_requests"][-1]["id"]
    signed = httpx.post(
        f"{registry.url}/api/v1/models/{name}/versions/{number}/approvals/{request_id}/approve",
        json={},
        headers=bearer(token(registry.url, "bob")),
    )
    assert signed.status_code == 200, signed.text


def test_basic_auth_names_the_token_owner(
    registry: Server, tracking: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", token(registry.url, "alice"))
    client = MlflowClient(tracking_uri=tracking, registry_uri=registry.url)
    assert client.search_registered_models(max_results=1) is not None
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    with pytest.raises(MlflowException) as refused:
        client.search_registered_models(max_results=1)
    assert error_code(refused) == "UNAUTHENTICATED"


def test_a_pyfunc_model_registered_through_registrum_loads_by_alias(
    registry: Server, client: MlflowClient, tracking: str, unique: str, tmp_path: Path
) -> None:
    import pandas as pd

    class Doubler(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, model_input: pd.DataFrame, params: dict | None = None) -> list[float]:
            return [x * 2 for x in model_input["x"]]

    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry.url)
    try:
        name = f"pyfunc-{unique}"
        experiment = mlflow.create_experiment(name, artifact_location=str(tmp_path / "runs"))
        with mlflow.start_run(experiment_id=experiment):
            logged = mlflow.pyfunc.log_model(name="model", python_model=Doubler())
        version = mlflow.register_model(logged.model_uri, name)
        client.set_registered_model_alias(name, "champion", version.version)
        loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
        frame = pd.DataFrame({"x": [1.0, 2.5, -3.0]})
        assert list(loaded.predict(frame)) == Doubler().predict(frame)
        assert list(loaded.predict(frame)) == [2.0, 5.0, -6.0]
    finally:
        mlflow.set_tracking_uri("")
        mlflow.set_registry_uri("")


def test_files_stored_by_registrum_load_back_by_alias_pinned_by_digest(
    registry: Server, client: MlflowClient, tracking: str, unique: str
) -> None:
    """The experiment's artefact location is this registry: MLflow's client uploads the
    model's files to us, the version records each file's digest, and loading it by alias
    downloads those bytes, even after the upload path is overwritten."""
    import hashlib

    import pandas as pd

    class Tripler(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, model_input: pd.DataFrame, params: dict | None = None) -> list[float]:
            return [x * 3 for x in model_input["x"]]

    store = f"{registry.url}/api/2.0/mlflow-artifacts/artifacts/experiments/{unique}"
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry.url)
    try:
        name = f"stored-{unique}"
        experiment = mlflow.create_experiment(f"stored-{unique}", artifact_location=store)
        with mlflow.start_run(experiment_id=experiment):
            logged = mlflow.pyfunc.log_model(name="model", python_model=Tripler())
        version = mlflow.register_model(logged.model_uri, name)
        assert version.source == logged.model_uri  # models:/m-<id>, kept as sent
        client.set_registered_model_alias(name, "champion", version.version)

        alice = bearer(token(registry.url, "alice"))
        recorded = httpx.get(
            f"{registry.url}/api/v1/models/{name}/versions/{version.version}", headers=alice
        ).json()["version"]
        files = {f["path"]: f for f in recorded["manifest"]}
        assert "MLmodel" in files and "python_model.pkl" in files
        uri = client.get_model_version_download_uri(name, version.version)
        assert uri.endswith(f"registrum-versions/{recorded['id']}")
        served = httpx.get(f"{uri}/MLmodel", headers=alice)
        assert served.status_code == 200
        assert hashlib.sha256(served.content).hexdigest() == files["MLmodel"]["sha256"]

        # The path it came from is overwritten: the version still serves what it recorded.
        source_model = f"{store}/models/{logged.model_id}/artifacts/MLmodel"
        overwritten = httpx.put(source_model, content=b"not a model", headers=alice)
        assert overwritten.status_code == 200, overwritten.text
        assert httpx.get(source_model, headers=alice).content == b"not a model"

        loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
        frame = pd.DataFrame({"x": [1.0, -2.0]})
        assert list(loaded.predict(frame)) == Tripler().predict(frame) == [3.0, -6.0]
    finally:
        mlflow.set_tracking_uri("")
        mlflow.set_registry_uri("")


def test_artifact_paths_refuse_what_they_must(registry: Server, unique: str) -> None:
    alice = bearer(token(registry.url, "alice"))
    base = f"{registry.url}/api/2.0/mlflow-artifacts/artifacts"
    escaping = httpx.put(f"{base}/a/../../etc/passwd", content=b"x", headers=alice)
    assert escaping.status_code in (400, 404)
    pinned = httpx.put(f"{base}/registrum-versions/x/MLmodel", content=b"x", headers=alice)
    assert pinned.status_code == 400
    assert pinned.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    missing = httpx.get(f"{base}/nothing-{unique}/here", headers=alice)
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    anonymous = httpx.get(f"{base}?path=anything")
    assert anonymous.status_code == 401
    assert anonymous.json()["error_code"] == "UNAUTHENTICATED"


def test_the_ajax_twin_and_command_ids_over_raw_http(registry: Server, unique: str) -> None:
    alice = bearer(token(registry.url, "alice"))
    ajax = f"{registry.url}/ajax-api/2.0/mlflow"
    name = f"ajax-{unique}"
    made = httpx.post(f"{ajax}/registered-models/create", json={"name": name}, headers=alice)
    assert made.status_code == 200 and made.json()["registered_model"]["name"] == name
    # A retried create with the same command id is answered, not registered twice.
    once = {**alice, "X-Registrum-Command-Id": f"pipeline-{unique}-1"}
    body = {"name": name, "source": "s3://models/ajax/1"}
    first = httpx.post(f"{ajax}/model-versions/create", json=body, headers=once)
    again = httpx.post(f"{ajax}/model-versions/create", json=body, headers=once)
    assert first.status_code == again.status_code == 200
    assert first.json()["model_version"]["version"] == again.json()["model_version"]["version"]
    listed = httpx.get(
        f"{registry.url}/api/2.0/mlflow/model-versions/search",
        params={"filter": f"name = '{name}'"},
        headers=alice,
    )
    assert [v["version"] for v in listed.json()["model_versions"]] == ["1"]
    unknown = httpx.get(f"{ajax}/registered-models/list", headers=alice)
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    wrong = httpx.post(f"{ajax}/model-versions/create", json={"name": name}, headers=alice)
    assert wrong.status_code == 400
    assert wrong.json() == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "Missing value for required parameter 'source'.",
    }


def test_files_download_by_digest_to_whoever_may_read_the_version(
    registry: Server, client: MlflowClient, unique: str
) -> None:
    """A version registered through /api/v1 with uploaded files downloads through MLflow's
    artefact API too; a reader (no contribute) downloads what a version names, and may
    not list what was uploaded."""
    alice = bearer(token(registry.url, "alice"))
    granted = httpx.post(
        f"{registry.url}/api/v1/grants",
        json={"principal": "group:readers", "role": "reader", "scope": "registry"},
        headers=bearer(admin_token(registry.url)),
    )
    assert granted.status_code in (200, 201), granted.text
    reader = bearer(token(registry.url, f"rita-{unique}", groups=("readers",)))
    base = f"{registry.url}/api/2.0/mlflow-artifacts/artifacts"

    data = os.urandom(300)
    stored = httpx.post(f"{registry.url}/api/v1/artifacts", content=data, headers=alice).json()
    name = f"native-{unique}"
    model = httpx.post(f"{registry.url}/api/v1/models", json={"name": name}, headers=alice)
    assert model.status_code == 201, model.text
    entry = {"path": "weights/model.bin", "sha256": stored["sha256"], "size": stored["size"]}
    made = httpx.post(
        f"{registry.url}/api/v1/models/{name}/versions", json={"manifest": [entry]}, headers=alice
    )
    assert made.status_code == 201, made.text
    root = f"registrum-versions/{made.json()['version']['id']}"
    assert client.get_model_version_download_uri(name, "1") == f"{base}/{root}"
    listed = httpx.get(base, params={"path": root}, headers=reader).json()
    assert listed == {"files": [{"path": "weights", "is_dir": True}]}
    assert httpx.get(f"{base}/{root}/weights/model.bin", headers=reader).content == data

    # An upload path's file that a version names: the reader downloads it, lists nothing.
    upload = f"{base}/experiments/{unique}/model/model.bin"
    assert httpx.put(upload, content=data, headers=alice).status_code == 200
    assert httpx.get(upload, headers=reader).content == data
    refused = httpx.get(base, params={"path": f"experiments/{unique}"}, headers=reader)
    assert refused.status_code == 403 and refused.json()["error_code"] == "PERMISSION_DENIED"
