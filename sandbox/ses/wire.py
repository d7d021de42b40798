"""Request and response plumbing of the SES v2 emulator: AWS's rest-json dialect.

boto3's ``sesv2`` client speaks rest-json (see shared/reference/ses-notes.md §1): an
operation is a verb on a path, bodies are JSON objects with PascalCase members, an
empty success is ``{}``, timestamps are epoch seconds, and every answer carries an
``x-amzn-RequestId``. An error is its HTTP status, the code in the ``x-amzn-ErrorType``
header and ``{"message": ...}`` in the body, which botocore turns into a ``ClientError``
with that code and message. Malformed input is a ``BadRequestException`` worded the way
AWS's model validation words it (``1 validation error detected: ...``). Handlers are
synchronous functions of a ``Call`` that return a JSON document or raise ``SesError``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

from starlette.responses import JSONResponse, Response

from vibn.sandbox.publicdns import PublicDns
from vibn.sandbox.ses.store import SesStore

T = TypeVar("T")
Doc = dict[str, Any]

#: HTTP status of every error code the emulator answers with (model + common errors)
STATUS = {
    "BadRequestException": 400,
    "AlreadyExistsException": 400,
    "LimitExceededException": 400,
    "MessageRejected": 400,
    "MailFromDomainNotVerifiedException": 400,
    "SerializationException": 400,
    "NotFoundException": 404,
    "UnknownOperationException": 404,
    "TooManyRequestsException": 429,
    "ConcurrentModificationException": 500,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "AccessDeniedException": 403,
    "MissingAuthenticationTokenException": 403,
    "IncompleteSignatureException": 403,
    "InvalidSignatureException": 403,
    "UnrecognizedClientException": 403,
}
#: the error an injected fault without a body answers with, by status
FAULT_CODES = {
    400: ("BadRequestException", "Bad Request"),
    403: ("AccessDeniedException", "User is not authorized to perform this action."),
    404: ("NotFoundException", "Resource not found."),
    429: ("TooManyRequestsException", "Too Many Requests"),
    500: ("InternalFailure", "The request processing has failed because of an unknown error."),
    503: ("ServiceUnavailable", "Service Unavailable"),
}


def request_id() -> str:
    return str(uuid.uuid4())


class SesError(Exception):
    """An error answer: ``code`` (the ``x-amzn-ErrorType``), message, HTTP status."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else STATUS.get(code, 400)

    def response(self) -> Response:
        headers = {"x-amzn-ErrorType": self.code, "x-amzn-RequestId": request_id()}
        return JSONResponse({"message": self.message}, self.status, headers=headers)


def fault_body(status: int) -> tuple[Doc, dict[str, str]]:
    """Body and headers of an injected fault that names neither (an AWS-shaped error)."""
    code, message = FAULT_CODES.get(
        status, ("InternalFailure" if status >= 500 else "BadRequestException", "Error")
    )
    return {"message": message}, {"x-amzn-ErrorType": code, "x-amzn-RequestId": request_id()}


def bad_request(message: str) -> NoReturn:
    raise SesError("BadRequestException", message)


def not_found(message: str) -> NoReturn:
    raise SesError("NotFoundException", message)


def invalid(path: str, constraint: str, value: Any = None) -> NoReturn:
    """AWS's model-validation wording for one bad member."""
    shown = "" if value is None else f"Value '{value}' "
    bad_request(
        f"1 validation error detected: {shown}at '{path}' failed to satisfy constraint: "
        f"{constraint}"
    )


def reply(doc: Mapping[str, Any] | None = None) -> Response:
    """A 200 rest-json answer (members that are None are left out, as AWS does)."""
    body = {k: v for k, v in (doc or {}).items() if v is not None}
    return JSONResponse(body, headers={"x-amzn-RequestId": request_id()})


@dataclass
class Call:
    """One API request as a handler sees it."""

    params: dict[str, str]
    query: list[tuple[str, str]]
    raw: bytes
    store: SesStore
    dns: PublicDns
    now: float
    region: str
    account: str
    _json: Doc | None = field(default=None, repr=False)

    def json(self) -> Doc:
        if self._json is None:
            if not self.raw.strip():
                self._json = {}
            else:
                try:
                    value = json.loads(self.raw)
                except ValueError:
                    raise SesError("SerializationException", "Could not parse the body.") from None
                if not isinstance(value, dict):
                    raise SesError("SerializationException", "The body must be a JSON object.")
                self._json = value
        return self._json

    def arg(self, name: str) -> Any:
        return self.json().get(name)

    def text(self, name: str, path: str, *, required: bool = False) -> str | None:
        """A string member (``path`` is its lowerCamel name in validation messages)."""
        value = self.arg(name)
        if value is None:
            if required:
                invalid(path, "Member must not be null")
            return None
        if not isinstance(value, str):
            raise SesError("SerializationException", f"{name} must be a string.")
        return value

    def query_all(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]


Handler = Callable[[Call], Response]


def enum(value: Any, allowed: Sequence[str], path: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        invalid(path, f"Member must satisfy enum value set: [{', '.join(allowed)}]", value)
    return value


NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_name(value: str, what: str) -> str:
    """Configuration set and event destination names: ASCII letters, digits, _ and -,
    at most 64 characters (the SES developer guide's rule)."""
    if not NAME_RE.match(value):
        bad_request(
            f"Invalid {what} name <{value}>: it can contain up to 64 characters, letters, "
            "numbers, hyphens (-) and underscores (_) only."
        )
    return value


MAX_TAGS = 50


def tags_in(value: Any, path: str = "tags") -> list[Doc]:
    """A ``Tags`` list: ``[{Key (1-128), Value (0-256)}]``, at most 50, keys unique."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise SesError("SerializationException", "Tags must be a list.")
    tags: list[Doc] = []
    seen: set[str] = set()
    for i, tag in enumerate(value, start=1):
        if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str):
            invalid(f"{path}.{i}.member.key", "Member must not be null")
        if not isinstance(tag.get("Value"), str):
            invalid(f"{path}.{i}.member.value", "Member must not be null")
        key, val = str(tag["Key"]), str(tag["Value"])
        if not 1 <= len(key) <= 128:
            invalid(f"{path}.{i}.member.key", "Member must have length between 1 and 128", key)
        if len(val) > 256:
            invalid(f"{path}.{i}.member.value", "Member must have length less than 256", val)
        if key.startswith("aws:"):
            bad_request("Tag keys beginning with 'aws:' are reserved.")
        if key in seen:
            bad_request(f"Duplicate tag key: {key}")
        seen.add(key)
        tags.append({"Key": key, "Value": val})
    if len(tags) > MAX_TAGS:
        bad_request(f"Too many tags: a resource can have at most {MAX_TAGS}.")
    return tags


MAX_PAGE = 1000


def paginate(items: Sequence[T], key: Callable[[T], str], call: Call) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``key``) from ``PageSize``/``NextToken`` in the body,
    and the next token (None at the end). The token names the last key returned."""
    size = call.arg("PageSize")
    if size is None or size == 0:
        size = MAX_PAGE
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_PAGE:
        bad_request(f"PageSize must be between 0 and {MAX_PAGE}.")
    ordered = sorted(items, key=key)
    token = call.arg("NextToken")
    if token:
        try:
            after = base64.urlsafe_b64decode(str(token).encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            bad_request("Invalid NextToken.")
        ordered = [item for item in ordered if key(item) > after]
    page = ordered[:size]
    if len(ordered) <= size:
        return page, None
    return page, base64.urlsafe_b64encode(key(page[-1]).encode()).decode()
