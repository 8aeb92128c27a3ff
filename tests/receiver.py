"""A webhook receiver for tests: a real HTTP server in a thread that verifies MLflow's
signature on every request it gets and keeps what it received. It can refuse (503) for a
while, or be stopped and started again on the same port, like a receiver that is down."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from services.webhooks import signature


@dataclass(frozen=True)
class Received:
    delivery_id: str
    timestamp: str
    signed: bool  # the signature verified with the receiver's secret
    body: dict[str, Any]
    answered: int  # the status it answered


class Receiver:
    """Receives at http://127.0.0.1:<port>/hook, checking signatures with secret (set it
    once the webhook's secret is known)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.secret: str | None = None
        self.received: list[Received] = []
        self.refuse_until = 0.0  # time.monotonic() before which it answers 503
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                delivery = self.headers.get(signature.DELIVERY_ID_HEADER, "")
                stamp = self.headers.get(signature.TIMESTAMP_HEADER, "")
                signed = receiver.secret is not None and signature.verify(
                    receiver.secret,
                    delivery,
                    stamp,
                    raw,
                    self.headers.get(signature.SIGNATURE_HEADER, ""),
                )
                status = 503 if time.monotonic() < receiver.refuse_until else 200
                with receiver._lock:
                    receiver.received.append(
                        Received(delivery, stamp, signed, orjson.loads(raw), status)
                    )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accepted(self) -> list[Received]:
        """What it accepted (answered 200), in the order it arrived."""
        with self._lock:
            return [r for r in self.received if r.answered == 200]

    def wait_for(self, count: int, seconds: float) -> list[Received]:
        """Waits until it accepted count distinct deliveries (or seconds pass)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if len({r.delivery_id for r in self.accepted()}) >= count:
                break
            time.sleep(0.05)
        return self.accepted()


@contextmanager
def receiving(port: int) -> Iterator[Receiver]:
    receiver = Receiver(port)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
