"""Arbitrary JSON at the command endpoints: always an answer below 500, typed when 4xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.api.app import create_app
from services.registry.application import Registry
from tests.people import READERS, Badges

BADGES = Badges()  # every client reads as "reader"; writes name their author

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "name",
    "description",
    "tags",
    "artifact_uri",
    "sha256",
    "size",
    "metrics",
    "lineage",
    "hyperparameters",
    "stage",
    "version",
    "command_id",
    "reason",
    "required_approvals",
    "card",
    "sections",
    "remove",
    "references",
    "value",
    "new_name",
]
bodies = st.dictionaries(st.sampled_from(FIELDS), values, max_size=6)


@pytest.fixture(scope="module")
def http(registry: Registry, database_url: str) -> Iterator[TestClient]:
    with TestClient(
        create_app(registry, database_url, authenticator=BADGES.authenticator())
    ) as client:
        client.headers.update(BADGES.headers("reader", READERS))
        client.post(
            "/api/v1/models", json={"name": "fuzz-target"}, headers=BADGES.headers("fuzzer")
        )
        client.post(
            "/api/v1/models/fuzz-target/versions",
            json={"artifact_uri": "s3://f"},
            headers=BADGES.headers("fuzzer"),
        )
        yield client


PATHS = [
    ("POST", "/api/v1/models"),
    ("POST", "/api/v1/models/fuzz-target/versions"),
    ("PATCH", "/api/v1/models/fuzz-target/versions/1"),
    ("POST", "/api/v1/models/fuzz-target/versions/1/metrics"),
    ("POST", "/api/v1/models/fuzz-target/versions/1/lineage"),
    ("PUT", "/api/v1/models/fuzz-target/versions/1/model-card"),
    ("PATCH", "/api/v1/models/fuzz-target/versions/1/model-card"),
    ("POST", "/api/v1/models/fuzz-target/versions/1/approvals"),
    ("POST", "/api/v1/models/fuzz-target/versions/1/promote"),
    ("PUT", "/api/v1/models/fuzz-target/aliases/fuzzed"),
    ("POST", "/api/v1/models/fuzz-target/rename"),
]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(target=st.sampled_from(PATHS), body=bodies)
def test_no_body_gets_a_server_error(
    http: TestClient, target: tuple[str, str], body: dict[str, Any]
) -> None:
    method, path = target
    if path.endswith("/rename"):
        body.pop("new_name", None)  # keep the target's name for the next examples
    content = json.dumps(body, allow_nan=True)
    response = http.request(
        method,
        path,
        content=content,
        headers={**BADGES.headers("fuzzer"), "Content-Type": "application/json"},
    )
    assert response.status_code < 500, (method, path, content, response.text)
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}
