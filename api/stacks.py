"""Stack routes: submit a document (PUT) and read stacks, plans and revisions.

A PUT goes validate → plan → quotas → store the revision → save the plan, and answers
with the plan's id, so the agent's next call applies exactly the plan it saw. Reading a
stack's plan re-plans its current revision against the providers and saves that plan
too. Every lookup is in the caller's workspace: another workspace's stack is a 404.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from vibn.specs import digest, validate_document
from vibn.state import RevisionConflict, StackRecord

from .auth import Caller, Require
from .documents import NAME_PATTERN, read_body, stack_from_body
from .problems import PROBLEM_RESPONSE, ApiProblem
from .quotas import check_quotas
from .service import AuditEntry, Service, get_service
from .views import compact_plan, plan_summary, stack_brief, stack_links, stack_view

#: saved plans kept per stack (older ones can no longer be applied by id)
PLANS_KEPT = 50

router = APIRouter(prefix="/v1/stacks", tags=["stacks"])

StackName = Annotated[
    str,
    Path(
        pattern=NAME_PATTERN,
        max_length=63,
        description="The stack's name (its metadata.name), unique within the workspace.",
    ),
]

#: the request body of PUT, described for /openapi.json (the route reads raw bytes)
STACK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The stack document, YAML or JSON (at most 1 MiB).",
        "content": {
            "application/yaml": {"schema": {"$ref": "#/components/schemas/StackDocument"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/StackDocument"}},
        },
    }
}


def find_stack(service: Service, caller: Caller, name: str) -> StackRecord:
    """The caller's workspace's stack ``name``, or a 404 problem."""
    record = service.store.get_stack(caller.workspace, name)
    if record is None:
        raise ApiProblem(
            404,
            "not-found",
            f"there is no stack {name!r} in this workspace",
            title="No such stack",
            hint="GET /v1/stacks lists the workspace's stacks; PUT /v1/stacks/{name} creates one.",
        )
    return record


def save_plan(service: Service, plan: dict[str, Any], revision: int) -> None:
    """Keep ``plan`` so that it can be applied by its id."""
    workspace, name = plan["stack"]["workspace"], plan["stack"]["name"]
    service.store.save_plan(workspace, name, plan["plan_id"], plan, revision=revision)
    service.store.prune_plans(workspace, name, keep=PLANS_KEPT)


def parse_if_match(value: str | None) -> int | Literal["*"] | None:
    """``If-Match: 3``, ``"3"`` or ``W/"3"`` (a revision), or ``*`` (any revision)."""
    if value is None:
        return None
    text = value.strip()
    if text == "*":
        return "*"
    text = text.removeprefix("W/").strip('"')
    if text.isdigit() and len(text) < 12:
        return int(text)
    raise ApiProblem(
        400,
        "bad-if-match",
        f"If-Match must be a revision number (as the ETag gives it), not {value[:40]!r}",
        hint="Send the revision you read, e.g. If-Match: 3.",
    )


def _check_expected(
    record: StackRecord | None,
    expected: int | Literal["*"],
    document_digest: str,
    workspace: str,
    name: str,
) -> None:
    """Refuse early (412) when the stack moved past the revision the caller read."""
    live = record is not None and record.status != "destroyed"
    if expected == "*":
        if not live:
            raise ApiProblem(
                412,
                "revision-conflict",
                "If-Match: * requires the stack to exist, and it does not",
                hint="Drop If-Match to create the stack.",
                extra={"current_revision": record.revision if record else 0},
            )
        return
    current = record.revision if record is not None else 0
    if expected != current and (record is None or record.digest != document_digest):
        raise RevisionConflict(workspace, name, expected, current)


async def stack_body(request: Request, service: Service = Depends(get_service)) -> bytes:
    return await read_body(request, service.settings)


@router.get("", summary="The workspace's stacks")
def list_stacks(
    caller: Caller = Depends(Require("stacks:read")),
    service: Service = Depends(get_service),
) -> dict[str, Any]:
    stacks = service.store.list_stacks(caller.workspace)
    return {"workspace": caller.workspace, "stacks": [stack_brief(s) for s in stacks]}


@router.put(
    "/{name}",
    summary="Submit a stack document; answers with its revision and plan",
    openapi_extra=STACK_BODY,
    responses={
        201: {"description": "A new revision was stored."},
        412: PROBLEM_RESPONSE,
        413: PROBLEM_RESPONSE,
        415: PROBLEM_RESPONSE,
        422: PROBLEM_RESPONSE,
    },
)
def put_stack(
    name: StackName,
    response: Response,
    caller: Caller = Depends(Require("stacks:write")),
    service: Service = Depends(get_service),
    body: bytes = Depends(stack_body),
    dry_run: Annotated[bool, Query(description="Plan only; store nothing.")] = False,
    if_match: Annotated[str | None, Header(description="The revision you read.")] = None,
) -> dict[str, Any]:
    audit: contextlib.AbstractContextManager[AuditEntry] = (
        contextlib.nullcontext(AuditEntry())
        if dry_run
        else service.audited(caller, "stack.put", name)
    )
    with audit as entry:
        expected = parse_if_match(if_match)
        stack = stack_from_body(body, name=name, workspace=caller.workspace)
        record = service.store.get_stack(caller.workspace, name)
        if expected is not None:
            _check_expected(record, expected, digest(stack), caller.workspace, name)
        planned = service.engine.plan(stack)
        live = record is not None and record.status != "destroyed"
        check_quotas(service.store, service.settings.quotas, planned, new_stack=not live)
        plan = planned.plan.to_json()
        answer: dict[str, Any] = {
            "workspace": caller.workspace,
            "name": name,
            "dry_run": dry_run,
            "plan": compact_plan(plan),
            "links": stack_links(name),
        }
        if dry_run:
            return answer | {"revision": record.revision if record else 0, "created": False}
        revision, created = service.store.put_revision(
            caller.workspace,
            name,
            planned.plan.document,
            planned.plan.document_digest,
            expected_revision=expected if isinstance(expected, int) else None,
        )
        save_plan(service, plan, revision)
        entry.revision = revision
        entry.detail = {"plan_id": plan["plan_id"], "created": created}
    response.status_code = 201 if created else 200
    response.headers["ETag"] = f'"{revision}"'
    return answer | {"revision": revision, "created": created}


@router.get("/{name}", summary="The stack: document, revision, status, resources, last apply")
def get_stack(
    name: StackName,
    response: Response,
    caller: Caller = Depends(Require("stacks:read")),
    service: Service = Depends(get_service),
    refresh: Annotated[
        bool, Query(description="Advance pending conditions from the providers first.")
    ] = False,
) -> dict[str, Any]:
    record = find_stack(service, caller, name)
    if refresh and record.status != "destroyed":
        service.engine.refresh_conditions(caller.workspace, name)
    response.headers["ETag"] = f'"{record.revision}"'
    return stack_view(
        record,
        service.store.resources(caller.workspace, name),
        service.store.last_apply(caller.workspace, name),
    )


@router.get("/{name}/plan", summary="The plan of the stack's current revision")
def get_plan(
    name: StackName,
    caller: Caller = Depends(Require("stacks:read")),
    service: Service = Depends(get_service),
    format: Annotated[
        Literal["full", "summary"],
        Query(description="summary: a few hundred bytes (counts, changing addresses)."),
    ] = "full",
) -> dict[str, Any]:
    record = find_stack(service, caller, name)
    stack = validate_document(record.document, source=f"stack {name} (stored)")
    plan = service.engine.plan(stack).plan.to_json()
    save_plan(service, plan, record.revision)
    if format == "summary":
        return plan_summary(plan, record.revision)
    return plan | {"revision": record.revision}


@router.get("/{name}/revisions", summary="Every revision of the stack, oldest first")
def list_revisions(
    name: StackName,
    caller: Caller = Depends(Require("stacks:read")),
    service: Service = Depends(get_service),
    documents: Annotated[bool, Query(description="Include each revision's document.")] = False,
) -> dict[str, Any]:
    find_stack(service, caller, name)
    return {
        "name": name,
        "revisions": [
            {"number": r.number, "digest": r.digest, "created_at": r.created_at.isoformat()}
            | ({"document": r.document} if documents else {})
            for r in service.store.revisions(caller.workspace, name)
        ],
    }
