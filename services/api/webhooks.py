"""Webhooks over HTTP: MLflow 3's webhook API at /api/2.0/mlflow/webhooks (create, list,
get, update, delete, test; MLflow's JSON shapes and error codes, so MlflowClient's
create_webhook and friends work), and the delivery log at /api/v1/webhooks/deliveries.

Only the registry's administrators manage webhooks: a webhook sees every model's events.
Every webhook is signed: without a secret in the request, one is made, and the create
answer is the only one that carries it (`secret`; MLflow's client ignores the field).
Records never do. A test fire is sent from here, at once, as MLflow's is, and written to
the delivery log; it changes no registry state, so this is not publishing from a request.
"""

from __future__ import annotations

import secrets as tokens
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Query, Request, Response

from services.api.caller import CALLER, require_admin
from services.api.params import READ_ERRORS
from services.api.reads import fast
from services.eventlog import reading
from services.mlflow import requests as fields_of
from services.mlflow.errors import MlflowError
from services.webhooks import queue, store, urls
from services.webhooks.events import Event, UnknownEvent
from services.webhooks.examples import example
from services.webhooks.secrets import Cipher
from services.webhooks.sender import Sender

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
WHAT = "manage webhooks"
INVALID = "INVALID_PARAMETER_VALUE"
MAX_NAME = 63
MAX_URL = 2048
MAX_DESCRIPTION = 5000

router = APIRouter(dependencies=[CALLER], include_in_schema=False)
deliveries_router = APIRouter(prefix="/api/v1", tags=["webhooks"], dependencies=[CALLER])


def _text(body: dict[str, Any], key: str, longest: int, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise MlflowError(INVALID, f"Missing value for required parameter '{key}'.")
        return None
    if not isinstance(value, str) or len(value) > longest:
        raise MlflowError(INVALID, f"'{key}' is a string of at most {longest} characters")
    return value


def _name(body: dict[str, Any], required: bool) -> str | None:
    name = _text(body, "name", MAX_NAME, required)
    if name is not None and not (
        name[:1].isalnum()
        and name[-1:].isalnum()
        and all(ch.isalnum() or ch in "._-" for ch in name)
        and name.isascii()
    ):
        raise MlflowError(
            INVALID,
            f"Webhook name {name!r} is invalid: letters, digits, '.', '_' and '-', starting "
            "and ending with a letter or digit, under 64 characters.",
        )
    return name


def _events(body: dict[str, Any], required: bool) -> list[Event] | None:
    given = body.get("events")
    if given is None and not required:
        return None
    if not isinstance(given, list) or not given:
        raise MlflowError(INVALID, "'events' is a non-empty list of {entity, action}")
    try:
        return [
            Event.parse(e.get("entity"), e.get("action"))
            if isinstance(e, dict)
            else Event.named(str(e))
            for e in given
        ]
    except UnknownEvent as exc:
        raise MlflowError(INVALID, str(exc)) from None


def _status(body: dict[str, Any]) -> str | None:
    status = body.get("status")
    if status is None:
        return None
    if not isinstance(status, str) or status.upper() not in store.STATUSES:
        raise MlflowError(INVALID, f"'status' is one of {', '.join(store.STATUSES)}")
    return status.upper()


async def _url(request: Request, body: dict[str, Any], required: bool) -> str | None:
    url = _text(body, "url", MAX_URL, required)
    if url is not None:
        try:
            await urls.check(url, request.app.state.webhook_allow_private_urls)
        except urls.UrlRefused as refused:
            raise MlflowError(INVALID, str(refused)) from None
    return url


def _cipher(request: Request) -> Cipher:
    cipher: Cipher | None = request.app.state.webhook_cipher
    if cipher is None:
        raise MlflowError(
            "TEMPORARILY_UNAVAILABLE",
            "this API process has no key to encrypt webhook secrets (REGISTRUM_WEBHOOK_KEY_FILE)",
        )
    return cipher


@asynccontextmanager
async def _read(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with request.app.state.read_pool.acquire() as conn:
        yield conn


@asynccontextmanager
async def _found() -> AsyncIterator[None]:
    try:
        yield
    except store.WebhookNotFound as exc:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", str(exc)) from None


@router.post("/webhooks")
async def create_webhook(request: Request) -> Response:
    me = await require_admin(request, WHAT)
    body = await fields_of.fields(request)
    name = _name(body, required=True) or ""
    events = _events(body, required=True) or []
    url = await _url(request, body, required=True) or ""
    description = _text(body, "description", MAX_DESCRIPTION)
    secret = _text(body, "secret", 1000) or tokens.token_urlsafe(32)
    cipher = _cipher(request)
    async with request.app.state.events_pool.acquire() as conn:
        # It hears of events committed from now on, not of the log before it.
        head = await reading.head(conn)
    async with _read(request) as conn:
        made = await store.create(
            conn,
            cipher,
            name=name,
            url=url,
            events=events,
            description=description,
            secret=secret,
            status=_status(body) or store.ACTIVE,
            after_position=head,
            by=me.subject,
        )
    return fast({"webhook": made.wire(), "secret": secret})


@router.get("/webhooks")
async def list_webhooks(
    request: Request,
    max_results: int = Query(100, ge=1, le=store.MAX_PAGE),
    page_token: str | None = Query(None, max_length=200),
) -> Response:
    await require_admin(request, WHAT)
    async with _read(request) as conn:
        try:
            found, following = await store.page(conn, max_results, page_token)
        except store.BadPageToken as exc:
            raise MlflowError(INVALID, str(exc)) from None
    answer: dict[str, Any] = {"webhooks": [w.wire() for w in found]}
    if following:
        answer["next_page_token"] = following
    return fast(answer)


@router.get("/webhooks/{webhook_id}")
async def get_webhook(request: Request, webhook_id: str) -> Response:
    await require_admin(request, WHAT)
    async with _read(request) as conn, _found():
        return fast({"webhook": (await store.get(conn, webhook_id)).wire()})


@router.patch("/webhooks/{webhook_id}")
async def update_webhook(request: Request, webhook_id: str) -> Response:
    me = await require_admin(request, WHAT)
    body = await fields_of.fields(request)
    secret = _text(body, "secret", 1000)
    if secret == "":
        raise MlflowError(INVALID, "every webhook here is signed: its secret cannot be removed")
    name = _name(body, required=False)
    url = await _url(request, body, required=False)
    events = _events(body, required=False)
    description = _text(body, "description", MAX_DESCRIPTION)
    status = _status(body)
    cipher = _cipher(request) if secret else None
    async with _read(request) as conn, _found():
        changed = await store.update(
            conn,
            cipher,
            webhook_id,
            by=me.subject,
            name=name,
            url=url,
            events=events,
            description=description,
            status=status,
            secret=secret,
        )
    return fast({"webhook": changed.wire()})


@router.delete("/webhooks/{webhook_id}")
async def delete_webhook(request: Request, webhook_id: str) -> Response:
    me = await require_admin(request, WHAT)
    async with _read(request) as conn, _found():
        await store.delete(conn, webhook_id, me.subject)
    return fast({})


@router.post("/webhooks/{webhook_id}/test")
async def test_webhook(request: Request, webhook_id: str) -> Response:
    """Sends an example of one of the webhook's events (the first, unless the body names
    one) now, signed like a delivery, and answers what the receiver did."""
    await require_admin(request, WHAT)
    body = await fields_of.fields(request)
    cipher = _cipher(request)
    async with _read(request) as conn, _found():
        hook = await store.get(conn, webhook_id)
        secret = await store.secret_of(conn, cipher, webhook_id)
    chosen = body.get("event")
    if isinstance(chosen, dict):
        try:
            event = Event.parse(chosen.get("entity"), chosen.get("action"))
        except UnknownEvent as exc:
            raise MlflowError(INVALID, str(exc)) from None
    else:
        event = hook.events[0]
    sent = orjson.dumps(
        {
            "entity": event.entity,
            "action": event.action,
            "timestamp": datetime.now(UTC).isoformat(),
            "data": example(event),
        }
    )
    test_id = uuid.uuid4()
    state = request.app.state
    sender = Sender(state.webhook_timeout_seconds, state.webhook_allow_private_urls)
    try:
        attempt, answer = await sender.post(hook.url, secret, str(test_id), sent)
    finally:
        await sender.aclose()
    async with _read(request) as conn:
        await queue.record_test(conn, test_id, webhook_id, event.name, sent, attempt)
    result: dict[str, Any] = {"success": attempt.delivered}
    if attempt.status_code is not None:
        result["response_status"] = attempt.status_code
    if answer:
        result["response_body"] = answer
    if attempt.error:
        result["error_message"] = attempt.error
    return fast({"result": result, "delivery_id": str(test_id)})


@deliveries_router.get("/webhooks/deliveries", responses=READ_ERRORS)
async def list_deliveries(
    request: Request,
    webhook_id: str | None = Query(None, max_length=64, description="Only this webhook's"),
    status: str | None = Query(
        None, pattern="^(pending|delivered|failed|cancelled)$", description="Only these"
    ),
    limit: int = Query(100, ge=1, le=1000),
    before: int | None = Query(None, ge=1, description="Only deliveries older than this seq"),
) -> Response:
    """The delivery log, newest first: each delivery (its id, the receiver's dedup key),
    its state, and every attempt with its status code or error, duration and the time of
    the next attempt. Administrators only."""
    await require_admin(request, "read the webhook delivery log")
    async with _read(request) as conn:
        found = await queue.deliveries(
            conn, webhook_id=webhook_id, status=status, limit=limit, before=before
        )
    return fast({"deliveries": found})
