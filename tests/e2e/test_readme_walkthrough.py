"""The README's five-minute walkthrough runs verbatim against `registrum serve`: every
command exits 0, except the one it says is refused (exit 1)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Server, clean_env, start_server

README = Path(__file__).parents[2] / "README.md"


def walkthrough() -> list[str]:
    """The shell lines of the walkthrough's second block, continuations joined."""
    section = README.read_text().split("## Five-minute walkthrough", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    script = blocks[1].replace("\\\n", " ")
    return [line for line in script.splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Server]:
    """A registry at its first start, as `make run` makes it: nobody but its first
    administrator holds any role."""
    running = start_server(tmp_path / "data", testers=False, kafka="false")
    yield running
    running.stop()


def test_the_walkthrough_runs_verbatim(fresh: Server, tmp_path: Path) -> None:
    lines = walkthrough()
    assert lines[0] == 'export PATH="$PWD/.venv/bin:$PATH"'
    # The same PATH from wherever the tests run; the registry is the test's, its data
    # directory where the CLI finds the administrator's token, and a home of its own for
    # the profiles the walkthrough saves.
    env = clean_env()
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    env.update(
        REGISTRUM_URL=fresh.url,
        REGISTRUM_DATA_DIR=str(fresh.data_dir),
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "home" / ".config"),
        COLUMNS="200",
    )
    ran = 0
    for line in lines[1:]:
        expected = 1 if "# refused: exit code 1" in line else 0
        done = subprocess.run(
            ["bash", "-c", line],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert done.returncode == expected, f"{line}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        ran += 1
    assert ran >= 25
    # The refusals were the real ones: alice may neither sign off her own request nor
    # promote; bob's approval and carol's promotion stand, under their own names.
    shown = subprocess.run(
        ["bash", "-c", "registrum --json as-of fraud-detector production"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    (held,) = json.loads(shown.stdout)["versions"]
    assert (held["promoted_by"], held["approved_by"]) == ("carol", ["bob"])
