"""Request and response plumbing of the Cloud DNS v1 emulator.

Cloud DNS is a JSON API in Google's older style: ``maxResults``/``pageToken`` paging,
``kind`` on every resource, and errors that carry both the canonical ``status`` and the
``errors[]`` list with a ``reason`` (``{"error": {"code": 409, "message": ...,
"status": "ALREADY_EXISTS", "errors": [{"domain": "global", "reason": "alreadyExists",
"message": ...}]}}``). google-api-core picks its exception from the HTTP code and
reads ``error.message``; google-api-python-client's ``HttpError`` also exposes the
``reason``. Handlers are synchronous functions of a ``Call`` that return a response or
raise ``DnsError``; the app runs them under the store lock.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

from starlette.responses import JSONResponse, Response

from vibn.sandbox.clouddns.store import DnsStore
from vibn.sandbox.gcs.gcp import select_fields

T = TypeVar("T")

#: HTTP code -> the canonical status Google pairs with it
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
#: what the front end answers for a bare HTTP status (injected faults): reason, message
_FAULTS = {
    400: ("invalid", "Invalid argument."),
    401: ("required", "Request had invalid authentication credentials."),
    403: ("forbidden", "The caller does not have permission"),
    404: ("notFound", "Not Found"),
    409: ("conflict", "Conflict"),
    412: ("conditionNotMet", "Precondition not met"),
    429: ("rateLimitExceeded", "Rate Limit Exceeded"),
    500: ("backendError", "Internal error encountered."),
    503: ("backendError", "The service is currently unavailable."),
    504: ("backendError", "Deadline exceeded."),
}


class DnsError(Exception):
    """An error answer, raised from anywhere inside a handler."""

    def __init__(self, code: int, reason: str, message: str, status: str | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.reason = reason
        self.message = message
        self.status = status or _STATUS.get(code, "UNKNOWN")

    def body(self) -> dict[str, Any]:
        detail = {"domain": "global", "reason": self.reason, "message": self.message}
        error = {"code": self.code, "message": self.message, "status": self.status}
        return {"error": {**error, "errors": [detail]}}

    def response(self) -> Response:
        return JSONResponse(self.body(), self.code)


def fail(code: int, reason: str, message: str, status: str | None = None) -> NoReturn:
    raise DnsError(code, reason, message, status)


def invalid(message: str) -> NoReturn:
    fail(400, "invalid", message)


def bad_value(where: str, value: object) -> NoReturn:
    invalid(f"Invalid value for '{where}': '{value}'")


def required(where: str) -> NoReturn:
    fail(400, "required", f"Required field '{where}' not specified")


def not_found(parameter: str, name: str) -> NoReturn:
    fail(404, "notFound", f"The '{parameter}' resource named '{name}' does not exist.")


def error_body_for(code: int) -> dict[str, Any]:
    """The Cloud-DNS-shaped JSON for a bare HTTP ``code`` (faults without a body)."""
    reason, message = _FAULTS.get(code, ("backendError", "Error"))
    return DnsError(code, reason, message).body()


@dataclass
class Call:
    """One API request as a handler sees it (path parameters already unquoted)."""

    params: dict[str, str]
    query: dict[str, str]
    body: bytes
    store: DnsStore
    _json: Any = field(default=None, repr=False)

    @property
    def project(self) -> str:
        return self.params["project"]

    def json(self, entity: str, known: Iterable[str]) -> dict[str, Any]:
        """The body as an ``entity`` object; a field the resource does not have is refused."""
        if self._json is None:
            try:
                self._json = json.loads(self.body) if self.body.strip() else {}
            except ValueError:
                fail(400, "parseError", "Parse Error")
        if not isinstance(self._json, dict):
            fail(400, "parseError", "Parse Error")
        check_fields(self._json, entity, known)
        return dict(self._json)

    def page(self, items: Sequence[T], key: Callable[[T], str]) -> tuple[list[T], str | None]:
        """One page by ``maxResults``/``pageToken`` (``items`` in ascending ``key`` order).

        The token names the last key handed out, so a page stays stable when items come
        and go between calls; a token this emulator did not make is refused."""
        raw = self.query.get("maxResults") or ""
        try:
            size = int(raw) if raw else 0
        except ValueError:
            invalid(f"Invalid value at 'max_results' (TYPE_INT32), \"{raw}\"")
        if size < 0:
            bad_value("parameters.maxResults", raw)
        size = size or self.store.page_size
        token = self.query.get("pageToken") or ""
        start = 0
        if token:
            try:
                after = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))["after"]
            except (ValueError, KeyError, TypeError, binascii.Error):
                bad_value("parameters.pageToken", token)
            start = next((i for i, item in enumerate(items) if key(item) > str(after)), len(items))
        page = list(items[start : start + size])
        if start + size >= len(items):
            return page, None
        last = json.dumps({"after": key(page[-1])}).encode()
        return page, base64.urlsafe_b64encode(last).decode("ascii")

    def reply(self, doc: Mapping[str, Any], status: int = 200) -> Response:
        """``doc`` as JSON, trimmed to the ``fields`` the client asked for."""
        return JSONResponse(select_fields(dict(doc), self.query.get("fields")), status)


def check_fields(doc: Mapping[str, Any], entity: str, known: Iterable[str]) -> None:
    """Refuse a field ``entity`` does not have, as Google's JSON front end does."""
    allowed = set(known)
    for name in doc:
        if name not in allowed:
            invalid(
                f"Invalid JSON payload received. Unknown name \"{name}\" at '{entity}': "
                "Cannot find field."
            )


def listing(kind: str, key: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    """A list response: ``{kind, <key>: [...], nextPageToken}`` (the token only when more)."""
    out: dict[str, Any] = {"kind": kind, key: items}
    if token:
        out["nextPageToken"] = token
    return out


Handler = Callable[[Call], Response]
