"""The MLflow Model Registry REST API: /api/2.0/mlflow/registered-models/* and
/model-versions/* (and the /ajax-api twin MLflow's UI and some clients use), over our
commands and views.

Each write is one of our commands, run by services/api/dispatch.execute like every
/api/v1 route: the caller's grants decide, the events and their audit trail are the
same, and a command id (header X-Registrum-Command-Id) makes it idempotent. MLflow
clients send no log position, so reads wait for the furthest position this process has
written (read-your-writes within a process at no cost), and a read that finds nothing
waits for the log's head before saying RESOURCE_DOES_NOT_EXIST (a version just made
through another API process is found). Governance shows through: a transition to Staging
or Production is a promotion and needs an approved request; without one the answer is
PERMISSION_DENIED, saying how to ask. Not in the OpenAPI document: MLflow documents it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
from fastapi import APIRouter, Request, Response

from schemas import commands as c
from services.api.caller import CALLER, readers
from services.api.dispatch import build, execute
from services.api.reads import fast
from services.catalogue import queries
from services.catalogue.queries import Schemas
from services.catalogue.search import MAX_PAGE, search_models, search_versions
from services.catalogue.views import access as access_view
from services.catalogue.views import catalogue as catalogue_view
from services.mlflow import paths, shapes
from services.mlflow import requests as fields_of
from services.mlflow.errors import MlflowError
from services.mlflow.latest import latest_per_stage
from services.registry.application import Outcome
from services.registry.domain.errors import NotFound, RuleBroken

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
WAIT = 5.0  # seconds a read waits for the views to reach a write
# The views MLflow's reads use (the catalogue, and who may read it): a read waits for
# these, not for the lineage, history and timeline views it never touches.
READ_VIEWS = frozenset({catalogue_view.view.name, access_view.view.name})
MODELS_PAGE = 100  # MLflow's default max_results for registered models
T = TypeVar("T")

router = APIRouter(dependencies=[CALLER], include_in_schema=False)


# -- running commands and reading after them ---------------------------------------------


async def run(request: Request, kind: type[c.Command], **values: Any) -> Outcome:
    """One of our commands, built from an MLflow request's fields as a REST route's is
    (the command id from X-Registrum-Command-Id), run for the caller."""
    command = build(request, kind, None, values)
    return await asyncio.to_thread(execute, request, command)


@asynccontextmanager
async def views(
    request: Request, position: int | None = None
) -> AsyncIterator[tuple[Any, Schemas]]:
    """The views, once they hold position and everything this process wrote."""
    wanted = max(position or 0, getattr(request.app.state, "written", 0))
    async with request.app.state.read_pool.acquire() as conn:
        yield conn, await caught_up(request, conn, wanted)


async def caught_up(request: Request, conn: Any, position: int) -> Schemas:
    """The views' schemas once they hold position (services/catalogue/recent.py: what this
    process read a moment ago serves when it is far enough)."""
    recent = request.app.state.recent_schemas
    current = await recent.at_least(conn, position, READ_VIEWS)
    if current.reached(READ_VIEWS) >= position:
        return current
    asked = recent.clock()
    try:
        return recent.keep(await queries.wait_for(conn, position, WAIT, READ_VIEWS), asked)
    except queries.ViewsLagging as lag:
        raise MlflowError("TEMPORARILY_UNAVAILABLE", f"the registry's views lag: {lag}") from None


async def read(
    request: Request,
    reading: Callable[[Any, Schemas], Awaitable[T]],
    position: int | None = None,
) -> T:
    """reading(conn, schemas); when it finds nothing, once more after the log's head; when
    a schema it named is gone (two rebuilds within a moment), once more on the current."""
    async with views(request, position) as (conn, s):
        try:
            return await reading(conn, s)
        except NotFound:
            head = await asyncio.to_thread(request.app.state.registry.head_position)
            if head <= s.reached(READ_VIEWS):
                raise
            return await reading(conn, await caught_up(request, conn, head))
        except asyncpg.UndefinedTableError:
            request.app.state.recent_schemas.forget()
            return await reading(conn, await caught_up(request, conn, s.reached(READ_VIEWS)))


def model_written(outcome: Outcome) -> Response:
    """A write's answer from the command's own result: no wait for the views (what the
    client reads next waits for them instead)."""
    return fast({"registered_model": shapes.registered_model(outcome.result)})


def version_written(outcome: Outcome) -> Response:
    return fast({"model_version": shapes.model_version(outcome.result)})


async def model_answer(request: Request, name: str) -> Response:
    async def reading(conn: Any, s: Schemas) -> dict[str, Any]:
        model = await queries.get_model(conn, s, name, readers(request))
        latest = await latest_per_stage(conn, s, [model["name"]], readers(request))
        return shapes.registered_model(model, latest.get(model["name"], []))

    return fast({"registered_model": await read(request, reading)})


async def version_answer(request: Request, name: str, number: int) -> Response:
    async def reading(conn: Any, s: Schemas) -> dict[str, Any]:
        return shapes.model_version(
            await queries.get_version(conn, s, name, number, readers(request))
        )

    return fast({"model_version": await read(request, reading)})


def mlflow_route(path: str, *methods: str) -> Callable[[Any], Any]:
    return router.api_route(path, methods=list(methods))


# -- registered models -------------------------------------------------------------------


@mlflow_route("/registered-models/create", "POST")
async def create_registered_model(request: Request) -> Response:
    found = await fields_of.fields(request)
    name = fields_of.text(found, "name")
    outcome = await run(
        request,
        c.RegisterModel,
        name=name,
        description=fields_of.text(found, "description", required=False),
        tags=fields_of.tag_list(found),
    )
    return model_written(outcome)


@mlflow_route("/registered-models/get", "GET")
async def get_registered_model(request: Request) -> Response:
    found = await fields_of.fields(request)
    return await model_answer(request, fields_of.text(found, "name"))


@mlflow_route("/registered-models/rename", "POST")
async def rename_registered_model(request: Request) -> Response:
    found = await fields_of.fields(request)
    new_name = fields_of.text(found, "new_name")
    outcome = await run(
        request, c.RenameModel, model=fields_of.text(found, "name"), new_name=new_name
    )
    return model_written(outcome)


@mlflow_route("/registered-models/update", "PATCH")
async def update_registered_model(request: Request) -> Response:
    found = await fields_of.fields(request)
    name = fields_of.text(found, "name")
    outcome = await run(
        request,
        c.DescribeModel,
        model=name,
        description=fields_of.text(found, "description", required=False),
    )
    return model_written(outcome)


@mlflow_route("/registered-models/delete", "DELETE")
async def delete_registered_model(request: Request) -> Response:
    found = await fields_of.fields(request)
    await run(request, c.DeleteModel, model=fields_of.text(found, "name"))
    return fast({})


def search_terms(found: dict[str, Any], default_limit: int) -> dict[str, Any]:
    """An MLflow search's filter, order (a list, joined), page size (at most ours) and
    page token, as our searches take them."""
    return {
        "filter_text": fields_of.text(found, "filter", required=False) or None,
        "order_by": ", ".join(fields_of.strings(found, "order_by")) or None,
        "limit": min(fields_of.count(found, "max_results", default_limit), MAX_PAGE),
        "page_token": fields_of.text(found, "page_token", required=False) or None,
    }


def page_of(key: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    return {key: items, **({"next_page_token": token} if token else {})}


@mlflow_route("/registered-models/search", "GET")
async def search_registered_models(request: Request) -> Response:
    terms = search_terms(await fields_of.fields(request), MODELS_PAGE)

    async def reading(conn: Any, s: Schemas) -> dict[str, Any]:
        who = readers(request)
        page = await search_models(
            conn, s.catalogue, **terms, access=s.access, who=who, mlflow=True
        )
        latest = await latest_per_stage(conn, s, [m["name"] for m in page["models"]], who)
        models = [shapes.registered_model(m, latest.get(m["name"], [])) for m in page["models"]]
        return page_of("registered_models", models, page["next_page_token"])

    return fast(await read(request, reading))


@mlflow_route("/registered-models/get-latest-versions", "POST", "GET")
async def get_latest_versions(request: Request) -> Response:
    found = await fields_of.fields(request)
    name = fields_of.text(found, "name")
    stages = []
    for asked in fields_of.strings(found, "stages"):
        stage = shapes.stage_of(asked)
        if stage is None:
            raise MlflowError(
                "INVALID_PARAMETER_VALUE",
                f"Invalid Model Version stage: {asked}. Value must be one of "
                f"{', '.join(shapes.TO_MLFLOW.values())}.",
            )
        stages.append(stage)

    async def reading(conn: Any, s: Schemas) -> list[dict[str, Any]]:
        await queries.model_id(conn, s, name, readers(request))  # no model: not found
        latest = await latest_per_stage(conn, s, [name], readers(request), stages or None)
        return [shapes.model_version(v) for v in latest.get(name, [])]

    return fast({"model_versions": await read(request, reading)})


@mlflow_route("/registered-models/set-tag", "POST")
async def set_registered_model_tag(request: Request) -> Response:
    found = await fields_of.fields(request)
    await run(
        request,
        c.TagModel,
        model=fields_of.text(found, "name"),
        key=fields_of.text(found, "key"),
        value=fields_of.text(found, "value", required=False),
    )
    return fast({})


@mlflow_route("/registered-models/delete-tag", "DELETE")
async def delete_registered_model_tag(request: Request) -> Response:
    found = await fields_of.fields(request)
    await run(
        request, c.UntagModel, model=fields_of.text(found, "name"), key=fields_of.text(found, "key")
    )
    return fast({})


@mlflow_route("/registered-models/alias", "POST")
async def set_registered_model_alias(request: Request) -> Response:
    found = await fields_of.fields(request)
    try:
        await run(
            request,
            c.SetAlias,
            model=fields_of.text(found, "name"),
            alias=fields_of.text(found, "alias"),
            version=fields_of.version(found),
        )
    except RuleBroken as refused:
        raise MlflowError(
            "PERMISSION_DENIED",
            f"{refused.message}. A protected alias moves only through an approved request: "
            f"`registrum alias request {found.get('name')} {found.get('alias')} "
            f"{found.get('version')}`, signed off by its reviewers.",
        ) from None
    return fast({})


@mlflow_route("/registered-models/alias", "DELETE")
async def delete_registered_model_alias(request: Request) -> Response:
    found = await fields_of.fields(request)
    await run(
        request,
        c.RemoveAlias,
        model=fields_of.text(found, "name"),
        alias=fields_of.text(found, "alias"),
    )
    return fast({})


@mlflow_route("/registered-models/alias", "GET")
async def get_model_version_by_alias(request: Request) -> Response:
    found = await fields_of.fields(request)
    name, alias = fields_of.text(found, "name"), fields_of.text(found, "alias")

    async def reading(conn: Any, s: Schemas) -> dict[str, Any]:
        return shapes.model_version(
            await queries.resolve_alias(conn, s, name, alias, readers(request))
        )

    return fast({"model_version": await read(request, reading)})


# -- model versions ----------------------------------------------------------------------


@mlflow_route("/model-versions/create", "POST")
async def create_model_version(request: Request) -> Response:
    found = await fields_of.fields(request)
    name = fields_of.text(found, "name")
    values: dict[str, Any] = {
        "model": name,
        "artifact_uri": fields_of.text(found, "source"),
        "tags": fields_of.tag_list(found),
        "description": fields_of.text(found, "description", required=False),
    }
    if (root := paths.source_path(values["artifact_uri"])) is not None:
        values["manifest"] = await uploaded(request, root)
    elif paths.LOGGED_MODEL.match(values["artifact_uri"]):
        async with request.app.state.events_pool.acquire() as conn:
            logged = await paths.logged_model_root(conn, values["artifact_uri"])
        if logged is not None:  # else its files are elsewhere: the source is kept as it is
            values["manifest"] = await uploaded(request, logged)
    if run_id := fields_of.text(found, "run_id", required=False):
        values["run_id"] = run_id
        values["lineage"] = [{"kind": "run", "id": run_id, "relation": "trained_by"}]
    outcome = await run(request, c.RegisterVersion, **values)
    return version_written(outcome)


async def uploaded(request: Request, root: str) -> list[dict[str, Any]]:
    """The files uploaded beneath root, with their digests: the version's manifest."""
    if paths.pinned_version(root) is not None:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            "that source is another version's files: register from where they were uploaded",
        )
    async with request.app.state.events_pool.acquire() as conn:
        entries = await paths.under(conn, root)
    if not entries:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Nothing was uploaded to this registry's artifact path {root!r}",
        )
    return paths.manifest(entries, root)


@mlflow_route("/model-versions/get", "GET")
async def get_model_version(request: Request) -> Response:
    found = await fields_of.fields(request)
    return await version_answer(request, fields_of.text(found, "name"), fields_of.version(found))


@mlflow_route("/model-versions/update", "PATCH")
async def update_model_version(request: Request) -> Response:
    found = await fields_of.fields(request)
    name, number = fields_of.text(found, "name"), fields_of.version(found)
    outcome = await run(
        request,
        c.DescribeVersion,
        model=name,
        version=number,
        description=fields_of.text(found, "description", required=False),
    )
    return version_written(outcome)


@mlflow_route("/model-versions/delete", "DELETE")
async def delete_model_version(request: Request) -> Response:
    found = await fields_of.fields(request)
    await run(
        request,
        c.DeleteVersion,
        model=fields_of.text(found, "name"),
        version=fields_of.version(found),
    )
    return fast({})


@mlflow_route("/model-versions/search", "GET")
async def search_model_versions(request: Request) -> Response:
    terms = search_terms(await fields_of.fields(request), MAX_PAGE)

    async def reading(conn: Any, s: Schemas) -> dict[str, Any]:
        page = await search_versions(
            conn,
            s.catalogue,
            model=None,
            **terms,
            access=s.access,
            who=readers(request),
            mlflow=True,
        )
        versions = [shapes.model_version(v) for v in page["versions"]]
        return page_of("model_versions", versions, page["next_page_token"])

    return fast(await read(request, reading))


@mlflow_route("/model-versions/get-download-uri", "GET")
async def get_model_version_download_uri(request: Request) -> Response:
    found = await fields_of.fields(request)
    name, number = fields_of.text(found, "name"), fields_of.version(found)

    async def reading(conn: Any, s: Schemas) -> str:
        version = await queries.get_version(conn, s, name, number, readers(request))
        if version["manifest"]:
            # Its recorded files, by digest, from this registry (whatever the source).
            base = str(request.base_url).rstrip("/")
            return f"{base}/api/2.0{paths.ENDPOINT}/{paths.pinned_root(version['id'])}"
        return str(version["artifact_uri"] or "")

    return fast({"artifact_uri": await read(request, reading)})


@mlflow_route("/model-versions/set-tag", "POST")
async def set_model_version_tag(request: Request) -> Response:
    found = await fields_of.fields(request)
    await run(
        request,
        c.TagVersion,
        model=fields_of.text(found, "name"),
        version=fields_of.version(found),
        key=fields_of.text(found, "key"),
        value=fields_of.text(found, "value", required=False),
    )
    return fast({})


@mlflow_route("/model-versions/delete-tag", "DELETE")
async def delete_model_version_tag(request: Request) -> Response:
    found = await fields_of.fields(request)
    await run(
        request,
        c.UntagVersion,
        model=fields_of.text(found, "name"),
        version=fields_of.version(found),
        key=fields_of.text(found, "key"),
    )
    return fast({})


@mlflow_route("/model-versions/transition-stage", "POST")
async def transition_model_version_stage(request: Request) -> Response:
    """Staging and Production are promotions (governed), Archived an archive; back to
    None is refused: a version leaves a stage by being archived or replaced."""
    found = await fields_of.fields(request)
    name, number = fields_of.text(found, "name"), fields_of.version(found)
    asked = fields_of.text(found, "stage")
    stage = shapes.stage_of(asked)
    archive_others = fields_of.flag(found, "archive_existing_versions")
    if stage is None:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Invalid Model Version stage: {asked}. Value must be one of "
            f"{', '.join(shapes.TO_MLFLOW.values())}.",
        )
    if stage == "development":
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            "Registrum does not move a version back to None: archive it "
            "(stage Archived), or promote another version in its place.",
        )
    if stage == "archived":
        outcome = await run(request, c.Archive, model=name, version=number)
        return version_written(outcome)
    try:
        outcome = await run(request, c.Promote, model=name, version=number, stage=stage)
    except RuleBroken as refused:
        raise MlflowError(
            "PERMISSION_DENIED",
            f"{refused.message}. Registrum governs promotions: request approval with "
            f"`registrum request-approval {name} {number} {stage}` (or POST "
            f"/api/v1/models/{name}/versions/{number}/approvals with "
            f'{{"stage": "{stage}"}}), have it signed off by its reviewers, then '
            "transition again.",
        ) from None
    if archive_others:
        await archive_rest(request, name, number, stage, outcome.position)
    return version_written(outcome)


async def archive_rest(
    request: Request, name: str, kept: int, stage: str, position: int | None
) -> None:
    """archive_existing_versions: every other version in stage is archived, each by its
    own command (promoting to production already archives the holder it replaces)."""

    async def holders(conn: Any, s: Schemas) -> list[int]:
        model = await queries.get_model(conn, s, name, readers(request))
        return [n for n in model.get(stage, []) if n != kept]

    for number in await read(request, holders, position):
        await run(request, c.Archive, model=name, version=number)
