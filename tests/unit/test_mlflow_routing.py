"""The MLflow API's routes sit behind their prefixes, ahead of the native API's (a mount
each: services/api/app.py), and nothing a caller or an operator sees changes for it:
every route answers at both prefixes, a wrong method is 405 with the path's methods, an
unknown endpoint is MLflow's ENDPOINT_NOT_FOUND, and latency is labelled with the whole
route template, prefix included."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Match, Mount
from starlette.testclient import TestClient

from services.api import mlflow_artifacts, mlflow_registry, webhooks
from services.api.app import build_fastapi
from services.observability.requests import route_of

APP = build_fastapi()
MOUNTED = [
    (prefix, route)
    for prefixes, routers in (
        (mlflow_registry.PREFIXES, (mlflow_registry.router, webhooks.router)),
        (mlflow_artifacts.PREFIXES, (mlflow_artifacts.router,)),
    )
    for prefix in prefixes
    for router in routers
    for route in router.routes
    if isinstance(route, APIRoute)
]


def resolved(path: str, method: str) -> dict[str, Any] | None:
    """The scope Starlette's routing leaves for path and method (route, root_path), or
    None when no route takes it."""
    scope: dict[str, Any] = {"type": "http", "path": path, "method": method, "root_path": ""}
    routes = APP.router.routes
    while True:
        for route in routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                scope.update(child)
                if isinstance(route, Mount):
                    routes = route.routes
                    break
                return {**scope, "route": route}
        else:
            return None


def concrete(template: str) -> str:
    """A path the template matches: every parameter filled."""
    return template.replace("{path:path}", "dir/file.bin").replace("{", "").replace("}", "")


def test_both_api_and_ajax_prefixes_are_mounted_ahead_of_everything() -> None:
    mounts = [r.path for r in APP.router.routes[:4] if isinstance(r, Mount)]
    assert sorted(mounts) == sorted(mlflow_registry.PREFIXES + mlflow_artifacts.PREFIXES)
    assert len(MOUNTED) > 60  # models, versions, aliases, tags, webhooks, artifacts, twice


@pytest.mark.parametrize(("prefix", "route"), MOUNTED, ids=lambda x: getattr(x, "path", x))
def test_every_route_answers_under_its_prefix_labelled_whole(prefix: str, route: APIRoute) -> None:
    for method in route.methods:
        found = resolved(prefix + concrete(route.path), method)
        assert found is not None, (prefix, route.path, method)
        assert found["route"].endpoint is route.endpoint
        assert route_of(found) == prefix + route.path_format  # the operator's label, prefix and all


def test_a_wrong_method_is_405_naming_the_paths_methods() -> None:
    client = TestClient(APP)
    for prefix in mlflow_registry.PREFIXES:
        wrong = client.request("PUT", f"{prefix}/registered-models/alias")
        assert wrong.status_code == 405  # not a 500: MLflow's BAD_REQUEST, and the methods
        assert wrong.json()["error_code"] == "BAD_REQUEST"
        assert wrong.headers["Allow"] == "GET, POST, DELETE"
    wrong = client.request("PATCH", "/api/2.0/mlflow-artifacts/artifacts/a/b")
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "GET, PUT, DELETE")
    # The native API's own answer is as before.
    wrong = client.request("DELETE", "/api/v1/models")
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "GET, POST")


def test_an_unknown_mlflow_endpoint_is_mlflows_not_found() -> None:
    for prefix in mlflow_registry.PREFIXES:
        missing = TestClient(APP).get(f"{prefix}/registered-models/nonesuch")
        assert missing.status_code == 404
        assert missing.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert resolved("/api/2.0/mlflow-nonesuch/x", "GET") is None
