"""Request and response plumbing of the Cloud Storage JSON API emulator.

Storage answers every failure in one shape, ``{"error": {"code", "message",
"errors": [{"domain", "reason", "message"}]}}`` (no ``status`` field, unlike the
gRPC-transcoded APIs), and google-api-core turns the code into ``NotFound``,
``Conflict``, ``PreconditionFailed``... with ``error.message`` as the text.
Handlers are synchronous functions of a ``Call`` that return a response or
raise ``GcsError``; the app runs them under the store lock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from starlette.responses import JSONResponse, Response

from vibn.sandbox.gcs.gcp import PageTokenError, select_fields
from vibn.sandbox.gcs.store import GcsStore


class GcsError(Exception):
    """An error response, raised from anywhere inside a handler."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        location: str | None = None,
        location_type: str | None = None,
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.reason = reason
        self.message = message
        self.location = location
        self.location_type = location_type

    def body(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "message": self.message,
            "domain": "global",
            "reason": self.reason,
        }
        if self.location_type is not None:
            detail["locationType"] = self.location_type
        if self.location is not None:
            detail["location"] = self.location
        return {"error": {"code": self.status, "message": self.message, "errors": [detail]}}

    def response(self) -> Response:
        return JSONResponse(self.body(), self.status)


def fail(status: int, reason: str, message: str, **where: str) -> NoReturn:
    raise GcsError(
        status, reason, message, location=where.get("location"), location_type=where.get("type")
    )


def invalid(message: str) -> NoReturn:
    fail(400, "invalid", message)


def required(parameter: str) -> NoReturn:
    fail(400, "required", f"Required parameter: {parameter}", location=parameter, type="parameter")


def precondition_failed() -> NoReturn:
    fail(412, "conditionNotMet", "Precondition Failed", location="If-Match", type="header")


@dataclass
class Call:
    """One API request as a handler sees it (path parameters already unquoted)."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: bytes
    content_type: str
    base_url: str
    store: GcsStore
    _json: Any = field(default=None, repr=False)

    def param(self, name: str) -> str:
        return self.params[name]

    def json(self) -> dict[str, Any]:
        """The JSON object in the body (an empty body is an empty object)."""
        if self._json is not None:
            return dict(self._json)
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except ValueError:
            fail(400, "parseError", "Parse Error")
        if not isinstance(value, dict):
            fail(400, "parseError", "Parse Error")
        self._json = value
        return dict(value)

    def int_query(self, name: str, default: int, maximum: int) -> int:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            invalid(f"Invalid value for {name}: {raw}")
        if value < 0:
            invalid(f"Invalid value for {name}: {raw}")
        return min(value, maximum) or default

    def reply(self, doc: Mapping[str, Any], status: int = 200) -> Response:
        """``doc`` as JSON, trimmed to the ``fields`` the client asked for."""
        return JSONResponse(select_fields(dict(doc), self.query.get("fields")), status)


#: what GCS answers for a bare HTTP status (used for injected faults): reason, message
_STATUS_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("invalid", "Invalid argument."),
    401: ("required", "Anonymous caller does not have storage.buckets.get access."),
    403: ("forbidden", "Access denied."),
    404: ("notFound", "Not Found"),
    409: ("conflict", "Conflict"),
    412: ("conditionNotMet", "Precondition Failed"),
    429: ("rateLimitExceeded", "The rate of requests is too high. Please slow down."),
    500: ("backendError", "Backend Error"),
    502: ("backendError", "Bad Gateway"),
    503: ("backendError", "Backend Error"),
    504: ("backendError", "Gateway Timeout"),
}


def error_body_for(status: int) -> dict[str, Any]:
    """The GCS-shaped JSON for a bare HTTP ``status``."""
    reason, message = _STATUS_DEFAULTS.get(status, ("backendError", "Error"))
    return GcsError(status, reason, message).body()


def no_content() -> Response:
    return Response(status_code=204)


def page_token_error(exc: PageTokenError) -> NoReturn:
    invalid(f"Invalid page token: {exc}")


Handler = Callable[[Call], Response]
