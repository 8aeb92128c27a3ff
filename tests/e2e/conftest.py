"""`registrum serve` as a real process, on a free port with its own data directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.rules import ROLES
from tests.e2e.browser import browser, page  # noqa: F401  (fixtures for the browser tests)
from tests.people import TESTERS
from tests.services import free_port

REGISTRUM = str(Path(sys.executable).parent / "registrum")

# Each server's first administrator's token (from its data directory), and the tokens
# issued through it, by (url, subject, kind).
_ADMINS: dict[str, str] = {}
_TOKENS: dict[tuple[str, str, str], str] = {}


def clean_env() -> dict[str, str]:
    """This process's environment without any REGISTRUM_* setting: a child process gets
    only the settings its test gives it."""
    return {k: v for k, v in os.environ.items() if not k.startswith("REGISTRUM_")}


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen[str]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def admin_token(url: str) -> str:
    return _ADMINS[url]


def token(url: str, name: str, kind: str = "user", groups: tuple[str, ...] = (TESTERS,)) -> str:
    """An API token for name on the server at url, issued by its administrator."""
    key = (url, name, kind)
    if key not in _TOKENS:
        made = httpx.post(
            f"{url}/api/v1/tokens",
            json={"subject": name, "kind": kind, "groups": list(groups), "expires_in_days": 1},
            headers=bearer(_ADMINS[url]),
            timeout=30,
        )
        assert made.status_code == 201, made.text
        _TOKENS[key] = made.json()["token"]
    return _TOKENS[key]


def open_to_testers(url: str) -> None:
    """The testers group gets every role on the registry (tests/people.py)."""
    for role in ROLES:
        granted = httpx.post(
            f"{url}/api/v1/grants",
            json={"principal": f"group:{TESTERS}", "role": role, "scope": "registry"},
            headers=bearer(_ADMINS[url]),
            timeout=30,
        )
        assert granted.status_code == 201, granted.text


def start_server(
    data_dir: Path,
    port: int | None = None,
    *,
    testers: bool = True,
    first_start: bool = True,
    new_session: bool = False,
    **settings: str,
) -> Server:
    """`registrum serve` on data_dir; with testers, the testers group holds every role.
    first_start: the registry is new, so its first administrator's token is in data_dir
    (not so for a registry on a database that already has grants). new_session: serve
    leads a process group of its own, which a test may kill whole."""
    port = port or free_port()
    env = clean_env()
    env.update(REGISTRUM_PORT=str(port), REGISTRUM_DATA_DIR=str(data_dir))
    # Each server's embedded broker on its own port: tests run several servers.
    env["REGISTRUM_EMBEDDED_KAFKA_PORT"] = str(free_port())
    env.update({f"REGISTRUM_{k.upper()}": v for k, v in settings.items()})
    log = data_dir.parent / f"serve-{port}.log"
    with log.open("w") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [REGISTRUM, "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=new_session,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                if first_start:
                    _ADMINS[url] = (data_dir / "admin.token").read_text().strip()
                if testers:
                    open_to_testers(url)
                return Server(url, data_dir, process)
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"serve did not answer in time: {log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("serve") / "data")
    yield running
    if running.process.poll() is None:
        running.stop()


def cli(
    url: str, *args: str, actor: str = "alice", data_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env.update(REGISTRUM_URL=url, COLUMNS="200")
    if url in _ADMINS:  # a registry this test started (else one that is not there)
        env["REGISTRUM_TOKEN"] = token(url, actor)
    if data_dir is not None:
        env["REGISTRUM_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [REGISTRUM, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def cli_json(url: str, *args: str, actor: str = "alice") -> Any:
    done = cli(url, "--json", *args, actor=actor)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
