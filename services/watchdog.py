"""A watchdog that stops an embedded server once the `registrum serve` that started it is
gone, even when serve was killed outright (SIGKILL of serve, or of its process group).

Neither embedded server dies with serve by itself: pg_ctl daemonizes the postmaster (a
parent-death signal on pg_ctl would not reach it), and both servers run in sessions of
their own, so that a Ctrl-C at the terminal reaches serve, which stops them in order. So
for each one serve starts `python -m services.watchdog`, in a session of its own too, and
keeps a pipe to its stdin open. The first line names the process to stop: its pid, its
start time (so that a pid the system has since reused is never signalled) and the signals
to send, each with how long to wait for the process to exit. A line `release` says serve
stopped the server itself; end-of-file without it says serve is gone, and the watchdog
stops the server. The pipe's write end never reaches another process: Python makes its
descriptors non-inheritable and subprocess closes the rest.

Only the standard library, so that it starts in a few milliseconds and weighs little.
Processes are known through /proc: where there is none (not Linux), nothing is watched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

RELEASE = b"release\n"


@dataclass(frozen=True)
class ProcessId:
    """A process as the system started it: its pid and its start time (clock ticks after
    boot, from /proc), which together never name another process."""

    pid: int
    start: int

    @classmethod
    def of(cls, pid: int) -> ProcessId | None:
        """The process pid is now, or None when there is none (or only its zombie)."""
        start = _start_time(pid)
        return None if start is None else cls(pid, start)

    def alive(self) -> bool:
        return _start_time(self.pid) == self.start

    def command_line(self) -> list[str]:
        try:
            raw = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return []
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]

    def stop(self, signals: list[tuple[str, float]]) -> bool:
        """Sends each signal in turn, waiting up to its seconds for the process to exit;
        True once it has (or when it was gone already)."""
        for name, seconds in signals:
            if not self.alive():
                return True
            try:
                os.kill(self.pid, signal.Signals[name])
            except ProcessLookupError:
                return True
            deadline = time.monotonic() + seconds
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
        return not self.alive()


def _start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # After the command name in parentheses: state is field 3, starttime field 22.
    fields = stat.rpartition(")")[2].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


class Watchdog:
    """serve's side: a watchdog that stops target, with signals, when this process ends
    without release() (see the module's docstring)."""

    def __init__(self, name: str, target: ProcessId, signals: list[tuple[str, float]]) -> None:
        order = {"name": name, "pid": target.pid, "start": target.start, "signals": signals}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "services.watchdog"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(order).encode() + b"\n")
        self._process.stdin.flush()

    def release(self) -> None:
        """The server was stopped in order: the watchdog ends without touching it."""
        stdin = self._process.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(BrokenPipeError):  # it is gone already
                stdin.write(RELEASE)
            with contextlib.suppress(BrokenPipeError):
                stdin.close()
        self._process.wait()


def _say(text: str) -> None:
    with contextlib.suppress(OSError):  # serve's stderr may have gone with it
        print(f"registrum watchdog: {text}", file=sys.stderr, flush=True)


def _lines() -> list[bytes]:
    """The lines on stdin until end-of-file (read unbuffered, a line at a time)."""
    lines, line = [], b""
    while chunk := os.read(0, 65536):
        line += chunk
        *complete, line = line.split(b"\n")
        lines += [part + b"\n" for part in complete]
        if lines and lines[-1] == RELEASE:
            break
    return lines


def main() -> None:
    lines = _lines()
    if not lines:
        return  # serve died before it said what to watch
    order = json.loads(lines[0])
    if lines[-1] == RELEASE:
        return
    target = ProcessId(int(order["pid"]), int(order["start"]))
    if not target.alive():
        return
    _say(f"registrum serve is gone; stopping the {order['name']} (pid {target.pid})")
    if not target.stop([(str(name), float(seconds)) for name, seconds in order["signals"]]):
        _say(f"the {order['name']} (pid {target.pid}) did not stop")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
