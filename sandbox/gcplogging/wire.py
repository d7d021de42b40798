"""Request and response plumbing of the Cloud Logging v2 REST emulator.

Logging is a gRPC service transcoded to REST, so its errors carry a canonical
``status`` beside the HTTP code (``{"error": {"code": 404, "message": ...,
"status": "NOT_FOUND"}}``; FAILED_PRECONDITION is HTTP 400, ALREADY_EXISTS 409):
``GcpError`` from ``sandbox.gcp_rest``, which the Scheduler and Tasks emulators
share. Its JSON is proto3 JSON (default values are omitted), and a body with a
field the message does not have is refused as an invalid payload. Field masks
may name fields in camelCase or snake_case. Handlers are synchronous functions
of a ``Call`` that return a response or raise ``GcpError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response

from vibn.sandbox.gcp_rest.errors import GcpError, error_body_for, fail, invalid
from vibn.sandbox.gcp_rest.schema import camel
from vibn.sandbox.gcplogging.store import LoggingStore
from vibn.sandbox.gcs.gcp import select_fields

__all__ = ["Call", "GcpError", "Handler", "camel", "error_body_for", "fail", "invalid", "proto3"]


def proto3(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the fields proto3 JSON leaves out: false, empty strings, lists and maps."""
    return {k: v for k, v in doc.items() if v not in (False, "", [], {}, None)}


@dataclass
class Call:
    """One API request as a handler sees it."""

    method: str
    params: dict[str, str]
    query: dict[str, str]
    body: bytes
    store: LoggingStore
    _json: Any = field(default=None, repr=False)

    def param(self, name: str) -> str:
        return self.params[name]

    def json(self, message: str, known: Iterable[str]) -> dict[str, Any]:
        """The body as a ``message`` object; a field it does not have is refused."""
        if self._json is None:
            try:
                self._json = json.loads(self.body) if self.body.strip() else {}
            except ValueError:
                invalid("Invalid JSON payload received. Unexpected token.")
        if not isinstance(self._json, dict):
            invalid(f"Invalid JSON payload received. Expected an object for '{message}'.")
        allowed = set(known)
        for name in self._json:
            if name not in allowed:
                invalid(
                    f"Invalid JSON payload received. Unknown name \"{name}\" at '{message}': "
                    "Cannot find field."
                )
        return dict(self._json)

    def mask(self) -> list[str]:
        raw = self.query.get("updateMask") or ""
        return [camel(p.strip()) for p in raw.split(",") if p.strip()]

    def page_size(self, default: int = 200) -> int:
        raw = self.query.get("pageSize") or ""
        try:
            size = int(raw) if raw else 0
        except ValueError:
            invalid(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"")
        return size if size > 0 else default

    def reply(self, doc: Mapping[str, Any]) -> Response:
        return JSONResponse(select_fields(dict(doc), self.query.get("fields")))


Handler = Callable[[Call], Response]
