"""One HTTP request of one delivery: MLflow's headers and signature, a timeout, no
redirects, no proxies from the environment, and the URL checked again just before
(services/webhooks/urls.py). Never raises for the receiver's sake: whatever happened is
an Attempt (a status code, or an error) for the delivery log."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx

from services.webhooks import signature, urls
from services.webhooks.queue import Attempt

MAX_ANSWER_CHARS = 1000  # of a receiver's answer, kept for a test fire's result


class Sender:
    """Posts deliveries over one connection pool (close it with aclose)."""

    def __init__(self, timeout_seconds: float, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds, follow_redirects=False, trust_env=False
        )

    async def post(
        self, url: str, secret: str | None, delivery_id: str, body: bytes
    ) -> tuple[Attempt, str | None]:
        """The attempt, and the start of the receiver's answer (None without one)."""
        started_at = datetime.now(UTC)
        clock = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - clock) * 1000)

        try:
            await urls.check(url, self.allow_private)
        except urls.UrlRefused as refused:
            return Attempt(started_at, took(), error=f"refused: {refused}"), None
        sent = signature.headers(secret, delivery_id, int(time.time()), body)
        try:
            answer = await self._client.post(url, content=body, headers=sent)
        except httpx.HTTPError as exc:
            return Attempt(started_at, took(), error=_describe(exc)), None
        return (
            Attempt(started_at, took(), status_code=answer.status_code),
            answer.text[:MAX_ANSWER_CHARS],
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def _describe(exc: httpx.HTTPError) -> str:
    detail = str(exc) or "no detail"
    return f"{type(exc).__name__}: {detail}"[:500]
