"""`pip install registrum` is the client alone: it installs into a fresh virtualenv
without the server's dependencies, talks to a running registry, and says what to install
for the operator commands."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import Server, clean_env, token
from tests.services import free_port

ROOT = Path(__file__).parents[2]
SOURCES = ("pyproject.toml", "README.md", "registrum", "schemas", "services")


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=180, env=env, check=False
    )


def test_the_client_installs_and_runs_without_the_server(server: Server, tmp_path: Path) -> None:
    started = time.monotonic()
    # A copy of the project, so the build leaves nothing in the work tree.
    source = tmp_path / "source"
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy(origin, source / name)

    # A fresh virtualenv that cannot see this one's packages, and a real install of the
    # base package (no extras) from the pip configuration of this machine.
    venv = tmp_path / "venv"
    made = run(sys.executable, "-m", "venv", venv)
    assert made.returncode == 0, made.stderr
    installed = run(venv / "bin" / "pip", "install", "--quiet", source)
    assert installed.returncode == 0, installed.stderr[-3000:]

    python, registrum = venv / "bin" / "python", venv / "bin" / "registrum"
    for module in ("fastapi", "pydantic", "eventsourcing", "asyncpg", "services.settings"):
        absent = run(python, "-c", f"import {module}")
        assert absent.returncode == 1 and "ModuleNotFoundError" in absent.stderr, module

    env = clean_env()
    env.update(REGISTRUM_URL=server.url, REGISTRUM_TOKEN=token(server.url, "alice"), COLUMNS="200")
    helped = run(registrum, "--help", env=env)
    assert helped.returncode == 0, helped.stderr
    assert "models" in helped.stdout and "serve" in helped.stdout

    created = run(registrum, "models", "create", "installed-client", env=env)
    assert created.returncode == 0, created.stderr
    listed = run(registrum, "models", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "installed-client" in listed.stdout

    # The operator commands say, in one line, what to install.
    serve = run(registrum, "serve", env=env)
    assert serve.returncode == 2
    assert serve.stderr.strip() == (
        "error: registrum serve needs the server: pip install 'registrum[server]'"
    )
    assert serve.stdout == ""

    # `registrum watch` comes with the client; a broker that is not there is unreachable.
    broker = f"127.0.0.1:{free_port()}"
    watched = run(
        registrum, "watch", "--limit", "1", env={**env, "REGISTRUM_KAFKA_BOOTSTRAP": broker}
    )
    assert watched.returncode == 3
    lines = watched.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error (unreachable): Kafka at {broker}: ")
    assert time.monotonic() - started < 60
