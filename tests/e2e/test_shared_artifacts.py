"""`registrum serve` on a registry whose artefacts are in a folder it cannot see (another
machine's) refuses to start, with a one-line error saying what to do, not a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

from services.artifacts.identity import claim_folder
from tests.e2e.conftest import REGISTRUM, clean_env
from tests.services import free_port, fresh_database


def test_serve_refuses_a_folder_the_registry_does_not_use(
    tmp_path: Path, database_url: str, unique: str
) -> None:
    url = fresh_database(database_url, f"shared_artifacts_{unique}")
    # The registry's first process ran on another machine, with its own folder.
    claim_folder(tmp_path / "machine-1" / "data" / "artifacts", url)

    env = clean_env()
    env.update(
        REGISTRUM_DATABASE_URL=url,
        REGISTRUM_DATA_DIR=str(tmp_path / "machine-2" / "data"),
        REGISTRUM_PORT=str(free_port()),
        REGISTRUM_KAFKA="false",
    )
    refused = subprocess.run(
        [REGISTRUM, "serve"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert refused.returncode == 1, refused.stderr
    assert "share the directory" in refused.stderr
    assert "REGISTRUM_S3_ENDPOINT" in refused.stderr
    assert "Traceback" not in refused.stderr
