"""How a page reads the views: the API's read path (services/api/reads.views), waiting
after a form's command for the position it wrote, so the next page shows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import Query, Request

from services.api.errors import ApiError
from services.api.reads import POSITION, views
from services.catalogue.queries import Schemas

# After a command, its page is shown from ?after=<position>: the views have reached it.
After = Query(None, pattern=POSITION, include_in_schema=False)
WAIT_SECONDS = 5.0  # how long, by default (console(views_wait=...))


@asynccontextmanager
async def reading(request: Request, after: str | None) -> AsyncIterator[tuple[Any, Schemas]]:
    """The views, once they reach after; when they lag longer than the wait, the page is
    read as they are, saying so: the command before it was recorded all the same, and a
    refusal page would invite a second, duplicate command."""
    wait = getattr(request.app.state, "console_wait", WAIT_SECONDS)
    async with AsyncExitStack() as stack:
        try:
            conn, s = await stack.enter_async_context(views(request, after, wait))
        except ApiError as lag:
            if lag.code != "views_lagging":
                raise
            request.state.lagging = after
            conn, s = await stack.enter_async_context(views(request, None, 0))
        yield conn, s
