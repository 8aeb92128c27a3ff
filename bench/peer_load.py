"""bench/peer.py's client: raw HTTP over one keep-alive connection per writer (http.client,
little CPU per request), the same code for every side; timed runs, and a wait until the
servers this bench started have gone idle."""

from __future__ import annotations

import http.client
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import percentile

Call = tuple[str, str, bytes | None]  # method, path and query, JSON body


class BenchError(RuntimeError):
    """A side answered a setup step (not a timed request) with an error."""


class Client:
    """One keep-alive connection to a server, with the headers every request carries."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        where = urlsplit(url)
        self.conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=120)
        self.conn.connect()  # now, not inside the first timed request
        self.headers = {"Content-Type": "application/json", **headers}

    def send(self, call: Call) -> tuple[int, bytes]:
        """The answer's status and body; status 0 when the connection failed."""
        method, path, body = call
        try:
            self.conn.request(method, path, body, self.headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()  # the next request opens a new connection
            return 0, f"{type(exc).__name__}: {exc}".encode()

    def ok(self, call: Call) -> bytes:
        status, body = self.send(call)
        if not 200 <= status < 300:
            raise BenchError(f"{call[0]} {call[1]} answered {status}: {body[:300]!r}")
        return body

    def close(self) -> None:
        self.conn.close()


def describe(status: int, body: bytes) -> str:
    """An error's status and message, numbers folded so that alike errors count together."""
    text = " ".join(body[:200].decode(errors="replace").split())
    return f"HTTP {status}: {re.sub(r'[0-9]+', 'N', text)}" if status else text


@dataclass
class Run:
    """The requests of one timed run: latencies of 2xx answers, the other answers counted."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) if self.latencies else float("nan")

    @classmethod
    def merged(cls, runs: list[Run], seconds: float) -> Run:
        total = cls(seconds=seconds)
        for run in runs:
            total.latencies += run.latencies
            total.errors += run.errors
        return total


def timed(client: Client, calls: list[Call], run: Run) -> None:
    for call in calls:
        started = time.perf_counter()
        status, body = client.send(call)
        elapsed = time.perf_counter() - started
        if 200 <= status < 300:
            run.latencies.append(elapsed)
        else:
            run.errors[describe(status, body)] += 1


def concurrent(url: str, headers: dict[str, str], work: list[list[Call]]) -> list[Run]:
    """Each list of calls sent in order on a connection of its own, all lists at once from
    one start; each list's run, timed from that start to the last answer of all."""
    clients = [Client(url, headers) for _ in work]
    runs = [Run() for _ in work]
    start = threading.Barrier(len(work) + 1)

    def writer(client: Client, calls: list[Call], run: Run) -> None:
        start.wait()
        timed(client, calls, run)

    threads = [
        threading.Thread(target=writer, args=job, daemon=True)
        for job in zip(clients, work, runs, strict=True)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    for client, run in zip(clients, runs, strict=True):
        client.close()
        run.seconds = seconds
    return runs


def _descendants_cpu() -> float:
    """CPU seconds used so far by the running processes this one started, and theirs
    (Linux /proc): the servers under test, not the shared PostgreSQL."""
    parent, ticks = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parent[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    ours, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, up in parent.items() if up in frontier} - ours
        ours |= frontier
    return sum(ticks[pid] for pid in ours) / os.sysconf("SC_CLK_TCK")


def settle(limit: float = 0.15, window: float = 1.0, patience: float = 90.0) -> float:
    """Waits until the servers this bench started use less than limit of a core over a
    window (start-up, followers catching up); returns how long that took."""
    began = time.perf_counter()
    used = _descendants_cpu()
    while time.perf_counter() - began < patience:
        time.sleep(window)
        now = _descendants_cpu()
        if max(now - used, 0.0) / window < limit:
            return time.perf_counter() - began
        used = now
    print(f"  (still busy after {patience:.0f} s; measuring anyway)", flush=True)
    return patience
