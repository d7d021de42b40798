"""Apply a saved plan by its id, or destroy a stack: checked now, run in the background.

Everything that can refuse an apply is checked before answering — the plan id is known,
the stack has not moved past the revision the plan was made for, re-planning gives the
very same plan (otherwise 409: stale), no apply holds the stack, data-bearing deletes are
confirmed, domains are only bought with ``domains:write`` — so a 202 means "running", not
"maybe". The engine checks staleness again under the stack's lease before it acts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from vibn.reconciler.engine import ConfirmationRequired, EngineError, StalePlan
from vibn.reconciler.plan import Plan
from vibn.specs import validate_document

from .auth import Caller, Require
from .problems import PROBLEM_RESPONSE, ApiProblem
from .service import Service, get_service
from .stacks import StackName, find_stack, save_plan
from .views import compact_plan

router = APIRouter(prefix="/v1/stacks", tags=["applies"])

REFUSALS: dict[int | str, dict[str, Any]] = {
    403: PROBLEM_RESPONSE,
    404: PROBLEM_RESPONSE,
    409: PROBLEM_RESPONSE,
    422: PROBLEM_RESPONSE,
}


class ApplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: str = Field(
        pattern=r"^[0-9a-f]{1,64}$",
        description="A plan id from PUT /v1/stacks/{name} or GET /v1/stacks/{name}/plan.",
    )
    confirm: str | None = Field(
        None,
        max_length=63,
        description="The stack's name, to allow a plan that deletes or replaces data.",
    )


def registers_domain(document: Mapping[str, Any]) -> bool:
    """Whether the document asks vibn to buy a domain (``spec.domain.register``)."""
    spec = document.get("spec")
    domain = spec.get("domain") if isinstance(spec, Mapping) else None
    return isinstance(domain, Mapping) and domain.get("register") is True


def accepted(name: str, ticket: str, event_id: int, plan: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apply_id": ticket,
        "status": "accepted",
        "plan_id": plan["plan_id"],
        "mode": plan["mode"],
        "links": {
            "events": f"/v1/stacks/{name}/events?after={event_id - 1}&apply_id={ticket}",
            "status": f"/v1/stacks/{name}",
        },
    }


def _check_runnable(plan: Plan, name: str, confirm: str | None) -> bool:
    """Refuse a plan with errors or unconfirmed data loss; whether it is confirmed."""
    if plan.errors:
        raise EngineError("the plan has errors:\n" + "\n".join(plan.errors))
    confirmed = confirm == name
    needs = plan.confirmations_needed()
    if needs and not confirmed:
        raise ConfirmationRequired(
            "these would delete or replace data: "
            + ", ".join(f"{a.address} ({a.action.value})" for a in needs)
            + f'; send "confirm": "{name}" to allow it'
        )
    return confirmed


@router.post(
    "/{name}/apply",
    status_code=202,
    summary="Apply a saved plan by its id (asynchronously)",
    responses=REFUSALS,
)
def apply_plan(
    name: StackName,
    body: ApplyRequest,
    caller: Caller = Depends(Require("stacks:apply")),
    service: Service = Depends(get_service),
) -> dict[str, Any]:
    with service.audited(caller, "apply.request", name) as entry:
        entry.detail["plan_id"] = body.plan_id
        record = find_stack(service, caller, name)
        entry.revision = record.revision
        saved = service.store.get_plan(caller.workspace, name, body.plan_id)
        if saved is None:
            raise ApiProblem(
                404,
                "unknown-plan",
                f"stack {name} has no plan {body.plan_id!r}",
                title="No such plan",
                hint="PUT the document or GET /v1/stacks/{name}/plan for a current plan_id.",
            )
        mode = saved.get("mode", "apply")
        if mode == "apply" and registers_domain(saved.get("document", {})):
            caller.require("domains:write")
        if saved.get("stack", {}).get("document_digest") != record.digest:
            raise StalePlan(
                f"plan {body.plan_id} was made for another revision of stack {name} "
                f"(it is at revision {record.revision} now)"
            )
        service.ensure_idle(caller.workspace, name)
        stack = validate_document(saved["document"], source=f"plan {body.plan_id}")
        fresh = service.engine.plan(stack, destroy=mode == "destroy").plan
        if fresh.content_digest != saved.get("content_digest"):
            raise StalePlan(
                f"plan {body.plan_id} is stale: what the providers hold changed since it was "
                f"made (now it would be plan {fresh.plan_id})"
            )
        confirmed = _check_runnable(fresh, name, body.confirm)
        ticket, event_id = service.submit(caller, saved, confirm=confirmed)
        entry.result = "accepted"
        entry.detail["apply_id"] = ticket
    return accepted(name, ticket, event_id, saved)


@router.delete(
    "/{name}",
    status_code=202,
    summary="Destroy the stack (asynchronously); ?confirm={name} is required",
    responses=REFUSALS,
)
def destroy_stack(
    name: StackName,
    caller: Caller = Depends(Require("stacks:delete")),
    service: Service = Depends(get_service),
    confirm: Annotated[
        str | None, Query(max_length=63, description="The stack's name, repeated.")
    ] = None,
) -> dict[str, Any]:
    with service.audited(caller, "stack.destroy", name) as entry:
        record = find_stack(service, caller, name)
        entry.revision = record.revision
        if record.status == "destroyed":
            raise ApiProblem(404, "not-found", f"stack {name} is already destroyed")
        if confirm != name:
            raise ApiProblem(
                422,
                "confirmation-required",
                f"destroying stack {name} deletes everything it owns, data included",
                title="Destroying needs confirmation",
                hint=f"Repeat the stack's name: DELETE /v1/stacks/{name}?confirm={name}",
                errors=[{"path": "query.confirm", "message": f"must be {name!r}"}],
            )
        service.ensure_idle(caller.workspace, name)
        stack = validate_document(record.document, source=f"stack {name} (stored)")
        planned = service.engine.plan(stack, destroy=True)
        _check_runnable(planned.plan, name, name)
        plan = planned.plan.to_json()
        save_plan(service, plan, record.revision)
        ticket, event_id = service.submit(caller, plan, confirm=True)
        entry.result = "accepted"
        entry.detail = {"apply_id": ticket, "plan_id": plan["plan_id"]}
    return accepted(name, ticket, event_id, plan) | {"plan": compact_plan(plan)}
