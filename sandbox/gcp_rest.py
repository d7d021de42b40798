"""The dialect of Google's gRPC-transcoded REST APIs, shared by their emulators.

Cloud Scheduler v1 and Cloud Tasks v2 are gRPC services that Google also serves
as JSON over HTTP, and the GAPIC clients (``transport="rest"``) depend on the
details of that transcoding: errors as ``{"error": {code, message, status}}``
with the HTTP status derived from the canonical code; proto3 JSON (camelCase or
snake_case names accepted, unknown names refused, int64 as strings, durations
as ``"600s"``, timestamps in RFC 3339, bytes in base64, enums as names *or*
numbers, and numbers back when the query asks ``$alt=json;enum-encoding=int``);
``updateMask`` field masks; ``pageSize``/``pageToken`` pagination; unknown query
parameters refused. Writing that once here keeps each emulator down to its own
resources and rules. ``Message``/``Enum`` describe the wire schema a request is
checked against, so a driver sending a misspelt field fails here as it would
against Google.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vibn.sandbox.control import ControlState, Fault, SandboxApp
from vibn.sandbox.persist import read_json, write_json_atomic
from vibn.sandbox.routing import Router

T = TypeVar("T")
Clock = Callable[[], float]

# -- errors ------------------------------------------------------------------

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


def rpc_code_for_http(http_status: int) -> int:
    """The google.rpc code a target's HTTP answer is recorded as (``Job.status``)."""
    if 200 <= http_status < 300:
        return 0
    for status, (http, number) in CODES.items():
        if http == http_status and status not in ("FAILED_PRECONDITION", "OUT_OF_RANGE", "ABORTED"):
            return number
    return CODES["FAILED_PRECONDITION"][1] if http_status < 500 else CODES["UNKNOWN"][1]


# -- the wire schema -----------------------------------------------------------

STRING, BOOL, INT32, INT64, DOUBLE, BYTES = "string", "bool", "int32", "int64", "double", "bytes"
DURATION, TIMESTAMP, ANY = "duration", "timestamp", "any"
_SCALAR_TYPES = {STRING: "TYPE_STRING", BOOL: "TYPE_BOOL", INT32: "TYPE_INT32"}
_SCALAR_TYPES |= {INT64: "TYPE_INT64", DOUBLE: "TYPE_DOUBLE", BYTES: "TYPE_BYTES"}


@dataclass(frozen=True)
class Enum:
    """A proto enum: its full name and its values (position = number)."""

    type_name: str
    values: tuple[str, ...]

    def number(self, name: str) -> int:
        return self.values.index(name)


@dataclass(frozen=True)
class MapOf:
    value: Kind


@dataclass(frozen=True)
class ListOf:
    item: Kind


@dataclass(frozen=True)
class Message:
    """A proto message: camelCase field -> kind, its oneofs, its output-only fields."""

    type_name: str
    fields: Mapping[str, Kind]
    oneofs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    output_only: frozenset[str] = frozenset()

    def field_name(self, name: str) -> str | None:
        """The camelCase field a JSON or query name (camel or snake) refers to."""
        camel = _camel(name)
        return camel if camel in self.fields else None


Kind = str | Enum | Message | MapOf | ListOf


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _bad_value(path: str, kind: Kind, value: Any) -> NoReturn:
    if isinstance(kind, Enum | Message):
        type_name = f"type.googleapis.com/{kind.type_name}"
    elif kind in (DURATION, TIMESTAMP):
        type_name = f"type.googleapis.com/google.protobuf.{kind.capitalize()}"
    else:
        type_name = _SCALAR_TYPES.get(str(kind), str(kind))
    invalid(f"Invalid value at '{path}' ({type_name}), {json.dumps(value)}")


def _join(path: str, name: str) -> str:
    return f"{path}.{snake(name)}" if path else snake(name)


def decode(kind: Kind, value: Any, path: str) -> Any:
    """Check a proto3-JSON value against ``kind`` and put it in canonical form.

    Enums become names, durations and timestamps canonical strings, bytes
    standard base64; output-only fields are dropped, as Google ignores them.
    """
    if isinstance(kind, Message):
        if not isinstance(value, dict):
            _bad_value(path, kind, value)
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = kind.field_name(str(key))
            if name is None:
                where = f" at '{path}'" if path else ""
                invalid(f'Invalid JSON payload received. Unknown name "{key}"{where}: Cannot find field.')
            if item is None or name in kind.output_only:
                continue
            out[name] = decode(kind.fields[name], item, _join(path, name))
        for oneof, members in kind.oneofs.items():
            chosen = [m for m in members if m in out]
            if len(chosen) > 1:
                invalid(
                    f"Invalid JSON payload received. Oneof field '{oneof}' is already set. "
                    f"Cannot set '{chosen[1]}'"
                )
        return out
    if isinstance(kind, Enum):
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(kind.values):
            return kind.values[value]
        if isinstance(value, str) and value in kind.values:
            return value
        _bad_value(path, kind, value)
    if isinstance(kind, MapOf):
        if not isinstance(value, dict):
            _bad_value(path, STRING, value)
        return {str(k): decode(kind.value, v, f"{path}[{k}]") for k, v in value.items()}
    if isinstance(kind, ListOf):
        if not isinstance(value, list):
            _bad_value(path, kind.item, value)
        return [decode(kind.item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return _decode_scalar(kind, value, path)


def _decode_scalar(kind: str, value: Any, path: str) -> Any:
    try:
        if kind == ANY:
            return value
        if kind == STRING and isinstance(value, str):
            return value
        if kind == BOOL and isinstance(value, bool):
            return value
        if kind in (INT32, INT64) and not isinstance(value, bool):
            number = int(value) if isinstance(value, str) else value
            if isinstance(number, float) and number.is_integer():
                number = int(number)
            limit = 2**31 if kind == INT32 else 2**63
            if isinstance(number, int) and -limit <= number < limit:
                return number
        if kind == DOUBLE and not isinstance(value, bool) and isinstance(value, int | float | str):
            return float(value)
        if kind == BYTES and isinstance(value, str):
            padded = value + "=" * (-len(value) % 4)
            raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
            return base64.b64encode(raw).decode("ascii")
        if kind == DURATION and isinstance(value, str):
            return format_duration(parse_duration(value))
        if kind == TIMESTAMP and isinstance(value, str):
            return format_timestamp(parse_timestamp(value))
    except (ValueError, binascii.Error):
        pass
    _bad_value(path, kind, value)


def _is_default(value: Any) -> bool:
    return value is None or (not isinstance(value, dict) and value in ("", 0, False, [], {}))


def encode(kind: Kind, value: Any, int_enums: bool) -> Any:
    """Stored canonical form -> the JSON Google answers (proto3 defaults omitted)."""
    if isinstance(kind, Message):
        out: dict[str, Any] = {}
        for name, sub in kind.fields.items():
            item = value.get(name)
            if _is_default(item) or (isinstance(sub, Enum) and item == sub.values[0]):
                continue
            out[name] = encode(sub, item, int_enums)
        return out
    if isinstance(kind, Enum):
        return kind.number(value) if int_enums else value
    if isinstance(kind, MapOf):
        return {k: encode(kind.value, v, int_enums) for k, v in value.items()}
    if isinstance(kind, ListOf):
        return [encode(kind.item, v, int_enums) for v in value]
    return str(value) if kind == INT64 else value


def mask_paths(raw: str, message: Message) -> list[tuple[str, ...]]:
    """``updateMask`` (camel or snake, comma-separated) -> checked camelCase paths."""
    paths = []
    for text in filter(None, (p.strip() for p in raw.split(","))):
        kind: Kind = message
        parts = []
        for part in text.split("."):
            name = kind.field_name(part) if isinstance(kind, Message) else None
            if name is None or (isinstance(kind, Message) and name in kind.output_only):
                invalid(f"Invalid update_mask provided: field '{text}' cannot be updated.")
            parts.append(name)
            kind = kind.fields[name]
        paths.append(tuple(parts))
    return paths


def apply_mask(target: dict[str, Any], source: Mapping[str, Any], paths: Sequence[tuple[str, ...]]) -> None:
    """Copy each masked field from ``source`` (absent there: cleared in ``target``)."""
    for path in paths:
        src: Any = source
        dst = target
        for part in path[:-1]:
            src = src.get(part) if isinstance(src, Mapping) else None
            dst = dst.setdefault(part, {})
        leaf = path[-1]
        if isinstance(src, Mapping) and leaf in src:
            dst[leaf] = json.loads(json.dumps(src[leaf]))
        else:
            dst.pop(leaf, None)


# -- durations and timestamps ------------------------------------------------

_DURATION_RE = re.compile(r"^(-)?(\d+)(?:\.(\d{1,9}))?s$")
_TIMESTAMP_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_duration(text: str) -> float:
    """``"600s"`` / ``"0.100s"`` -> seconds; ValueError otherwise."""
    m = _DURATION_RE.match(text)
    if m is None:
        raise ValueError(f"not a duration: {text!r}")
    seconds = int(m.group(2)) + int((m.group(3) or "0").ljust(9, "0")) / 1e9
    return -seconds if m.group(1) else seconds


def format_duration(seconds: float) -> str:
    """Seconds -> Google's Duration JSON (``"5s"``, ``"0.100s"``)."""
    nanos_total = round(abs(seconds) * 1e9)
    whole, nanos = divmod(nanos_total, 10**9)
    sign = "-" if seconds < 0 else ""
    if nanos == 0:
        return f"{sign}{whole}s"
    digits = 3 if nanos % 10**6 == 0 else 6 if nanos % 1000 == 0 else 9
    return f"{sign}{whole}.{str(nanos).rjust(9, '0')[:digits]}s"


def parse_timestamp(text: str) -> float:
    """RFC 3339 -> epoch seconds (microsecond precision); ValueError otherwise."""
    m = _TIMESTAMP_RE.match(text)
    if m is None:
        raise ValueError(f"not a timestamp: {text!r}")
    zone = "+00:00" if m.group(4) in ("Z", "z") else m.group(4)
    micros = (m.group(3) or "0").ljust(6, "0")[:6]
    return datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}.{micros}{zone}").timestamp()


def format_timestamp(t: float) -> str:
    """Epoch seconds -> ``2026-11-25T17:02:03Z`` (fraction only when there is one)."""
    moment = datetime.fromtimestamp(round(t, 6), UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond == 0:
        return base + "Z"
    frac = f"{moment.microsecond:06d}"
    return f"{base}.{frac[:3] if frac.endswith('000') else frac}Z"


# -- pagination --------------------------------------------------------------


def paginate(
    items: Sequence[T], key: Callable[[T], str], call: Call, max_size: int
) -> tuple[list[T], str]:
    """One page of ``items`` (sorted by ``key``) and the ``nextPageToken`` ("" at the end)."""
    size = call.query_int("pageSize", 0)
    if size < 0:
        invalid("page_size must not be negative.")
    size = min(size or max_size, max_size)
    ordered = sorted(items, key=key)
    token = call.query.get("pageToken", "")
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))["after"]
        except (ValueError, KeyError, TypeError, binascii.Error):
            invalid("The page token is invalid.")
        ordered = [i for i in ordered if key(i) > str(after)]
    page = ordered[:size]
    if len(ordered) <= size:
        return page, ""
    raw = json.dumps({"after": key(page[-1])}).encode()
    return page, base64.urlsafe_b64encode(raw).decode("ascii")


# -- requests ------------------------------------------------------------------

#: system parameters every Google API accepts (and ignores here)
SYSTEM_PARAMS = frozenset(
    {"$alt", "alt", "prettyPrint", "$prettyPrint", "fields", "$fields", "key", "quotaUser"}
    | {"$callback", "callback", "$.xgafv", "access_token", "uploadType", "upload_protocol"}
)


@dataclass
class Call:
    """One API request as a handler sees it."""

    params: dict[str, str]
    query: dict[str, str]
    raw: bytes
    int_enums: bool
    now: float
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        if not self.raw.strip():
            return {}
        try:
            value = json.loads(self.raw)
        except ValueError as exc:
            invalid(f"Invalid JSON payload received. {exc}")
        if not isinstance(value, dict):
            invalid("Invalid JSON payload received. Expected an object.")
        return value

    def query_int(self, name: str, default: int) -> int:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            invalid(f"Invalid value at '{snake(name)}' (TYPE_INT32), \"{raw}\"")


@dataclass(frozen=True)
class Endpoint:
    """A route's handler and the query parameters (camelCase) its request message binds."""

    handler: Callable[[Call], Any]
    query: frozenset[str] = frozenset()
    status: int = 200


def _query(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    out = {}
    for key, value in request.query_params.multi_items():
        if key in SYSTEM_PARAMS:
            continue
        name = _camel(key)
        if name not in allowed:
            invalid(
                f'Invalid JSON payload received. Unknown name "{key}": Cannot bind query '
                f"parameter. Field '{key}' could not be found in request message."
            )
        out[name] = value
    return out


# -- state ---------------------------------------------------------------------


@dataclass
class GcpSettings:
    """Knobs changed at run time through ``/_sandbox/<name>/settings``.

    ``clock_offset`` moves the emulator's clock (``/_sandbox/<name>/clock``) so
    tests can jump past tombstone windows and schedules. Subclasses add fields;
    every field keeps the type of its default.
    """

    clock_offset: float = 0.0

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes``; ValueError naming a bad key or value, nothing applied then."""
        known = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown setting {key!r}")
            want = type(known[key])
            if want is bool and not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
            if want is not bool and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"{key} must be a number")
            if want is not bool and key != "clock_offset" and value < 0:
                raise ValueError(f"{key} must not be negative")
        for key, value in changes.items():
            setattr(self, key, type(known[key])(value))

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


S = TypeVar("S", bound=GcpSettings)


class GcpStore:
    """Tables of JSON records behind one lock, persisted after each changing request."""

    FORMAT_VERSION = 1

    def __init__(self, path: Path | None, clock: Clock, tables: Sequence[str], settings: GcpSettings):
        self.path = path
        self.clock = clock
        self.tables = tuple(tables)
        self.settings = settings
        self.lock = threading.RLock()
        self._dirty = False
        self.data: dict[str, Any] = self._empty()
        loaded = read_json(path) if path is not None else None
        if isinstance(loaded, dict) and loaded.get("version") == self.FORMAT_VERSION:
            self.data.update({t: loaded.get(t, {}) for t in self.tables})
            self.settings.update(loaded.get("settings") or {})

    def _empty(self) -> dict[str, Any]:
        return {"version": self.FORMAT_VERSION, **{t: {} for t in self.tables}}

    def now(self) -> float:
        return self.clock() + self.settings.clock_offset

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = self.data[name]
        return rows

    def mark_dirty(self) -> None:
        self._dirty = True

    def flush(self) -> None:
        if self._dirty and self.path is not None:
            write_json_atomic(self.path, {**self.data, "settings": self.settings.to_json()})
        self._dirty = False

    def reset(self) -> None:
        """Wipe every record (settings, and with them the clock offset, stay)."""
        with self.lock:
            self.data = self._empty()
            self._dirty = True
            self.flush()


class GcpApi:
    """The API side of an emulator: routing, query binding, the lock, errors, persistence."""

    def __init__(self, store: GcpStore, router: Router[Endpoint]) -> None:
        self.store = store
        self.router = router
        self._tasks: set[asyncio.Task[None]] = set()

    def template_for(self, method: str, path: str) -> str | None:
        return self.router.template_for(method, path)

    async def __call__(self, request: Request) -> Response:
        res = self.router.resolve(request.method, request.url.path)
        if res.route is None:
            return GcpError("NOT_FOUND", "Method not found.").response()
        endpoint = res.route.handler
        raw = await request.body()
        alt = request.query_params.get("$alt", "")
        with self.store.lock:
            try:
                call = Call(
                    params=res.params,
                    query=_query(request, endpoint.query),
                    raw=raw,
                    int_enums="enum-encoding=int" in alt,
                    now=self.store.now(),
                )
                response: Response = JSONResponse(endpoint.handler(call), endpoint.status)
            except GcpError as err:
                return err.response()
            finally:
                self.store.flush()
        for job in call.background:
            self.spawn(job())
        return response

    def spawn(self, coro: Awaitable[None]) -> None:
        """Run ``coro`` on the server's loop, keeping a reference until it ends."""

        async def run() -> None:
            await coro

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _GcpFaults(ControlState):
    """Faults injected without a body answer in Google's error shape, not Coolify's."""

    def take_fault(self, method: str, path: str) -> Fault | None:
        fault = super().take_fault(method, path)
        if fault is None or fault.status is None or fault.body is not None or fault.text:
            return fault
        return replace(fault, body=error_body_for(fault.status))


def sandbox_app(
    name: str, api: GcpApi, on_reset: Callable[[], None], control: Router[Any]
) -> SandboxApp:
    """The emulator's ASGI app: ``api`` under the shared ``/_sandbox`` control plane."""
    app = SandboxApp(name, api, api.template_for, on_reset, control)
    app.state = _GcpFaults()
    return app


def json_response(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status)
