"""`registrum serve`'s followers (projector, checkpoint signer, webhooks, relay, intake) in a child
process of their own, so that none of them shares the API's event loop or its core.

The parent starts `python -m services.cli.followers` and writes its settings, with the
database and broker addresses it resolved, as one JSON line on the child's stdin (secrets
never reach a command line or the environment). The pipe stays open: when the parent
exits, even by SIGKILL, the child reads end-of-file and stops by itself, and is killed
outright if stopping takes longer than STOP_SECONDS. A child that exits on its own is
started again, after a pause that doubles (up to a minute) while it keeps failing.

The child says it is running by writing one line on a pipe of its own (its file
descriptor is the only argument on its command line); until then, and while it is being
started again, the parent's `state` is not "running" and the API's /health answers 503.

The child has a session of its own, so a Ctrl-C meant for `serve` reaches it only
through the parent, which stops it after the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import time

from services.bootstrap import Runner, Runtime
from services.cli.observe import observe
from services.cli.ops import announce, ops_port, with_ops
from services.settings import Settings

log = logging.getLogger("registrum")

STOP_SECONDS = 15.0
READY = b"running\n"
RESTART_SECONDS = (1.0, 60.0)  # the first pause, and the longest
HEALTHY_SECONDS = 60.0  # a child that ran this long failed afresh: the pause starts again


class FollowerProcess:
    """The parent's side: runs the followers' process for as long as the API runs.

    state: "starting" until the child says it runs, "running", then "restarting" after
    it exited on its own, until the next child says it runs."""

    def __init__(self, settings: Settings) -> None:
        # The child serves an operations port only when one was set (services/cli/ops.py).
        self.settings = settings.model_copy(update={"ops_port": ops_port(settings, in_serve=True)})
        self.state = "starting"
        self.restarts = 0
        self.pid: int | None = None

    @classmethod
    def of(cls, runtime: Runtime) -> FollowerProcess:
        """The followers of runtime, at the addresses it resolved (the embedded servers
        it started)."""
        return cls(
            runtime.settings.model_copy(
                update={
                    "database_url": runtime.events_url,
                    "read_database_url": runtime.read_url,
                    "kafka_bootstrap": runtime.kafka_bootstrap,
                    "data_dir": runtime.data_dir,
                }
            )
        )

    async def run(self, stop: asyncio.Event) -> None:
        pause = RESTART_SECONDS[0]
        while not stop.is_set():
            started = time.monotonic()
            child, ready = await self._start()
            waiting = asyncio.ensure_future(child.wait())
            stopping = asyncio.ensure_future(stop.wait())
            running = asyncio.ensure_future(self._running(ready))
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            running.cancel()
            if not waiting.done():
                await self._stop(child, waiting)
                return
            self.state = "restarting"
            self.restarts += 1
            if time.monotonic() - started > HEALTHY_SECONDS:
                pause = RESTART_SECONDS[0]
            log.error(
                "the followers' process exited with %s; starting it again in %.0f s",
                child.returncode,
                pause,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            pause = min(pause * 2, RESTART_SECONDS[1])

    async def _start(self) -> tuple[asyncio.subprocess.Process, asyncio.StreamReader]:
        """The child, and the reading end of the pipe on which it says it runs."""
        read_end, write_end = os.pipe()
        try:
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.cli.followers",
                str(write_end),
                stdin=asyncio.subprocess.PIPE,
                start_new_session=True,
                pass_fds=(write_end,),
            )
        finally:
            os.close(write_end)
        self.pid = child.pid
        ready = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(ready), os.fdopen(read_end, "rb", 0)
        )
        assert child.stdin is not None
        child.stdin.write(self.settings.model_dump_json().encode() + b"\n")
        await child.stdin.drain()
        return child, ready

    async def _running(self, ready: asyncio.StreamReader) -> None:
        line = await ready.readline()
        if line == READY:
            self.state = "running"
            log.info("the followers' process is running")

    async def _stop(self, child: asyncio.subprocess.Process, waiting: asyncio.Future[int]) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), STOP_SECONDS)
        except TimeoutError:
            log.error("the followers did not stop within %.0f s; killing them", STOP_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await waiting
        if child.stdin is not None:
            child.stdin.close()


def together(runners: list[Runner]) -> Runner:
    """One runner of several: they run side by side until stop; if one fails, the process
    ends (with an error), and the parent starts them all again."""

    async def run(stop: asyncio.Event) -> None:
        await asyncio.gather(*(runner(stop) for runner in runners))

    return run


def _watch_parent(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stops the followers when stdin ends (the parent is gone), and ends the process if
    they have not stopped STOP_SECONDS later."""
    while os.read(0, 65536):  # unbuffered: no lock held at interpreter shutdown
        pass
    loop.call_soon_threadsafe(stop.set)
    time.sleep(STOP_SECONDS)
    os._exit(1)


def _first_line() -> bytes:
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(0, 1)
        if not chunk:
            raise SystemExit("the followers' process expects its settings on stdin")
        line += chunk
    return line


def _say_running(fd: int) -> None:
    os.write(fd, READY)
    os.close(fd)


def main() -> None:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        raise SystemExit("usage: python -m services.cli.followers READY_FD (settings on stdin)")
    ready_fd = int(sys.argv[1])
    settings = Settings.model_validate_json(_first_line())
    observe(settings, "followers")
    with Runtime(settings) as runtime:
        roles = [r for r in ("projector", "relay", "intake") if getattr(settings, r)]
        if runtime.kafka_bootstrap is None:
            roles = [r for r in roles if r == "projector"]
        roles += ["webhooks"] if settings.webhooks else []
        runner = with_ops(
            runtime, together(runtime.followers()), roles, settings.ops_port, announce("followers")
        )

        async def run() -> None:
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            watcher = threading.Thread(target=_watch_parent, args=(loop, stop), daemon=True)
            watcher.start()
            running = asyncio.ensure_future(runner(stop))
            await asyncio.sleep(0)  # started, on a runtime whose connections are made
            _say_running(ready_fd)
            await running

        asyncio.run(run())


if __name__ == "__main__":
    main()
