"""Google's error answers: canonical codes, their HTTP statuses, the JSON shape.

Every gRPC-transcoded Google API fails the same way: an HTTP status derived
from the canonical code and ``{"error": {"code", "message", "status"}}``.
google-api-core picks the exception class from the HTTP status alone (400 ->
``BadRequest``, 409 -> ``Conflict``, 429 -> ``TooManyRequests``...) and uses
``error.message`` as the text, so both must be right for a client to react as it
would against Google.
"""

from __future__ import annotations

from typing import Any, NoReturn

from starlette.responses import JSONResponse, Response

#: canonical code -> (HTTP status, gRPC number), as google.rpc.Code maps them
CODES: dict[str, tuple[int, int]] = {
    "CANCELLED": (499, 1),
    "UNKNOWN": (500, 2),
    "INVALID_ARGUMENT": (400, 3),
    "DEADLINE_EXCEEDED": (504, 4),
    "NOT_FOUND": (404, 5),
    "ALREADY_EXISTS": (409, 6),
    "PERMISSION_DENIED": (403, 7),
    "RESOURCE_EXHAUSTED": (429, 8),
    "FAILED_PRECONDITION": (400, 9),
    "ABORTED": (409, 10),
    "OUT_OF_RANGE": (400, 11),
    "UNIMPLEMENTED": (501, 12),
    "INTERNAL": (500, 13),
    "UNAVAILABLE": (503, 14),
    "UNAUTHENTICATED": (401, 16),
}
#: what Google's front end answers for a bare HTTP status (used for injected faults)
_STATUS_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    409: ("ABORTED", "The operation was aborted."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "Internal error encountered."),
    501: ("UNIMPLEMENTED", "Operation is not implemented, or supported, or enabled."),
    503: ("UNAVAILABLE", "The service is currently unavailable."),
    504: ("DEADLINE_EXCEEDED", "The request timed out."),
}


class GcpError(Exception):
    """An error answer, raised from anywhere inside a handler."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message

    @property
    def http_status(self) -> int:
        return CODES[self.status][0]

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.http_status, "message": self.message, "status": self.status}}

    def response(self) -> Response:
        return JSONResponse(self.body(), self.http_status)


def fail(status: str, message: str) -> NoReturn:
    raise GcpError(status, message)


def invalid(message: str) -> NoReturn:
    raise GcpError("INVALID_ARGUMENT", message)


def error_body_for(http_status: int) -> dict[str, Any]:
    """The JSON Google sends with a bare ``http_status`` (for faults without a body)."""
    status, message = _STATUS_DEFAULTS.get(http_status, ("UNKNOWN", "Unknown error."))
    return {"error": {"code": http_status, "message": message, "status": status}}


#: a target's HTTP answer -> the google.rpc code Google records for the attempt
_HTTP_TO_RPC = {400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 429: 8, 499: 1, 500: 13}
_HTTP_TO_RPC |= {501: 12, 503: 14, 504: 4}


def rpc_code_for_http(http_status: int) -> int:
    """The google.rpc code a target's HTTP answer is recorded as (``Job.status``)."""
    if 200 <= http_status < 300:
        return 0
    default = CODES["FAILED_PRECONDITION"][1] if http_status < 500 else CODES["UNKNOWN"][1]
    return _HTTP_TO_RPC.get(http_status, default)
