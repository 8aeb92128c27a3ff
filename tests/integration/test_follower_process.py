"""serve's followers' process, as its parent sees it: it says when the child runs, and
starts a child that died (killed, or failing at start) again after a pause."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from services.cli.followers import FollowerProcess
from services.settings import Settings
from tests.services import alive, fresh_database


async def _until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.05)


def test_a_killed_followers_process_is_started_again_and_says_when_it_runs(
    tmp_path: Path, database_url: str, unique: str
) -> None:
    url = fresh_database(database_url, f"follower_process_{unique}")
    process = FollowerProcess(Settings(database_url=url, kafka=False, data_dir=tmp_path))
    assert process.state == "starting"

    async def scenario() -> list[str]:
        stop = asyncio.Event()
        running = asyncio.create_task(process.run(stop))
        seen = []
        await _until(lambda: process.state == "running")
        first = process.pid
        assert first is not None and alive(first)
        seen.append(process.state)
        os.kill(first, signal.SIGKILL)
        await _until(lambda: process.state != "running", 10)
        seen.append(process.state)
        await _until(lambda: process.state == "running" and process.pid != first)
        seen.append(process.state)
        assert process.restarts == 1
        stop.set()
        await asyncio.wait_for(running, 30)
        return seen

    assert asyncio.run(scenario()) == ["running", "restarting", "running"]
    assert process.pid is not None and not alive(process.pid)


def test_a_followers_process_that_cannot_start_is_retried_and_never_said_to_run(
    tmp_path: Path, unique: str
) -> None:
    # Nothing listens on port 9 (discard) here: the child fails to connect, and exits.
    unreachable = f"postgresql://nobody@127.0.0.1:9/none_{unique}?connect_timeout=2"
    process = FollowerProcess(Settings(database_url=unreachable, kafka=False, data_dir=tmp_path))

    async def scenario() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(process.run(stop))
        await _until(lambda: process.pid is not None)
        first = process.pid
        await _until(lambda: process.restarts == 1)
        assert process.state == "restarting"
        await _until(lambda: process.pid != first, 10)  # started again after a pause
        stop.set()
        await asyncio.wait_for(running, 30)

    asyncio.run(scenario())
    assert process.state == "restarting"
