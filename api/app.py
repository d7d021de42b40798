"""``create_app``: the FastAPI application over one store and one engine.

Everything the app needs is passed in — the store, the engine, the API settings — so a
test builds an app over a SQLite file and the sandbox, and ``vibn serve`` builds the same
app from its configuration (``server.py``). The OpenAPI document is completed here with
what FastAPI cannot infer: the stack document's schema for PUT's raw body, and problem
details for every refusal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool

from vibn import __version__
from vibn.reconciler.engine import Engine
from vibn.specs import json_schema
from vibn.state import Store

from . import applies, events, keys, ops, problems, stacks
from .metrics import ApiMetrics
from .middleware import RequestObserver
from .problems import PROBLEM_RESPONSE, ProblemDetails
from .service import Service
from .settings import ApiSettings
from .workers import Workers

DESCRIPTION = """\
Agents submit stack documents (YAML or JSON) and get back the plan they imply; they
apply a plan by its id and follow its progress as Server-Sent Events. Three calls from
idea to a live stack: `PUT /v1/stacks/{name}?dry_run=true`, `PUT /v1/stacks/{name}`,
`POST /v1/stacks/{name}/apply` with the plan_id. Every error is RFC 9457 problem details
(`application/problem+json`) with the field paths and a hint.

Authenticate with `Authorization: Bearer <key>`; a key belongs to one workspace and
carries scopes: stacks:read, stacks:write, stacks:apply, stacks:delete, domains:write
(apply a plan that registers a domain), keys:admin, audit:read.
"""

STACK_SCHEMA = "StackDocument"


def create_app(
    store: Store,
    engine: Engine,
    *,
    settings: ApiSettings | None = None,
    on_close: Callable[[], None] | None = None,
) -> FastAPI:
    """The API over ``store`` and ``engine``; ``on_close`` runs when the app shuts down
    (after the applies in flight have finished)."""
    settings = settings or ApiSettings()
    metrics = ApiMetrics()
    service = Service(store, engine, settings, metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        workers = Workers.start(service, settings.workers)
        try:
            yield
        finally:
            await run_in_threadpool(workers.stop)
            await run_in_threadpool(service.close)
            if on_close is not None:
                await run_in_threadpool(on_close)

    app = FastAPI(
        title="vibn",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.service = service
    problems.install(app)
    app.add_middleware(RequestObserver, metrics=metrics)
    for module in (stacks, applies, events, keys, ops):
        app.include_router(module.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(_stack_components())
    _, problem = models_json_schema(
        [(ProblemDetails, "validation")], ref_template="#/components/schemas/{model}"
    )
    components.update(problem["$defs"])
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            if "{" in path:
                answers.setdefault("404", dict(PROBLEM_RESPONSE, description="Not found"))
            if "422" in answers:
                answers["422"] = dict(PROBLEM_RESPONSE, description="Invalid request")
            if operation.get("security"):
                answers.setdefault("401", dict(PROBLEM_RESPONSE, description="No valid key"))
                answers.setdefault("403", dict(PROBLEM_RESPONSE, description="Missing scope"))
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _stack_components() -> dict[str, Any]:
    """The stack document's JSON Schema as OpenAPI components (``$defs`` moved over)."""
    document = json_schema()
    definitions = document.pop("$defs", {})
    for key in ("$schema", "$id"):
        document.pop(key, None)

    def moved(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (
                    f"#/components/schemas/{STACK_SCHEMA}.{v.removeprefix('#/$defs/')}"
                    if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/")
                    else moved(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [moved(v) for v in value]
        return value

    out = {STACK_SCHEMA: moved(document)}
    out.update({f"{STACK_SCHEMA}.{k}": moved(v) for k, v in definitions.items()})
    return out
