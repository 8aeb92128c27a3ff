"""ASGI middleware that refuses request bodies over a size limit with a typed 413."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.errors import error_body


class BodyLimit:
    """Bodies sent to the `unlimited` paths (streamed artefact uploads, limited by their
    route) are exempt; paths below them are not (POST /api/v1/artifacts/gc takes JSON).
    So are PUTs below `puts_below` (MLflow's artefact uploads, one path per file)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        unlimited: tuple[str, ...] = (),
        puts_below: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.unlimited = unlimited
        self.puts_below = puts_below

    def _exempt(self, scope: Scope) -> bool:
        path: str = scope["path"]
        return path in self.unlimited or (
            scope["method"] == "PUT" and path.startswith(self.puts_below)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(scope):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        refused = False

        async def limited_receive() -> Message:
            # A streamed body that runs over: answer 413 now, tell the app the client
            # went away, and drop whatever the app then tries to send.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _refuse(self, send: Send) -> None:
        body: dict[str, Any] = error_body(
            "payload_too_large",
            f"the request body is larger than {self.max_bytes} bytes",
            {"limit": self.max_bytes},
        )
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
