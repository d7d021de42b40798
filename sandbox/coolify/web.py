"""Request and response plumbing shared by the Coolify route modules.

Coolify is a Laravel app; its API answers in a few recurring shapes (``{"message"}``
errors, ``Validation failed.`` 422s, the 400s of ``validateIncomingRequest``). Route
handlers here are plain synchronous functions of a ``Call`` that either return a
response or raise ``ApiError``; the app runs them under the store lock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from starlette.responses import JSONResponse, Response

from vibn.sandbox.coolify.store import CoolifyStore


class ApiError(Exception):
    """An error response, raised from anywhere inside a handler."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return JSONResponse(self.body, self.status, headers=self.headers)


def fail(status: int, message: str, **extra: Any) -> NoReturn:
    """Raise Coolify's ``{"message": ...}`` error."""
    raise ApiError(status, {"message": message, **extra})


def invalid(errors: Mapping[str, Any]) -> NoReturn:
    """Raise the 422 ``Validation failed.`` response with per-field errors."""
    raise ApiError(422, {"message": "Validation failed.", "errors": dict(errors)})


def reply(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status)


def _php_falsy(value: Any) -> bool:
    if value is None or value is False or value == "" or value == "0":
        return True
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return True
    return isinstance(value, list) and not value


def _as_input(value: Any) -> dict[str, Any]:
    """What Laravel's ``$request->all()`` makes of a decoded JSON body."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return {"0": value}


@dataclass
class Call:
    """One API request as a handler sees it."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: bytes
    content_type: str
    store: CoolifyStore
    _decoded: Any = field(default=None, repr=False)

    def param(self, name: str) -> str:
        return self.params[name]

    @property
    def now(self) -> float:
        return self.store.now()

    def is_json(self) -> bool:
        return "/json" in self.content_type or "+json" in self.content_type

    def strict_json(self) -> dict[str, Any]:
        """The body, checked like Coolify's ``validateIncomingRequest``."""
        if not self.is_json():
            raise ApiError(
                400,
                {"message": "Invalid request.", "error": "Content-Type must be application/json."},
            )
        try:
            value = json.loads(self.body) if self.body.strip() else None
        except ValueError:
            value = None
        if _php_falsy(value):
            raise ApiError(400, {"message": "Invalid request.", "error": "Invalid JSON."})
        data = _as_input(value)
        if not data:
            raise ApiError(400, {"message": "Invalid request.", "error": "Empty JSON."})
        return data

    def loose_json(self) -> dict[str, Any]:
        """The body as ``$request->all()`` sees it when the controller does not check it."""
        if not self.body.strip():
            return {}
        try:
            return _as_input(json.loads(self.body))
        except ValueError:
            return {}

    def input(self, name: str) -> Any:
        """``$request->input(name)``: the JSON body first, then the query string."""
        body = self.loose_json() if self.is_json() else {}
        if name in body:
            return body[name]
        return self.query.get(name)

    def query_bool(self, name: str, default: bool) -> bool:
        """A boolean query parameter as Laravel's ``$request->boolean`` reads it."""
        raw = self.query.get(name)
        if raw is None:
            return default
        return raw.strip().lower() in {"1", "true", "on", "yes"}


Handler = Callable[[Call], Response]
