"""`registrum projector` as real processes against real PostgreSQL: SIGKILLed at random
under load, it ends with views equal to a rebuild; of two, one is active and the other
takes over when the first dies or hangs."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable

import asyncpg

from schemas import commands as c
from services.catalogue.rebuild import rebuild
from services.catalogue.views.all import VIEWS
from services.registry.application import Registry
from tests.e2e.conftest import REGISTRUM, clean_env
from tests.people import person
from tests.projection_checks import differences, positions, wait_until_caught_up
from tests.workload import step


def start_projector(database_url: str, **settings: str) -> subprocess.Popen[bytes]:
    env = clean_env()
    env["REGISTRUM_DATABASE_URL"] = database_url
    env.update({f"REGISTRUM_{k.upper()}": v for k, v in settings.items()})
    return subprocess.Popen(
        [REGISTRUM, "projector"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def test_a_projector_killed_at_random_ends_equal_to_a_rebuild(
    registry: Registry, database_url: str, unique: str
) -> None:
    rng = random.Random(unique)
    done = threading.Event()
    ran: list[str] = []

    def write() -> None:
        models: list[str] = []
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            ran.append(step(registry, rng, models, f"crash-{unique}"))
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    kills = 0
    while not done.is_set():
        projector = start_projector(database_url)
        time.sleep(rng.uniform(0.3, 1.2))
        projector.send_signal(signal.SIGKILL)  # no chance to finish a transaction cleanly
        projector.wait()
        kills += 1
    writer.join()
    assert kills >= 4 and len(ran) > 100

    survivor = start_projector(database_url)
    try:
        wait_until_caught_up(database_url)
    finally:
        survivor.terminate()
        survivor.wait(timeout=30)

    _, before = asyncio.run(positions(database_url))
    asyncio.run(rebuild(database_url, database_url, list(VIEWS.values())))
    _, after = asyncio.run(positions(database_url))
    old = {name: generation for name, (generation, _) in before.items()}
    new = {name: generation for name, (generation, _) in after.items()}
    assert old != new
    assert asyncio.run(differences(database_url, old, new)) == []


async def lock_holder(database_url: str) -> int | None:
    """The process id of the projector that holds a live lease, if one does."""
    conn = await asyncpg.connect(database_url)
    try:
        holder = await conn.fetchval(
            "SELECT holder FROM registrum_leases WHERE name = 'projector' AND expires_at > now()"
        )
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()
    return int(holder.split(":")[1]) if holder else None


def wait_for_holder(database_url: str, candidates: set[int], timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = asyncio.run(lock_holder(database_url))
        if holder in candidates:
            return holder
        time.sleep(0.1)
    raise AssertionError(f"none of {candidates} took the projector lock")


def test_one_projector_is_active_and_another_takes_over(
    registry: Registry, database_url: str, unique: str, sql: Callable[..., list]
) -> None:
    first, second = start_projector(database_url), start_projector(database_url)
    processes = {first.pid: first, second.pid: second}
    try:
        active = wait_for_holder(database_url, set(processes))
        standby = (set(processes) - {active}).pop()
        time.sleep(1)
        assert asyncio.run(lock_holder(database_url)) == active  # still only one

        processes[active].send_signal(signal.SIGKILL)
        processes[active].wait()
        assert wait_for_holder(database_url, {standby}) == standby

        # The survivor keeps the views current.
        registry.handle(c.RegisterModel(name=f"takeover-{unique}"), person("alice"))
        wait_until_caught_up(database_url)
        assert sql("SELECT name FROM {catalogue}.models WHERE name = $1", f"takeover-{unique}")
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


def test_a_hung_projector_loses_its_lease_to_the_standby_and_stands_by_when_it_resumes(
    registry: Registry, database_url: str, unique: str, sql: Callable[..., list]
) -> None:
    lease = 2.0
    first = start_projector(database_url, lease_seconds=str(lease))
    second = start_projector(database_url, lease_seconds=str(lease))
    processes = {first.pid: first, second.pid: second}
    try:
        active = wait_for_holder(database_url, set(processes))
        standby = (set(processes) - {active}).pop()
        processes[active].send_signal(signal.SIGSTOP)  # hung: its connections stay open
        hung_at = time.monotonic()
        registry.handle(c.RegisterModel(name=f"while-hung-{unique}"), person("alice"))
        assert wait_for_holder(database_url, {standby}) == standby
        # Within the lease and its standby's half-second poll (and a noisy machine's slack).
        assert time.monotonic() - hung_at < lease + 3
        wait_until_caught_up(database_url)
        assert sql("SELECT name FROM {catalogue}.models WHERE name = $1", f"while-hung-{unique}")

        processes[active].send_signal(signal.SIGCONT)
        time.sleep(lease)  # it wakes, finds its lease gone (or its session ended), stands by
        assert processes[active].poll() is None
        assert asyncio.run(lock_holder(database_url)) == standby
        registry.handle(c.RegisterModel(name=f"after-{unique}"), person("alice"))
        wait_until_caught_up(database_url)
        assert sql("SELECT name FROM {catalogue}.models WHERE name = $1", f"after-{unique}")
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGCONT)
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
