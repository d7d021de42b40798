"""Every refusal as RFC 9457 problem details, with something an agent can act on.

An agent reading an error needs the same three things a person does: what went wrong
(``title``/``detail``), where (``errors[].path``, all of them at once) and what to do next
(``hint``). ``problem_for`` maps vibn's typed errors to problems in one place, so a route
raises the domain error it meets and the answer is the same wherever it is raised;
anything unexpected becomes a 500 that says nothing of the internals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from vibn.providers.errors import ProviderError, TransientError
from vibn.reconciler.compile import SecretUnavailable
from vibn.reconciler.engine import ConfirmationRequired, EngineError, StalePlan
from vibn.reconciler.observe import ObserveError
from vibn.specs import SpecError
from vibn.state import LeaseHeld, RevisionConflict, StackNotFound, StateError

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://vibn.dev/problems/"

log = logging.getLogger("vibn.api")


class FieldProblem(BaseModel):
    path: str = Field(description="Where: a dotted path into the document or the request.")
    message: str
    line: int | None = None


class ProblemDetails(BaseModel):
    """The body of every error answer (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    hint: str = Field("", description="What to do next.")
    errors: list[FieldProblem] = Field(default_factory=list)


#: for ``responses=`` in route declarations
PROBLEM_RESPONSE: dict[str, Any] = {
    "description": "Problem details (RFC 9457)",
    "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
}


class ApiProblem(Exception):
    """A refusal to answer with problem details; ``slug`` names its ``type``."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        hint: str = "",
        errors: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.hint = hint
        self.errors = [dict(e) for e in errors]
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self, instance: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "hint": self.hint,
            "errors": self.errors,
        }
        body.update(self.extra)
        return body

    def response(self, instance: str) -> JSONResponse:
        return JSONResponse(
            self.body(instance), self.status, headers=self.headers, media_type=MEDIA_TYPE
        )


def spec_problem(exc: SpecError) -> ApiProblem:
    count = len(exc.problems)
    return ApiProblem(
        422,
        "invalid-stack",
        f"the stack document has {count} problem{'s' if count != 1 else ''}",
        title="Invalid stack document",
        hint="Fix every field listed in errors and send the whole document again; "
        "GET /v1/schema returns the document's JSON Schema.",
        errors=[
            {"path": p.path, "message": p.message}
            | ({"line": p.line} if p.line is not None else {})
            for p in exc.problems
        ],
    )


def problem_for(exc: BaseException) -> ApiProblem | None:
    """The problem a vibn error stands for; None for an unexpected exception."""
    if isinstance(exc, ApiProblem):
        return exc
    if isinstance(exc, SpecError):
        return spec_problem(exc)
    if isinstance(exc, RevisionConflict):
        return ApiProblem(
            412,
            "revision-conflict",
            str(exc),
            title="The stack changed since you read it",
            hint=f"GET the stack (now at revision {exc.actual}), merge your change into its "
            f"document and PUT it again with If-Match: {exc.actual}.",
            extra={"current_revision": exc.actual},
        )
    if isinstance(exc, LeaseHeld):
        return ApiProblem(
            409,
            "stack-locked",
            str(exc),
            title="Another apply holds the stack",
            hint="Wait for it to finish (follow the stack's events) and retry.",
            extra={"holder": exc.holder, "lease_expires_at": exc.expires_at.isoformat()},
        )
    if isinstance(exc, StalePlan):
        return ApiProblem(
            409,
            "stale-plan",
            str(exc),
            title="The plan is stale",
            hint="GET /v1/stacks/{name}/plan (or PUT the document again) for a fresh plan_id, "
            "review it, and apply that one.",
        )
    if isinstance(exc, ConfirmationRequired):
        return ApiProblem(
            422,
            "confirmation-required",
            str(exc),
            title="Deleting data needs confirmation",
            hint='Repeat the stack\'s name as "confirm" (or ?confirm=) if the data may go.',
        )
    if isinstance(exc, EngineError | SecretUnavailable):
        return ApiProblem(422, "plan-refused", str(exc), title="The plan cannot be applied")
    if isinstance(exc, StackNotFound):
        return ApiProblem(404, "not-found", str(exc), title="No such stack")
    if isinstance(exc, StateError):
        return ApiProblem(
            503,
            "state-unavailable",
            "the state store could not answer",
            title="State store unavailable",
            hint="Retry shortly.",
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, TransientError | ObserveError):
        return ApiProblem(
            503,
            "provider-unavailable",
            str(exc),
            title="A provider is unavailable",
            hint="Retry shortly; nothing was changed.",
            headers={"Retry-After": "10"},
        )
    if isinstance(exc, ProviderError):
        return ApiProblem(502, "provider-error", str(exc), title="A provider refused the call")
    return None


def internal_problem() -> ApiProblem:
    return ApiProblem(
        500,
        "internal",
        "vibn failed to answer this request; the failure is logged",
        hint="Retry; if it persists, report it with the time of the request.",
    )


def validation_problem(exc: RequestValidationError) -> ApiProblem:
    errors = [
        {"path": ".".join(str(part) for part in error.get("loc", ())), "message": error["msg"]}
        for error in exc.errors()
    ]
    return ApiProblem(
        422,
        "invalid-request",
        f"the request has {len(errors)} problem{'s' if len(errors) != 1 else ''}",
        title="Invalid request",
        hint="Fix every parameter listed in errors; /openapi.json describes each route.",
        errors=errors,
    )


def install(app: FastAPI) -> None:
    """Answer every known error with problem details."""

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_problem(exc).response(request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        hint = "GET /openapi.json lists every route." if exc.status_code in (404, 405) else ""
        slug = {404: "no-such-route", 405: "method-not-allowed"}.get(exc.status_code, "http")
        problem = ApiProblem(exc.status_code, slug, detail, hint=hint, headers=exc.headers)
        return problem.response(request.url.path)

    async def on_known(request: Request, exc: Exception) -> JSONResponse:
        problem = problem_for(exc) or internal_problem()
        if problem.status >= 500:  # the answer hides the cause; the log keeps it
            log.warning("%s %s: %s", request.method, request.url.path, exc, exc_info=exc)
        return problem.response(request.url.path)

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for error in (
        ApiProblem,
        SpecError,
        StateError,
        ProviderError,
        EngineError,
        ObserveError,
        SecretUnavailable,
    ):
        app.add_exception_handler(error, on_known)
