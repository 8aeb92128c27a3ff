"""The README's five-minute walkthrough runs verbatim against `registrum serve`: every
command exits 0, except the one it says is refused (exit 1)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import Server, clean_env

README = Path(__file__).parents[2] / "README.md"


def walkthrough() -> list[str]:
    """The shell lines of the walkthrough's second block, continuations joined."""
    section = README.read_text().split("## Five-minute walkthrough", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    script = blocks[1].replace("\\\n", " ")
    return [line for line in script.splitlines() if line.strip() and not line.startswith("#")]


def test_the_walkthrough_runs_verbatim(server: Server) -> None:
    lines = walkthrough()
    assert lines[0] == 'export PATH="$PWD/.venv/bin:$PATH"'
    # The same PATH from wherever the tests run; the registry is the test's.
    env = clean_env()
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    env.update(REGISTRUM_URL=server.url, COLUMNS="200")
    ran = 0
    for line in lines[1:]:
        expected = 1 if "# refused: exit code 1" in line else 0
        done = subprocess.run(
            ["bash", "-c", line], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == expected, f"{line}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        ran += 1
    assert ran >= 15
