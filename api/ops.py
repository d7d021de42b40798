"""Routes for operators and for agents finding their way: health, readiness, metrics,
the audit trail and the stack document's JSON Schema.

``/healthz`` says the process answers; ``/readyz`` that it can do its work (the state
database answers and its schema is at the head migration) — a load balancer sends
traffic only to ready replicas. ``/metrics`` is Prometheus text, unauthenticated as
scrapers expect. The audit trail needs ``audit:read``: it shows who did what across the
workspace, which a read-only agent key has no need to see.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from vibn.specs import json_schema

from .auth import Caller, Require
from .metrics import CONTENT_TYPE
from .problems import PROBLEM_RESPONSE, ApiProblem, log
from .service import Service, get_service
from .views import audit_view

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The state database answers and its migrations are current",
    responses={503: PROBLEM_RESPONSE},
)
def readyz(service: Service = Depends(get_service)) -> JSONResponse:
    try:
        current, head = service.store.migration_status()
    except Exception as exc:
        log.warning("readiness check: the state database does not answer: %s", exc)
        raise ApiProblem(
            503,
            "not-ready",
            "the state database does not answer",
            hint="Check VIBN_DATABASE_URL and the database server.",
        ) from None
    if current != head:
        raise ApiProblem(
            503,
            "not-ready",
            f"the state database is at migration {current}, not the head {head}",
            hint="Restart vibn serve (it migrates the database when it starts).",
        )
    return JSONResponse({"status": "ready", "database": service.store.dialect, "migration": head})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}},
)
def metrics(service: Service = Depends(get_service)) -> Response:
    return Response(service.metrics.render(), media_type=CONTENT_TYPE)


@router.get("/v1/schema", summary="The stack document's JSON Schema")
def stack_schema() -> dict[str, Any]:
    return json_schema()


@router.get("/v1/audit", summary="The workspace's audit trail, newest first")
def audit(
    caller: Caller = Depends(Require("audit:read")),
    service: Service = Depends(get_service),
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    events = service.store.audit_events(caller.workspace, limit=limit)
    return {"events": [audit_view(e) for e in events]}
