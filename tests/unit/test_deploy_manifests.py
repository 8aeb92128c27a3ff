"""deploy/kubernetes: each overlay renders (kustomize), every object is valid against the
Kubernetes API schemas, and the layout is the one the roles need: a Deployment per role
with the right command, replicas, probes and ports; unprivileged pods; a migration Job the
roles wait for; a Service and a PodDisruptionBudget that select the API's pods; the
checkpoint signer's key from its Secret, in a form the signer accepts."""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from services.private import UnsafePath, read_private
from services.settings import Settings
from tests.manifests import (
    API_PORT,
    OPS_PORT,
    OVERLAYS,
    ROLES,
    SIGNING_KEY_NAME,
    SIGNING_KEY_SECRET,
    WEBHOOK_KEY_NAME,
    WEBHOOK_KEY_SECRET,
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
SIGNER_REPLICAS = {"dev": 1, "prod": 2}


def containers(workload: Obj) -> list[Obj]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def runs_registrum(container: Obj) -> bool:
    return "registrum" in " ".join(container["command"])


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
    # Single-active too, with a standby in prod only.
    assert replicas["signer"] == SIGNER_REPLICAS[overlay]
    # Single-active with a lease, a standby in both.
    assert replicas["webhooks"] == 2
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
        inits = pod_spec(deployment(objects, role))["initContainers"]
        waits = [c for c in inits if "registrum db status" in " ".join(c["command"])]
        assert len(waits) == 1, role


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
        # Every container that runs registrum (the signer's key copy runs cp, needs none).
        for container in filter(runs_registrum, containers(workload)):
            sources: list[dict[str, Any]] = container["envFrom"]
            assert {"configMapRef": {"name": "registrum-config"}} in sources
            assert {"secretRef": {"name": "registrum-secrets"}} in sources
            assert {e["name"] for e in container.get("env", [])} <= fields


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


def mounts(container: Obj) -> dict[str, Obj]:
    """volume name -> its mount in container."""
    return {m["name"]: m for m in container.get("volumeMounts", [])}


def key_copy(signer: Obj) -> tuple[Obj, Obj]:
    """The signer's Secret volume and the init container that reads it."""
    spec = pod_spec(signer)
    [secret] = [v for v in spec["volumes"] if "secret" in v]
    [copier] = [c for c in spec["initContainers"] if secret["name"] in mounts(c)]
    return secret, copier


# Who reads which key from which Secret: the signer its signing key; the webhooks role and
# the API the key that encrypts webhook secrets (the API's copy is optional: without it
# the API runs and refuses only to make webhooks).
KEYS = {
    "signer": (SIGNING_KEY_SECRET, SIGNING_KEY_NAME, "REGISTRUM_AUDIT_KEY_FILE", False),
    "webhooks": (WEBHOOK_KEY_SECRET, WEBHOOK_KEY_NAME, "REGISTRUM_WEBHOOK_KEY_FILE", False),
    "api": (WEBHOOK_KEY_SECRET, WEBHOOK_KEY_NAME, "REGISTRUM_WEBHOOK_KEY_FILE", True),
}


@pytest.mark.parametrize("role", KEYS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_key_is_read_from_its_secret(overlay: str, role: str) -> None:
    secret_name, key_name, setting, optional = KEYS[role]
    objects = render(overlay)
    workload = deployment(objects, role)
    spec = pod_spec(workload)
    main = spec["containers"][0]
    secret, copier = key_copy(workload)
    # Every replica gets the one key the operator made, under its name, owner-read only.
    assert secret["secret"]["secretName"] == secret_name
    assert secret["secret"]["items"] == [{"key": key_name, "path": key_name}]
    assert secret["secret"]["defaultMode"] == 0o400
    assert secret["secret"].get("optional", False) is optional
    # The operator makes the Secret: no placeholder here would overwrite it on apply.
    assert not [o for o in objects if o["metadata"]["name"] == secret_name]
    # The Secret is read-only to the copy step, and the role never mounts it itself.
    assert mounts(copier)[secret["name"]].get("readOnly") is True
    assert secret["name"] not in mounts(main)
    # The copy lands in a memory-backed volume the role mounts read-only, at the path its
    # key file setting names.
    [script] = copier["command"][2:]
    source = f"{mounts(copier)[secret['name']]['mountPath']}/{key_name}"
    [(name, target)] = [
        (n, f"{m['mountPath']}/{key_name}")
        for n, m in mounts(copier).items()
        if f"{m['mountPath']}/{key_name}" in script and n != secret["name"]
    ]
    assert copier["command"][:2] == ["sh", "-c"]
    assert f"cp {source} {target}" in script
    assert {"name": name, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}} in spec["volumes"]
    assert mounts(main)[name].get("readOnly") is True
    key_file = {e["name"]: e["value"] for e in main["env"]}[setting]
    assert key_file == f"{mounts(main)[name]['mountPath']}/{key_name}" == target


def kubelet_secret_volume(root: Path, files: dict[str, str]) -> Path:
    """A Secret volume laid out as the kubelet does: the files in a timestamped directory,
    ..data linking to it, and each name a link through ..data; group-readable, as
    fsGroup makes them whatever defaultMode says."""
    stamped = root / "..2026_11_28_03_00_00.000000001"
    stamped.mkdir(parents=True)
    for name, text in files.items():
        (stamped / name).write_text(text)
        (stamped / name).chmod(0o440)
        (root / name).symlink_to(Path("..data") / name)
    (root / "..data").symlink_to(stamped.name)
    return root


@pytest.mark.parametrize("role", KEYS)
def test_the_copied_key_is_one_the_role_accepts(tmp_path: Path, role: str) -> None:
    # Keys are read with read_private (no link, no group or other bits): the Secret volume
    # as the kubelet makes it is refused, the copy step's file is accepted.
    _, key_name, _, _ = KEYS[role]
    secret, copier = key_copy(deployment(render("prod"), role))
    pem = "-----BEGIN PRIVATE KEY-----\nnot checked here\n-----END PRIVATE KEY-----\n"
    volume = kubelet_secret_volume(tmp_path / "secret", {key_name: pem})
    with pytest.raises(UnsafePath):
        read_private(volume / key_name)
    # Run the init container's script, its mount paths moved under tmp_path.
    script: str = copier["command"][2]
    for name, mount in mounts(copier).items():
        local = volume if name == secret["name"] else tmp_path / name
        local.mkdir(exist_ok=True)
        script = script.replace(mount["mountPath"] + "/", f"{local}/")
    subprocess.run(["sh", "-c", script], check=True, env={"PATH": os.defpath}, umask=0o022)
    [copied] = [p for p in tmp_path.glob(f"*/{key_name}") if p.parent != volume]
    assert read_private(copied) == pem
    # Owner-only (cp keeps the source's 0440, the umask takes the group's read away).
    assert copied.stat().st_mode & 0o777 == 0o400
