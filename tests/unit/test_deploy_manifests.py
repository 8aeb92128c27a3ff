"""deploy/kubernetes: each overlay renders (kustomize), every object is valid against the
Kubernetes API schemas, and the layout is the one the roles need: a Deployment per role
with the right command, replicas, probes and ports; unprivileged pods; a migration Job the
roles wait for; a Service and a PodDisruptionBudget that select the API's pods."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from services.settings import Settings
from tests.manifests import (
    API_PORT,
    OPS_PORT,
    OVERLAYS,
    ROLES,
    Obj,
    deployment,
    one,
    pod_spec,
    render,
)

# The oldest Kubernetes we claim (policy/v1 PDBs, Job TTLs and seccompProfile are long
# GA there) and the newest whose schemas kubernetes-validate ships: pinned, so a new
# release of the validator changes nothing by itself.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")

NAMESPACES = {"dev": "registrum-dev", "prod": "registrum"}
API_REPLICAS = {"dev": 1, "prod": 3}


def containers(workload: Obj) -> list[Obj]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_kubernetes(overlay: str, version: str) -> None:
    objects = render(overlay)
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "PodDisruptionBudget", "Job", "ConfigMap", "Secret"} <= kinds
    # strict: an unknown field (a misspelt key Kubernetes would drop) is an error too.
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_validation_rejects_a_misspelt_field() -> None:
    # The check above is only worth something if a plausible mistake fails it.
    api = copy.deepcopy(deployment(render("prod"), "api"))
    probe = pod_spec(api)["containers"][0]["livenessProbe"]
    probe["httpGett"] = probe.pop("httpGet")
    with pytest.raises(kubernetes_validate.ValidationError, match="httpGett"):
        kubernetes_validate.validate(api, KUBERNETES_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_role_is_a_deployment_running_its_command(overlay: str) -> None:
    objects = render(overlay)
    replicas = {role: deployment(objects, role)["spec"]["replicas"] for role in ROLES}
    assert replicas["api"] == API_REPLICAS[overlay]
    # Single-active with a lease: one works, one stands by.
    assert replicas["projector"] == replicas["relay"] == 2
    # A consumer group: several active at once.
    assert replicas["intake"] >= 2
    for role in ROLES:
        main = pod_spec(deployment(objects, role))["containers"][0]
        assert main["command"] == ["registrum", role]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_and_scrapes_reach_each_role_on_its_port(overlay: str) -> None:
    objects = render(overlay)
    for role in ROLES:
        workload = deployment(objects, role)
        main = pod_spec(workload)["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in main["ports"]}
        expected = API_PORT if role == "api" else OPS_PORT
        for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
            get = main[probe]["httpGet"]
            assert get["path"] == path, (role, probe)
            assert ports[get["port"]] == expected, (role, probe)
        notes = workload["spec"]["template"]["metadata"]["annotations"]
        assert notes["prometheus.io/scrape"] == "true"
        assert notes["prometheus.io/path"] == "/metrics"
        assert int(notes["prometheus.io/port"]) == expected


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_unprivileged_on_a_read_only_root(overlay: str) -> None:
    objects = render(overlay)
    workloads = [deployment(objects, role) for role in ROLES]
    workloads.append(one(objects, "Job", "registrum-migrate"))
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        assert spec["automountServiceAccountToken"] is False
        scratch = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in containers(workload):
            name = workload["metadata"]["name"], container["name"]
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            # Writable places are scratch volumes: /tmp always, /data for the roles.
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts["/tmp"] in scratch, name
            if container is spec["containers"][0]:
                assert mounts["/data"] in scratch, name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), name


def test_prod_gives_the_api_more_than_dev() -> None:
    def memory_mib(overlay: str) -> int:
        limits = pod_spec(deployment(render(overlay), "api"))["containers"][0]["resources"]
        value: str = limits["limits"]["memory"]
        return int(value[:-2]) * (1024 if value.endswith("Gi") else 1)

    assert memory_mib("prod") > memory_mib("dev")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migration_job_runs_and_every_role_waits_for_it(overlay: str) -> None:
    objects = render(overlay)
    job = one(objects, "Job", "registrum-migrate")
    assert pod_spec(job)["containers"][0]["command"] == ["registrum", "db", "migrate"]
    assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure")
    for role in ROLES:
        [wait] = pod_spec(deployment(objects, role))["initContainers"]
        assert "registrum db status" in " ".join(wait["command"]), role


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_api_service_and_disruption_budget_select_the_api_pods(overlay: str) -> None:
    objects = render(overlay)
    pods = {role: deployment(objects, role)["spec"]["template"] for role in ROLES}
    api_labels = pods["api"]["metadata"]["labels"]
    service = one(objects, "Service", "registrum-api")
    budget = one(objects, "PodDisruptionBudget", "registrum-api")
    for selector in (service["spec"]["selector"], budget["spec"]["selector"]["matchLabels"]):
        assert matches(selector, api_labels)
        assert not any(matches(selector, pods[r]["metadata"]["labels"]) for r in ROLES[1:])
    ports = {p["name"] for p in pod_spec(deployment(objects, "api"))["containers"][0]["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports
    # A drain never takes every API at once (with one replica, dev, it may take that one).
    assert budget["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_come_from_the_config_map_and_the_secret(overlay: str) -> None:
    objects = render(overlay)
    config = one(objects, "ConfigMap", "registrum-config")["data"]
    secret = one(objects, "Secret", "registrum-secrets")["stringData"]
    fields = {f"REGISTRUM_{name.upper()}" for name in Settings.model_fields}
    # A misspelt setting would be ignored silently by the server: none here.
    assert set(config) | set(secret) <= fields
    assert {"REGISTRUM_DATABASE_URL", "REGISTRUM_S3_SECRET_KEY"} <= set(secret)
    assert not set(config) & set(secret)
    assert not [k for k in config if "SECRET" in k or "PASSWORD" in k or k.endswith("_URL")]
    workloads = [deployment(objects, role) for role in ROLES]
    workloads.append(one(objects, "Job", "registrum-migrate"))
    for workload in workloads:
        for container in containers(workload):
            sources: list[dict[str, Any]] = container["envFrom"]
            assert {"configMapRef": {"name": "registrum-config"}} in sources
            assert {"secretRef": {"name": "registrum-secrets"}} in sources


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_lives_in_the_overlays_namespace(overlay: str) -> None:
    objects = render(overlay)
    namespace = NAMESPACES[overlay]
    assert one(objects, "Namespace", namespace)
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == namespace, obj["metadata"]["name"]


def test_prod_pins_its_image() -> None:
    objects = render("prod")
    images = {c["image"] for r in ROLES for c in containers(deployment(objects, r))}
    images.add(pod_spec(one(objects, "Job", "registrum-migrate"))["containers"][0]["image"])
    [image] = images  # one image for every role and the migration
    name, _, tag = image.rpartition(":")
    assert "/" in name and tag not in ("", "latest", "dev")
