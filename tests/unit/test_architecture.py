"""The architecture is a checked contract: the import-linter contracts in pyproject.toml
(layers, the read side and the relay apart, the domain without IO, schemas a leaf, the
SDK without the server) hold for the code as it is."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    # Every contract was checked, none skipped.
    assert "0 broken" in done.stdout
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert done.stdout.count(" KEPT") == len(declared["contracts"]) >= 7
