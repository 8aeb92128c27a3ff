"""The watchdog stops the process it watches when its owner dies without releasing it,
leaves it alone when released, and never signals a pid that now names another process."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from services.watchdog import ProcessId, Watchdog

# An owner: has a watchdog watch a server (PID START, or a sleep it starts), says the
# server's pid, then waits to be killed.
OWNER = """
import subprocess, sys, time
from services.watchdog import ProcessId, Watchdog
if len(sys.argv) > 1:
    server = ProcessId(int(sys.argv[1]), int(sys.argv[2]))
else:
    server = ProcessId.of(subprocess.Popen(["sleep", "600"], start_new_session=True).pid)
watchdog = Watchdog("test server", server, [("SIGTERM", 5.0)])
print(server.pid, flush=True)
time.sleep(600)
"""


def _kill_owner(*target: int) -> int:
    """Starts an owner watching target (or a server of its own), kills it once its
    watchdog runs, and returns the pid of the server it said it watches."""
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, *map(str, target)], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    with owner.stdout:
        watched = int(owner.stdout.readline())
    owner.kill()  # no chance to release or stop anything
    owner.wait()
    return watched


def _until_gone(process: ProcessId, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while process.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not process.alive()


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


def test_a_killed_owners_server_is_stopped() -> None:
    server = ProcessId.of(_kill_owner())
    assert server is not None, "the server was gone before its owner was killed"
    assert _until_gone(server, 5), "the watchdog did not stop the server"


def test_a_released_watchdog_ends_and_touches_nothing(sleeper: subprocess.Popen[bytes]) -> None:
    bystander = ProcessId.of(sleeper.pid)
    assert bystander is not None
    # A watchdog told about a process, released: it ends, and the process runs on.
    Watchdog("bystander", bystander, [("SIGKILL", 1.0)]).release()
    time.sleep(0.5)
    assert bystander.alive()


def test_a_pid_that_names_another_process_now_is_not_signalled(
    sleeper: subprocess.Popen[bytes],
) -> None:
    current = ProcessId.of(sleeper.pid)
    assert current is not None
    # The same pid with another start time: the process that was known is gone.
    earlier = ProcessId(sleeper.pid, current.start - 1)
    assert not earlier.alive()
    assert earlier.stop([("SIGKILL", 1.0)]) is True
    # A watchdog of it, whose owner dies, leaves the process now at that pid alone.
    _kill_owner(earlier.pid, earlier.start)
    time.sleep(1.0)
    assert current.alive()
