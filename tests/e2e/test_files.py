"""A model folder through the CLI: upload as a version, download verified, tampering caught."""

from __future__ import annotations

import os
from pathlib import Path

from registrum import Client
from tests.e2e.conftest import Server, cli, cli_json, token


def test_upload_a_folder_then_download_it_verified(
    server: Server, tmp_path: Path, unique: str
) -> None:
    url, name = server.url, f"folder-{unique}"
    model_dir = tmp_path / "model"
    (model_dir / "weights").mkdir(parents=True)
    (model_dir / "MLmodel").write_text("flavors:\n  python_function: {}\n")
    (model_dir / "weights" / "model.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    assert cli(url, "models", "create", name).returncode == 0

    made = cli_json(url, "versions", "register", name, str(model_dir), "--metric", "auc=0.9")
    version = made["version"]
    assert version["artifact_uri"] == f"models:/{name}/1"
    assert [e["path"] for e in version["manifest"]] == ["MLmodel", "weights/model.bin"]
    assert cli(url, "alias", "set", name, "champion", "1", actor="carol").returncode == 0

    dest = tmp_path / "pulled"
    pulled = cli(url, "versions", "download", name, "@champion", str(dest))
    assert pulled.returncode == 0, pulled.stderr
    for relative in ("MLmodel", "weights/model.bin"):
        assert (dest / relative).read_bytes() == (model_dir / relative).read_bytes()

    # The SDK resolves models:/ URIs to the same version.
    with Client(url, token=token(url, "deployer")) as client:
        assert client.resolve_uri(f"models:/{name}@champion")["sha256"] == version["sha256"]
        assert client.resolve_uri(f"models:/{name}/1")["number"] == 1

    assert cli_json(url, "artifacts", "verify", name, "1")["ok"] is True

    # Bytes altered in the store behind the registry's back: verify and download say so.
    weights = next(e for e in version["manifest"] if e["path"] == "weights/model.bin")
    stored = server.data_dir / "artifacts" / "objects" / weights["sha256"][:2] / weights["sha256"]
    stored.chmod(0o644)
    stored.write_bytes(b"tampered" + stored.read_bytes()[8:])
    checked = cli(url, "artifacts", "verify", name, "@champion")
    assert checked.returncode == 1 and "weights/model.bin" in checked.stderr
    assert "altered (the stored bytes hash to another digest)" in checked.stderr
    again = cli(url, "versions", "download", name, "1", str(tmp_path / "again"))
    assert again.returncode == 1
    assert "weights/model.bin" in again.stderr or "digest" in again.stderr
    assert not (tmp_path / "again" / "weights" / "model.bin").exists()


UPLOADER = """
import sys, time, httpx
def body():
    for _ in range(400):
        yield b"x" * (1024 * 1024)
        time.sleep(0.01)
httpx.post(sys.argv[1] + "/api/v1/artifacts", content=body(),
           headers={"Authorization": "Bearer " + sys.argv[2]}, timeout=60)
"""


def test_a_client_killed_mid_upload_leaves_nothing(server: Server, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    store = server.data_dir / "artifacts"
    before = sorted(p.name for p in (store / "objects").rglob("*") if p.is_file())
    uploader = subprocess.Popen(
        [sys.executable, "-c", UPLOADER, server.url, token(server.url, "pipeline")]
    )
    time.sleep(1.5)  # some megabytes are in flight
    assert uploader.poll() is None
    uploader.send_signal(signal.SIGKILL)
    uploader.wait()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and list((store / "incoming").iterdir()):
        time.sleep(0.1)
    assert list((store / "incoming").iterdir()) == []  # the partial upload was removed
    after = sorted(p.name for p in (store / "objects").rglob("*") if p.is_file())
    assert after == before  # and nothing became visible under a digest

    # The retry goes through.
    retry = tmp_path / "weights.bin"
    retry.write_bytes(b"x" * (5 * 1024 * 1024))
    with Client(server.url, token=token(server.url, "pipeline")) as client:
        stored = client.upload_file(retry)
    assert stored["size"] == 5 * 1024 * 1024
    assert (store / "objects" / stored["sha256"][:2] / stored["sha256"]).exists()
