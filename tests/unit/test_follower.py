"""Followers of the log wake on notifications, including one that came while they were busy."""

from __future__ import annotations

import asyncio
import time

from services.eventlog.follower import Waker, settle


def test_a_notification_during_work_is_not_lost() -> None:
    async def scenario() -> float:
        waker = Waker(poll_seconds=5.0)
        stop = asyncio.Event()
        waker.notify()  # events committed while the follower was publishing a batch
        started = time.monotonic()
        await waker.sleep(stop)
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 1.0


def test_without_news_it_sleeps_until_the_poll_interval() -> None:
    async def scenario() -> float:
        waker = Waker(poll_seconds=0.2)
        started = time.monotonic()
        await waker.sleep(asyncio.Event())
        return time.monotonic() - started

    assert asyncio.run(scenario()) >= 0.19


def test_a_notification_is_consumed_by_one_sleep() -> None:
    async def scenario() -> float:
        waker = Waker(poll_seconds=0.2)
        waker.notify()
        await waker.sleep(asyncio.Event())
        started = time.monotonic()
        await waker.sleep(asyncio.Event())  # nothing new: a full interval
        return time.monotonic() - started

    assert asyncio.run(scenario()) >= 0.19


def test_steps_after_notifications_keep_their_gap_but_a_quiet_follower_steps_at_once() -> None:
    async def scenario() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        # A step just ran: the next waits out the gap, so a burst lands in one batch.
        started = loop.time()
        await settle(stop, started, 0.2)
        burst = loop.time() - started
        # The last step was long ago: no wait.
        started = loop.time()
        await settle(stop, started - 1.0, 0.2)
        return burst, loop.time() - started

    burst, quiet = asyncio.run(scenario())
    assert burst >= 0.19
    assert quiet < 0.05
